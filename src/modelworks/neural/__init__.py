"""Neural networks on PyTorch, as scikit-learn estimators (PyTorch is imported when one is fitted or
predicts): :class:`MLPClassifier` and :class:`MLPRegressor` are the zoo's ``mlp``;
:class:`ImageClassifier` and :class:`ImageExperiment` classify images (``modelworks run FOLDER``).
Each name is imported on first use, so loading a bundle imports only what its model needs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelworks.neural.image_experiment import ImageExperiment
    from modelworks.neural.images import ImageClassifier
    from modelworks.neural.tabular import MLPClassifier, MLPRegressor

_WHERE = {
    "ImageClassifier": "modelworks.neural.images",
    "ImageExperiment": "modelworks.neural.image_experiment",
    "MLPClassifier": "modelworks.neural.tabular",
    "MLPRegressor": "modelworks.neural.tabular",
}
__all__ = ["ImageClassifier", "ImageExperiment", "MLPClassifier", "MLPRegressor"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'modelworks.neural' has no attribute {name!r}")
