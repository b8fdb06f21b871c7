"""``--full-data`` without a cluster: the chosen booster refitted on every row, streamed from the files.

The Dask estimators (:mod:`~modelworks.distributed._full`) hold every row's float32 features in their
workers' memory while they train: right on a cluster, where the rows are spread over many machines,
but on one machine that is more memory than the table itself. Here the rows go file by file (Dask
partition by partition) through the sample-fitted cleaning and encoding into the library's own
streaming constructor, which keeps only the binned values, one byte per feature per row:

- LightGBM: a :class:`lightgbm.Dataset` built from :class:`lightgbm.Sequence` objects, one per
  partition (its bin boundaries from a sample of rows, then the rows pushed in batches; each
  partition is read twice, once for each);
- XGBoost: a :class:`xgboost.QuantileDMatrix` built from an :class:`xgboost.DataIter` over the
  partitions (each read twice: the quantiles, then the quantised rows).

The booster trains with the tested configuration (its processed parameters, as the sample's fit used
them; the folds' mean best round) on this machine's threads, and stops at the deadline if it comes
first. It replaces the booster inside a copy of the sample-fitted estimator, so that the bundle,
``predict`` and ``serve`` see the same estimator types (labels, decision threshold and all) as for a
model fitted on the sample.
"""

from __future__ import annotations

import copy
import time
import warnings
from typing import Any

import numpy as np

from modelworks.distributed._frame import TableFiles, read_frame, reading, release_memory
from modelworks.distributed._full import LightGBMDeadline, _xgboost_deadline, codes, features, library_of

#: Bytes the streamed fit holds per feature value, rounded up from the largest measured: XGBoost's
#: quantised rows took 495 MiB for 5 million rows × 13 features (some missing), LightGBM's bins
#: about a third of that.
BYTES_PER_VALUE = 8
#: Bytes per row besides: the labels and the training state (gradients, hessians, scores, bagging and
#: partition indices), about 60-70 measured.
BYTES_PER_ROW = 80


def memory_needed(rows: int, features: int) -> int:
    """Bytes the streamed fit on ``rows`` rows of ``features`` prepared features needs, about."""
    return rows * (features * BYTES_PER_VALUE + BYTES_PER_ROW)


def innermost(estimator: Any) -> Any:
    """The LightGBM or XGBoost estimator inside ``estimator``'s fitted wrappers (a decision threshold,
    a frozen estimator, a label encoder)."""
    seen = estimator
    for _ in range(8):
        if type(seen).__module__.split(".")[0] in ("lightgbm", "xgboost"):
            return seen
        inner = getattr(seen, "estimator_", None)
        seen = inner if inner is not None else getattr(seen, "estimator", None)
        if seen is None:
            break
    raise TypeError(f"no LightGBM or XGBoost estimator inside {type(estimator).__name__}")


class _Partitions:
    """The table's partitions as prepared float64 arrays (as LightGBM's sequences must be), one kept
    at a time (both libraries read them in order, each twice)."""

    def __init__(self, frame: Any, clean: Any, prepare: Any, target: str, categories: Any, n_out: int):
        self.parts = frame.to_delayed()
        self.clean, self.prepare, self.target = clean, prepare, target
        self.categories, self.n_out = categories, n_out
        self.index: int | None = None
        self.values = np.empty((0, n_out), dtype=np.float64)
        #: Partitions read and prepared, and the seconds spent.
        self.loads = 0
        self.seconds = 0.0

    def get(self, index: int) -> np.ndarray:
        if index != self.index:
            started = time.perf_counter()
            self.clear()  # the last one first, and what reading it left in the allocators
            part = self.parts[index].compute(scheduler="sync")
            self.values = features(
                part, self.clean, self.prepare, self.target, self.categories, self.n_out, np.float64
            )
            self.index = index
            self.loads += 1
            self.seconds += time.perf_counter() - started
        return self.values

    def clear(self) -> None:
        """Let the partition held go, and hand what it took back to the system."""
        self.values = np.empty((0, self.n_out), dtype=np.float64)
        self.index = None
        release_memory()


def _labels(table: TableFiles, target: str, categories: Any, threads: int) -> list[np.ndarray]:
    """Each partition's training labels (class positions, or values), reading only the target.

    Partition by partition: read for one column, Dask would merge the Parquet files into fewer
    partitions, and the labels must follow the partitions the features come in.
    """
    import dask

    column = read_frame(table, [target])
    parts = [column.partitions[i].to_delayed()[0] for i in range(column.npartitions)]
    return list(
        dask.compute(
            *[dask.delayed(codes)(p, target, categories) for p in parts],
            scheduler="threads",
            num_workers=threads,
        )
    )


def _lightgbm(
    fitted: Any, parts: _Partitions, ys: list[np.ndarray], rounds: int, threads: int, guard: list
) -> tuple[int, float, int]:
    """Train on every row; the booster replaces ``fitted``'s. Rounds done, seconds, rows."""
    import lightgbm

    class Part(lightgbm.Sequence):
        batch_size = 65_536

        def __init__(self, index: int, rows: int):
            self.index, self.rows = index, rows

        def __len__(self) -> int:
            return self.rows

        def __getitem__(self, idx):
            return parts.get(self.index)[idx]

    sample_booster = fitted.booster_
    params = lightgbm_params(sample_booster, threads)
    seqs = [Part(i, len(y)) for i, y in enumerate(ys) if len(y)]
    label = np.concatenate([y for y in ys if len(y)]).astype(np.float32)  # LightGBM's own type
    dataset = lightgbm.Dataset(
        seqs, label=label, feature_name=sample_booster.feature_name(), params=params, free_raw_data=True
    )
    dataset.construct()
    parts.clear()  # the bins are built: the last partition, and what building them left in the allocators
    started = time.perf_counter()
    booster = lightgbm.train(params, dataset, num_boost_round=rounds, callbacks=guard)
    fit_seconds = time.perf_counter() - started
    del dataset
    # the trees alone: the trained booster also holds the rows' bins, gradients and scores
    booster = lightgbm.Booster(model_str=booster.model_to_string())
    release_memory()
    fitted._Booster = booster  # what predict, predict_proba and n_estimators_ read
    fitted._best_iteration = booster.best_iteration
    fitted._best_score, fitted._evals_result = {}, {}
    return int(booster.current_iteration()), fit_seconds, len(label)


def lightgbm_params(sample_booster: Any, threads: int) -> dict:
    """The parameters of the fit on all rows: those of the sample's fit (as LightGBM processed them),
    less its rounds, threads and early stopping, on ``threads`` threads, with the histograms built
    column by column: the row-wise layout (faster on a small sample) keeps a second, row-major copy of
    every binned value, as large again as the data set."""
    params = {k: v for k, v in sample_booster.params.items() if k not in _LIGHTGBM_DROP}
    params.update(num_threads=threads, verbosity=-1, force_row_wise=False, force_col_wise=True)
    return params


#: Parameters of the sample's fit not carried to the fit on all rows: its rounds (given), its
#: threads (this machine's), early stopping (no validation rows here).
_LIGHTGBM_DROP = {
    "num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round", "num_rounds",
    "nrounds", "num_boost_round", "n_estimators", "max_iter", "num_threads", "n_jobs", "nthread",
    "nthreads", "num_thread", "early_stopping_round", "early_stopping_rounds", "early_stopping",
    "n_iter_no_change", "metric", "verbose", "verbosity",
}  # fmt: skip


def _xgboost(
    fitted: Any, parts: _Partitions, ys: list[np.ndarray], rounds: int, threads: int, guard: list
) -> tuple[int, float, int]:
    """Train on every row; the booster replaces ``fitted``'s. Rounds done, seconds, rows."""
    import xgboost

    sample_booster = fitted.get_booster()
    names = sample_booster.feature_names
    order = [i for i, y in enumerate(ys) if len(y)]

    class Parts(xgboost.DataIter):
        def __init__(self) -> None:
            self.at = 0
            super().__init__(release_data=True)

        def next(self, input_data) -> bool:
            if self.at == len(order):
                return False
            i = order[self.at]
            input_data(data=parts.get(i), label=ys[i], feature_names=names)
            self.at += 1
            return True

        def reset(self) -> None:
            self.at = 0

    params = fitted.get_xgb_params()
    params = {k: v for k, v in params.items() if v is not None and k not in ("n_jobs", "nthread")}
    params.pop("early_stopping_rounds", None)
    params.pop("callbacks", None)
    params["nthread"] = threads
    n_classes = getattr(fitted, "n_classes_", None)
    if n_classes is not None and n_classes > 2:
        params.update(objective="multi:softprob", num_class=int(n_classes))
    matrix = xgboost.QuantileDMatrix(Parts(), max_bin=params.get("max_bin") or 256, nthread=threads)
    parts.clear()
    started = time.perf_counter()
    booster = xgboost.train(params, matrix, num_boost_round=rounds, callbacks=guard, verbose_eval=False)
    fit_seconds = time.perf_counter() - started
    rows = int(matrix.num_row())
    del matrix
    booster = booster.copy()  # the trees alone, without the training rows' prediction cache
    release_memory()
    fitted._Booster = booster  # what get_booster, predict and predict_proba read
    return int(booster.num_boosted_rounds()), fit_seconds, rows


def fit_streamed(
    final: Any,
    unfitted: Any,
    frame: Any,
    table: TableFiles,
    target: str,
    threads: int,
    *,
    deadline: float | None = None,
) -> tuple[Any, dict]:
    """Refit the booster of the fitted pipeline ``final`` on every row of ``frame``, streamed file
    by file, on ``threads`` threads of this process; the arguments, the deadline and the result are
    those of :func:`~modelworks.distributed._full.fit_all_rows` (whose cluster this does not need,
    nor the classes: the fitted model's are used). ``facts`` also gives ``loads``, the partitions read.
    """
    from sklearn.pipeline import Pipeline

    from modelworks.models.boosting import booster_of
    from modelworks.models.threads import predict_on_one_thread

    clean, prepare = final.steps[0][1], final.steps[1][1]
    last = final.steps[-1][1]
    library = library_of(unfitted)
    rounds = int(booster_of(unfitted).get_params()["n_estimators"])
    classes = getattr(last, "classes_", None)
    categories = None if classes is None else np.asarray(classes)
    n_out = len(prepare.get_feature_names_out())
    parts = _Partitions(frame, clean, prepare, target, categories, n_out)
    new_last = copy.deepcopy(last)  # the sample's model stays as it is, should this fail
    fitted = innermost(new_last)
    if categories is not None and len(getattr(fitted, "classes_", categories)) != len(categories):
        raise ValueError("the booster's classes are not the model's")  # a wrapper this does not know
    started = time.perf_counter()
    with reading(table), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ys = _labels(table, target, categories, threads)
        if len(ys) != len(parts.parts):  # the rows would not be their labels' (a reader's change)
            raise ValueError(f"the target came in {len(ys)} partitions, the features in {len(parts.parts)}")
        release_memory()
        labels_seconds = time.perf_counter() - started
        if library == "lightgbm":
            guard = [] if deadline is None else [LightGBMDeadline(deadline)]
            done, fit_seconds, rows = _lightgbm(fitted, parts, ys, rounds, threads, guard)
        else:
            guard = [] if deadline is None else [_xgboost_deadline(deadline)]
            done, fit_seconds, rows = _xgboost(fitted, parts, ys, rounds, threads, guard)
    pipeline = predict_on_one_thread(Pipeline([*final.steps[:-1], (final.steps[-1][0], new_last)]))
    facts = {
        "rows": rows,
        "rounds": rounds,
        "rounds_done": done,
        "read_seconds": labels_seconds + parts.seconds,
        "fit_seconds": fit_seconds,
        "estimator": "lightgbm.Dataset from lightgbm.Sequence"
        if library == "lightgbm"
        else "xgboost.QuantileDMatrix from xgboost.DataIter",
        "loads": parts.loads,
    }
    return pipeline, facts
