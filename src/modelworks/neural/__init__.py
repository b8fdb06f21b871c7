"""Neural networks on PyTorch, as scikit-learn estimators (PyTorch is imported when one is fitted or
predicts): :class:`MLPClassifier` and :class:`MLPRegressor` are the zoo's ``mlp``;
:class:`ImageClassifier` classifies images. Each name is imported on first use, so loading a bundle
imports only what its model needs. ``ImageExperiment``, the image workflow, lives in
:mod:`modelworks.workflows.images`; its name here is kept for code written before it moved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelworks._lazy import lazy_getattr

if TYPE_CHECKING:
    from modelworks.neural.images import ImageClassifier
    from modelworks.neural.tabular import MLPClassifier, MLPRegressor

_WHERE = {
    "ImageClassifier": "modelworks.neural.images",
    "ImageExperiment": "modelworks.workflows.images",  # the public name from before the move
    "MLPClassifier": "modelworks.neural.tabular",
    "MLPRegressor": "modelworks.neural.tabular",
}
__all__ = ["ImageClassifier", "ImageExperiment", "MLPClassifier", "MLPRegressor"]


__getattr__ = lazy_getattr(globals(), _WHERE)
