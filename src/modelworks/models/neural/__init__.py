"""Neural networks on PyTorch, as scikit-learn estimators (PyTorch is imported when one is fitted or
predicts): :class:`MLPClassifier` and :class:`MLPRegressor` are the zoo's ``mlp``;
:class:`ImageClassifier` classifies images. Each name is imported on first use, so loading a bundle
imports only what its model needs. ``ImageExperiment``, the image workflow that trains them, is
:mod:`modelworks.workflows.images`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelworks._lazy import lazy_getattr

if TYPE_CHECKING:
    from modelworks.models.neural.images import ImageClassifier
    from modelworks.models.neural.tabular import MLPClassifier, MLPRegressor

_WHERE = {
    "ImageClassifier": "modelworks.models.neural.images",
    "MLPClassifier": "modelworks.models.neural.tabular",
    "MLPRegressor": "modelworks.models.neural.tabular",
}
__all__ = ["ImageClassifier", "MLPClassifier", "MLPRegressor"]


__getattr__ = lazy_getattr(globals(), _WHERE)
