"""The ``.plot`` accessors: ``profile.plot``, ``experiment.plot`` and ``evaluation.plot``.

Each method draws one Display from what the object already holds and returns it (``figure_``, ``ax_``);
keyword arguments go to the Display's ``plot``. A figure that does not apply to the data raises
:class:`NotApplicable` with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelworks.data.kinds import as_category_strings, parse_number_frame, parse_numbers
from modelworks.errors import ConfigError

#: Numeric features in the small-multiple figures (strongest association with the target first).
MAX_FEATURES = 6
#: Features in the partial dependence figure (most important first).
PDP_FEATURES = 3
#: Shuffles per feature behind each permutation importance (its spread); each costs one prediction.
IMPORTANCE_REPEATS = 4
#: Grid points per numeric feature in partial dependence; each costs one prediction.
PDP_GRID = 15
#: Column kinds partial dependence is drawn for.
PDP_KINDS = ("numeric", "categorical", "boolean")
#: Test rows used for permutation importance and partial dependence (seeded sample beyond).
MAX_ANALYSIS_ROWS = 1000
#: Most features permutation importance is computed for (each costs IMPORTANCE_REPEATS predictions).
MAX_IMPORTANCE_FEATURES = 300


def predicted_rows(n_rows: int, n_features: int) -> int:
    """Rows the model predicts for the importance and partial dependence figures of a test set of
    ``n_rows`` rows and ``n_features`` features (each shuffle or grid value is one copy of the rows)."""
    return sum(rows for rows, _ in figure_predictions(n_rows, n_features).values())


def figure_predictions(n_rows: int, n_features: int) -> dict[str, tuple[int, int]]:
    """Rows and calls the model predicts for each figure that predicts, by figure id, on a test set
    of ``n_rows`` rows and ``n_features`` features: the permutation importance (the unshuffled rows,
    then each shuffle), the partial dependence (each grid value). Beyond
    :data:`MAX_IMPORTANCE_FEATURES` features neither is drawn (the dependence ranks features by the
    importance), so neither predicts."""
    if n_features > MAX_IMPORTANCE_FEATURES:
        return {"permutation_importance": (0, 0), "partial_dependence": (0, 0)}
    rows = min(n_rows, MAX_ANALYSIS_ROWS)
    importance = 1 + n_features * IMPORTANCE_REPEATS
    dependence = PDP_FEATURES * PDP_GRID
    return {
        "permutation_importance": (importance * rows, importance),
        "partial_dependence": (dependence * rows, dependence),
    }


class NotApplicable(ConfigError):
    """The figure does not apply to this data; ``quiet`` when the task alone is the reason."""

    def __init__(self, message: str, quiet: bool = False):
        super().__init__(message)
        self.quiet = quiet


class ProfilePlots:
    """Figures of a profiled table (``profile.plot``).

    Parameters
    ----------
    profile : Profile
        From :func:`modelworks.profile`; it keeps the profiled rows in ``frame``.
    """

    def __init__(self, profile):
        if profile.frame is None:
            raise ConfigError("this profile holds no rows (it was read from JSON); profile the table again")
        self.profile = profile
        cols = profile.columns
        self._kinds = {r.name: r.kind for r in cols.itertuples(index=False) if not r.is_target}
        self.target_name = profile.target["name"] if profile.target else None
        self.task = profile.target["task"] if profile.target else None
        frame = profile.frame
        if self.target_name is not None:
            frame = frame.loc[frame[self.target_name].notna()]
        self.y = frame[self.target_name] if self.target_name is not None else None
        if self.y is not None and self.task == "regression":
            self.y = parse_numbers(self.y)
        numbers = parse_number_frame(frame, [n for n, kind in self._kinds.items() if kind == "numeric"])
        levels = {
            name: as_category_strings(frame[name])
            for name, kind in self._kinds.items()
            if kind in ("categorical", "boolean")
        }
        order = [n for n, kind in self._kinds.items() if n in levels or kind == "numeric"]
        self.X = pd.concat([numbers, pd.DataFrame(levels, index=frame.index)], axis=1)[order]

    def _need_target(self, what: str) -> None:
        if self.y is None:
            raise NotApplicable(f"{what} needs a target; give --target", quiet=True)

    def _ranked(self, kinds: tuple[str, ...]) -> list[str]:
        """Features of ``kinds``, strongest association with the target first."""
        names = [n for n, k in self._kinds.items() if k in kinds and n in self.X]
        assoc = self.profile.associations
        order = {f: i for i, f in enumerate(assoc["feature"])} if len(assoc) else {}
        return sorted(names, key=lambda n: order.get(n, len(order)))

    def _numeric(self, at_least: int = 1) -> list[str]:
        names = self._ranked(("numeric",))
        if len(names) < at_least:
            raise NotApplicable(
                f"needs {at_least} numeric feature{'s' if at_least > 1 else ''}; the table has {len(names)}"
            )
        return names

    def target_distribution(self, **kwargs):
        """Class counts, or the distribution of a numeric target."""
        from modelworks.plots import TargetDistributionDisplay

        self._need_target("the target distribution")
        return TargetDistributionDisplay.from_data(self.y, task=self.task, **kwargs)

    def histograms(self, **kwargs):
        """Histograms of the numeric features most associated with the target, split by class."""
        from modelworks.plots import FeatureHistogramDisplay

        names = self._numeric()[:MAX_FEATURES]
        if self.y is None:
            return FeatureHistogramDisplay.from_data(self.X[names], None, **kwargs)
        return FeatureHistogramDisplay.from_data(self.X[names], self.y, task=self.task, **kwargs)

    def boxplots(self, **kwargs):
        """Box plots of the numeric features by class (by target quantile for regression)."""
        from modelworks.plots import BoxPlotDisplay

        self._need_target("box plots by class")
        names = self._numeric()[:MAX_FEATURES]
        return BoxPlotDisplay.from_data(self.X[names], self.y, task=self.task, **kwargs)

    def scatter(self, **kwargs):
        """The two most informative numeric features, coloured by the target."""
        from modelworks.plots import ScatterDisplay

        self._need_target("the scatter of the most informative features")
        names = self._numeric(at_least=2)
        return ScatterDisplay.from_data(
            self.X[names], self.y, task=self.task, random_state=self.profile.seed, **kwargs
        )

    def pca(self, **kwargs):
        """A 2-D PCA projection of the features, coloured by the target."""
        from modelworks.plots import PCADisplay

        self._need_target("the PCA projection")
        if self.X.shape[1] < 2:
            raise NotApplicable(f"needs 2 features; the table has {self.X.shape[1]}")
        return PCADisplay.from_data(self.X, self.y, task=self.task, random_state=self.profile.seed, **kwargs)

    def associations(self, **kwargs):
        """Heatmap of the associations between features."""
        from modelworks.plots import AssociationHeatmapDisplay

        if self.X.shape[1] < 2:
            raise NotApplicable(f"needs 2 features; the table has {self.X.shape[1]}")
        return AssociationHeatmapDisplay.from_data(self.X, **kwargs)

    def missing(self, **kwargs):
        """Where values are missing."""
        from modelworks.plots import MissingValuesDisplay

        frame = self.profile.frame
        if not frame.isna().to_numpy().any():
            raise NotApplicable("no value is missing")
        return MissingValuesDisplay.from_data(frame, random_state=self.profile.seed, **kwargs)

    def target_rate(self, column: str | None = None, **kwargs):
        """The target per level of ``column`` (default: the most associated categorical feature)."""
        from modelworks.plots import TargetRateDisplay

        self._need_target("the target rate by category")
        if column is None:
            names = self._ranked(("categorical", "boolean"))
            if not names:
                raise NotApplicable("the table has no categorical feature")
            column = names[0]
        table = self.profile.target_rates.get(column)
        if table is None:
            raise ConfigError(f"no target rate for column {column!r}; give a categorical or numeric feature")
        return TargetRateDisplay.from_table(
            table,
            column,
            target_name=str(self.target_name),
            pos_label=(self.profile.target or {}).get("positive_label"),
            **kwargs,
        )


class ExperimentPlots:
    """Figures of a comparison (``experiment.plot``)."""

    def __init__(self, experiment):
        self.experiment = experiment

    def comparison(self, **kwargs):
        """The leaderboard as a picture: mean CV score and spread per model, ties marked."""
        from modelworks.plots import ModelComparisonDisplay

        board = self.experiment.compare()
        return ModelComparisonDisplay.from_leaderboard(board, metric=board.metric, **kwargs)

    def learning_curve(self, **kwargs):
        """Training and validation score of the chosen model against training rows."""
        from modelworks.plots import LearningCurveDisplay

        curve = self.experiment.learning_curve()
        if curve.skipped:
            raise NotApplicable(f"skipped: {curve.skipped}")
        return LearningCurveDisplay.from_results(
            curve.train_sizes,
            curve.train_scores,
            curve.test_scores,
            metric_name=curve.metric,
            greater_is_better=curve.greater_is_better,
            **kwargs,
        )

    def training_curve(self, **kwargs):
        """Loss per epoch of the chosen neural network (an ensemble's, when one is a member) on its
        first fold's training and validation parts."""
        from modelworks.plots import TrainingCurveDisplay

        histories = self.experiment.training_histories()
        if not histories:
            raise NotApplicable("the chosen model has no neural network", quiet=True)
        name, history = next(iter(histories.items()))
        classification = self.experiment.task != "regression"
        return TrainingCurveDisplay.from_history(history, name=name, classification=classification, **kwargs)

    def fit_time(self, **kwargs):
        """Fit time against CV score, one point per model."""
        from modelworks.plots import FitTimeDisplay

        board = self.experiment.compare()
        return FitTimeDisplay.from_leaderboard(board, metric=board.metric, **kwargs)


class EvaluationPlots:
    """Figures of the chosen model on the test set (``evaluation.plot``)."""

    def __init__(self, evaluation):
        if evaluation.context is None:
            raise ConfigError(
                "this evaluation holds no test data (it was read from a bundle); evaluate again"
            )
        self.evaluation = evaluation
        self.ctx = evaluation.context
        self.task = evaluation.task
        self._importance: Any = None

    def _classification(self, what: str) -> None:
        if self.task == "regression":
            raise NotApplicable(f"{what} applies to classification", quiet=True)

    def _regression(self, what: str) -> None:
        if self.task != "regression":
            raise NotApplicable(f"{what} applies to regression", quiet=True)

    def _proba_kwargs(self) -> dict[str, Any]:
        return {"classes": list(self.ctx.classes), "pos_label": self.ctx.pos_label}

    def roc(self, **kwargs):
        """ROC curve (one-vs-rest per class for multiclass)."""
        from modelworks.plots import RocCurveDisplay

        self._classification("a ROC curve")
        return RocCurveDisplay.from_predictions(self.ctx.y, self.ctx.pred, **self._proba_kwargs(), **kwargs)

    def precision_recall(self, **kwargs):
        """Precision-recall curve (one-vs-rest per class for multiclass)."""
        from modelworks.plots import PrecisionRecallDisplay

        self._classification("a precision-recall curve")
        return PrecisionRecallDisplay.from_predictions(
            self.ctx.y, self.ctx.pred, **self._proba_kwargs(), **kwargs
        )

    def calibration(self, **kwargs):
        """Calibration curve of the predicted probabilities."""
        from modelworks.plots import CalibrationDisplay

        self._classification("a calibration curve")
        return CalibrationDisplay.from_predictions(
            self.ctx.y, self.ctx.pred, **self._proba_kwargs(), **kwargs
        )

    def confusion_matrix(self, **kwargs):
        """Confusion matrix, counts and row-normalised, at the decision threshold."""
        from modelworks.evaluate.metrics import predicted_labels
        from modelworks.plots import ConfusionMatrixDisplay

        self._classification("a confusion matrix")
        predicted = predicted_labels(self.ctx.pred, self.ctx.classes, self.ctx.pos_label, self.ctx.threshold)
        return ConfusionMatrixDisplay.from_predictions(
            self.ctx.y.to_numpy(), predicted, labels=list(self.ctx.classes), **kwargs
        )

    def _analysis_rows(self) -> tuple[pd.DataFrame, pd.Series]:
        X, y = self.ctx.X, self.ctx.y
        if len(X) > MAX_ANALYSIS_ROWS:
            rows = np.sort(np.random.default_rng(0).choice(len(X), MAX_ANALYSIS_ROWS, replace=False))
            X, y = X.iloc[rows], y.iloc[rows]
        return X, y

    def permutation_importance(self, **kwargs):
        """Drop in the test score when each feature is shuffled, with its spread over repeats."""
        from modelworks.plots import PermutationImportanceDisplay

        if self._importance is not None and not kwargs:
            return self._importance
        X, y = self._analysis_rows()
        if X.shape[1] > MAX_IMPORTANCE_FEATURES:
            raise NotApplicable(
                f"{X.shape[1]:,} features: permutation importance is computed up to "
                f"{MAX_IMPORTANCE_FEATURES} (each feature costs {IMPORTANCE_REPEATS} predictions)"
            )
        scoring = {
            "binary": "roc_auc",
            "multiclass": "neg_log_loss",
            "regression": "neg_root_mean_squared_error",
        }
        display = PermutationImportanceDisplay.from_estimator(
            self.ctx.model,
            X,
            y,
            scoring=scoring[self.task],
            n_repeats=IMPORTANCE_REPEATS,
            random_state=0,
            **kwargs,
        )
        if not kwargs:
            self._importance = display
        return display

    def partial_dependence(self, features: list[str] | None = None, **kwargs):
        """Partial dependence of the prediction on the most important features."""
        from modelworks.plots import PartialDependenceDisplay

        kinds = self.ctx.kinds
        if features is None:
            # dates and free text vary along no single axis a reader could follow
            importances = self.permutation_importance().importances_
            ranked = importances.sort_values("mean", ascending=False)["feature"]
            features = [f for f in ranked if kinds.get(f) in PDP_KINDS][:PDP_FEATURES]
            if not features:
                raise NotApplicable("no numeric or categorical feature to vary")
        X, _ = self._analysis_rows()
        categorical = [f for f in features if kinds.get(f) in ("categorical", "boolean")]
        return PartialDependenceDisplay.from_estimator(
            self.ctx.model,
            X,
            features,
            categorical_features=categorical or None,
            **{"grid_resolution": PDP_GRID, **kwargs},
        )

    def _regression_values(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.ctx.y, dtype=float), np.asarray(self.ctx.pred, dtype=float)

    def predicted_actual(self, **kwargs):
        """Predicted against actual values (regression)."""
        from modelworks.plots import PredictedActualDisplay

        self._regression("predicted against actual")
        return PredictedActualDisplay.from_predictions(*self._regression_values(), **kwargs)

    def residuals(self, **kwargs):
        """Residuals against predicted values (regression)."""
        from modelworks.plots import ResidualsDisplay

        self._regression("a residual plot")
        return ResidualsDisplay.from_predictions(*self._regression_values(), **kwargs)

    def residual_histogram(self, **kwargs):
        """Histogram of the residuals (regression)."""
        from modelworks.plots import ResidualHistogramDisplay

        self._regression("a residual histogram")
        return ResidualHistogramDisplay.from_predictions(*self._regression_values(), **kwargs)
