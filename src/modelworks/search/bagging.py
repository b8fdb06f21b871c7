"""Bagging: ship the chosen model as the average of its K fold models, when the evidence says so.

AutoGluon ships every model as the average of the K models its cross-validation fitted ("bagging",
see ../shared/PEERS.md): the average has less variance than any one fit, and no final refit is
needed, so the model tested on the test set is exactly the model saved. But it costs K times the
prediction time and size, and its members each saw only (K-1)/K of the rows, so it is not always
better than one model refitted on all of them. modelworks therefore measures it instead of assuming
it: on one fold of the cross-validation (two when the budget allows), the fold's training rows are
split again into K inner folds; the average of the K inner models is scored against one model
fitted on the fold's whole training part as the final refit would be (a booster with the rounds the
comparison measured), both on the fold's validation rows, which neither saw. The paired bootstrap
of that difference says whether it is significant. Bagging is chosen when the average scores better
(significantly so with ``--prefer simple``; the experiment never bags with ``--prefer fast``: the
average is K times slower to predict).

The bagged model is a :class:`~modelworks.search.ensemble.WeightedEnsemble` whose members are the
fold models with equal weights (for a chosen ensemble, every member's fold models, weighted
``w / K``), so that saving, the ONNX export and the server treat it as any ensemble.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import cast

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from modelworks.evaluate.metrics import METRICS, score_all
from modelworks.evaluate.resampling import paired_p_value
from modelworks.models.boosting import forget_validation
from modelworks.search.budget import SAFETY, Budget
from modelworks.search.crossval import Stopped
from modelworks.search.ensemble import WeightedEnsemble
from modelworks.search.fold import fit_fold, predict_scores
from modelworks.search.leaderboard import ModelResult

#: Outer folds checked at most (each costs about K fits of 0.64 n rows and one of 0.8 n).
MAX_CHECKED_FOLDS = 2


@dataclass(frozen=True)
class Part:
    """One model of the chosen pipeline (the model itself, or one member of the ensemble).

    Attributes
    ----------
    name : str
        The model's name on the leaderboard.
    weight : float
        Its weight in the chosen pipeline (1 for a single model).
    fold_pipeline : Pipeline
        Preparation and model, unfitted, as cross-validation fits it (a booster stops early).
    refit_pipeline : Pipeline
        Preparation and model, unfitted, as the final refit fits it (a booster with fixed rounds).
    patience : int
        Early-stopping patience of a booster (0: none).
    """

    name: str
    weight: float
    fold_pipeline: Pipeline
    refit_pipeline: Pipeline
    patience: int


@dataclass(frozen=True)
class BagCheck:
    """The evidence for or against bagging, as measured by :func:`check`.

    Attributes
    ----------
    metric : str
        The ranking metric.
    bagged : float
        Score of the average of the inner fold models on the checked validation rows.
    single : float
        Score of one model fitted on the whole training part of the checked folds.
    rows : int
        Validation rows scored.
    folds : int
        Outer folds checked.
    p_value : float
        Paired bootstrap p-value of the difference (NaN when it could not be computed).
    chosen : bool
        Whether the saved model is the bag of fold models.
    reason : str
        The decision, in words.
    """

    metric: str
    bagged: float
    single: float
    rows: int
    folds: int
    p_value: float
    chosen: bool
    reason: str

    def to_dict(self) -> dict:
        """JSON-ready: a score or p-value that could not be computed is ``None``."""
        return {
            k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(self).items()
        }


@dataclass(frozen=True)
class Skipped:
    """Bagging was not considered; ``reason`` says why."""

    reason: str
    chosen: bool = False

    def to_dict(self) -> dict:
        return {"chosen": False, "reason": self.reason}


def as_bag(result: ModelResult, k: int) -> ModelResult:
    """``result`` as the average of its ``k`` fold models would measure: ``k`` times the prediction
    cost and the parts, ``k`` models of (k-1)/k of the rows (what the report's and the bundle's
    time estimates need)."""
    return dataclasses.replace(
        result,
        predict_ms_per_1000=[k * v for v in result.predict_ms_per_1000],
        call_ms=k * result.call_ms,
        row_ms=None if result.row_ms is None else k * result.row_ms,
        size_mb=result.size_mb * (k - 1),
        parts=k * result.parts,
    )


def affordable_folds(budget: Budget, fold_seconds: float, k: int, final: float, finish: float) -> int:
    """How many outer folds (:data:`MAX_CHECKED_FOLDS` at most, 0: none) the check may take: each
    costs ``k`` inner fits of (k-1)/k of a fold's rows and one refit, about ``k`` fold fits; then
    ``final`` seconds of final fits, the evaluation and ``finish`` must still fit."""
    for m in range(MAX_CHECKED_FOLDS, 0, -1):
        if budget.can_afford(SAFETY * m * k * fold_seconds + final, finish):
            return m
    return 0


def fit_bag(
    parts: Sequence[Part],
    X: pd.DataFrame,
    y: pd.Series,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    classes,
    deadline: float | None,
) -> WeightedEnsemble:
    """Fit every part on every fold's training rows (a booster stopping early on the fold's
    validation rows) and return their weighted average, fitted.

    ``X`` is already cleaned (the members are preparation and model only). Raises
    :class:`~modelworks.search.crossval.Stopped` when a fit reaches ``deadline``.
    """
    members, weights = [], []
    for part in parts:
        for k, (train, val) in enumerate(folds):
            fold = fit_fold(
                part.fold_pipeline, X, y, train, val, part.patience, classes, deadline, False, True
            )
            if fold.late:
                raise Stopped(f"the fold models reached the time budget's deadline (fold {k + 1})")
            model = cast(Pipeline, fold.model)
            if part.patience:  # saved, unlike the comparison's fold models
                forget_validation(model[-1])
            members.append((f"{part.name}_fold{k + 1}", model))
            weights.append(part.weight / len(folds))
    bag = WeightedEnsemble(members, weights)
    bag.estimators_ = members
    if classes is not None:  # every class, also one a fold's training part lacked (a rare class)
        bag.classes_ = np.asarray(classes)
    return bag


def check(
    parts: Sequence[Part],
    X: pd.DataFrame,
    y: pd.Series,
    outer: Sequence[tuple[np.ndarray, np.ndarray]],
    inner_folds: Callable[[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
    metric: str,
    classes,
    pos_label,
    prefer: str,
    alpha: float,
    seed: int,
    deadline: float | None,
) -> BagCheck:
    """Score the bag of inner fold models against one refitted model on the ``outer`` folds.

    ``inner_folds(train)`` splits an outer fold's training rows (positions into ``X``) into the
    inner folds, as the comparison split the training part. See the module docstring.
    """
    truth, bagged, single = [], [], []
    for train, val in outer:
        inner = inner_folds(train)
        bag = fit_bag(parts, X, y, inner, classes, deadline)
        bagged.append(predict_scores(bag, X.iloc[val], classes))
        refits = [clone(part.refit_pipeline).fit(X.iloc[train], y.iloc[train]) for part in parts]
        single.append(
            sum(
                p.weight * predict_scores(m, X.iloc[val], classes) for p, m in zip(parts, refits, strict=True)
            )
        )
        truth.append(y.iloc[val])
    y_val = pd.concat(truth)
    pred_bag, pred_single = np.concatenate(bagged), np.concatenate(single)
    score_bag = score_all([metric], y_val, pred_bag, classes, pos_label)[metric]
    score_single = score_all([metric], y_val, pred_single, classes, pos_label)[metric]
    p = paired_p_value(metric, y_val.to_numpy(), pred_bag, pred_single, classes, pos_label, seed)
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    better = sign * (score_bag - score_single) > 0
    significant = not math.isnan(p) and p < alpha
    said = f"{metric} {score_bag:.4g} averaged vs {score_single:.4g} refitted"
    said += f" on {len(y_val):,} held-out rows of {len(outer)} fold(s)"
    said += f"; p = {p:.2g}" if not math.isnan(p) else "; p not computed"
    if not better:
        chosen, reason = False, f"a single model: {said}"
    elif prefer == "simple" and not significant:
        chosen = False
        reason = f"a single model (--prefer simple; the average is not significantly better): {said}"
    else:
        verdict = "significant" if significant else "not significant"
        chosen, reason = True, f"fold models averaged: {said} ({verdict})"
    return BagCheck(metric, float(score_bag), float(score_single), len(y_val), len(outer), p, chosen, reason)
