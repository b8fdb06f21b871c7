"""Cross-validate one model on fixed folds, fold by fold, under the time budget."""

from __future__ import annotations

import pickle
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from modelworks.evaluate.metrics import align_proba, score_all
from modelworks.models.boosting import fit_early_stopped
from modelworks.models.registry import ModelSpec
from modelworks.models.threads import fitted_parts, predict_on_one_thread
from modelworks.search.budget import Budget
from modelworks.search.leaderboard import ModelResult


class Stopped(Exception):
    """A model was stopped between folds because it would overrun the budget."""


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
) -> tuple[ModelResult, np.ndarray]:
    """Fit and score ``pipeline`` on every fold.

    Returns the per-fold result and the out-of-fold predictions, one set per repetition of the
    K-fold split (``folds[i]`` belongs to repetition ``i // n_splits``). Raises :class:`Stopped` when the
    measured fold time says the remaining folds would overrun the budget (unless ``must_finish``).
    ``after_fold(i, scores)``, called with the scores so far after each fold, may raise
    :class:`Stopped` too (the tuner prunes trials so).
    """
    n = len(y)
    n_splits = n_splits or len(folds)
    shape = (len(folds) // n_splits, n) + ((len(classes),) if classes is not None else ())
    oof = np.full(shape, np.nan)
    scores: dict[str, list[float]] = {m: [] for m in metrics}
    fit_s: list[float] = []
    predict_ms: list[float] = []
    fold_s: list[float] = []
    call_ms = size_mb = 0.0
    parts = 0
    rounds: list[int] = []
    for i, (train, val) in enumerate(folds):
        if on_fold:
            on_fold(i)
        start = time.perf_counter()
        model = clone(pipeline)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the steps of Pipeline.fit, timed apart: preprocessing costs alike for every model
            # of its recipe, and the budget learns it once (see Budget.record)
            if isinstance(model, Pipeline) and len(model.steps) > 1:
                prepared = model[:-1].fit_transform(X.iloc[train], y.iloc[train])
                prepare_s = time.perf_counter() - start
                if spec.patience:
                    deadline = None if must_finish else budget.deadline()
                    used, late = _fit_stopping_early(
                        model, prepared, X, y, train, val, spec.patience, deadline, classes is not None
                    )
                    if late:
                        reason = "it reached the time budget's deadline"
                        raise Stopped(f"stopped in fold {i + 1} of {len(folds)}: {reason}")
                    rounds.append(used)
                else:
                    model[-1].fit(prepared, y.iloc[train])
            else:
                model.fit(X.iloc[train], y.iloc[train])
                prepare_s = 0.0
            predict_on_one_thread(model)  # as the saved model will predict
            fitted = time.perf_counter()
            pred = predict_scores(model, X.iloc[val], classes)
            done = time.perf_counter()
            if i == 0:  # for the estimates of the report, the curve and the bundle
                predict_scores(model, X.iloc[val[:1]], classes)
                call_ms = (time.perf_counter() - done) * 1000  # the fixed cost of a call
                size_mb = _size_mb(model) * len(y) / max(len(train), 1)  # refitted on all rows
                parts = sum(1 for _ in fitted_parts(model))
        oof[i // n_splits, val] = pred
        fit_s.append(fitted - start)
        predict_ms.append((done - fitted) * 1e6 / max(len(val), 1))
        for m, v in score_all(metrics, y.iloc[val], pred, classes, pos_label).items():
            scores[m].append(v)
        fold_s.append(done - start)
        budget.record(spec, len(train), done - start, prepare_s)
        if after_fold:
            after_fold(i, scores)
        if not must_finish and not budget.can_continue(float(np.mean(fold_s)), len(folds) - i - 1):
            raise Stopped(
                f"stopped after {i + 1} of {len(folds)} folds: the rest would overrun the time budget"
            )
    result = ModelResult(
        spec.name,
        spec.label,
        scores,
        fit_s,
        predict_ms,
        spec.simplicity,
        call_ms=call_ms,
        size_mb=size_mb,
        parts=parts,
        val_rows=int(np.mean([len(v) for _, v in folds])),
        rounds=rounds,
    )
    return result, oof


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
