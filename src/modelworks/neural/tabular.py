"""The old path of :mod:`modelworks.models.neural.tabular`, kept so bundles that name it still load."""

from modelworks.models.neural.tabular import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
