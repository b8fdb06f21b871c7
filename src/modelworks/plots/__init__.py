"""Matplotlib Displays of data, model comparisons and evaluations, in scikit-learn's Display style.

Each Display computes what it shows in a ``from_*`` class method, then draws it with ``plot(ax=None)``,
which returns the Display holding ``figure_`` and ``ax_``. Importing this package selects the Agg
backend on a headless Linux machine. :func:`to_png` and :func:`to_data_uri` render and close a figure.
"""

from modelworks.plots._anomaly import AnomalyScoreDisplay
from modelworks.plots._cluster_choice import BICDisplay, ElbowDisplay, SelectionDisplay
from modelworks.plots._cluster_cuts import DendrogramDisplay, KDistanceDisplay
from modelworks.plots._cluster_profiles import ClusterProfileDisplay, SilhouetteDisplay
from modelworks.plots._cluster_projection import BiplotDisplay, ClusterProjectionDisplay, ScreeDisplay
from modelworks.plots._images import ImageGridDisplay
from modelworks.plots._periods import PeriodScoreDisplay
from modelworks.plots._style import OKABE_ITO, PALETTE, RC, style, to_data_uri, to_png
from modelworks.plots._training import TrainingCurveDisplay
from modelworks.plots.data import (
    AssociationHeatmapDisplay,
    BoxPlotDisplay,
    FeatureHistogramDisplay,
    MissingValuesDisplay,
    PCADisplay,
    ScatterDisplay,
    TargetDistributionDisplay,
    TargetRateDisplay,
)
from modelworks.plots.evaluation import (
    CalibrationDisplay,
    ConfusionMatrixDisplay,
    PartialDependenceDisplay,
    PermutationImportanceDisplay,
    PrecisionRecallDisplay,
    PredictedActualDisplay,
    ResidualHistogramDisplay,
    ResidualsDisplay,
    RocCurveDisplay,
)
from modelworks.plots.models import FitTimeDisplay, LearningCurveDisplay, ModelComparisonDisplay

__all__ = [
    # style
    "OKABE_ITO",
    "PALETTE",
    "RC",
    "style",
    "to_png",
    "to_data_uri",
    # data
    "AssociationHeatmapDisplay",
    "BoxPlotDisplay",
    "FeatureHistogramDisplay",
    "MissingValuesDisplay",
    "PCADisplay",
    "ScatterDisplay",
    "TargetDistributionDisplay",
    "TargetRateDisplay",
    # models
    "FitTimeDisplay",
    "LearningCurveDisplay",
    "PeriodScoreDisplay",
    "TrainingCurveDisplay",
    "ImageGridDisplay",
    "ModelComparisonDisplay",
    # evaluation
    "CalibrationDisplay",
    "ConfusionMatrixDisplay",
    "PartialDependenceDisplay",
    "PermutationImportanceDisplay",
    "PrecisionRecallDisplay",
    "PredictedActualDisplay",
    "ResidualHistogramDisplay",
    "ResidualsDisplay",
    "RocCurveDisplay",
    # clusters and anomalies
    "AnomalyScoreDisplay",
    "BICDisplay",
    "BiplotDisplay",
    "ClusterProfileDisplay",
    "ClusterProjectionDisplay",
    "DendrogramDisplay",
    "ElbowDisplay",
    "KDistanceDisplay",
    "ScreeDisplay",
    "SelectionDisplay",
    "SilhouetteDisplay",
]
