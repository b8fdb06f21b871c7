"""Cross-validate one model on fixed folds, fold by fold, under the time budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from modelworks.evaluate.metrics import score_all
from modelworks.models.registry import ModelSpec
from modelworks.search.budget import Budget
from modelworks.search.fold import FoldFit, fit_fold
from modelworks.search.leaderboard import ModelResult
from modelworks.search.workers import FoldPool


class Stopped(Exception):
    """A model was stopped between folds because it would overrun the budget."""


class Pruned(Stopped):
    """A tuning trial was stopped between folds because it cannot win."""


def cross_validate(
    spec: ModelSpec,
    pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    metrics: list[str],
    classes,
    pos_label,
    budget: Budget,
    must_finish: bool = False,
    on_fold: Callable[[int], None] | None = None,
    n_splits: int | None = None,
    after_fold: Callable[[int, dict[str, list[float]]], None] | None = None,
    workers: FoldPool | None = None,
) -> tuple[ModelResult, np.ndarray]:
    """Fit and score ``pipeline`` on every fold.

    Returns the per-fold result and the out-of-fold predictions, one set per repetition of the
    K-fold split (``folds[i]`` belongs to repetition ``i // n_splits``). Raises :class:`Stopped` when the
    measured fold time says the remaining folds would overrun the budget (unless ``must_finish``).
    ``after_fold(i, scores)``, called with the scores so far after each fold, may raise
    :class:`Stopped` too (the tuner prunes trials so). With ``workers``, the folds are fitted in
    worker processes, as many at a time as there are workers, and taken in fold order; a model
    stopped for any reason has its workers stopped too.
    """
    n = len(y)
    n_splits = n_splits or len(folds)
    shape = (len(folds) // n_splits, n) + ((len(classes),) if classes is not None else ())
    oof = np.full(shape, np.nan)
    scores: dict[str, list[float]] = {m: [] for m in metrics}
    fold_fits: list[FoldFit] = []
    deadline = None if must_finish else budget.deadline()
    args = [
        (pipeline, X, y, train, val, spec.patience, classes, deadline, i == 0)
        for i, (train, val) in enumerate(folds)
    ]
    running: dict[int, Any] = {}  # at most workers.size fits at a time, in fold order
    try:
        for i, (train, val) in enumerate(folds):
            if on_fold:
                on_fold(i)
            if workers is None:
                fold = fit_fold(*args[i])
            else:
                for j in range(i, min(i + workers.size, len(folds))):
                    if j not in running:
                        running[j] = workers.submit(args[j])
                fold = running[i].result(deadline)
                if not fold.late:  # a late fit still runs: stopping it below ends it
                    del running[i]
            if fold.late:
                reason = "it reached the time budget's deadline"
                raise Stopped(f"stopped in fold {i + 1} of {len(folds)}: {reason}")
            fold_fits.append(fold)
            oof[i // n_splits, val] = fold.pred
            for m, v in score_all(metrics, y.iloc[val], fold.pred, classes, pos_label).items():
                scores[m].append(v)
            budget.record(spec, len(train), fold.seconds, fold.prepare_seconds)
            if after_fold:
                after_fold(i, scores)
            mean_s = float(np.mean([f.seconds for f in fold_fits]))
            if not must_finish and not budget.can_continue(mean_s, len(folds) - i - 1):
                raise Stopped(
                    f"stopped after {i + 1} of {len(folds)} folds: the rest would overrun the time budget"
                )
    except BaseException as exc:
        if workers is not None and running:  # nothing of this model may go on using the cores
            workers.stop(list(running.values()), wait=isinstance(exc, Pruned))
        raise
    first = fold_fits[0]
    fit_s = [f.fit_seconds for f in fold_fits]
    predict_ms = [f.predict_ms_per_1000 for f in fold_fits]
    rounds = [f.rounds for f in fold_fits if f.rounds is not None]
    call_ms, row_ms, parts = first.call_ms, first.row_ms, first.parts
    size_mb = first.size_mb * len(y) / max(len(folds[0][0]), 1)  # refitted on all rows
    result = ModelResult(
        spec.name,
        spec.label,
        scores,
        fit_s,
        predict_ms,
        spec.simplicity,
        call_ms=call_ms,
        row_ms=row_ms,
        size_mb=size_mb,
        parts=parts,
        val_rows=int(np.mean([len(v) for _, v in folds])),
        rounds=rounds,
        history=first.history,
    )
    return result, oof
