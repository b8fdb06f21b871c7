"""Predict with a loaded bundle: check input against the schema, keep row order, name the columns.

Two runtimes give the same output (the same columns, labels and dtypes; probabilities within 1e-5):

- ``"sklearn"``: the skops-loaded pipeline predicts;
- ``"onnx"``: the pipeline's :class:`~modelworks.prepare.TableCleaner` runs in Python, then ONNX Runtime
  runs ``model.onnx``; the decision threshold of a tuned binary classifier is applied as scikit-learn's
  ``FixedThresholdClassifier`` applies it, and class indices map to the pipeline's own labels.

A single row (the usual request to a prediction server) is cleaned column by column without building
pandas frames for one value: numbers are taken as they are, ISO dates (``2024-05-17``,
``2024-05-17 13:45:00``) are split into their parts directly, and any other value is cleaned by the
pipeline's own cleaner once and remembered. Cleaning holds no state and treats each column on its own,
so this gives exactly what ``TableCleaner.transform`` gives (the tests compare them value by value).

:func:`predict_batch` is ``modelworks predict``: a table a chunk of rows at a time (or an image
bundle's images) to CSV, a file written beside its destination and renamed onto it when complete.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

import numpy as np
import pandas as pd

from modelworks.bundle import Bundle
from modelworks.data.schema import check_input
from modelworks.errors import ConfigError
from modelworks.evaluate._proba import align_proba
from modelworks.export.runtime import MISSING, UNSEEN, OnnxPredictor, decision_rule, labels_from_proba
from modelworks.prepare._cleaning import clean

if TYPE_CHECKING:
    from modelworks.data.load import Chunks

__all__ = [
    "BatchEvents",
    "BatchPrediction",
    "Prediction",
    "check_batch_options",
    "merge_notices",
    "predict_batch",
    "predict_frame",
    "predict_rows",
]

#: Tasks of bundles without a target: their answer columns are their own (see :func:`_unsupervised`).
UNSUPERVISED = ("clustering", "anomaly")
#: An ISO date, with an optional time to the second: the dates split without pandas.
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")
_EPOCH = dt.datetime(1970, 1, 1)
#: A notice that counts rows ("column 'plan': 3 row(s) with ..."): chunks add up their counts.
_COUNTED = re.compile(r"^(column .+?: )(\d+)( row\(s\) .*)$")


@dataclass
class Prediction:
    """Predictions of :func:`predict_rows`.

    Attributes
    ----------
    frame : DataFrame
        ``prediction`` column, or one probability column per class named by the class label.
    notices : list of str
        What was ignored or treated as unknown.
    runtime : {"onnx", "sklearn"}
        The runtime that predicted these rows.
    """

    frame: pd.DataFrame
    notices: list[str] = field(default_factory=list)
    runtime: str = "sklearn"


def predict_frame(bundle: Bundle, df: pd.DataFrame, proba: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Predictions for the rows of ``df``, in the same order.

    Parameters
    ----------
    bundle : Bundle
        A loaded bundle; it predicts with its runtime (``bundle.runtime``).
    df : DataFrame
        Rows to predict (extra columns are ignored).
    proba : bool
        Return one probability column per class, named by the class label, instead of the label.

    Returns
    -------
    predictions : DataFrame
        ``prediction`` column, or one column per class. ``predictions.attrs["runtime"]`` names the
        runtime that predicted (see :func:`predict_rows`).
    notices : list of str
        What was ignored or treated as unknown.
    """
    result = predict_rows(bundle, df, proba=proba)
    return result.frame, result.notices


def predict_rows(bundle: Bundle, df: pd.DataFrame, proba: bool = False) -> Prediction:
    """As :func:`predict_frame`, also saying which runtime predicted.

    ONNX rows holding an infinite number are left to scikit-learn (which refuses them where ONNX
    would compute with them), so ``runtime`` may be ``"sklearn"`` for a bundle loaded for ONNX.
    """
    if proba and bundle.task in ("regression", *UNSUPERVISED):
        raise ConfigError(f"--proba applies to classification bundles; this one is {bundle.task}")
    checked = check_input(df, bundle.schema)
    frame = checked.frame
    runtime = bundle.runtime
    if bundle.task in UNSUPERVISED:
        result = _unsupervised(bundle, frame)
        runtime = "sklearn"
    elif len(frame) == 0:
        result = _empty(bundle, proba)
    elif bundle.onnx is None:
        result = _sklearn(bundle, frame, proba)
    else:
        state = _state(bundle)
        feeds = state.row_feeds(frame) if len(frame) == 1 else bundle.onnx.feeds(clean(state.spec, frame))
        if bundle.onnx.finite(feeds):
            result = _from_onnx(bundle, state, bundle.onnx.run(feeds), proba)
        else:
            result, runtime = _sklearn(bundle, frame, proba), "sklearn"
    result.attrs["runtime"] = runtime
    return Prediction(result, checked.notices, runtime)


def merge_notices(batches: list[list[str]]) -> list[str]:
    """The notices of several chunks of one table, as one call on the whole table would give them.

    Identical notices are kept once; notices that count rows of a column add up their counts and
    keep the first chunk's example.
    """
    merged: dict[str, list] = {}
    for notices in batches:
        for notice in notices:
            match = _COUNTED.match(notice)
            if match is None:
                merged.setdefault(notice, [notice])
                continue
            head, count, tail = match.groups()
            if head in merged:
                merged[head][1] += int(count)
            else:
                merged[head] = [head, int(count), tail]
    return [entry[0] if len(entry) == 1 else f"{entry[0]}{entry[1]}{entry[2]}" for entry in merged.values()]


class BatchEvents(Protocol):
    """What :func:`predict_batch` tells as it goes, to any object with these methods (the command
    line prints them; without one, nothing is told)."""

    def image_notices(self, notices: list[str]) -> None:
        """What an image bundle ignored or could not read, before its predictions are written."""

    def reading(self, chunks: Chunks) -> AbstractContextManager[object]:
        """A context entered while a table's chunks are read and predicted.

        A progress display sets ``chunks.on_progress`` in it (``chunks.size`` and ``chunks.unit`` say
        what is counted).
        """


class _Untold:
    """The :class:`BatchEvents` of a caller that shows nothing."""

    def image_notices(self, notices: list[str]) -> None:
        pass

    def reading(self, chunks: Chunks) -> AbstractContextManager[object]:
        return nullcontext()


@dataclass
class BatchPrediction:
    """What :func:`predict_batch` wrote.

    Attributes
    ----------
    rows : int
        Predictions written (one per row or image).
    notices : list of str
        What a table's rows had ignored or treated as unknown, merged over its chunks (an image
        bundle's are told before its predictions are written: :meth:`BatchEvents.image_notices`).
    runtime : str or None
        The runtimes that predicted a table (``"onnx"``, ``"sklearn"`` or ``"onnx and sklearn"``);
        ``None`` for an image bundle.
    """

    rows: int
    notices: list[str] = field(default_factory=list)
    runtime: str | None = None


def check_batch_options(runtime: str, chunk_rows: int) -> None:
    """Check the options of :func:`predict_batch` before any bundle is read.

    Raises
    ------
    ConfigError
        In :mod:`modelworks.options`' words, naming the option.
    """
    from modelworks.options import RUNTIMES, check_at_least, check_choice

    check_at_least(chunk_rows, 1, "--chunk-rows", 50_000)
    check_choice(runtime, RUNTIMES, "--runtime")


def predict_batch(
    bundle: str | os.PathLike,
    data: str,
    *,
    proba: bool = False,
    out_file: Path | None = None,
    runtime: str = "auto",
    chunk_rows: int = 50_000,
    key: bytes | None = None,
    stream: TextIO | None = None,
    events: BatchEvents | None = None,
) -> BatchPrediction:
    """Predict the rows of a table, or the images of an image bundle, as CSV.

    The bundle is verified against its manifest. A table is read and predicted ``chunk_rows`` rows at
    a time (a CSV or TSV file streams from disk), with the bundle's ONNX model when it has one and
    ``runtime`` allows it. ``out_file`` is written beside its destination and renamed onto it when
    complete: a failure leaves no partial file.

    Parameters
    ----------
    bundle : path-like or str
        A bundle directory, or ``runs:/RUN_ID/bundle`` of a tracked run.
    data : str
        A table :func:`modelworks.load` reads; for an image bundle, a folder, an image or a ``.npz``.
    proba : bool
        One probability column per class instead of the label.
    out_file : Path, optional
        The CSV file to write (default: ``stream``).
    runtime : {"auto", "onnx", "sklearn"}
    chunk_rows : int
        Rows read and predicted at a time.
    key : bytes, optional
        Refuse a bundle not signed with this secret.
    stream : file-like, optional
        Where the CSV goes without ``out_file`` (default: ``sys.stdout``), flushed after every chunk.
    events : BatchEvents, optional
        Told of each step as it happens.

    Returns
    -------
    BatchPrediction

    Raises
    ------
    ModelworksError
        A wrong option, a bundle that fails its checks, unreadable data.
    """
    from modelworks.bundle import load_bundle
    from modelworks.data.load import iter_chunks

    check_batch_options(runtime, chunk_rows)
    events = _Untold() if events is None else events
    stream = sys.stdout if stream is None else stream
    loaded = load_bundle(bundle, runtime=runtime, key=key)
    from modelworks.models.neural.predict_images import is_image_bundle, predict_images

    if is_image_bundle(loaded.schema):
        frame, notices = predict_images(loaded.model, loaded.schema, data, proba=proba)
        events.image_notices(notices)
        with _csv_out(out_file, stream) as fh:
            frame.to_csv(fh, index=False)
        return BatchPrediction(len(frame))
    chunks = iter_chunks(data, chunk_rows)
    rows, batches, runtimes = 0, [], set()
    with _csv_out(out_file, stream) as fh, events.reading(chunks):
        for chunk in chunks:
            result = predict_rows(loaded, chunk, proba=proba)
            result.frame.to_csv(fh, index=False, header=rows == 0)
            fh.flush()
            rows += len(result.frame)
            batches.append(result.notices)
            runtimes.add(result.runtime)
    return BatchPrediction(rows, merge_notices(batches), " and ".join(sorted(runtimes)) or loaded.runtime)


@contextmanager
def _csv_out(out_file: Path | None, stream: TextIO) -> Iterator[TextIO]:
    """``stream``, or a file beside ``out_file`` renamed onto it when complete (removed on failure)."""
    if out_file is None:
        yield stream
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_file.name}.", dir=out_file.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            yield fh
        os.replace(tmp, out_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unsupervised(bundle: Bundle, frame: pd.DataFrame) -> pd.DataFrame:
    """A clustering bundle's ``cluster``; an anomaly bundle's ``anomaly_score`` and ``is_anomaly``."""
    model = bundle.model
    if bundle.task == "clustering":
        labels = model.predict(frame) if len(frame) else np.empty(0, dtype=np.int64)
        return pd.DataFrame({"cluster": np.asarray(labels, dtype=np.int64)})
    scorer = model.steps[-1][1]
    scores = scorer.score_samples(model[:-1].transform(frame)) if len(frame) else np.empty(0)
    return pd.DataFrame({"anomaly_score": scores, "is_anomaly": scores > scorer.threshold_})


def _sklearn(bundle: Bundle, frame: pd.DataFrame, proba: bool) -> pd.DataFrame:
    model = bundle.model
    if proba:
        labels = bundle.labels or list(model.classes_)
        p = align_proba(model.predict_proba(frame), list(model.classes_), labels)
        return pd.DataFrame(p, columns=[str(c) for c in labels])
    pred = model.predict(frame)
    if bundle.task == "regression":
        pred = np.asarray(pred, dtype=float)
    return pd.DataFrame({"prediction": pred})


def _from_onnx(bundle: Bundle, state: _State, out: np.ndarray, proba: bool) -> pd.DataFrame:
    """The output frame from the ONNX graph's probabilities (or regression values)."""
    if bundle.task == "regression":
        return pd.DataFrame({"prediction": out})
    if proba:
        labels = bundle.labels or list(state.classes)
        return pd.DataFrame(align_proba(out, list(state.classes), labels), columns=[str(c) for c in labels])
    return pd.DataFrame(
        {"prediction": labels_from_proba(out, state.classes, state.threshold, state.pos_label)}
    )


def _empty(bundle: Bundle, proba: bool) -> pd.DataFrame:
    """No rows: the columns (and dtypes) the predictions would have."""
    if bundle.task == "regression":
        return pd.DataFrame({"prediction": np.empty(0)})
    classes, _, _ = _rule(bundle)
    classes = np.asarray(classes if classes is not None else [])
    if proba:
        labels = bundle.labels or list(classes)
        return pd.DataFrame(np.empty((0, len(labels))), columns=[str(c) for c in labels])
    return pd.DataFrame({"prediction": classes[:0]})


def _rule(bundle: Bundle) -> tuple[np.ndarray | None, float | None, object]:
    """The decision rule, from the ONNX metadata when it holds it (the pipeline is then not built)."""
    if bundle.onnx is not None and bundle.onnx.rule is not None:
        return bundle.onnx.rule
    return decision_rule(bundle.model)


class _State:
    """What the ONNX path needs from a bundle, worked out once: the cleaner's specification, the
    decision rule and the remembered cleaned values of single rows."""

    #: Remembered values per column; the memory is emptied when full.
    CACHE = 4096

    def __init__(self, bundle: Bundle):
        predictor = bundle.onnx
        assert predictor is not None
        self.predictor: OnnxPredictor = predictor
        spec = predictor.columns if predictor.columns is not None else bundle.model.steps[0][1].columns
        self.spec: list[dict] = spec or []
        classes, self.threshold, self.pos_label = _rule(bundle)
        self.classes = np.asarray(classes if classes is not None else [])
        self.slot = {column: name for name, column, _ in predictor.inputs}
        self.kind = {column: kind for _, column, kind in predictor.inputs}
        self.memory: dict[str, dict] = {c["name"]: {} for c in self.spec}

    def row_feeds(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The session's inputs for a one-row frame (the checked input, before cleaning)."""
        values: dict[str, object] = {}
        for col in self.spec:
            name = col["name"]
            series = frame[name]
            raw = series.iat[0]
            if col["kind"] == "numeric" and _plain_number(series):
                values[name] = float(raw)
                continue
            if col["kind"] == "datetime" and isinstance(raw, str):
                parts = iso_date_parts(raw, name, bool(col.get("has_time")))
                if parts is not None:
                    values.update(parts)
                    continue
            key = (str(series.dtype), type(raw).__name__, raw) if _rememberable(raw) else None
            memory = self.memory[name]
            cleaned = memory.get(key) if key is not None else None
            if cleaned is None:
                out = clean([col], frame[[name]])
                cleaned = {c: out[c].iat[0] for c in out.columns}
                if key is not None:
                    if len(memory) >= self.CACHE:
                        memory.clear()
                    memory[key] = cleaned
            values.update(cleaned)
        feeds = {}
        for column, kind in self.kind.items():
            v = values[column]
            if kind == "string":
                text = (UNSEEN if v == MISSING else v) if isinstance(v, str) else MISSING
                feeds[self.slot[column]] = np.array([[text]], dtype=object)
            else:
                dtype = np.float64 if kind == "double" else np.float32
                feeds[self.slot[column]] = np.array([[v]], dtype=dtype)
        return feeds


def iso_date_parts(text: str, name: str, has_time: bool) -> dict[str, float] | None:
    """The cleaned columns of an ISO date string, as ``TableCleaner`` computes them; ``None`` for
    any other text (which the cleaner itself must parse)."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        when = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    elapsed = when - _EPOCH
    parts = {
        f"{name}__year": float(year),
        f"{name}__month": float(month),
        f"{name}__day": float(day),
        f"{name}__dayofweek": float(when.weekday()),
    }
    if has_time:
        parts[f"{name}__hour"] = float(hour)
    # pandas divides the whole seconds (exact in float64) by 86400, as here
    parts[f"{name}__days"] = float(elapsed.days * 86400 + elapsed.seconds) / 86400
    return parts


def _plain_number(series: pd.Series) -> bool:
    """A column that cleaning only casts to float64 (a numeric dtype other than bool)."""
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _rememberable(value: object) -> bool:
    """A value that can key the memory: a string, or a number that equals itself."""
    if isinstance(value, str):
        return True
    return isinstance(value, int | float | np.integer | np.floating) and value == value


_STATES: weakref.WeakKeyDictionary[OnnxPredictor, _State] = weakref.WeakKeyDictionary()


def _state(bundle: Bundle) -> _State:
    predictor = bundle.onnx
    assert predictor is not None
    state = _STATES.get(predictor)
    if state is None:
        state = _STATES[predictor] = _State(bundle)
    return state
