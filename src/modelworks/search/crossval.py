"""Cross-validate one model on fixed folds, fold by fold, under the time budget."""

from __future__ import annotations

import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from modelworks.evaluate._proba import align_proba
from modelworks.evaluate.metrics import score_all
from modelworks.models.boosting import fit_early_stopped
from modelworks.models.registry import ModelSpec
from modelworks.models.threads import fitted_parts, predict_on_one_thread
from modelworks.search.budget import Budget
from modelworks.search.leaderboard import ModelResult
from modelworks.search.workers import FoldPool


class Stopped(Exception):
    """A model was stopped between folds because it would overrun the budget."""


class Pruned(Stopped):
    """A tuning trial was stopped between folds because it cannot win."""


def predict_scores(pipe, X: pd.DataFrame, classes) -> np.ndarray:
    """Class probabilities aligned to ``classes`` (classification) or predicted values."""
    if classes is None:
        return np.asarray(pipe.predict(X), dtype=float)
    return align_proba(pipe.predict_proba(X), pipe.classes_, classes)


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


#: Rows of the batch whose prediction is timed on the first fold when its validation part is smaller
#: (see :attr:`~modelworks.search.leaderboard.ModelResult.row_ms`).
PROBE_ROWS = 256


@dataclass
class FoldFit:
    """What one fold's fit measured (in this process or in a worker)."""

    pred: np.ndarray
    seconds: float
    prepare_seconds: float
    fit_seconds: float
    predict_ms_per_1000: float
    rounds: int | None = None
    late: bool = False
    call_ms: float = 0.0
    row_ms: float | None = None
    size_mb: float = 0.0
    parts: int = 0
    #: The fitted pipeline, when asked for (bagging keeps the fold models; workers never return it).
    model: object = None
    #: A neural network's per-epoch losses (first fold only).
    history: dict | None = None


def fit_fold(
    pipeline,
    X,
    y,
    train,
    val,
    patience: int,
    classes,
    deadline: float | None,
    first: bool,
    keep: bool = False,
) -> FoldFit:
    """Fit a clone of ``pipeline`` on the rows ``train`` and predict the rows ``val``.

    The preprocessing, of the training and the validation rows, is timed apart from the model (it
    costs alike for every model of its recipe, and the budget learns it once, see
    :meth:`Budget.record`); boosters stop early on ``val`` and at ``deadline``. On the ``first`` fold,
    the fixed cost of a one-row prediction, the pickled size and the number of estimators are
    measured too (for the estimates of the report, the curve and the bundle). With ``keep`` the
    fitted pipeline comes back in :attr:`FoldFit.model`.
    """
    start = time.perf_counter()
    model = clone(pipeline)
    rounds, late = None, False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            prepared = model[:-1].fit_transform(X.iloc[train], y.iloc[train])
            prepare_s = time.perf_counter() - start
            if patience:
                rounds, late = _fit_stopping_early(
                    model, prepared, X, y, train, val, patience, deadline, classes is not None
                )
            else:
                model[-1].fit(prepared, y.iloc[train])
        else:
            model.fit(X.iloc[train], y.iloc[train])
            prepare_s = 0.0
        if late:
            return FoldFit(np.empty(0), time.perf_counter() - start, prepare_s, 0.0, 0.0, rounds, late=True)
        predict_on_one_thread(model)  # as the saved model will predict
        fitted = time.perf_counter()
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            # the validation rows' preprocessing is the recipe's cost too (on a wide table, most of it)
            ready = model[:-1].transform(X.iloc[val])
            prepare_s += time.perf_counter() - fitted
            pred = predict_scores(model[-1], ready, classes)
        else:
            pred = predict_scores(model, X.iloc[val], classes)
        done = time.perf_counter()
        fold = FoldFit(
            pred,
            done - start,
            prepare_s,
            fitted - start,
            (done - fitted) * 1e6 / max(len(val), 1),
            rounds,
        )
        if first:
            predict_scores(model, X.iloc[val[:1]], classes)
            one = time.perf_counter()
            fold.call_ms = (one - done) * 1000  # the fixed cost of a call
            if len(val) < PROBE_ROWS:  # the validation rows, repeated: their cost per row
                predict_scores(model, X.iloc[np.resize(val, PROBE_ROWS)], classes)
                batch_ms = (time.perf_counter() - one) * 1000
                fold.row_ms = max(batch_ms - fold.call_ms, 0.0) / (PROBE_ROWS - 1)
            fold.size_mb = _size_mb(model)
            fold.parts = sum(1 for _ in fitted_parts(model))
            history = getattr(model[-1] if isinstance(model, Pipeline) else model, "history_", None)
            fold.history = dict(history) if isinstance(history, dict) else None
        if keep:
            fold.model = model
    return fold


def _fit_stopping_early(
    model: Pipeline, prepared, X, y, train, val, patience: int, deadline: float | None, classification: bool
):
    """Fit a booster's last step on the prepared training part, stopping early on the fold's
    validation part (prepared alike; for classes, only its rows of labels the training part has)."""
    X_val, y_val = model[:-1].transform(X.iloc[val]), y.iloc[val]
    known = y_val.isin(set(y.iloc[train])).to_numpy() if classification else None
    if known is not None and not known.all():
        X_val = X_val.iloc[known] if hasattr(X_val, "iloc") else X_val[known]
        y_val = y_val[known]
    return fit_early_stopped(model[-1], prepared, y.iloc[train], X_val, y_val, patience, deadline)


def _size_mb(model) -> float:
    """Megabytes of the fitted model, pickled (what saving it will have to write)."""
    try:
        return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6
    except Exception:  # a model pickle cannot write is saved some other way, if at all
        return 0.0
