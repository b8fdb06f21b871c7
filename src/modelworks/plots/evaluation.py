"""Displays of a model's test-set performance, drawn by scikit-learn's own Displays where they exist.

Classification inputs are the true labels and either the positive-class score (binary) or a probability
matrix whose columns follow ``classes``; regression inputs are true and predicted values. Each Display
also has ``from_estimator(estimator, X, y)`` for a fitted estimator or Pipeline taking the raw ``X``.
"""

from modelworks.plots._confusion import ConfusionMatrixDisplay
from modelworks.plots._curves import CalibrationDisplay, PrecisionRecallDisplay, RocCurveDisplay
from modelworks.plots._inspection import PartialDependenceDisplay, PermutationImportanceDisplay
from modelworks.plots._regression import PredictedActualDisplay, ResidualHistogramDisplay, ResidualsDisplay

__all__ = [
    "RocCurveDisplay",
    "PrecisionRecallDisplay",
    "CalibrationDisplay",
    "ConfusionMatrixDisplay",
    "PermutationImportanceDisplay",
    "PartialDependenceDisplay",
    "PredictedActualDisplay",
    "ResidualsDisplay",
    "ResidualHistogramDisplay",
]
