"""Experiment: the one place that knows the order of the stages.

load → check → drop duplicates → split (test held out) → column kinds → compare on CV folds under a
time budget → evaluate the best on the test set once → refit on all rows → save a bundle.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import (
    FixedThresholdClassifier,
)
from sklearn.pipeline import Pipeline

from modelworks.data._frames import row_hashes
from modelworks.data.checks import check_classes, check_features, check_not_only_copies, target_copies
from modelworks.data.kinds import infer_kinds
from modelworks.data.load import consolidated, load
from modelworks.data.profile import MAX_DETAILED_COLUMNS, Profile, profile
from modelworks.data.schema import build_schema
from modelworks.data.target import detect_task, find_target, positive_label
from modelworks.errors import ModelworksError
from modelworks.evaluate.evaluation import Evaluation, EvaluationContext, evaluate_predictions
from modelworks.evaluate.metrics import METRICS, metric_names
from modelworks.evaluate.resampling import (
    BCA_MAX_ROWS,
    bootstrap_intervals,
    paired_p_value,
    seconds_per_cell,
    weighted_metric,
)
from modelworks.evaluate.threshold import ThresholdChoice, choose_threshold
from modelworks.models.boosting import set_rounds
from modelworks.models.registry import BuildContext, ModelSpec, candidates
from modelworks.models.threads import predict_on_one_thread
from modelworks.prepare.clean import TableCleaner
from modelworks.prepare.columns import build_preprocessor
from modelworks.search import stacking as stack
from modelworks.search.bagging import BagCheck, affordable_folds, as_bag, fit_bag
from modelworks.search.bagging import Part as BagPart
from modelworks.search.bagging import Skipped as BagSkipped
from modelworks.search.bagging import check as check_bagging
from modelworks.search.budget import (
    FINAL_FITS,
    LEADERS,
    RESERVE,
    SAFETY,
    Budget,
    FinishCost,
    plan_intervals,
    profile_columns,
    schedule,
)
from modelworks.search.crossval import Stopped, cross_validate
from modelworks.search.ensemble import MAX_MEMBERS, WeightedEnsemble, cross_fitted_scores, greedy_weights
from modelworks.search.fold import predict_scores
from modelworks.search.leaderboard import Leaderboard, ModelResult
from modelworks.search.learning import (
    CURVE_FOLDS,
    FEWEST_CURVE_FOLDS,
    LearningCurve,
    curve_seconds,
    learning_curve,
)
from modelworks.search.sampling import SAMPLE_FLOOR, RowPlan, plan_rows, sample_rows, sampled_folds, time_fits
from modelworks.search.splits import cv_folds, holdout, rare_labels, row_groups
from modelworks.search.stacking import StackDecision, Stacked, StackedEnsemble
from modelworks.search.workers import FoldPool, FoldWorkers, WorkersLost, pool_size
from modelworks.settings import RunSettings, check_folds

if TYPE_CHECKING:
    from modelworks.distributed._large import LargeTable
    from modelworks.plots.accessors import ExperimentPlots
    from modelworks.report._figures import FigureClock
    from modelworks.search.tuning import Tuning


@dataclass
class Cleaning:
    """What was dropped or changed before modelling, and why."""

    rows_in: int = 0
    missing_target_rows: int = 0
    duplicate_rows: int = 0
    #: Whether the repeated rows were dropped (``drop_duplicates=True``) or kept, grouped.
    duplicates_dropped: bool = False
    #: Classes with a single row (or one group of identical rows): trained on, never in the test set.
    rare_classes: list[str] = field(default_factory=list)
    dropped_columns: list[dict] = field(default_factory=list)
    parsed_columns: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def build_pipeline(
    spec: ModelSpec, columns: list[dict], task: str, seed: int, n_jobs: int, n_rows: int | None = None
) -> Pipeline:
    """The full pipeline of one model: raw DataFrame in, predictions out.

    ``n_rows`` is the fewest rows it will be fitted on, for models whose settings depend on it.
    """
    ctx = BuildContext(task=task, seed=seed, n_jobs=n_jobs, columns=columns, n_rows=n_rows)
    return Pipeline(
        [
            ("clean", TableCleaner(columns)),
            ("prepare", build_preprocessor(columns, spec.family, task, seed)),
            ("model", spec.build(ctx)),
        ]
    )


class Experiment:
    """Compare models on a table, evaluate the best once on held-out rows, and save it.

    Parameters
    ----------
    data : DataFrame or path-like
        The table (anything :func:`modelworks.load` reads).
    target : str
        Name of the column to predict.
    settings : RunSettings, optional
        Every option of the run (:class:`~modelworks.settings.RunSettings`); defaults apply
        where not given.
    **options
        Any field of :class:`~modelworks.settings.RunSettings` (``task``, ``metric``,
        ``time_budget``, ``cv``, ``test_size``, ``models``, ``seed``, ``n_jobs``, ``refit``,
        ``ensemble``, ``cv_repeats``, ``prefer``, ``threshold``, ``costs``, ``alpha``,
        ``unseen_categories``, ``drop_duplicates``, ``tune``, ``cluster``), overriding ``settings``.
    progress : bool
        Show a Rich progress bar (only on a terminal).

    Examples
    --------
    >>> exp = Experiment(df, target="churn", time_budget=60)   # doctest: +SKIP
    >>> board = exp.compare()                                    # doctest: +SKIP
    >>> exp.evaluate().metrics                                   # doctest: +SKIP
    """

    #: Set by ``modelworks run`` on a folder or glob of files (the experiment then holds its sample):
    #: the profile over all rows, how the sample was drawn, the fit on all rows (``--full-data``).
    large_table: LargeTable | None = None

    def __init__(
        self,
        data,
        target: str,
        settings: RunSettings | None = None,
        *,
        progress: bool = False,
        console: Console | None = None,
        **options: Any,
    ):
        # keywords override the settings; both are checked before any data is read
        settings = (settings or RunSettings()).replace(**options) if options else (settings or RunSettings())
        self.settings = settings
        time_budget, task, metric = settings.time_budget, settings.task, settings.metric
        models = list(settings.models) if settings.models else None
        self.budget = Budget(time_budget)
        self.data = load(data)
        self.target = target
        self.cv = settings.cv
        self.test_size = settings.test_size
        self.seed = settings.seed
        self.n_jobs = settings.n_jobs or os.cpu_count() or 1
        # folds in single-threaded worker processes: faster here than threads, and stoppable; or as
        # tasks on a Dask cluster
        self._workers: FoldPool | None
        if settings.cluster is not None:
            from modelworks.distributed import DaskWorkers, connect

            self._workers = DaskWorkers(connect(settings.cluster), settings.cv * settings.cv_repeats)
        else:
            size = pool_size(settings.n_jobs, settings.cv) if settings.fold_workers else 0
            self._workers = FoldWorkers(size) if size else None
        if self._workers is not None:
            self.budget.parallel = self._workers.size
        self.refit = settings.refit
        self.ensemble = settings.ensemble
        self.cv_repeats = settings.cv_repeats
        self.prefer = settings.prefer
        self.tune_threshold = settings.threshold
        self.costs = settings.costs
        self.alpha = settings.alpha
        self.unseen_categories = settings.unseen_categories
        self.drop_duplicates = settings.drop_duplicates
        self.tune = settings.tune
        self.bag = settings.bag
        self.tuning: Tuning | None = None
        #: Whether the saved model is the average of its fold models, and the evidence (see
        #: :mod:`modelworks.search.bagging`); set by :meth:`evaluate`.
        self.bagging: BagCheck | BagSkipped | None = None
        #: Whether the ensemble's members are combined by a learned combiner, and the evidence (see
        #: :mod:`modelworks.search.stacking`); set when the ensemble is compared.
        self.stacking: StackDecision | None = None
        self._stack: Stacked | None = None
        self.threshold_choice: ThresholdChoice | None = None
        self._ensemble: list[tuple[str, float]] = []
        self.progress = progress
        self.console = console or Console(stderr=True)
        self.cleaning = Cleaning(rows_in=len(self.data))
        self.leaderboard: Leaderboard | None = None
        self.evaluation: Evaluation | None = None
        self._oof: dict[str, np.ndarray] = {}
        #: Boosting rounds of the final fits of boosters stopped early in cross-validation.
        self._rounds: dict[str, int] = {}
        self._setup(task, metric, models)
        self._train_model: Pipeline | None = None
        self._final_model: Pipeline | None = None
        self._curve: LearningCurve | None = None
        self._schema: tuple[str, dict] | None = None
        self._profile: Profile | None = None

    # -- stages -------------------------------------------------------------------------------
    def _setup(self, task: str, metric: str | None, models: list[str] | None) -> None:
        df = self.data
        y = find_target(df, self.target)
        self.task, self.task_reason = detect_task(y, task)
        self.metrics = metric_names(self.task, metric)
        self.metric = self.metrics[0]
        self.specs = candidates(self.task, models)

        keep = y.notna()
        self.cleaning.missing_target_rows = int((~keep).sum())
        df = consolidated(df.loc[keep].reset_index(drop=True))
        check_not_only_copies(df.drop(columns=[self.target]), df[self.target])
        groups = row_groups(df)
        self.cleaning.duplicates_dropped = self.drop_duplicates
        if groups is not None:
            repeated = pd.Series(groups).duplicated().to_numpy()
            self.cleaning.duplicate_rows = int(repeated.sum())
            if self.drop_duplicates:
                df, groups = df.loc[~repeated].reset_index(drop=True), None
        X, y = df.drop(columns=[self.target]), df[self.target]
        check_features(X)
        classification = self.task != "regression"
        if classification:
            check_classes(y, self.test_size, self.cv)
            self.cleaning.rare_classes = [str(c) for c in rare_labels(y, groups)]
        train, test = holdout(y, groups, self.test_size, self.seed, classification)
        self.X_train, self.X_test, self.y_train, self.y_test = (
            part.iloc[rows].reset_index(drop=True)
            for part, rows in ((X, train), (X, test), (y, train), (y, test))
        )
        self._groups = None if groups is None else groups[train]
        check_folds(
            self.cv, len(self.X_train), int(self.y_train.value_counts().max()) if classification else None
        )
        copies = set(target_copies(self.X_train, self.y_train))  # the training part only
        for name in sorted(copies):
            self.cleaning.dropped_columns.append(
                {"name": name, "reason": "copies the target (one-to-one with it): leakage"}
            )
        kinds = infer_kinds(self.X_train.drop(columns=[c for c in self.X_train.columns if str(c) in copies]))
        self.columns = []
        for info in kinds.values():
            if info.kind in ("identifier", "constant"):
                reason = (
                    "identifier-like: unique per row, carries no pattern"
                    if info.kind == "identifier"
                    else "constant: a single value"
                )
                self.cleaning.dropped_columns.append({"name": info.name, "reason": reason})
                continue
            if info.parse:
                self.cleaning.parsed_columns.append({"name": info.name, "as": info.parse})
            self.columns.append(info.to_dict())
        if not self.columns:
            raise ModelworksError(
                "no usable feature columns remain after dropping identifier and constant columns; "
                "add informative columns"
            )
        self.classes = sorted(y.unique().tolist(), key=_sort_key) if classification else None
        self.positive_label = positive_label(self.classes) if self.classes and self.task == "binary" else None
        self.folds = cv_folds(self.y_train, self._groups, self.cv, self.cv_repeats, self.seed, classification)
        # measured here, with the installed libraries and on this machine, rather than assumed
        cost = seconds_per_cell(len(self.classes) if self.classes else None, self.metrics)
        self.interval_plan = plan_intervals(len(self.X_test), cost, self.budget.seconds)
        self.budget.evaluation_reserve = self.interval_plan.seconds
        from modelworks.plots._style import seconds_per_figure  # imports Matplotlib
        from modelworks.plots.accessors import predicted_rows

        self._finish = FinishCost(
            seconds_per_figure() if self.budget.seconds is not None else 0.0,
            len(df),
            predicted_rows(len(self.X_test), len(self.columns)),
            report=self.settings.report,
            budget_seconds=self.budget.seconds,  # the report's reserve is capped; it draws what fits
        )
        self.budget.reserve_final(0.0, self._finish.seconds())
        self.rows = self._plan_rows(classification)
        if self._workers is not None:  # after the timings above: their imports would slow them
            self._workers.warm()

    def _plan_rows(self, classification: bool) -> RowPlan:
        """Compare and fit a large table on samples when all its rows would not fit the budget (see
        :mod:`modelworks.search.sampling`); the folds then cover the compared sample only."""
        n = len(self.X_train)
        if self.budget.seconds is None or n <= SAMPLE_FLOOR:
            return RowPlan(n, n, n)
        # the boosters worth comparing on as many rows as possible (the cheaper of the first two
        # leaders at this size: their costs per row differ five-fold on large tables), else the first
        order = schedule(self.specs, len(self.folds[0][0]))
        timed_specs = [s for s in order if s.name in LEADERS][:2] or order[:1]
        costs = {
            s.name: time_fits(  # one thread, as in the workers
                self.pipeline(s.name, 1),
                s.patience,
                self.X_train,
                self.y_train,
                self._groups,
                self.classes,
                self.seed,
            )
            for s in timed_specs
        }
        timed = min(timed_specs, key=lambda s: costs[s.name].seconds(n))
        cost = costs[timed.name]
        plan = plan_rows(
            self.budget,
            cost,
            n,
            n + len(self.X_test),
            len(self.folds),
            self.cv,
            self.refit,
            timed.label,
        )
        if plan.compare_rows < n:
            self.folds = sampled_folds(
                self.y_train,
                self._groups,
                plan.compare_rows,
                self.cv,
                self.cv_repeats,
                self.seed,
                classification,
            )
        if plan.sampled:  # the final fits in fold fits, as the timed model's fixed and per-row costs say
            fits = [plan.fit_rows] + ([plan.fit_rows * (n + len(self.X_test)) / n] if self.refit else [])
            fold = cost.seconds(len(self.folds[0][0]))
            self.budget.final_fits = max(sum(cost.seconds(rows) for rows in fits) / fold, FINAL_FITS)
            self.budget.reserve_final(0.0)
            return dataclasses.replace(plan, model=timed.name)
        return plan

    def _compared(self) -> np.ndarray:
        """Indices of the training rows the models were compared on (all, unless sampled)."""
        return np.unique(np.concatenate([val for _, val in self.folds[: self.cv]]))

    def _fit_data(self, all_rows: bool) -> tuple[pd.DataFrame, pd.Series]:
        """The rows of a final fit: the training part (``all_rows``: and the test set), sampled
        alike when the plan says so."""
        X, y = self.X_train, self.y_train
        if self.rows.fit_rows < len(X):
            part = sample_rows(y, self._groups, self.rows.fit_rows, self.seed, self.task != "regression")
            X, y = X.iloc[part], y.iloc[part]
        if not all_rows:
            return X, y
        X_test, y_test = self.X_test, self.y_test
        if self.rows.fit_rows < len(self.X_train):
            share = self.rows.fit_rows / len(self.X_train)
            part = sample_rows(y_test, None, round(share * len(y_test)), self.seed, self.task != "regression")
            X_test, y_test = X_test.iloc[part], y_test.iloc[part]
        return pd.concat([X, X_test], ignore_index=True), pd.concat([y, y_test], ignore_index=True)

    def pipeline(self, name: str, n_jobs: int | None = None) -> Pipeline:
        """An unfitted pipeline for model ``name`` with this experiment's columns and seed, using
        ``n_jobs`` threads (the experiment's by default)."""
        if name == "ensemble":  # clean once, then each member's own preparation and model
            members = [(n, Pipeline(self.pipeline(n, n_jobs).steps[1:])) for n, _ in self._ensemble]
            weights = [w for _, w in self._ensemble]
            if self._stack is not None:
                c = self._stack.combiner
                model = StackedEnsemble(members, weights, c.coef.tolist(), c.intercept.tolist())
            else:
                model = WeightedEnsemble(members, weights)
            return Pipeline([("clean", TableCleaner(self.columns)), ("model", model)])
        spec = next(s for s in self.specs if s.name == name)
        fewest = min(len(train) for train, _ in self.folds)
        pipe = build_pipeline(spec, self.columns, self.task, self.seed, n_jobs or self.n_jobs, fewest)
        if name in self._rounds:  # no validation part left to stop on: the folds' mean best rounds
            set_rounds(pipe[-1], self._rounds[name])
        return pipe

    def compare(self) -> Leaderboard:
        """Cross-validate every candidate on the same folds, within the budget, in the order of
        :func:`~modelworks.search.budget.schedule` (cheapest, leading booster, then cheapest first);
        tune the best booster family in the time left; add the ensemble."""
        if self.leaderboard is not None:
            return self.leaderboard
        try:
            return self._compare()
        finally:
            if self._workers is not None:
                self._workers.close()

    def _compare(self) -> Leaderboard:
        n_fold_rows = len(self.folds[0][0])
        order = schedule(self.specs, n_fold_rows, leader=self.rows.model)
        results: list[ModelResult] = []
        skipped: list[tuple[str, str]] = []
        show = self.progress and self.console.is_terminal
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[left]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not show,
            transient=True,
        ) as bar:
            job = bar.add_task("comparing", total=len(order), left="")
            for spec in order:
                if spec.max_rows is not None and len(self.X_train) > spec.max_rows:
                    skipped.append((spec.name, f"more than {spec.max_rows:,} training rows"))
                    bar.advance(job)
                    continue
                if results and not self.budget.can_start(spec, n_fold_rows, len(self.folds)):
                    skipped.append((spec.name, "would not finish within the time budget"))
                    bar.advance(job)
                    continue

                def on_fold(i: int, spec: ModelSpec = spec) -> None:
                    left = self.budget.remaining()
                    bar.update(
                        job,
                        description=f"{spec.label} (fold {i + 1}/{len(self.folds)})",
                        left="" if left == float("inf") else f"{max(left, 0):.0f}s left",
                    )

                try:
                    results.append(self._cross_validate(spec, must_finish=not results, on_fold=on_fold))
                except Stopped as stop:
                    skipped.append((spec.name, str(stop)))
                except WorkersLost:  # no model could be fitted any more
                    raise
                except Exception as exc:  # a model failing must not end the comparison
                    skipped.append((spec.name, f"failed: {_first_line(exc)}"))
                else:
                    self._reserve_for(Leaderboard(self.metric, self.metrics, list(results)).best)
                bar.advance(job)
        if not results:
            reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or "no candidate models"
            raise ModelworksError(f"no model finished ({reasons}); raise --time-budget or check the data")
        if self.tune:
            self._tune(results, skipped)
        if self.ensemble and len(results) >= 2:
            self._add_ensemble(results, skipped)
        self.leaderboard = Leaderboard(self.metric, self.metrics, results, skipped)
        self.leaderboard.test_significance(
            test_fraction=1 / (self.cv - 1), alpha=self.alpha, prefer=self.prefer
        )
        return self.leaderboard

    def _cross_validate(self, spec: ModelSpec, must_finish: bool = False, on_fold=None, after_fold=None):
        """Cross-validate ``spec`` and keep its out-of-fold predictions (and a booster's rounds).
        Raises :class:`~modelworks.search.crossval.Stopped` when the budget stops it."""
        result, oof = cross_validate(
            spec,
            self.pipeline(spec.name, 1 if self._workers is not None else None),
            self.X_train,
            self.y_train,
            self.folds,
            self.metrics,
            self.classes,
            self.positive_label,
            self.budget,
            must_finish=must_finish,
            on_fold=on_fold,
            n_splits=self.cv,
            after_fold=after_fold,
            workers=self._workers,
        )
        self._keep(spec.name, result, oof)
        return result

    def _keep(self, name: str, result: ModelResult, oof: np.ndarray) -> None:
        """Keep a compared model's out-of-fold predictions, and a booster's rounds for its final fits."""
        self._oof[name] = oof
        if result.rounds:
            self._rounds[name] = round(float(np.mean(result.rounds)))

    def _tune(self, results: list[ModelResult], skipped: list[tuple[str, str]]) -> None:
        """Tune the booster family with the best result in what is left of the budget
        (:func:`~modelworks.search.tuning.tune`); its best trial joins ``results``."""
        from modelworks.search.tuning import SPACES, tune

        by_name = {s.name: s for s in self.specs}
        board = Leaderboard(self.metric, self.metrics, list(results)).results
        ranked = [
            (by_name[r.name], r) for r in board if r.name in by_name and by_name[r.name].family_name in SPACES
        ]
        if not ranked:
            return
        family = ranked[0][0].family_name
        bases = [(spec, r) for spec, r in ranked if spec.family_name == family]
        n_fold_rows = len(self.folds[0][0])

        def run(spec: ModelSpec, after_fold):
            self.specs.append(spec)  # so that pipeline(spec.name) builds it
            self._rounds.pop(spec.name, None)  # an earlier trial's rounds: this one stops early itself
            try:
                return self._cross_validate(spec, after_fold=after_fold), self._oof[spec.name]
            finally:
                self.specs.remove(spec)

        def can_start(spec: ModelSpec) -> bool:
            return self.budget.can_start(spec, n_fold_rows, len(self.folds))

        # trials leave time for the ensemble of the models so far to be refitted, reported and saved
        pool = board[:MAX_MEMBERS]
        selected = self._select_ensemble(pool) if self.ensemble and len(pool) >= 2 else None
        if selected is not None:
            kept = self.budget.final_reserve, self.budget.finish_reserve
            self._reserve_for(selected[0])
            if self.budget.final_reserve < kept[0]:
                self.budget.final_reserve, self.budget.finish_reserve = kept

        tuned = tune(
            bases,
            run,
            can_start,
            self.metric,
            METRICS[self.metric].greater_is_better,
            self.seed,
            self.budget.seconds is not None,
            BuildContext(task=self.task, seed=self.seed, columns=self.columns),
        )
        if tuned is None:
            skipped.append((f"{family}_tuned", "no tuning trial finished within the time budget"))
            return
        spec, result, oof, self.tuning = tuned
        self.specs.append(spec)
        self._keep(spec.name, result, oof)  # the best trial's, not the last one's
        results.append(result)
        self._reserve_for(Leaderboard(self.metric, self.metrics, list(results)).best)

    def _add_ensemble(self, results: list[ModelResult], skipped: list[tuple[str, str]]) -> None:
        """Add a weighted ensemble of the best models, if it mixes several and the budget allows."""
        pool = Leaderboard(self.metric, self.metrics, list(results)).results[:MAX_MEMBERS]
        while True:
            selected = self._select_ensemble(pool)
            if selected is None:
                skipped.append(("ensemble", f"ensemble selection kept only {pool[0].name}"))
                return
            ensemble, members = selected
            if self.budget.can_finish(float(np.mean(ensemble.fit_seconds)), self._finish.seconds(ensemble)):
                break
            # too slow to refit, report and save whole: leave out its slowest member, select again
            slowest = max((r for r, _ in members), key=lambda r: float(np.mean(r.fit_seconds)))
            pool = [r for r in pool if r is not slowest]
            if len(pool) < 2:
                reason = "its final fits, report and bundle would not finish within the time budget"
                skipped.append(("ensemble", reason))
                return
        greedy_oof = np.zeros_like(self._oof[members[0][0].name], dtype=float)
        ensemble.fold_scores = cross_fitted_scores(
            [self._oof[r.name] for r, _ in members],
            self.y_train,
            self.folds,
            self.metrics,
            self.classes,
            self.positive_label,
            n_splits=self.cv,
            out=greedy_oof,
        )
        self._stack_or_not(ensemble, [r for r, _ in members], greedy_oof)
        results.append(ensemble)
        self._ensemble = [(r.name, float(w)) for r, w in members]
        best = Leaderboard(self.metric, self.metrics, list(results)).best
        if best.name == "ensemble":
            self._reserve_for(best)

    def _stack_or_not(
        self, ensemble: ModelResult, members: list[ModelResult], greedy_oof: np.ndarray
    ) -> None:
        """Score a learned combiner of the ensemble's ``members`` (cross-fitted, as the greedy
        weights were) and keep it, with its scores, when it is significantly better (paired
        bootstrap of the cross-fitted predictions); :attr:`stacking` says which and why."""
        self._stack = None
        stacked = stack.cross_fitted(
            [self._oof[r.name] for r in members],
            self.y_train,
            self.folds,
            self.metrics,
            self.classes,
            self.positive_label,
            self.cv,
        )
        greedy_score = float(np.nanmean(ensemble.fold_scores[self.metric]))
        if stacked is None:
            reason = "the greedy weights: a class is too rare in the compared rows to learn a combiner"
            self.stacking = StackDecision(False, self.metric, greedy_score, math.nan, math.nan, reason)
            return
        rows = self._compared()
        y = self.y_train.iloc[rows]
        p = paired_p_value(
            self.metric,
            y.to_numpy(),
            stacked.oof.mean(axis=0)[rows],
            greedy_oof.mean(axis=0)[rows],
            self.classes,
            self.positive_label,
            self.seed,
        )
        stacked_score = float(np.nanmean(stacked.fold_scores[self.metric]))
        scores = f"{self.metric} {stacked_score:.4g} vs {greedy_score:.4g} cross-fitted, p = {p:.2g}"
        kind = "logistic regression" if self.classes is not None else "non-negative least squares"
        how = f"{kind} on the members' out-of-fold predictions"
        # the combiner costs the ONNX export (it has no converter yet) and a model more to explain:
        # it is kept only where it measurably helps, significantly at the run's alpha
        if not stack.better(self.metric, stacked.fold_scores[self.metric], ensemble.fold_scores[self.metric]):
            chosen, reason = False, f"the greedy weights: the learned combiner is not better ({scores})"
        elif not p < self.alpha:
            chosen = False
            reason = f"the greedy weights: the learned combiner is not significantly better ({scores})"
        else:
            chosen, reason = (
                True,
                f"a learned combiner ({how}): significantly better than the greedy weights ({scores})",
            )
        self.stacking = StackDecision(chosen, self.metric, greedy_score, stacked_score, p, reason)
        if chosen:
            self._stack = stacked
            ensemble.fold_scores = stacked.fold_scores
            names = ", ".join(r.name for r in members)
            ensemble.label = f"Stacked ensemble of {names} ({how})"

    def _select_ensemble(self, pool: list[ModelResult]) -> tuple[ModelResult, list] | None:
        """Ensemble selection over ``pool``: the ensemble's (unscored) result and its weighted
        members, or ``None`` when it keeps a single model."""
        oofs = [self._oof[r.name].mean(axis=0) for r in pool]
        weights = greedy_weights(
            oofs, self.y_train, self.metric, self.classes, self.positive_label, rows=self._compared()
        )
        members = [(r, w) for r, w in zip(pool, weights, strict=True) if w > 0]
        if len(members) < 2:
            return None
        fold_fit = [sum(r.fit_seconds[i] for r, _ in members) for i in range(len(self.folds))]
        predict_ms = [sum(r.predict_ms_per_1000[i] for r, _ in members) for i in range(len(self.folds))]
        label = "Ensemble of " + ", ".join(f"{r.name} {w:.2f}" for r, w in members)
        row_ms = [r.row_ms for r, _ in members]
        ensemble = ModelResult(
            "ensemble",
            label,
            {},
            fold_fit,
            predict_ms,
            simplicity=9,
            call_ms=sum(r.call_ms for r, _ in members),
            row_ms=None if None in row_ms else sum(cast(list[float], row_ms)),
            size_mb=sum(r.size_mb for r, _ in members),
            parts=sum(r.parts for r, _ in members),
            val_rows=members[0][0].val_rows,
        )
        return ensemble, members

    def _reserve_for(self, best: ModelResult) -> None:
        """Keep time for the final fits, report and saving of ``best``, from its measured times."""
        self.budget.reserve_final(float(np.mean(best.fit_seconds)), self._finish.seconds(best))

    @property
    def best_name(self) -> str:
        """The model to evaluate and save: the best mean, or per ``prefer`` the simplest or fastest
        of the models not significantly worse than the best."""
        return self.compare().chosen

    def _oof_of(self, name: str) -> np.ndarray:
        """Out-of-fold predictions of ``name``, averaged over repetitions."""
        if name == "ensemble" and self._stack is not None:
            return self._stack.oof.mean(axis=0)
        if name == "ensemble":
            return sum(w * self._oof[n].mean(axis=0) for n, w in self._ensemble)
        return self._oof[name].mean(axis=0)

    def _choose_threshold(self, name: str) -> float | None:
        if self.task != "binary" or not (self.tune_threshold or self.costs):
            return None
        pos = list(self.classes or []).index(self.positive_label)
        rows = self._compared()
        self.threshold_choice = choose_threshold(
            self.y_train.iloc[rows], self._oof_of(name)[rows, pos], self.positive_label, costs=self.costs
        )
        return self.threshold_choice.threshold

    def _with_threshold(self, model: Pipeline, threshold: float | None) -> Pipeline:
        """Apply a decision threshold in ``predict`` (scikit-learn's FixedThresholdClassifier)."""
        if threshold is None:
            return model
        name, last = model.steps[-1]
        thresholded = FixedThresholdClassifier(
            FrozenEstimator(last),  # already fitted: "fitting" the wrapper leaves it as it is
            threshold=threshold,
            pos_label=self.positive_label,
            response_method="predict_proba",
        )
        y = pd.Series(self.classes)
        model.steps[-1] = (name, thresholded.fit(np.zeros((len(y), 1)), y))
        return model

    def evaluate(self) -> Evaluation:
        """Fit the chosen pipeline on the training part, score it once on the test set (with 95%
        bootstrap intervals), then refit on all rows (unless ``refit=False``)."""
        if self.evaluation is not None:
            return self.evaluation
        name = self.best_name
        threshold = self._choose_threshold(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bagged = self._bagged(name)
            model = bagged or self.pipeline(name).fit(*self._fit_data(all_rows=False))
            pred = predict_scores(model, self.X_test, self.classes)
            self._train_model = self._with_threshold(predict_on_one_thread(model), threshold)
            evaluation = evaluate_predictions(
                name,
                self.task,
                self.metrics,
                self.y_test,
                pred,
                self.classes,
                self.positive_label,
                threshold=threshold,
            )
            y_test = self.y_test.to_numpy()
            evaluation.intervals = bootstrap_intervals(
                {
                    m: weighted_metric(m, y_test, pred, self.classes, self.positive_label, threshold)
                    for m in self.metrics
                },
                len(y_test),
                n_resamples=self.interval_plan.resamples,
                seed=self.seed,
            )
            if self.interval_plan.note:
                evaluation.extra["intervals_note"] = self.interval_plan.note
            if self.refit and bagged is None:
                final = self.pipeline(name).fit(*self._fit_data(all_rows=True))
                self._final_model = self._with_threshold(predict_on_one_thread(final), threshold)
            else:  # the fold models' average is saved as tested: there is nothing to refit
                self._final_model = self._train_model
        evaluation.refit = self.refit and bagged is None
        if self.threshold_choice is not None:
            evaluation.extra["threshold"] = self.threshold_choice.to_dict()
        self.test_predictions = pred
        kinds = {c["name"]: c["kind"] for c in self.columns}
        evaluation.context = EvaluationContext(
            self._train_model,
            self.X_test[list(kinds)],  # the columns the model uses: dropped ones have no importance
            self.y_test,
            pred,
            self.classes,
            self.positive_label,
            threshold,
            kinds,
        )
        self.evaluation = evaluation
        return evaluation

    def _bagged(self, name: str) -> Pipeline | None:
        """The chosen model as the average of its fold models, fitted on the training part, when the
        check of :mod:`modelworks.search.bagging` says so and the budget allows; else ``None``."""
        self.bagging = self._check_bagging(name)
        if not self.bagging.chosen:
            return None
        fold_s = float(np.mean(self._result(name).fit_seconds))
        folds = self.folds[: self.cv]
        if not self.budget.can_afford(SAFETY * self.cv * fold_s, self._finish.seconds(self._as_bag(name))):
            self.bagging = BagSkipped(
                f"a single model: no time left to fit the fold models ({self.bagging.reason})"
            )
            return None
        cleaner = TableCleaner(self.columns).fit(self.X_train)
        fewest = min(len(train) for train, _ in folds)
        try:
            bag = fit_bag(
                self._bag_parts(name, fewest),
                cleaner.transform(self.X_train),
                self.y_train,
                folds,
                self.classes,
                self.budget.finish_deadline(),
            )
        except Stopped as stop:
            self.bagging = BagSkipped(f"a single model: {stop}")
            return None
        except Exception as exc:  # a failing bag falls back to the refit, it never ends the run
            self.bagging = BagSkipped(f"a single model: the fold models failed ({_first_line(exc)})")
            return None
        return Pipeline([("clean", cleaner), ("model", bag)])

    def _check_bagging(self, name: str) -> BagCheck | BagSkipped:
        """Measure whether averaging ``name``'s fold models beats one refit (or say why not)."""
        if not self.bag:
            return BagSkipped("a single model (--no-bag)")
        if self.prefer == "fast":
            return BagSkipped("a single model (--prefer fast: it predicts K times faster)")
        if name == "ensemble" and self._stack is not None:
            return BagSkipped(
                "one refit of each member: the stacked ensemble's combiner was learned on single "
                "models' predictions"
            )
        if self.rows.fit_rows < len(self.X_train) or len(self._compared()) < len(self.X_train):
            return BagSkipped("a single model: the models were compared on a sample of the rows")
        fold_s = float(np.mean(self._result(name).fit_seconds))
        final = SAFETY * fold_s * max(self.cv, self.budget.final_fits)  # whichever wins
        checked = affordable_folds(
            self.budget, fold_s, self.cv, final, self._finish.seconds(self._as_bag(name))
        )
        if not checked:
            return BagSkipped(
                "a single model: checking the fold models' average would not fit in the time budget"
            )
        classification = self.task != "regression"

        def inner_folds(train: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
            groups = None if self._groups is None else self._groups[train]
            split = cv_folds(self.y_train.iloc[train], groups, self.cv, 1, self.seed, classification)
            return [(train[a], train[b]) for a, b in split]

        outer = self.folds[:checked]
        fewest = min(len(train) for train, _ in outer) * (self.cv - 1) // self.cv
        try:
            return check_bagging(
                self._bag_parts(name, max(fewest - 1, 1)),
                TableCleaner(self.columns).fit_transform(self.X_train),
                self.y_train,
                outer,
                inner_folds,
                self.metric,
                self.classes,
                self.positive_label,
                self.prefer,
                self.alpha,
                self.seed,
                self.budget.finish_deadline(keep=final),
            )
        except Stopped as stop:
            return BagSkipped(f"a single model: the check was stopped ({stop})")
        except Exception as exc:  # too few rows of a class for the inner folds, for example
            return BagSkipped(f"a single model: the check could not run ({_first_line(exc)})")

    def _bag_parts(self, name: str, n_rows: int) -> list[BagPart]:
        """The models of ``name`` (itself, or the ensemble's members) as bagging fits them, for
        fold fits of at least ``n_rows`` rows."""
        members = self._ensemble if name == "ensemble" else [(name, 1.0)]
        parts = []
        for member, weight in members:
            spec = next(s for s in self.specs if s.name == member)
            fold = build_pipeline(spec, self.columns, self.task, self.seed, self.n_jobs, n_rows)
            refit = self.pipeline(member)
            parts.append(
                BagPart(member, weight, Pipeline(fold.steps[1:]), Pipeline(refit.steps[1:]), spec.patience)
            )
        return parts

    def _as_bag(self, name: str) -> ModelResult:
        return as_bag(self._result(name), self.cv)

    def _result(self, name: str) -> ModelResult:
        return next(r for r in self.compare().results if r.name == name)

    @property
    def best_model(self) -> Pipeline:
        """The chosen pipeline, fitted (refitted on all rows after :meth:`evaluate`)."""
        if self._final_model is not None:
            return self._final_model
        if self._train_model is None:
            model = clone(self.pipeline(self.best_name))
            model.fit(*self._fit_data(all_rows=False))
            self._train_model = model
        return self._train_model

    def schema(self) -> dict:
        """The input schema of the saved model (built once per unseen-category policy: the report
        and the bundle share it)."""
        if self._schema is None or self._schema[0] != self.unseen_categories:
            self._schema = (self.unseen_categories, self._build_schema())
        return self._schema[1]

    def _build_schema(self) -> dict:
        return build_schema(
            self.X_train,
            self.columns,
            self.cleaning.dropped_columns,
            self.target,
            self.task,
            self.classes,
            self.positive_label,
            unseen_categories=self.unseen_categories,
        )

    def summary(self) -> dict:
        """Everything metrics.json records about this experiment."""
        board = self.compare()
        evaluation = self.evaluate()
        return {
            "task": self.task,
            "task_reason": self.task_reason,
            "metric": self.metric,
            "metrics": self.metrics,
            "seed": self.seed,
            "cv_folds": self.cv,
            "test_size": self.test_size,
            "rows": {"train": len(self.X_train), "test": len(self.X_test)},
            "row_plan": self.rows.to_dict(),
            "best_model": board.best.name,
            "chosen_model": board.chosen,
            "prefer": board.prefer,
            "cv_repeats": self.cv_repeats,
            "verdict": board.verdict(),
            "test_intervals": {
                "method": "bootstrap over test rows (scipy.stats.bootstrap, metrics vectorised over "
                f"resamples): BCa up to {BCA_MAX_ROWS} rows, percentile beyond",
                "confidence": 0.95,
                "seed": self.seed,
                **self.interval_plan.to_dict(),
            },
            "significance": {
                "test": "corrected resampled t-test (Nadeau & Bengio 2003), Holm-adjusted across models",
                "alpha": self.alpha,
                "metric": self.metric,
                "vs_best": {n: t.to_dict() for n, t in board.significance.items()},
                "tie_groups": board.groups,
            },
            "test": evaluation.to_dict(),
            "leaderboard": board.to_frame().to_dict(orient="records"),
            "fold_scores": board.fold_scores(),
            "skipped": [{"model": n, "reason": r} for n, r in board.skipped],
            "cleaning": self.cleaning.to_dict(),
            **({"tuning": self.tuning.to_dict()} if self.tuning is not None else {}),
            **({"bagging": self.bagging.to_dict()} if self.bagging is not None else {}),
            **({"stacking": self.stacking.to_dict()} if self.stacking is not None else {}),
            "time_budget": self.budget.seconds,
            "elapsed_seconds": round(self.budget.elapsed(), 3),
            "data_sha256": self.data_sha256,
            **({"learning_curve": self._curve.to_dict()} if self._curve is not None else {}),
            **({"large_table": self.large_table.to_dict()} if self.large_table is not None else {}),
        }

    @functools.cached_property
    def data_sha256(self) -> str:
        """sha256 of the table (computed once: metrics.json and the report both show it)."""
        return data_hash(self.data)

    def profile(self) -> Profile:
        """The profile of the whole table (computed once; :meth:`save` puts it in the bundle)."""
        if self._profile is None:
            detailed = profile_columns(self.budget.seconds, MAX_DETAILED_COLUMNS)
            self._profile = profile(
                self.data, self.target, task=self.task, seed=self.seed, max_detailed=detailed
            )
        return self._profile

    def learning_curve(self) -> LearningCurve:
        """Scores of the chosen pipeline against training rows, on the first folds of the comparison.

        Computed once, after :meth:`evaluate`, when the time budget leaves room for it; otherwise
        the returned curve says why it was skipped.
        """
        if self._curve is not None:
            return self._curve
        name = self.best_name
        board = self.compare()
        result = next(r for r in board.results if r.name == name)
        # the report and the bundle come after the curve: their time stays reserved; a curve that
        # does not fit on all its folds is drawn on fewer (its bands then rest on fewer scores)
        finish = self._finish.seconds(result)
        fits = [
            (folds, curve_seconds(result, len(self.folds[0][0]), folds))
            for folds in range(CURVE_FOLDS, FEWEST_CURVE_FOLDS - 1, -1)
        ]
        folds = next((f for f, needed in fits if self.budget.remaining() >= needed + finish + RESERVE), None)
        if folds is None:
            self._curve = LearningCurve(
                name,
                self.metric,
                METRICS[self.metric].greater_is_better,
                skipped=f"would take about {fits[-1][1]:.0f}s; of the "
                f"{max(self.budget.remaining(), 0):.0f}s left in the time budget, {finish:.0f}s are kept "
                "for the report and the bundle",
            )
        else:
            first_repeat = self.folds[: self.cv][:folds]
            self._curve = learning_curve(
                name,
                self.pipeline(name),
                self.X_train,
                self.y_train,
                first_repeat,
                self.metric,
                self.classes,
                self.positive_label,
                seed=self.seed,
            )
        return self._curve

    def figure_clock(self) -> FigureClock:
        """When the report's figures must end and what each is expected to take: the budget's end
        less the saving of the bundle, the drawing speed measured at set-up, the chosen model's
        prediction costs (see :func:`modelworks.report._figures.draw_sections`)."""
        from modelworks.plots.accessors import figure_predictions
        from modelworks.report._figures import FigureClock

        name = self.best_name
        bagged = self.bagging is not None and self.bagging.chosen
        result = self._as_bag(name) if bagged else self._result(name)
        calls = figure_predictions(len(self.X_test), len(self.columns))
        return FigureClock(
            self.budget.figures_deadline(),
            self._finish.figure_seconds,
            self._finish.n_rows,
            self._finish.save_units(result),
            {figure: result.prediction_seconds(rows, n) for figure, (rows, n) in calls.items()},
        )

    def training_histories(self) -> dict[str, dict]:
        """Per-epoch losses on the first fold of each neural network the chosen model is (or an
        ensemble holds): model name → ``history_`` (see :class:`~modelworks.neural.MLPClassifier`)."""
        name = self.best_name
        names = [n for n, _ in self._ensemble] if name == "ensemble" else [name]
        results = {r.name: r for r in self.compare().results}
        return {n: h for n in names if n in results and (h := results[n].history)}

    @property
    def plot(self) -> ExperimentPlots:
        """Figures of the comparison: ``comparison()``, ``learning_curve()``, ``training_curve()``,
        ``fit_time()``."""
        from modelworks.plots.accessors import ExperimentPlots

        return ExperimentPlots(self)

    def save(
        self,
        path: str | os.PathLike,
        extra_files: dict[str, str] | None = None,
        *,
        profile: Profile | None = None,
        report: bool | None = None,
        key: bytes | str | None = None,
    ) -> Path:
        """Write the bundle directory (see :mod:`modelworks.bundle`) and return its path.

        Parameters
        ----------
        path : path-like
            The bundle directory.
        extra_files : dict, optional
            More files to include, name to text.
        profile : Profile, optional
            The profile of the table, if already computed (it is computed otherwise).
        report : bool, optional
            Write ``report.html`` (see :mod:`modelworks.report`); its learning curve is computed if
            the time budget allows. Defaults to the ``report`` setting.
        key : bytes or str, optional
            Sign the bundle with this secret (HMAC-SHA256 of the manifest), so that
            ``load_model(path, key=...)`` can prove where it came from.
        """
        from modelworks.bundle import save_bundle

        report = self.settings.report if report is None else report
        if profile is not None:
            self._profile = profile
        files = {"profile.json": json.dumps(self.profile().to_dict(), indent=2), **(extra_files or {})}
        if report:
            self.learning_curve()
        summary = self.summary()
        if report:
            from modelworks.report import render_report

            files["report.html"] = render_report(self, bundle_path=Path(path))
        return save_bundle(
            path, self.best_model, self.schema(), summary, files, onnx_sample=self.X_train, key=key
        )


def data_hash(df: pd.DataFrame) -> str:
    """A stable sha256 of a table's content and column names."""
    import hashlib

    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, df.columns)).encode())
    # row hashes: text conversion of every cell first took seconds on a million rows
    digest.update(row_hashes(df).tobytes())
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _sort_key(v: object) -> tuple:
    return (0, v, "") if isinstance(v, (int, float, np.number)) else (1, 0, str(v))
