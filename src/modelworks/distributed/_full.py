"""``--full-data --cluster``: the chosen booster refitted on every row of a table of many files, through
the Dask estimators of LightGBM (:class:`lightgbm.DaskLGBMClassifier`, ``...Regressor``) or XGBoost
(:class:`xgboost.dask.DaskXGBClassifier`, ``...Regressor``).

The comparison and the test happen on the sample; what changes is the saved model. Its cleaning and
encoding steps, fitted on the sample, prepare the table partition by partition (``map_partitions``) into
float32 features, which the cluster's workers hold while the booster trains with the tested
configuration and its rounds (the folds' mean best round). The fitted booster becomes the plain
scikit-learn estimator (:meth:`~lightgbm.DaskLGBMClassifier.to_local`, or XGBoost's booster loaded
into an :class:`xgboost.XGBClassifier`) in the same pipeline, so the bundle, ``predict`` and ``serve``
are unchanged. Labels are trained as codes 0..K-1 and the estimator is wrapped in
:class:`~modelworks.models.wrappers.LabelEncodedClassifier`: each Dask worker would otherwise encode
the labels it holds on its own.

The workers hold the prepared features whole: 4 bytes per feature per row, several times over while
LightGBM concatenates and bins them, spread over the cluster's machines. On one machine (no
``--cluster``) that would be more than the table itself: the fit is streamed from the files instead
(:mod:`~modelworks.distributed._stream`). A fit that would need more than
:data:`MEMORY_SHARE` of the memory available (this machine's, or the cluster workers' limits) is
skipped with a notice rather than started.

The time budget: before the experiment is set up, :data:`FULL_SHARE` of the time left is kept for
the fit, so that the experiment plans its rows and models in the rest; once set up, the fit is planned
from the leading booster's timed cost per row (all rows over the cluster's threads, twice for the
rounds a larger table takes, plus the measured read) and the time kept beyond that is given back to
the comparison; after the evaluation, the
chosen booster's folds give the estimate that decides (their seconds per row and per round, times
all rows and the final rounds, over the threads, with the budget's safety margin, plus the read). A
fit that would not end before the time kept for the report and the bundle is skipped, with a notice,
and the tested model is saved. On one worker, a booster still training at that deadline stops there
(the rounds it kept are said; before half of them, the model fitted on the sample is saved instead);
with several, LightGBM's and XGBoost's workers must stop together,
which a clock cannot promise, so the estimate alone decides.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelworks.distributed._frame import TableFiles, reading

#: The libraries whose Dask estimators fit all rows.
LIBRARIES = ("lightgbm", "xgboost")
#: The models ``--full-data`` compares unless ``--models`` is given (tuning adds their tuned variants).
DASK_MODELS = ("lightgbm", "lightgbm_large", "xgboost")
#: Share of the time left (after reading) kept for the fit on all rows, at most: the comparison
#: plans its rows and models in the rest.
FULL_SHARE = 0.7
#: The planned fit is this many times the timed booster's estimate (more rows take more rounds).
ROUNDS_GROWTH = 2.0
#: A fit the deadline stopped before this share of its rounds is not saved (the sample's model is).
FEWEST_ROUNDS = 0.5
#: Bytes the Dask estimators hold per feature value while fitting: float32 features persisted, their
#: concatenation on each worker and the binned dataset (LightGBM measured 4.5 times the float32
#: features at 5 million rows, see docs/benchmarks.md); rounded up.
BYTES_PER_VALUE = 4 * 5
#: Share of the memory available (this machine's, or the cluster workers' limits) the fit may need.
MEMORY_SHARE = 0.8


def memory_needed(rows: int, features: int) -> int:
    """Bytes the fit on ``rows`` rows of ``features`` prepared features needs, about."""
    return rows * features * BYTES_PER_VALUE


def library_of(estimator: Any) -> str | None:
    """``"lightgbm"`` or ``"xgboost"`` for a booster the Dask estimators can train (possibly label
    encoded or behind a decision threshold), else ``None``."""
    from modelworks.models.boosting import booster_of
    from modelworks.models.wrappers import unwrap

    inner = booster_of(unwrap(estimator))
    module = type(inner).__module__.split(".")[0]
    return module if module in LIBRARIES else None


def rounds_run(best: int, patience: int) -> int:
    """Rounds a fold fitted to find ``best``: the best round and the adaptive patience after it
    (:mod:`modelworks.models.boosting`)."""
    from modelworks.models.boosting import LEAST, OFFSET, RATE

    return int(best + min(patience, max(LEAST, RATE * best + OFFSET)))


def estimate_from_folds(
    fit_seconds: list[float],
    fold_rows: int,
    fold_rounds: list[int],
    patience: int,
    rows: int,
    rounds: int,
    threads: int,
    read_seconds: float,
) -> float:
    """Seconds of the fit on ``rows`` rows and ``rounds`` rounds over ``threads`` threads, from the
    folds' one-thread fits (seconds per row and round, the median), with the budget's safety margin,
    plus ``read_seconds`` (a pass over the files)."""
    from modelworks.search.budget import SAFETY

    rates = [
        s / (max(fold_rows, 1) * max(rounds_run(r, patience) if fold_rounds else rounds, 1))
        for s, r in zip(fit_seconds, fold_rounds or [rounds] * len(fit_seconds), strict=False)
    ]
    rate = float(np.median(rates)) if rates else 0.0
    return SAFETY * rate * rows * rounds / max(threads, 1) + read_seconds


@dataclass
class FullFit:
    """What ``--full-data`` did.

    Attributes
    ----------
    done : bool
        Whether the saved model was refitted on all rows.
    model : str
        The chosen model.
    reason : str
        What was done, or why not, in one sentence.
    estimator : str or None
        The Dask estimator used (``"lightgbm.DaskLGBMClassifier"``).
    rows : int
        Rows it was fitted on.
    rounds : int or None
        Rounds asked for (the folds' mean best round).
    rounds_done : int or None
        Rounds fitted (fewer when the deadline stopped it).
    read_seconds, fit_seconds : float
        Reading and preparing all rows; training.
    estimate_seconds : float or None
        The estimate that let it run (or not).
    cluster : str
        Where it ran.
    threads : int
        The cluster's threads.
    """

    done: bool
    model: str
    reason: str
    estimator: str | None = None
    rows: int = 0
    rounds: int | None = None
    rounds_done: int | None = None
    read_seconds: float = 0.0
    fit_seconds: float = 0.0
    estimate_seconds: float | None = None
    cluster: str = ""
    threads: int = 0

    def line(self) -> str:
        """What ``modelworks run`` prints."""
        if not self.done:
            return f"Full data: not fitted; {self.reason}"
        return f"Full data: {self.reason}"

    def to_dict(self) -> dict:
        return {
            "done": self.done,
            "model": self.model,
            "reason": self.reason,
            "estimator": self.estimator,
            "rows": self.rows,
            "rounds": self.rounds,
            "rounds_done": self.rounds_done,
            "read_seconds": round(self.read_seconds, 3),
            "fit_seconds": round(self.fit_seconds, 3),
            "estimate_seconds": None if self.estimate_seconds is None else round(self.estimate_seconds, 3),
            "cluster": self.cluster,
            "threads": self.threads,
        }


@dataclass
class Cluster:
    """The ``--cluster`` client the fit runs on (the run closes it)."""

    client: Any
    description: str
    workers: int
    threads: int

    def memory(self) -> int:
        """Bytes the workers may use together (their memory limits; 0 when not limited)."""
        workers = self.client.scheduler_info().get("workers", {})
        return int(sum(w.get("memory_limit") or 0 for w in workers.values()))


def open_cluster(spec: str) -> Cluster:
    """The ``--cluster`` connection (kept open: the run owns it)."""
    from modelworks.distributed._connect import connect

    connection = connect(spec)
    workers = len(connection.client.nthreads())
    return Cluster(
        connection.client, f"the Dask cluster at {connection.address}", workers, connection.threads()
    )


# --------------------------------------------------------------------------------- partitions
def _known(part: pd.DataFrame, target: str, categories: np.ndarray | None) -> np.ndarray:
    """Rows of a partition the fit uses: a known target (and, for classes, one seen in the sample)."""
    y = part[target]
    if categories is None:
        return y.notna().to_numpy()
    return pd.Categorical(y, categories=categories).codes >= 0


def features(
    part: pd.DataFrame,
    clean: Any,
    prepare: Any,
    target: str,
    categories: np.ndarray | None,
    n_out: int,
    dtype: Any = np.float32,
) -> np.ndarray:
    """One partition's features as the sample-fitted cleaning and encoding make them."""
    rows = part.loc[_known(part, target, categories)]
    if not len(rows):
        return np.empty((0, n_out), dtype=dtype)
    values = prepare.transform(clean.transform(rows.drop(columns=[target])))
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.ascontiguousarray(np.asarray(values, dtype=dtype))


def prepared(
    part: pd.DataFrame, clean: Any, prepare: Any, target: str, categories: np.ndarray | None, n_out: int
) -> pd.DataFrame:
    """:func:`features` (float32) as a frame, for ``map_partitions``."""
    return pd.DataFrame(features(part, clean, prepare, target, categories, n_out))


def codes(part: pd.DataFrame, target: str, categories: np.ndarray | None) -> np.ndarray:
    """One partition's target: class codes 0..K-1 (int32) or the values (float64)."""
    y = part[target][_known(part, target, categories)]
    if categories is None:
        return y.to_numpy(dtype=np.float64)
    return pd.Categorical(y, categories=categories).codes.astype(np.int32)


def labels(part: pd.DataFrame, target: str, categories: np.ndarray | None) -> pd.Series:
    """:func:`codes` as a series, for ``map_partitions``."""
    return pd.Series(codes(part, target, categories), name="y")


# ------------------------------------------------------------------------------------- deadline
class LightGBMDeadline:
    """A LightGBM callback ending the fit at ``deadline`` (``time.time()``), keeping its rounds."""

    order = 30

    def __init__(self, deadline: float):
        self.deadline = deadline

    def __call__(self, env: Any) -> None:
        import lightgbm

        if time.time() >= self.deadline:
            raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])


def _xgboost_deadline(deadline: float) -> Any:
    import xgboost

    class XGBoostDeadline(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return time.time() >= deadline

    return XGBoostDeadline()


# ------------------------------------------------------------------------------------------ fit
def fit_all_rows(
    final: Any,
    unfitted: Any,
    frame: Any,
    table: TableFiles,
    target: str,
    classes: list | None,
    cluster: Cluster,
    *,
    deadline: float | None = None,
) -> tuple[Any, dict]:
    """Refit the booster of the fitted pipeline ``final`` on every row of ``frame``.

    Parameters
    ----------
    final : sklearn.pipeline.Pipeline
        The saved model so far: cleaning, encoding (both fitted on the sample) and the booster,
        possibly behind a decision threshold.
    unfitted : estimator
        The booster as configured for the final fit (its rounds set).
    frame : dask.dataframe.DataFrame
        Every row.
    table : TableFiles
        Its files (for messages).
    target : str
        The target column.
    classes : list or None
        The classes (classification), in the experiment's order.
    cluster : Cluster
        Where to fit.
    deadline : float, optional
        ``time.time()`` at which boosting stops (honoured on a one-worker cluster).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``final`` with the booster trained on all rows.
    facts : dict
        ``rows``, ``rounds``, ``rounds_done``, ``read_seconds``, ``fit_seconds``, ``estimator``.
    """
    from distributed import futures_of, wait
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelEncoder

    from modelworks.models.boosting import booster_of, forget_validation
    from modelworks.models.threads import predict_on_one_thread
    from modelworks.models.wrappers import LabelEncodedClassifier

    clean, prepare = final.steps[0][1], final.steps[1][1]
    library = library_of(unfitted)
    inner = booster_of(unfitted)
    encoder = LabelEncoder().fit(pd.Series(classes)) if classes is not None else None
    categories = None if encoder is None else np.asarray(encoder.classes_)
    n_out = len(prepare.get_feature_names_out())
    meta_x = pd.DataFrame(np.empty((0, n_out), dtype=np.float32))
    meta_y = pd.Series(np.empty(0, dtype=np.int32 if encoder is not None else np.float64), name="y")
    X = frame.map_partitions(prepared, clean, prepare, target, categories, n_out, meta=meta_x).to_dask_array()
    y = frame.map_partitions(labels, target, categories, meta=meta_y).to_dask_array()
    client = cluster.client
    started = time.perf_counter()
    with reading(table), client.as_current():
        X, y = client.persist([X, y])
        wait([X, y])
        rows = int(sum(client.gather(client.map(len, futures_of(y)))))
    read_seconds = time.perf_counter() - started
    params: dict[str, Any] = {
        k: v for k, v in inner.get_params().items() if k not in ("n_jobs", "callbacks", "nthread")
    }
    rounds = int(params["n_estimators"])
    guard: dict[str, Any] = {}  # stopping at the deadline is safe only when one worker trains
    started = time.perf_counter()
    quiet = contextlib.redirect_stdout(io.StringIO())  # LightGBM prints its port search
    with quiet, warnings.catch_warnings(), client.as_current():
        warnings.simplefilter("ignore")
        if library == "lightgbm":
            import lightgbm

            cls = lightgbm.DaskLGBMClassifier if encoder is not None else lightgbm.DaskLGBMRegressor
            model = cls(client=client, **params)
            if deadline is not None and cluster.workers == 1:
                guard["callbacks"] = [LightGBMDeadline(deadline)]
            model.fit(X, y, **guard)
            local = forget_validation(model.to_local())
            done = int(local.booster_.current_iteration())
        else:
            import xgboost
            import xgboost.dask

            dask_cls = (
                xgboost.dask.DaskXGBClassifier if encoder is not None else xgboost.dask.DaskXGBRegressor
            )
            if deadline is not None and cluster.workers == 1:
                guard["callbacks"] = [_xgboost_deadline(deadline)]
            model = dask_cls(**params, **guard)
            model.client = client
            model.fit(X, y)
            booster = model.get_booster()
            local = (xgboost.XGBClassifier if encoder is not None else xgboost.XGBRegressor)(**params)
            local.load_model(bytearray(booster.save_raw("ubj")))
            done = int(booster.num_boosted_rounds())
    fit_seconds = time.perf_counter() - started
    client.cancel([X, y])
    estimator: Any = local
    if encoder is not None:
        estimator = LabelEncodedClassifier(clone(inner))
        estimator.encoder_, estimator.classes_, estimator.estimator_ = encoder, encoder.classes_, local
    last = final.steps[-1][1]
    if type(last).__name__ == "FixedThresholdClassifier":  # the tuned decision threshold stays
        from sklearn.frozen import FrozenEstimator
        from sklearn.model_selection import FixedThresholdClassifier

        thresholded = FixedThresholdClassifier(
            FrozenEstimator(estimator),
            threshold=last.threshold,
            pos_label=last.pos_label,
            response_method="predict_proba",
        )
        labels_ = pd.Series(list(encoder.classes_) if encoder is not None else [])
        estimator = thresholded.fit(np.zeros((len(labels_), 1)), labels_)
    pipeline = predict_on_one_thread(Pipeline([*final.steps[:-1], (final.steps[-1][0], estimator)]))
    facts = {
        "rows": rows,
        "rounds": rounds,
        "rounds_done": done,
        "read_seconds": read_seconds,
        "fit_seconds": fit_seconds,
        "estimator": f"{type(model).__module__.split('.')[0]}.{type(model).__name__}",
    }
    return pipeline, facts
