"""Predict checked request values with ONNX Runtime without building a DataFrame.

:func:`modelworks.serve.validate.check_records` leaves one list of Python values per schema column:
floats (NaN for missing) for numbers, stripped strings or ``None`` for categorical, boolean and date
values. For a bundle served with ONNX Runtime, :class:`RecordFeeds` turns those lists into the graph's
inputs exactly as the pipeline's :class:`~modelworks.prepare.TableCleaner` followed by
:meth:`~modelworks.export.runtime.OnnxPredictor.feeds` would, in plain Python and NumPy:

- numeric: the floats as they are (cleaning only casts them to float64);
- categorical and boolean: the level strings, ``""`` for a missing value
  (see :func:`~modelworks.export.runtime.category_strings`);
- datetime: ISO dates split into their parts (:func:`modelworks.predict.iso_date_parts`), NaN parts
  for a missing date.

A column holding anything else (a date in another format, a text column) is cleaned by the pipeline's
own cleaner restricted to that column, on a one-column frame built as the request's frame is built, so
the inputs are always those of the frame path. :class:`OnnxRecords` runs the graph and returns the
answer rows, with the decision threshold and label order of :func:`modelworks.predict.predict_frame`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from modelworks.bundle import Bundle
from modelworks.evaluate._proba import align_proba
from modelworks.export.runtime import (
    MISSING,
    UNSEEN,
    OnnxPredictor,
    category_strings,
    decision_rule,
    labels_from_proba,
)
from modelworks.predict import iso_date_parts
from modelworks.prepare.clean import TableCleaner, date_feature_names
from modelworks.serve.encode import json_values
from modelworks.serve.validate import Column, frame_from_values

__all__ = ["OnnxRecords", "RecordFeeds"]

_NUMPY_TYPE = {"double": np.float64, "float": np.float32}
_NAN = math.nan
#: Cleaned values of one raw column: cleaned column name to one value per row.
Cleaned = dict[str, list]


def _levels(values: list) -> list | None:
    """Level strings as the graph's string input, or ``None`` when a value is not a string."""
    out = []
    for v in values:
        if v is None:
            out.append(MISSING)
        elif type(v) is str:
            v = v.strip()  # as as_category_strings writes it (the checks have already stripped it)
            out.append(UNSEEN if v == MISSING else v)
        else:
            return None
    return out


class RecordFeeds:
    """ONNX Runtime inputs from checked request values, without pandas or scikit-learn.

    Parameters
    ----------
    cleaner : TableCleaner
        The pipeline's fitted cleaning step.
    inputs : list of (str, str, str)
        Graph input name, cleaned column name and type, as in
        :attr:`~modelworks.export.runtime.OnnxPredictor.inputs`.
    """

    def __init__(self, cleaner: TableCleaner, inputs: list[tuple[str, str, str]]):
        self.inputs = inputs
        self.types = {column: kind for _, column, kind in inputs}
        #: Per raw column: its check (for the frame), its plain-Python cleaning, its own cleaner.
        self.steps: list[tuple[Column, Callable[[list], Cleaned | None], TableCleaner]] = []
        for col in cleaner.columns or []:
            column = Column(str(col["name"]), str(col["kind"]))
            self.steps.append((column, self._fast_step(col), TableCleaner([col]).fit(None)))

    @property
    def columns(self) -> list[str]:
        """The raw columns whose values :meth:`feeds` needs."""
        return [column.name for column, _, _ in self.steps]

    def _fast_step(self, col: dict) -> Callable[[list], Cleaned | None]:
        """The plain-Python cleaning of one column (it returns ``None`` when it cannot clean a value)."""
        name, kind = str(col["name"]), col["kind"]
        if kind == "numeric" and self.types.get(name) in _NUMPY_TYPE:
            return lambda values: {name: values} if all(type(v) is float for v in values) else None
        if kind in ("categorical", "boolean") and self.types.get(name) == "string":

            def levels(values: list) -> Cleaned | None:
                out = _levels(values)
                return None if out is None else {name: out}

            return levels
        if kind == "datetime":
            has_time = bool(col.get("has_time"))
            parts = date_feature_names(name, has_time)
            if all(self.types.get(p) in _NUMPY_TYPE for p in parts):
                return lambda values: _date_parts(values, name, has_time, parts)
        return lambda values: None

    def feeds(self, values: Mapping[str, list]) -> dict[str, np.ndarray]:
        """The graph's inputs for checked values.

        Parameters
        ----------
        values : mapping of str to list
            One list of checked values per raw column (see
            :func:`modelworks.serve.validate.check_records`), all of the same length.

        Returns
        -------
        dict of str to ndarray
            One ``(n_rows, 1)`` array per graph input: float for numbers, object strings for levels.
        """
        cleaned: dict[str, list | np.ndarray] = {}
        for column, fast, slow in self.steps:
            column_values = values[column.name]
            out = fast(column_values)
            cleaned.update(out if out is not None else self._slow(column, column_values, slow))
        feeds = {}
        for graph_name, name, kind in self.inputs:
            dtype = object if kind == "string" else _NUMPY_TYPE[kind]
            feeds[graph_name] = np.array(cleaned[name], dtype=dtype).reshape(-1, 1)
        return feeds

    def _slow(self, column: Column, values: list, cleaner: TableCleaner) -> dict[str, np.ndarray]:
        """One column cleaned by the pipeline's own cleaner, exactly as the frame path cleans it."""
        cleaned = cleaner.transform(frame_from_values([column], {column.name: values}))
        out = {}
        for name in cleaned.columns:
            kind = self.types.get(name)
            if kind == "string":
                out[name] = category_strings(cleaned[name])
            elif kind in _NUMPY_TYPE:
                out[name] = cleaned[name].to_numpy(dtype=_NUMPY_TYPE[kind])
        return out


def _date_parts(values: list, name: str, has_time: bool, parts: list[str]) -> Cleaned | None:
    """The date-part columns of ISO date strings (NaN for ``None``); ``None`` for any other value."""
    out: Cleaned = {p: [] for p in parts}
    for v in values:
        if v is None:
            for p in parts:
                out[p].append(_NAN)
            continue
        if type(v) is not str:
            return None
        split = iso_date_parts(v, name, has_time)
        if split is None:
            return None
        for p in parts:
            out[p].append(split[p])
    return out


class OnnxRecords:
    """Answer rows for checked request values, predicted by a bundle's ONNX Runtime session.

    Build it with :meth:`for_bundle`. The answers equal those of
    :func:`modelworks.predict.predict_frame` on the frame the same values make.

    Parameters
    ----------
    bundle : Bundle
        A bundle loaded for ONNX Runtime (``bundle.onnx`` is set).
    cleaner : TableCleaner
        The pipeline's cleaning step.
    """

    def __init__(self, bundle: Bundle, cleaner: TableCleaner):
        assert bundle.onnx is not None
        self.predictor: OnnxPredictor = bundle.onnx
        self.feeds = RecordFeeds(cleaner, self.predictor.inputs)
        self.task = bundle.task
        classes, self.threshold, self.pos_label = decision_rule(bundle.model)
        self.classes = np.asarray(classes if classes is not None else [])
        self.labels = bundle.labels or list(self.classes)
        self.names = [str(label) for label in self.labels]

    @classmethod
    def for_bundle(cls, bundle: Bundle, columns: list[str]) -> OnnxRecords | None:
        """The fast path of a bundle, or ``None`` when it has none.

        Parameters
        ----------
        bundle : Bundle
            A loaded bundle.
        columns : list of str
            The columns the request checks produce values for.

        Returns
        -------
        OnnxRecords or None
            ``None`` unless the bundle predicts with ONNX Runtime after a
            :class:`~modelworks.prepare.TableCleaner` whose columns are all checked.
        """
        steps = getattr(bundle.model, "steps", None)
        if bundle.onnx is None or not steps or not isinstance(steps[0][1], TableCleaner):
            return None
        cleaner = steps[0][1]
        needed = {str(c["name"]) for c in cleaner.columns or []}
        if not needed <= set(columns):
            return None
        return cls(bundle, cleaner)

    def rows(self, values: Mapping[str, list], proba: bool) -> list[dict[str, Any]] | None:
        """JSON-ready answer rows, one per record.

        Parameters
        ----------
        values : mapping of str to list
            Checked values, one list per column (see :func:`modelworks.serve.validate.check_records`).
        proba : bool
            One probability per class label instead of the predicted label.

        Returns
        -------
        list of dict or None
            ``{"prediction": ...}`` or ``{label: probability, ...}`` per record; ``None`` when a
            number is infinite, which the frame path leaves to scikit-learn.
        """
        feeds = self.feeds.feeds(values)
        if not self.predictor.finite(feeds):
            return None
        out = self.predictor.run(feeds)
        if self.task == "regression":
            return [{"prediction": v} for v in json_values(out)]
        if proba:
            p = align_proba(out, list(self.classes), self.labels)
            columns = [json_values(p[:, j]) for j in range(p.shape[1])]
            return [dict(zip(self.names, row, strict=True)) for row in zip(*columns, strict=True)]
        labels = labels_from_proba(out, self.classes, self.threshold, self.pos_label)
        return [{"prediction": v} for v in json_values(labels)]
