"""What a table run knows of each model it compares: how to build its pipeline, its out-of-fold
predictions, a booster's rounds, and once chosen the ensemble's members and combiner."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.pipeline import Pipeline

from modelworks.models.boosting import set_rounds
from modelworks.models.registry import BuildContext, ModelSpec
from modelworks.prepare.clean import TableCleaner
from modelworks.prepare.columns import build_preprocessor
from modelworks.search.bagging import Part as BagPart
from modelworks.search.ensemble import WeightedEnsemble
from modelworks.search.leaderboard import ModelResult
from modelworks.search.stacking import Stacked, StackedEnsemble
from modelworks.workflows.tabular._split import Split


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


@dataclass
class Models:
    """The candidates of a run and what their cross-validation left behind.

    Attributes
    ----------
    split : Split
        The run's rows, columns and folds.
    specs : list of ModelSpec
        The candidates (a tuned trial joins them).
    n_jobs : int
        Threads of a final fit.
    oof : dict
        Model name → out-of-fold predictions, ``(repeats, rows[, classes])``.
    rounds : dict
        Model name → boosting rounds of its final fits (the folds' mean best round).
    ensemble : list of (name, weight)
        The ensemble's members, once selected.
    stack : Stacked or None
        The ensemble's learned combiner, when it was kept.
    """

    split: Split
    specs: list[ModelSpec]
    n_jobs: int
    oof: dict[str, np.ndarray] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    ensemble: list[tuple[str, float]] = field(default_factory=list)
    stack: Stacked | None = None

    def spec(self, name: str) -> ModelSpec:
        return next(s for s in self.specs if s.name == name)

    def pipeline(self, name: str, n_jobs: int | None = None) -> Pipeline:
        """An unfitted pipeline for model ``name`` (or ``"ensemble"``) using ``n_jobs`` threads."""
        split = self.split
        if name == "ensemble":  # clean once, then each member's own preparation and model
            members = [(n, Pipeline(self.pipeline(n, n_jobs).steps[1:])) for n, _ in self.ensemble]
            weights = [w for _, w in self.ensemble]
            if self.stack is not None:
                c = self.stack.combiner
                model = StackedEnsemble(members, weights, c.coef.tolist(), c.intercept.tolist())
            else:
                model = WeightedEnsemble(members, weights)
            return Pipeline([("clean", TableCleaner(split.columns)), ("model", model)])
        fewest = min(len(train) for train, _ in split.folds)
        pipe = build_pipeline(
            self.spec(name), split.columns, split.task, split.seed, n_jobs or self.n_jobs, fewest
        )
        if name in self.rounds:  # no validation part left to stop on: the folds' mean best rounds
            set_rounds(pipe[-1], self.rounds[name])
        return pipe

    def keep(self, name: str, result: ModelResult, oof: np.ndarray) -> None:
        """Keep a compared model's out-of-fold predictions, and a booster's rounds for its final fits."""
        self.oof[name] = oof
        if result.rounds:
            self.rounds[name] = round(float(np.mean(result.rounds)))

    def oof_of(self, name: str) -> np.ndarray:
        """Out-of-fold predictions of ``name``, averaged over repetitions."""
        if name == "ensemble" and self.stack is not None:
            return self.stack.oof.mean(axis=0)
        if name == "ensemble":
            return sum(w * self.oof[n].mean(axis=0) for n, w in self.ensemble)
        return self.oof[name].mean(axis=0)

    def members(self, name: str) -> list[str]:
        """The models ``name`` is made of: the ensemble's members, or itself."""
        return [n for n, _ in self.ensemble] if name == "ensemble" else [name]

    def bag_parts(self, name: str, n_rows: int) -> list[BagPart]:
        """The models of ``name`` (itself, or the ensemble's members) as bagging fits them, for
        fold fits of at least ``n_rows`` rows."""
        split = self.split
        members = self.ensemble if name == "ensemble" else [(name, 1.0)]
        parts = []
        for member, weight in members:
            spec = self.spec(member)
            fold = build_pipeline(spec, split.columns, split.task, split.seed, self.n_jobs, n_rows)
            refit = self.pipeline(member)
            parts.append(
                BagPart(member, weight, Pipeline(fold.steps[1:]), Pipeline(refit.steps[1:]), spec.patience)
            )
        return parts
