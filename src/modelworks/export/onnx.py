"""Export a fitted modelworks pipeline to ONNX, and check that it predicts what scikit-learn predicts.

The pipeline's :class:`~modelworks.prepare.TableCleaner` stays in Python (it parses numbers written as
text and dates, which ONNX cannot express); the graph covers the ``prepare`` ColumnTransformer and the
model (for a weighted ensemble, each member's preparation and model, then the weighted average of
their probabilities or predictions). It takes one input per cleaned column: a double column for each
numeric or date-part column, a string column for each categorical one, with ``""`` for a missing
value. The decision threshold of a tuned binary classifier is applied in Python, on the graph's
probabilities.

The conversion uses skl2onnx, with the onnxmltools converters registered for LightGBM and XGBoost, on
an ONNX-only copy of the fitted pipeline in which the parts skl2onnx would get wrong are swapped for
small wrappers with their own converters:

- the numeric imputer with missing-value indicators (skl2onnx has no converter for the indicators);
- a HistGradientBoosting model with native categorical features (skl2onnx ignores categorical
  splits and the model's internal reordering of its features); each categorical split becomes a
  chain of equality tests;
- encoders whose categories include the missing value (it becomes ``""``), and target encoders of
  multiclass targets (skl2onnx converts binary and continuous ones only);
- scikit-learn trees and forests (skl2onnx ignores their missing-value directions), and one-hot
  encoders with infrequent levels (skl2onnx refuses them);
- CatBoost (its own ONNX export, spliced in) and modelworks' ``WeightedEnsemble``.

A ``CastTransformer(float32)`` goes before every tree model, so a value and a split threshold are
rounded alike; linear models and the other estimators compute in double precision.

Nothing is trusted without a check: the graph's probabilities (or predictions) must match scikit-learn's
within 1e-5 on a sample of training rows plus synthetic rows with missing values and unseen categories,
and the predicted labels after the decision threshold must be identical. Whatever fails (no converter,
a converter error, a parity failure, a model too large to convert quickly) leaves the bundle on
scikit-learn, with the reason recorded.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from modelworks.data.schema import json_safe
from modelworks.export._base import NotExportable
from modelworks.export._converters import EnsembleModel, onnx_estimator, onnx_prepare, register
from modelworks.export.runtime import (
    META_KEY,
    OnnxPredictor,
    decision_rule,
    labels_from_proba,
    rule_to_json,
)
from modelworks.models.wrappers import unwrap

__all__ = ["ATOL", "MAX_ROWS", "TARGET_OPSET", "NotExportable", "OnnxExport", "check_rows", "export_onnx"]

#: Largest allowed difference between ONNX and scikit-learn probabilities (classification) or
#: predictions relative to their scale (regression: ``ATOL * max(1, max |prediction|)``).
ATOL = 1e-5
#: Training rows checked (rows with missing values first), before the synthetic rows are added.
MAX_ROWS = 2_000
#: Synthetic rows of each kind (unseen categories, scattered missing values) added to the check.
SYNTHETIC_ROWS = 200
#: Opsets of the graph: opset 3 of ai.onnx.ml is what the LightGBM and XGBoost converters need.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
#: Tree models with more nodes than this are left to scikit-learn: a million nodes take about 3 s to
#: convert and check and weigh about 40 MB (a random forest of 200 trees on some 20,000 rows).
MAX_TREE_NODES = 1_000_000
#: A categorical level no model has seen, to check how unseen levels are handled.
_UNSEEN_PROBE = "\x1emodelworks-unseen-level"


@dataclass
class OnnxExport:
    """The outcome of :func:`export_onnx`.

    Attributes
    ----------
    model_bytes : bytes or None
        The serialised ONNX model, when it converted and passed the parity check.
    runtime : {"onnx", "sklearn"}
        The runtime a bundle should use by default.
    reason : str
        One sentence: why ONNX is used, or why not.
    max_abs_diff : float or None
        Largest difference between ONNX and scikit-learn outputs over the rows checked.
    rows_checked : int
        Rows compared (training rows plus synthetic rows).
    seconds : float
        Time spent converting and checking.
    """

    model_bytes: bytes | None
    runtime: str
    reason: str
    max_abs_diff: float | None = None
    rows_checked: int = 0
    seconds: float = 0.0

    def to_manifest(self) -> dict:
        """The ``runtime`` entry of a bundle's manifest."""
        return {
            "default": self.runtime,
            "reason": self.reason,
            "max_abs_diff": self.max_abs_diff,
            "rows_checked": self.rows_checked,
        }


# -------------------------------------------------------------------------------------------------
# Entry point
# -------------------------------------------------------------------------------------------------


#: Most input columns exported: the graph has one input per column, and wide graphs convert slowly.
MAX_INPUTS = 1000


def export_onnx(
    pipeline: Pipeline,
    sample: pd.DataFrame,
    task: str,
    *,
    max_rows: int = MAX_ROWS,
    atol: float = ATOL,
    seed: int = 0,
) -> OnnxExport:
    """Convert a fitted modelworks pipeline to ONNX and check it against scikit-learn.

    Parameters
    ----------
    pipeline : Pipeline
        ``clean → prepare → model``, as :func:`modelworks.experiment.build_pipeline` builds it
        (the model possibly wrapped in a decision threshold).
    sample : DataFrame
        Raw rows (as given to the pipeline), typically the training rows; at most ``max_rows`` of
        them are checked, rows with missing values first.
    task : {"binary", "multiclass", "regression"}
        The task of the pipeline.
    max_rows : int
        Training rows to check.
    atol : float
        Tolerance of the parity check (see :data:`ATOL`).
    seed : int
        Seed of the row sample and of the synthetic rows.

    Returns
    -------
    OnnxExport
        With ``runtime="onnx"`` and the model bytes when the graph passed the check; otherwise
        ``runtime="sklearn"`` and the reason. Never raises for a pipeline it cannot convert.
    """
    started = time.perf_counter()

    def done(model_bytes: bytes | None, reason: str, diff: float | None = None, rows: int = 0) -> OnnxExport:
        runtime = "onnx" if model_bytes is not None else "sklearn"
        return OnnxExport(model_bytes, runtime, reason, diff, rows, round(time.perf_counter() - started, 3))

    if sample.shape[1] > MAX_INPUTS:
        return done(None, f"{sample.shape[1]:,} input columns: ONNX export is tried up to {MAX_INPUTS:,}")
    try:
        parts = _Parts.of(pipeline, task)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model_bytes = _convert(parts)
    except NotExportable as exc:
        return done(None, str(exc))
    except Exception as exc:  # a converter failing must never stop a bundle from being saved
        return done(None, f"ONNX conversion failed ({_one_line(exc)})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            diff, rows, problem, tol = _parity(parts, model_bytes, sample, max_rows, atol, seed)
    except Exception as exc:
        return done(None, f"the converted model could not be checked ({_one_line(exc)})")
    if problem:
        return done(None, f"parity check failed: {problem}", diff, rows)
    bound = f"{tol:.0e}" if tol == atol else f"{tol:.1e} ({atol:.0e} x the largest |prediction|)"
    reason = (
        f"converted and checked: max |diff| {diff:.1e} <= {bound} on {rows:,} rows "
        "(training rows plus rows with missing values and unseen categories)"
    )
    return done(model_bytes, reason, diff, rows)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text[:200] + ("..." if len(text) > 200 else "")
    return f"{type(exc).__name__}: {text}"


# -------------------------------------------------------------------------------------------------
# What the pipeline holds
# -------------------------------------------------------------------------------------------------


@dataclass
class _Parts:
    pipeline: Pipeline
    task: str
    cleaner: Any
    #: (prepare, model) of each member: one for a plain pipeline, several for a weighted ensemble;
    #: the models without their threshold or label-encoding wrappers
    members: list[tuple[Any, Any]]
    weights: list[float] | None  # None: not an ensemble
    classes: list[Any]  # the class labels of each member's model (None for a regressor)
    inputs: list[tuple[str, str]]  # cleaned column name, "double" or "string"

    @classmethod
    def of(cls, pipeline: Pipeline, task: str) -> _Parts:
        from sklearn.compose import ColumnTransformer

        from modelworks.prepare.clean import TableCleaner

        shape = "only modelworks pipelines (clean, prepare, model) are exported to ONNX"
        steps = getattr(pipeline, "steps", None)
        if not steps or not isinstance(steps[0][1], TableCleaner):
            raise NotExportable(shape)
        cleaner = steps[0][1]
        weights = None
        last = unwrap(steps[-1][1])
        calibrated = type(last).__name__ == "CalibratedClassifier"
        if len(steps) == 2 and type(last.estimator if calibrated else last).__name__ == "StackedEnsemble":
            raise NotExportable("a stacked ensemble's learned combiner has no ONNX converter yet")
        if calibrated:
            raise NotExportable("a calibrated classifier's calibration map has no ONNX converter yet")
        if len(steps) == 2 and type(unwrap(steps[1][1])).__name__ == "WeightedEnsemble":
            ensemble = unwrap(steps[1][1])
            members = []
            for _, member in ensemble.estimators_:
                if len(getattr(member, "steps", [])) != 2:
                    raise NotExportable("an ensemble member is not a (prepare, model) pipeline")
                members.append((member.steps[0][1], member.steps[1][1]))
            weights = [float(w) for w in ensemble.weights]
        elif len(steps) == 3:
            members = [(steps[1][1], steps[2][1])]
        else:
            raise NotExportable(shape)
        columns = cleaner.columns or []
        text = [c["name"] for c in columns if c["kind"] == "text"]
        if text:
            raise NotExportable(
                f"free-text column {text[0]!r} is encoded with TF-IDF, whose tokenizer ONNX does not "
                "reproduce exactly"
            )
        unwrapped, classes = [], []
        for prepare, last in members:
            if not isinstance(prepare, ColumnTransformer):
                raise NotExportable(shape)
            estimator = unwrap(last)
            classes.append(getattr(estimator, "classes_", None))
            if type(estimator).__name__ == "LabelEncodedClassifier":
                estimator = estimator.estimator_
            if type(estimator).__module__.startswith("catboost") and len(estimator.get_cat_feature_indices()):
                raise NotExportable("CatBoost with native categorical features has no ONNX converter")
            unwrapped.append((prepare, estimator))
        kinds = {c["name"]: c["kind"] for c in columns}
        inputs = [
            (str(name), "string" if kinds.get(str(name)) in ("categorical", "boolean") else "double")
            for name in cleaner.get_feature_names_out()
        ]
        return cls(pipeline, task, cleaner, unwrapped, weights, classes, inputs)

    @property
    def classification(self) -> bool:
        return self.task != "regression"


# -------------------------------------------------------------------------------------------------
# Conversion
# -------------------------------------------------------------------------------------------------


def _is_tree_model(estimator) -> bool:
    module = type(estimator).__module__
    return (
        module.startswith(("lightgbm", "xgboost", "catboost", "sklearn.tree", "sklearn.ensemble"))
        and "Voting" not in type(estimator).__name__
        and "Stacking" not in type(estimator).__name__
    )


def _tree_nodes(estimator) -> int:
    """Nodes of a tree model (an upper bound for the boosters), 0 for other models."""
    if hasattr(estimator, "_predictors"):  # HistGradientBoosting
        return sum(len(p.nodes) for it in estimator._predictors for p in it)
    if hasattr(estimator, "tree_"):
        return int(estimator.tree_.node_count)
    if hasattr(estimator, "estimators_") and type(estimator).__module__.startswith("sklearn.ensemble"):
        trees = np.ravel(estimator.estimators_)
        return sum(int(t.tree_.node_count) for t in trees if hasattr(t, "tree_"))
    if type(estimator).__module__.startswith("lightgbm"):
        booster = estimator.booster_
        return int(booster.num_trees()) * 2 * int(estimator.get_params().get("num_leaves") or 31)
    if type(estimator).__module__.startswith("xgboost"):
        depth = int(estimator.get_params().get("max_depth") or 6)
        return int(estimator.get_booster().num_boosted_rounds()) * (2 ** (depth + 1))
    if type(estimator).__module__.startswith("catboost"):
        depth = int(estimator.get_all_params().get("depth") or 6)
        return int(estimator.tree_count_) * (2 ** (depth + 1))
    return 0


def _convert(parts: _Parts) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
    from skl2onnx.sklapi import CastTransformer

    register()
    nodes = sum(_tree_nodes(estimator) for _, estimator in parts.members)
    if nodes > MAX_TREE_NODES:
        raise NotExportable(
            f"the tree model has {nodes:,} nodes, more than the {MAX_TREE_NODES:,} converted to ONNX "
            "in a few seconds"
        )

    def build(double: bool) -> tuple[Pipeline, dict]:
        """The ONNX-only copy of the pipeline after cleaning, and the converter options."""
        pipelines, options = [], {}
        for prepare, estimator in parts.members:
            model = onnx_estimator(estimator)
            steps: list[tuple[str, object]] = [("prepare", onnx_prepare(prepare))]
            if _is_tree_model(estimator) or not double:
                steps.append(("cast", CastTransformer(dtype=np.float32)))
            steps.append(("model", model))
            pipelines.append(Pipeline(steps))
            if parts.classification:
                options[id(model)] = {"zipmap": False}
        if parts.weights is None:
            return pipelines[0], options
        first = np.asarray(parts.classes[0])
        if parts.classification and any(not np.array_equal(np.asarray(c), first) for c in parts.classes):
            raise NotExportable("the ensemble's members do not share their classes")
        labels = decision_rule(parts.pipeline)[0] if parts.classification else None
        return Pipeline([("ensemble", EnsembleModel(pipelines, parts.weights, labels))]), options

    initial_types = [
        (name, StringTensorType([None, 1]) if kind == "string" else DoubleTensorType([None, 1]))
        for name, kind in parts.inputs
    ]
    try:
        model, options = build(double=True)
        onx = convert_sklearn(
            model, name="modelworks", initial_types=initial_types, target_opset=TARGET_OPSET, options=options
        )
    except NotExportable:
        raise
    except Exception:
        if all(_is_tree_model(estimator) for _, estimator in parts.members):
            raise
        # a converter without double-precision support: compute in float32
        model, options = build(double=False)
        onx = convert_sklearn(
            model, name="modelworks", initial_types=initial_types, target_opset=TARGET_OPSET, options=options
        )
    graph_inputs = [i.name for i in onx.graph.input]
    if len(graph_inputs) != len(parts.inputs):
        raise NotExportable("the ONNX graph's inputs do not match the cleaned columns")
    outputs = [o.name for o in onx.graph.output]
    if len(outputs) != (2 if parts.classification else 1):
        raise NotExportable(f"the ONNX graph has unexpected outputs {outputs}")
    meta = {
        "version": 1,
        "task": parts.task,
        "output": outputs[-1],
        "inputs": [
            [graph_name, column, kind]
            for graph_name, (column, kind) in zip(graph_inputs, parts.inputs, strict=True)
        ],
        # what the prediction path needs besides the graph: it then never loads the pipeline
        "cleaner": json_safe(parts.pipeline.steps[0][1].columns or []),
    }
    if parts.classification:
        meta["decision"] = rule_to_json(parts.pipeline)
    del onx.metadata_props[:]
    entry = onx.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta, sort_keys=True)
    onx.producer_name = "modelworks"
    onx.doc_string = ""
    # skl2onnx lists the opsets in the order it met their domains, which other imports can change
    opsets = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    return onx.SerializeToString(deterministic=True)


# -------------------------------------------------------------------------------------------------
# Parity check
# -------------------------------------------------------------------------------------------------


def check_rows(sample: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """A deterministic subset of ``sample``: rows with missing values first, then others at random."""
    if len(sample) <= max_rows:
        return sample.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    missing = np.flatnonzero(sample.isna().to_numpy().any(axis=1))
    complete = np.setdiff1d(np.arange(len(sample)), missing)
    take_missing = rng.permutation(missing)[: max_rows // 2]
    take = np.concatenate([take_missing, rng.permutation(complete)[: max_rows - len(take_missing)]])
    return sample.iloc[np.sort(take)].reset_index(drop=True)


def _synthetic(cleaned: pd.DataFrame, inputs: list[tuple[str, str]], seed: int) -> pd.DataFrame:
    """Cleaned rows with every categorical value unseen, and rows with values missing at random."""
    rng = np.random.default_rng(seed + 1)
    n = min(SYNTHETIC_ROWS, len(cleaned))
    strings = [c for c, kind in inputs if kind == "string"]
    unseen = cleaned.iloc[:n].copy()
    for c in strings:
        unseen[c] = _UNSEEN_PROBE
    holes = cleaned.iloc[rng.permutation(len(cleaned))[:n]].copy()
    for c, kind in inputs:
        gone = rng.random(n) < 0.3
        holes[c] = holes[c].astype(object).where(~gone, np.nan) if kind == "string" else holes[c].where(~gone)
    empty = cleaned.iloc[:1].copy()
    for c, kind in inputs:
        empty[c] = np.nan if kind == "double" else pd.Series([np.nan], dtype=object, index=empty.index)
    frames = [unseen, holes, empty] if strings else [holes, empty]
    out = pd.concat([cleaned, *frames], ignore_index=True)
    for c, kind in inputs:
        out[c] = out[c].astype(object) if kind == "string" else out[c].astype("float64")
    return out


def _parity(
    parts: _Parts, model_bytes: bytes, sample: pd.DataFrame, max_rows: int, atol: float, seed: int
) -> tuple[float, int, str, float]:
    """Compare ONNX with scikit-learn: the largest difference, the rows compared, what failed ("" when
    nothing did) and the tolerance applied."""
    predictor = OnnxPredictor(model_bytes)
    rows = check_rows(sample, max_rows, seed)
    cleaned = _synthetic(parts.cleaner.transform(rows), parts.inputs, seed)
    after_clean = Pipeline(parts.pipeline.steps[1:])
    feeds = predictor.feeds(cleaned)
    got = predictor.run(feeds)
    n = len(cleaned)
    if parts.classification:
        want = np.asarray(after_clean.predict_proba(cleaned), dtype=np.float64)
        diff = np.abs(got - want)
        tol = atol
        bad = int((diff.max(axis=1) > tol).sum())
    else:
        want = np.asarray(after_clean.predict(cleaned), dtype=np.float64).reshape(-1)
        diff = np.abs(got - want)
        tol = atol * max(1.0, float(np.nanmax(np.abs(want))) if len(want) else 1.0)
        bad = int((diff > tol).sum())
    holes = np.isnan(got) != np.isnan(want)  # missing in one output only
    bad += int(holes.reshape(n, -1).any(axis=1).sum())
    worst = float(np.max(diff, where=~np.isnan(diff), initial=0.0))
    if bad:
        return worst, n, f"max |diff| {worst:.1e} > {tol:.1e} on {bad:,} of {n:,} rows", tol
    if parts.classification:
        classes, threshold, pos_label = decision_rule(parts.pipeline)
        if classes is None:
            return worst, n, "the model has no classes_", tol
        labels = labels_from_proba(got, classes, threshold, pos_label)
        expected = after_clean.predict(cleaned)
        differ = int((np.asarray(labels).ravel() != np.asarray(expected).ravel()).sum())
        if differ:
            return worst, n, f"predicted labels differ on {differ:,} of {n:,} rows", tol
    return worst, n, "", tol
