"""The combination stage: a weighted ensemble of the best models (ensemble selection on their
out-of-fold predictions), and a learned combiner kept only when it is significantly better."""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from modelworks.evaluate.resampling import paired_p_value
from modelworks.search import stacking as stack
from modelworks.search.budget import Budget, FinishCost
from modelworks.search.ensemble import MAX_MEMBERS, cross_fitted_scores, greedy_weights
from modelworks.search.leaderboard import Leaderboard, ModelResult
from modelworks.search.stacking import StackDecision
from modelworks.workflows.tabular._models import Models
from modelworks.workflows.tabular._plan import reserve_for

#: An ensemble's (unscored) result and its members with their weights.
Selection = tuple[ModelResult, list[tuple[ModelResult, float]]]


class Combination:
    """Ensemble and stacking of a comparison's results.

    Parameters
    ----------
    models : Models
        The candidates and their out-of-fold predictions; the chosen members and combiner are kept
        there.
    budget, finish
        The run's budget, and what the report and bundle cost (an ensemble must leave room for them).
    alpha : float
        Significance level of the stacking decision.

    Attributes
    ----------
    stacking : StackDecision or None
        Whether the members are combined by a learned combiner, and the evidence.
    """

    def __init__(self, models: Models, budget: Budget, finish: FinishCost, alpha: float):
        self.models, self.budget, self.finish, self.alpha = models, budget, finish, alpha
        self.stacking: StackDecision | None = None

    def select(self, pool: list[ModelResult]) -> Selection | None:
        """Ensemble selection over ``pool``, or ``None`` when it keeps a single model."""
        split = self.models.split
        oofs = [self.models.oof[r.name].mean(axis=0) for r in pool]
        weights = greedy_weights(
            oofs, split.y_train, split.metric, split.classes, split.positive_label, rows=split.compared()
        )
        members = [(r, w) for r, w in zip(pool, weights, strict=True) if w > 0]
        if len(members) < 2:
            return None
        n_folds = len(split.folds)
        row_ms = [r.row_ms for r, _ in members]
        ensemble = ModelResult(
            "ensemble",
            "Ensemble of " + ", ".join(f"{r.name} {w:.2f}" for r, w in members),
            {},
            [sum(r.fit_seconds[i] for r, _ in members) for i in range(n_folds)],
            [sum(r.predict_ms_per_1000[i] for r, _ in members) for i in range(n_folds)],
            simplicity=9,
            call_ms=sum(r.call_ms for r, _ in members),
            row_ms=None if None in row_ms else sum(cast(list[float], row_ms)),
            size_mb=sum(r.size_mb for r, _ in members),
            parts=sum(r.parts for r, _ in members),
            val_rows=members[0][0].val_rows,
        )
        return ensemble, members

    def add(self, results: list[ModelResult], skipped: list[tuple[str, str]]) -> None:
        """Add a weighted ensemble of the best models to ``results``, if it mixes several and the
        budget allows (else say why in ``skipped``)."""
        split = self.models.split
        pool = Leaderboard(split.metric, split.metrics, list(results)).results[:MAX_MEMBERS]
        while True:
            selected = self.select(pool)
            if selected is None:
                skipped.append(("ensemble", f"ensemble selection kept only {pool[0].name}"))
                return
            ensemble, members = selected
            if self.budget.can_finish(float(np.mean(ensemble.fit_seconds)), self.finish.seconds(ensemble)):
                break
            # too slow to refit, report and save whole: leave out its slowest member, select again
            slowest = max((r for r, _ in members), key=lambda r: float(np.mean(r.fit_seconds)))
            pool = [r for r in pool if r is not slowest]
            if len(pool) < 2:
                reason = "its final fits, report and bundle would not finish within the time budget"
                skipped.append(("ensemble", reason))
                return
        greedy_oof = np.zeros_like(self.models.oof[members[0][0].name], dtype=float)
        ensemble.fold_scores = cross_fitted_scores(
            [self.models.oof[r.name] for r, _ in members],
            split.y_train,
            split.folds,
            split.metrics,
            split.classes,
            split.positive_label,
            n_splits=split.cv,
            out=greedy_oof,
        )
        self._stack_or_not(ensemble, [r for r, _ in members], greedy_oof)
        results.append(ensemble)
        self.models.ensemble = [(r.name, float(w)) for r, w in members]
        best = Leaderboard(split.metric, split.metrics, list(results)).best
        if best.name == "ensemble":
            reserve_for(self.budget, self.finish, best)

    def _stack_or_not(
        self, ensemble: ModelResult, members: list[ModelResult], greedy_oof: np.ndarray
    ) -> None:
        """Score a learned combiner of the ensemble's ``members`` (cross-fitted, as the greedy
        weights were) and keep it, with its scores, when it is significantly better (paired
        bootstrap of the cross-fitted predictions); :attr:`stacking` says which and why."""
        split, metric = self.models.split, self.models.split.metric
        self.models.stack = None
        stacked = stack.cross_fitted(
            [self.models.oof[r.name] for r in members],
            split.y_train,
            split.folds,
            split.metrics,
            split.classes,
            split.positive_label,
            split.cv,
        )
        greedy_score = float(np.nanmean(ensemble.fold_scores[metric]))
        if stacked is None:
            reason = "the greedy weights: a class is too rare in the compared rows to learn a combiner"
            self.stacking = StackDecision(False, metric, greedy_score, math.nan, math.nan, reason)
            return
        rows = split.compared()
        p = paired_p_value(
            metric,
            split.y_train.iloc[rows].to_numpy(),
            stacked.oof.mean(axis=0)[rows],
            greedy_oof.mean(axis=0)[rows],
            split.classes,
            split.positive_label,
            split.seed,
        )
        stacked_score = float(np.nanmean(stacked.fold_scores[metric]))
        scores = f"{metric} {stacked_score:.4g} vs {greedy_score:.4g} cross-fitted, p = {p:.2g}"
        kind = "logistic regression" if split.classes is not None else "non-negative least squares"
        how = f"{kind} on the members' out-of-fold predictions"
        # the combiner costs the ONNX export (it has no converter yet) and a model more to explain:
        # it is kept only where it measurably helps, significantly at the run's alpha
        if not stack.better(metric, stacked.fold_scores[metric], ensemble.fold_scores[metric]):
            chosen, reason = False, f"the greedy weights: the learned combiner is not better ({scores})"
        elif not p < self.alpha:
            chosen = False
            reason = f"the greedy weights: the learned combiner is not significantly better ({scores})"
        else:
            chosen = True
            reason = f"a learned combiner ({how}): significantly better than the greedy weights ({scores})"
        self.stacking = StackDecision(chosen, metric, greedy_score, stacked_score, p, reason)
        if chosen:
            self.models.stack = stacked
            ensemble.fold_scores = stacked.fold_scores
            names = ", ".join(r.name for r in members)
            ensemble.label = f"Stacked ensemble of {names} ({how})"
