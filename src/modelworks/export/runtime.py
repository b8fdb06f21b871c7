"""Run an exported ``model.onnx`` with ONNX Runtime.

The graph starts after the pipeline's :class:`~modelworks.prepare.TableCleaner`: it takes one input per
cleaned column, a float column for every numeric (or date-part) column and a string column for every
categorical one, where ``""`` stands for a missing value. The graph's own metadata (written by
:func:`modelworks.export.onnx.export_onnx`) says which input is which column.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from modelworks.data.kinds import KINDS

#: Key of the JSON metadata that describes the graph's inputs and output.
META_KEY = "modelworks"
#: A missing categorical value, as the graph's string inputs spell it.
MISSING = ""
#: What a genuine empty-string level becomes: a level never seen in training (training data has none,
#: since loading turns empty cells into missing values), so the encoders treat it as unknown.
UNSEEN = "\x1f"

_NUMPY_TYPE = {"double": np.float64, "float": np.float32}


def category_strings(values: pd.Series | np.ndarray) -> np.ndarray:
    """Cleaned categorical values as the graph's string input: missing becomes :data:`MISSING`."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist() if isinstance(values, pd.Series) else values):
        out[i] = (UNSEEN if v == MISSING else v) if isinstance(v, str) else MISSING
    return out


def labels_from_proba(
    proba: np.ndarray, classes: np.ndarray, threshold: float | None, pos_label=None
) -> np.ndarray:
    """Class labels from probabilities, as scikit-learn decides them.

    With a threshold, as ``FixedThresholdClassifier`` does (positive when the positive class's
    probability is at least the threshold); otherwise the most probable class.
    """
    classes = np.asarray(classes)
    if threshold is None:
        return classes[np.argmax(proba, axis=1)]
    if pos_label is None:
        pos, neg = 1, 0
    else:
        pos = int(np.flatnonzero(classes == pos_label)[0])
        neg = int(np.flatnonzero(classes != pos_label)[0])
    return classes[np.array([neg, pos])[(proba[:, pos] >= threshold).astype(int)]]


def rule_to_json(model) -> dict:
    """:func:`decision_rule` of ``model`` as JSON values, rebuilt by :class:`OnnxPredictor`."""
    classes, threshold, pos_label = decision_rule(model)
    return {
        "classes": None if classes is None else classes.tolist(),
        "classes_dtype": None if classes is None else classes.dtype.str,
        "threshold": threshold,
        "pos_label": pos_label.item() if isinstance(pos_label, np.generic) else pos_label,
    }


def decision_rule(model) -> tuple[np.ndarray | None, float | None, object]:
    """The class labels, decision threshold and positive label of a fitted pipeline's last step."""
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    classes = getattr(last, "classes_", None)
    if type(last).__name__ == "FixedThresholdClassifier":
        return np.asarray(classes), float(last.threshold), last.pos_label
    return (None if classes is None else np.asarray(classes)), None, None


def _cleaner_spec(columns: object) -> list[dict] | None:
    """The cleaner's column specification from the graph's metadata, checked to be one (a malformed
    one raises, and the bundle then predicts with scikit-learn or refuses ``--runtime onnx``)."""
    if columns is None:
        return None
    if not isinstance(columns, list) or not all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and c.get("kind") in KINDS for c in columns
    ):
        raise ValueError("the cleaner's column specification in the ONNX metadata is malformed")
    return columns


class OnnxPredictor:
    """An ONNX Runtime session over an exported model, fed with cleaned columns.

    Parameters
    ----------
    model_bytes : bytes
        The serialised ONNX model written by :func:`~modelworks.export.onnx.export_onnx`.
    threads : int
        Threads of ONNX Runtime's intra- and inter-operator pools (one by default: a server runs
        several processes, and small batches do not gain from more).

    Attributes
    ----------
    inputs : list of (str, str, str)
        Graph input name, cleaned column name and type (``"double"``, ``"float"`` or ``"string"``).
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    """

    def __init__(self, model_bytes: bytes, *, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        meta = json.loads(self.session.get_modelmeta().custom_metadata_map[META_KEY])
        self.inputs: list[tuple[str, str, str]] = [(str(a), str(b), str(c)) for a, b, c in meta["inputs"]]
        self.task: str = meta["task"]
        self.output: str = meta["output"]
        self._outputs = [self.output]
        #: The cleaner's column specification, saved with the graph since 2026-11-28 (``None`` in
        #: older files): with it the bundle predicts without loading its scikit-learn pipeline.
        self.columns: list[dict] | None = _cleaner_spec(meta.get("cleaner"))
        rule = meta.get("decision")
        self.rule: tuple[np.ndarray | None, float | None, object] | None = None
        if isinstance(rule, dict):
            classes = rule.get("classes")
            if classes is not None:
                classes = np.asarray(classes, dtype=np.dtype(rule.get("classes_dtype") or None))
            threshold = rule.get("threshold")
            if threshold is not None and not isinstance(threshold, int | float):
                raise ValueError("the decision threshold in the ONNX metadata is not a number")
            self.rule = (classes, threshold, rule.get("pos_label"))

    @property
    def self_contained(self) -> bool:
        """Whether the graph's metadata holds all that prediction needs beside the graph itself."""
        return self.columns is not None and (self.task == "regression" or self.rule is not None)

    def feeds(self, cleaned: pd.DataFrame) -> dict[str, np.ndarray]:
        """The session's inputs for a cleaned frame (the output of ``TableCleaner.transform``)."""
        feeds = {}
        for name, column, kind in self.inputs:
            values = cleaned[column]
            if kind == "string":
                feeds[name] = category_strings(values).reshape(-1, 1)
            else:
                feeds[name] = values.to_numpy(dtype=_NUMPY_TYPE[kind]).reshape(-1, 1)
        return feeds

    @staticmethod
    def finite(feeds: dict[str, np.ndarray]) -> bool:
        """Whether every number is finite or missing.

        scikit-learn refuses infinite values where ONNX computes with them, so such rows are left to
        scikit-learn, whatever it does with them.
        """
        return not any(a.dtype != object and np.isinf(a).any() for a in feeds.values())

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Class probabilities ``(n_rows, n_classes)`` or predictions ``(n_rows,)``, as float64."""
        out = self.session.run(self._outputs, feeds)[0]
        out = np.asarray(out, dtype=np.float64)
        return out.reshape(-1) if self.task == "regression" else out
