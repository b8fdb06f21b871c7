"""The comparison stage: every candidate cross-validated on the same folds within the budget, in the
order of :func:`~modelworks.search.budget.schedule`; the best booster family tuned in the time left,
its chosen configuration re-scored on a fresh split; then the combination stage (ensemble, stacking);
then the significance of every gap."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from modelworks.errors import ModelworksError
from modelworks.evaluate.metrics import METRICS
from modelworks.models.registry import BuildContext, ModelSpec
from modelworks.search.budget import Budget, FinishCost, schedule
from modelworks.search.crossval import Stopped, cross_validate
from modelworks.search.ensemble import MAX_MEMBERS
from modelworks.search.leaderboard import Leaderboard, ModelResult
from modelworks.search.workers import FoldPool, FoldWorkers, WorkersLost, pool_size
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._combine import Combination
from modelworks.workflows.tabular._models import Models
from modelworks.workflows.tabular._plan import reserve_for
from modelworks.workflows.tabular._split import Split

if TYPE_CHECKING:
    from modelworks.search.tuning import Tuning

Folds = list[tuple[np.ndarray, np.ndarray]]


def fold_pool(settings: RunSettings) -> FoldPool | None:
    """Where folds are fitted: single-threaded worker processes (faster here than threads, and
    stoppable), tasks on a Dask cluster, or ``None`` (in this process)."""
    if settings.cluster is not None:
        from modelworks.distributed import DaskWorkers, connect

        return DaskWorkers(connect(settings.cluster), settings.cv * settings.cv_repeats)
    size = pool_size(settings.n_jobs, settings.cv) if settings.fold_workers else 0
    return FoldWorkers(size) if size else None


class Comparison:
    """Cross-validate, tune and combine the candidates of :class:`Models` under the budget.

    Parameters
    ----------
    models : Models
        The candidates; their out-of-fold predictions and rounds are kept there.
    budget, finish
        The run's budget, and what the report and bundle of the best model will cost.
    settings : RunSettings
        ``tune``, ``ensemble``, ``alpha``, ``prefer`` and the seed are read.
    workers : FoldPool or None
        Where folds are fitted (closed when the comparison ends).
    leader : str or None
        The model the row plan timed, compared first among the boosters.

    Attributes
    ----------
    tuning : Tuning or None
        The tuning of the best booster family, once run.
    combination : Combination
        The ensemble and stacking stage (its ``stacking`` decision).
    """

    def __init__(
        self,
        models: Models,
        budget: Budget,
        finish: FinishCost,
        settings: RunSettings,
        workers: FoldPool | None,
        leader: str | None = None,
    ):
        self.models, self.budget, self.finish, self.settings = models, budget, finish, settings
        self.workers, self.leader = workers, leader
        self.tuning: Tuning | None = None
        self.combination = Combination(models, budget, finish, settings.alpha)

    def run(self, progress: bool = False, console: Console | None = None) -> Leaderboard:
        """The leaderboard of every model that finished, with the reasons of those that did not."""
        try:
            return self._run(progress and console is not None and console.is_terminal, console)
        finally:
            if self.workers is not None:
                self.workers.close()

    def _run(self, show: bool, console: Console | None) -> Leaderboard:
        split = self.models.split
        n_fold_rows = len(split.folds[0][0])
        order = schedule(self.models.specs, n_fold_rows, leader=self.leader)
        results: list[ModelResult] = []
        skipped: list[tuple[str, str]] = []
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[left]}"))
        with Progress(
            *columns, TimeElapsedColumn(), console=console, disable=not show, transient=True
        ) as bar:
            job = bar.add_task("comparing", total=len(order), left="")
            for spec in order:
                if spec.max_rows is not None and len(split.X_train) > spec.max_rows:
                    skipped.append((spec.name, f"more than {spec.max_rows:,} training rows"))
                elif results and not self.budget.can_start(spec, n_fold_rows, len(split.folds)):
                    skipped.append((spec.name, "would not finish within the time budget"))
                else:
                    self._try(spec, results, skipped, _on_fold(bar, job, spec, self.budget, len(split.folds)))
                bar.advance(job)
        if not results:
            reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or "no candidate models"
            raise ModelworksError(f"no model finished ({reasons}); raise --time-budget or check the data")
        if self.settings.tune:
            self._tune(results, skipped)
        if self.settings.ensemble and len(results) >= 2:
            self.combination.add(results, skipped)
        board = Leaderboard(split.metric, split.metrics, results, skipped)
        board.test_significance(
            test_fraction=1 / (split.cv - 1), alpha=self.settings.alpha, prefer=self.settings.prefer
        )
        return board

    def _try(self, spec: ModelSpec, results: list[ModelResult], skipped: list, on_fold: Callable) -> None:
        split = self.models.split
        try:
            results.append(self.cross_validate(spec, must_finish=not results, on_fold=on_fold))
        except Stopped as stop:
            skipped.append((spec.name, str(stop)))
        except WorkersLost:  # no model could be fitted any more
            raise
        except Exception as exc:  # a model failing must not end the comparison
            skipped.append((spec.name, f"failed: {first_line(exc)}"))
        else:
            reserve_for(
                self.budget, self.finish, Leaderboard(split.metric, split.metrics, list(results)).best
            )

    def cross_validate(
        self,
        spec: ModelSpec,
        must_finish: bool = False,
        on_fold=None,
        after_fold=None,
        folds: Folds | None = None,
    ):
        """Cross-validate ``spec`` on ``folds`` (the split's by default) and keep its out-of-fold
        predictions (and a booster's rounds).
        Raises :class:`~modelworks.search.crossval.Stopped` when the budget stops it."""
        split = self.models.split
        result, oof = cross_validate(
            spec,
            self.models.pipeline(spec.name, 1 if self.workers is not None else None),
            split.X_train,
            split.y_train,
            split.folds if folds is None else folds,
            split.metrics,
            split.classes,
            split.positive_label,
            self.budget,
            must_finish=must_finish,
            on_fold=on_fold,
            n_splits=split.cv,
            after_fold=after_fold,
            workers=self.workers,
        )
        self.models.keep(spec.name, result, oof)
        return result

    def _tune(self, results: list[ModelResult], skipped: list[tuple[str, str]]) -> None:
        """Tune the booster family with the best result in what is left of the budget
        (:func:`~modelworks.search.tuning.tune`); its best trial, re-scored on a fresh split
        (:meth:`_rescore`), joins ``results``."""
        from modelworks.search.tuning import SPACES, tune

        models, split = self.models, self.models.split
        by_name = {s.name: s for s in models.specs}
        board = Leaderboard(split.metric, split.metrics, list(results)).results
        ranked = [
            (by_name[r.name], r) for r in board if r.name in by_name and by_name[r.name].family_name in SPACES
        ]
        if not ranked:
            return
        family = ranked[0][0].family_name
        n_fold_rows = len(split.folds[0][0])
        # under a budget, the last trial leaves time for the chosen one's re-score (see _rescore)
        rescore_folds = 0 if split.scheme.kind == "time" else split.cv

        def run(spec: ModelSpec, after_fold):
            models.specs.append(spec)  # so that pipeline(spec.name) builds it
            models.rounds.pop(spec.name, None)  # an earlier trial's rounds: this one stops early itself
            try:
                return self.cross_validate(spec, after_fold=after_fold), models.oof[spec.name]
            finally:
                models.specs.remove(spec)

        def can_start(spec: ModelSpec) -> bool:
            return self.budget.can_start(spec, n_fold_rows, len(split.folds) + rescore_folds)

        # trials leave time for the ensemble of the models so far to be refitted, reported and saved
        pool = board[:MAX_MEMBERS]
        selected = self.combination.select(pool) if self.settings.ensemble and len(pool) >= 2 else None
        if selected is not None:
            kept = self.budget.final_reserve, self.budget.finish_reserve
            reserve_for(self.budget, self.finish, selected[0])
            if self.budget.final_reserve < kept[0]:
                self.budget.final_reserve, self.budget.finish_reserve = kept
        tuned = tune(
            [(spec, r) for spec, r in ranked if spec.family_name == family],
            run,
            can_start,
            split.metric,
            METRICS[split.metric].greater_is_better,
            split.seed,
            self.budget.seconds is not None,
            BuildContext(task=split.task, seed=split.seed, columns=split.columns),
        )
        if tuned is None:
            skipped.append((f"{family}_tuned", "no tuning trial finished within the time budget"))
            return
        spec, result, oof, self.tuning = tuned
        models.specs.append(spec)
        result, oof = self._rescore(spec, result, oof, self.tuning)
        spec = dataclasses.replace(spec, label=self.tuning.label())
        result.label = spec.label
        models.specs[-1] = spec
        models.keep(spec.name, result, oof)  # the best trial's (re-scored), not the last one's
        results.append(result)
        reserve_for(self.budget, self.finish, Leaderboard(split.metric, split.metrics, list(results)).best)

    def _rescore(
        self, spec: ModelSpec, selected: ModelResult, oof: np.ndarray, record: Tuning
    ) -> tuple[ModelResult, np.ndarray]:
        """The tuned entry's result and out-of-fold predictions, re-scored where possible.

        The best of many trials scores flatteringly on the folds it was selected on (it fits their
        noise). Cross-validated once more on a fresh split of the same rows, each compared row gets a
        prediction by a model that never saw it, of a configuration not chosen on that split; those
        predictions are scored on the validation rows of the original folds, so that the scores stay
        paired, fold by fold, with every other model's. Otherwise (a time split, whose folds are fixed;
        no time left) the selected result stays, and ``record`` says why.
        """
        split, metric = self.models.split, self.models.split.metric
        unscored = "kept its score on the folds it was selected on"
        if split.scheme.kind == "time":
            record.rescore_note = (
                "Not re-scored: a time split's forward-chaining folds are fixed, so a fresh split "
                f"would be the same one; {unscored}."
            )
            return selected, oof
        fresh = fresh_folds(split)
        if not self.budget.can_start(spec, len(fresh[0][0]), len(fresh)):
            reason = "another cross-validation would not finish within the time budget"
            record.rescore_note = f"Not re-scored: {reason}; {unscored}."
            return selected, oof
        self.models.rounds.pop(spec.name, None)  # each fresh fold stops early itself
        try:
            self.cross_validate(spec, folds=fresh)
        except Stopped as stop:
            record.rescore_note = f"Not re-scored: {stop}; {unscored}."
            return selected, oof
        except WorkersLost:
            raise
        except Exception as exc:
            record.rescore_note = f"Not re-scored: failed ({first_line(exc)}); {unscored}."
            return selected, oof
        from modelworks.search.tuning import paired_fold_scores

        fresh_oof = self.models.oof[spec.name]
        scores = paired_fold_scores(
            fresh_oof, split.y_train, split.folds, split.metrics, split.classes, split.positive_label
        )
        # timings and rounds stay the selected trial's: one per fold of the split, as every model's
        honest = dataclasses.replace(selected, fold_scores=scores)
        record.rescored, record.honest_score = True, honest.mean(metric)
        record.rescore_note = (
            f"Re-scored: cross-validated again on a fresh {split.cv}-fold split of the same rows, its "
            "out-of-fold predictions scored on the validation rows of the folds it was selected on."
        )
        repeats = len(split.folds) // split.cv  # one fresh set of predictions stands for each repetition
        return honest, np.repeat(fresh_oof, repeats, axis=0)


def fresh_folds(split: Split) -> Folds:
    """Folds of one new ``split.cv``-fold split of the compared rows, by the split's rule, as indices
    into the training rows.

    Seeded ``split.seed + 1`` for a split of one repetition: past the seeds of the original folds,
    which a group split's repetitions take one by one (``seed``, ``seed + 1``…).
    """
    rows = split.compared()
    stratify = split.classification and split.scheme.kind != "time"
    seed = split.seed + len(split.folds) // split.cv
    folds = split.scheme.folds(split.y_train.iloc[rows], rows, split.cv, 1, seed, stratify)
    return [(rows[train], rows[val]) for train, val in folds]


def _on_fold(bar: Progress, job, spec: ModelSpec, budget: Budget, n_folds: int) -> Callable[[int], None]:
    def on_fold(i: int) -> None:
        left = budget.remaining()
        bar.update(
            job,
            description=f"{spec.label} (fold {i + 1}/{n_folds})",
            left="" if left == float("inf") else f"{max(left, 0):.0f}s left",
        )

    return on_fold


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception, for a one-line reason."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
