"""The old path of :mod:`modelworks.models.neural`, kept so bundles and code that name it still load."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelworks._lazy import lazy_getattr

if TYPE_CHECKING:
    from modelworks.models.neural.images import ImageClassifier
    from modelworks.models.neural.tabular import MLPClassifier, MLPRegressor
    from modelworks.workflows.images import ImageExperiment

_WHERE = {
    "ImageClassifier": "modelworks.models.neural.images",
    "ImageExperiment": "modelworks.workflows.images",  # the public name from before it moved there
    "MLPClassifier": "modelworks.models.neural.tabular",
    "MLPRegressor": "modelworks.models.neural.tabular",
}
__all__ = ["ImageClassifier", "ImageExperiment", "MLPClassifier", "MLPRegressor"]


__getattr__ = lazy_getattr(globals(), _WHERE)
