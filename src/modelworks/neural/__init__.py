"""Neural networks on PyTorch, as scikit-learn estimators (PyTorch is imported when one is fitted or
predicts). :class:`MLPClassifier` and :class:`MLPRegressor` are the zoo's ``mlp``."""

from modelworks.neural.tabular import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
