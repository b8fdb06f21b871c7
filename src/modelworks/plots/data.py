"""Displays of a raw table before modelling: features by class, projections, associations, gaps, target.

Inputs are plain pandas objects: a DataFrame of raw features ``X`` (numbers may be stored as text and
values may be missing), a target Series ``y`` and the task (``"binary"``, ``"multiclass"`` or
``"regression"``; inferred from ``y`` when None).
"""

from modelworks.plots._distribution import BoxPlotDisplay, FeatureHistogramDisplay
from modelworks.plots._projection import PCADisplay, ScatterDisplay
from modelworks.plots._table import AssociationHeatmapDisplay, MissingValuesDisplay
from modelworks.plots._target import TargetDistributionDisplay, TargetRateDisplay

__all__ = [
    "FeatureHistogramDisplay",
    "BoxPlotDisplay",
    "ScatterDisplay",
    "PCADisplay",
    "AssociationHeatmapDisplay",
    "MissingValuesDisplay",
    "TargetDistributionDisplay",
    "TargetRateDisplay",
]
