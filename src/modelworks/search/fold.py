"""One fold's fit and prediction, apart from the loop over folds (:mod:`.crossval`), so that the
worker processes (:mod:`.workers`) run it without importing the loop that drives them."""

from __future__ import annotations

import pickle
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from modelworks.evaluate._proba import align_proba
from modelworks.models.boosting import fit_early_stopped
from modelworks.models.threads import fitted_parts, predict_on_one_thread


def predict_scores(pipe, X: pd.DataFrame, classes) -> np.ndarray:
    """Class probabilities aligned to ``classes`` (classification) or predicted values."""
    if classes is None:
        return np.asarray(pipe.predict(X), dtype=float)
    return align_proba(pipe.predict_proba(X), pipe.classes_, classes)


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
