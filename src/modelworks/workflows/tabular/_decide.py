"""The decision stage: the decision threshold of a binary classifier (chosen out of fold), and
whether the saved model is the average of its fold models (:mod:`modelworks.search.bagging`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from modelworks.evaluate.threshold import ThresholdChoice, choose_threshold
from modelworks.prepare.clean import TableCleaner
from modelworks.search.bagging import BagCheck, affordable_folds, as_bag, fit_bag
from modelworks.search.bagging import Skipped as BagSkipped
from modelworks.search.bagging import check as check_bagging
from modelworks.search.budget import SAFETY, Budget, FinishCost
from modelworks.search.crossval import Stopped
from modelworks.search.leaderboard import ModelResult
from modelworks.search.sampling import RowPlan
from modelworks.search.splits import cv_folds
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._compare import first_line
from modelworks.workflows.tabular._models import Models


def decide_threshold(
    models: Models, name: str, settings: RunSettings, proba: np.ndarray | None = None
) -> ThresholdChoice | None:
    """The threshold of a binary classifier that maximises F1 (or minimises ``settings.costs``) on
    the out-of-fold predictions of ``name`` (``proba``, of the compared rows, when the saved model's
    probabilities are calibrated); ``None`` when there is none to choose."""
    split = models.split
    if split.task != "binary" or not (settings.threshold or settings.costs):
        return None
    pos = list(split.classes or []).index(split.positive_label)
    rows = split.compared()
    scores = models.oof_of(name)[rows, pos] if proba is None else proba[:, pos]
    return choose_threshold(split.y_train.iloc[rows], scores, split.positive_label, costs=settings.costs)


def with_threshold(
    model: Pipeline, threshold: float | None, classes: list | None, positive_label
) -> Pipeline:
    """Apply a decision threshold in ``predict`` (scikit-learn's FixedThresholdClassifier)."""
    if threshold is None:
        return model
    name, last = model.steps[-1]
    thresholded = FixedThresholdClassifier(
        FrozenEstimator(last),  # already fitted: "fitting" the wrapper leaves it as it is
        threshold=threshold,
        pos_label=positive_label,
        response_method="predict_proba",
    )
    y = pd.Series(classes)
    model.steps[-1] = (name, thresholded.fit(np.zeros((len(y), 1)), y))
    return model


class Bagging:
    """Whether to save ``name`` as the average of its fold models, measured, and the bag if so.

    Parameters
    ----------
    models : Models
        The candidates, their folds and the ensemble's members.
    budget, finish
        The run's budget, and what the report and bundle cost.
    rows : RowPlan
        The row plan (a sampled comparison is not bagged).
    settings : RunSettings
        ``bag``, ``prefer``, ``alpha``.
    result_of : callable
        Model name → its cross-validation result.

    Attributes
    ----------
    outcome : BagCheck or Skipped or None
        The evidence, or why no check ran; set by :meth:`fit`.
    """

    def __init__(
        self,
        models: Models,
        budget: Budget,
        finish: FinishCost,
        rows: RowPlan,
        settings: RunSettings,
        result_of: Callable[[str], ModelResult],
    ):
        self.models, self.budget, self.finish, self.rows = models, budget, finish, rows
        self.settings, self.result_of = settings, result_of
        self.outcome: BagCheck | BagSkipped | None = None

    def as_bag(self, name: str) -> ModelResult:
        """``name``'s result as the average of its fold models would cost it."""
        return as_bag(self.result_of(name), self.models.split.cv)

    def fit(self, name: str) -> Pipeline | None:
        """The chosen model as the average of its fold models, fitted on the training part, when the
        check says so and the budget allows; else ``None`` (:attr:`outcome` says why)."""
        split, cv = self.models.split, self.models.split.cv
        self.outcome = self._check(name)
        if not self.outcome.chosen:
            return None
        fold_s = float(np.mean(self.result_of(name).fit_seconds))
        folds = split.folds[:cv]
        if not self.budget.can_afford(SAFETY * cv * fold_s, self.finish.seconds(self.as_bag(name))):
            self.outcome = BagSkipped(
                f"a single model: no time left to fit the fold models ({self.outcome.reason})"
            )
            return None
        cleaner = TableCleaner(split.columns).fit(split.X_train)
        fewest = min(len(train) for train, _ in folds)
        try:
            bag = fit_bag(
                self.models.bag_parts(name, fewest),
                cleaner.transform(split.X_train),
                split.y_train,
                folds,
                split.classes,
                self.budget.finish_deadline(),
            )
        except Stopped as stop:
            self.outcome = BagSkipped(f"a single model: {stop}")
            return None
        except Exception as exc:  # a failing bag falls back to the refit, it never ends the run
            self.outcome = BagSkipped(f"a single model: the fold models failed ({first_line(exc)})")
            return None
        return Pipeline([("clean", cleaner), ("model", bag)])

    def _check(self, name: str) -> BagCheck | BagSkipped:
        """Measure whether averaging ``name``'s fold models beats one refit (or say why not)."""
        split, settings, cv = self.models.split, self.settings, self.models.split.cv
        if not settings.bag:
            return BagSkipped("a single model (--no-bag)")
        if settings.prefer == "fast":
            return BagSkipped("a single model (--prefer fast: it predicts K times faster)")
        if name == "ensemble" and self.models.stack is not None:
            return BagSkipped(
                "one refit of each member: the stacked ensemble's combiner was learned on single "
                "models' predictions"
            )
        if split.scheme.kind == "time":
            return BagSkipped(
                "a single model: forward-chaining folds' models saw only the past of the training part"
            )
        if self.rows.fit_rows < len(split.X_train) or len(split.compared()) < len(split.X_train):
            return BagSkipped("a single model: the models were compared on a sample of the rows")
        fold_s = float(np.mean(self.result_of(name).fit_seconds))
        final = SAFETY * fold_s * max(cv, self.budget.final_fits)  # whichever wins
        checked = affordable_folds(self.budget, fold_s, cv, final, self.finish.seconds(self.as_bag(name)))
        if not checked:
            return BagSkipped(
                "a single model: checking the fold models' average would not fit in the time budget"
            )

        def inner_folds(train: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
            groups = None if split.groups is None else split.groups[train]
            inner = cv_folds(split.y_train.iloc[train], groups, cv, 1, split.seed, split.classification)
            return [(train[a], train[b]) for a, b in inner]

        outer = split.folds[:checked]
        fewest = min(len(train) for train, _ in outer) * (cv - 1) // cv
        try:
            return check_bagging(
                self.models.bag_parts(name, max(fewest - 1, 1)),
                TableCleaner(split.columns).fit_transform(split.X_train),
                split.y_train,
                outer,
                inner_folds,
                split.metric,
                split.classes,
                split.positive_label,
                settings.prefer,
                settings.alpha,
                split.seed,
                self.budget.finish_deadline(keep=final),
            )
        except Stopped as stop:
            return BagSkipped(f"a single model: the check was stopped ({stop})")
        except Exception as exc:  # too few rows of a class for the inner folds, for example
            return BagSkipped(f"a single model: the check could not run ({first_line(exc)})")
