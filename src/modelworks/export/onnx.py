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

import copy
import json
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.pipeline import Pipeline

from modelworks.export.runtime import (
    META_KEY,
    MISSING,
    UNSEEN,
    OnnxPredictor,
    decision_rule,
    labels_from_proba,
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


class NotExportable(Exception):
    """The pipeline cannot be exported; the message is the reason, one sentence."""


# -------------------------------------------------------------------------------------------------
# Entry point
# -------------------------------------------------------------------------------------------------


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

    _register()
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
            model = _onnx_estimator(estimator)
            steps: list[tuple[str, object]] = [("prepare", _onnx_prepare(prepare))]
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
        return Pipeline([("ensemble", _Ensemble(pipelines, parts.weights, labels))]), options

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
    }
    del onx.metadata_props[:]
    entry = onx.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta, sort_keys=True)
    onx.producer_name = "modelworks"
    onx.doc_string = ""
    return onx.SerializeToString(deterministic=True)


def _onnx_prepare(prepare):
    """A copy of the fitted ColumnTransformer in which each part converts exactly (see module doc)."""
    clone = copy.copy(prepare)
    clone.transformers_ = [(name, _onnx_part(part), cols) for name, part, cols in prepare.transformers_]
    return clone


def _onnx_part(part):
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    if isinstance(part, str):
        return part
    if isinstance(part, Pipeline):
        return Pipeline([(name, _onnx_part(step)) for name, step in part.steps])
    if isinstance(part, SimpleImputer):
        if np.asarray(part.statistics_).dtype.kind in "OUS":  # levels, not numbers
            if not _is_nan(part.missing_values):
                raise NotExportable("an imputer of non-NaN missing values is not exported to ONNX")
            if part.add_indicator:
                raise NotExportable("a categorical imputer with missing indicators is not exported to ONNX")
            imputer = copy.copy(part)
            imputer.missing_values = MISSING  # the graph spells a missing level as ""
            return imputer
        return _ImputeNumbers(part)
    if isinstance(part, OneHotEncoder | OrdinalEncoder | TargetEncoder):
        for cats in part.categories_:
            if any(isinstance(c, str) and c in (MISSING, UNSEEN) for c in cats):
                raise NotExportable(
                    "a categorical column has an empty-string level, which ONNX reads as missing"
                )
    if isinstance(part, OneHotEncoder):
        return _OneHot(part)
    if isinstance(part, OrdinalEncoder):
        if not (_is_nan(part.encoded_missing_value) and _is_nan(part.unknown_value)):
            raise NotExportable(
                "an ordinal encoder that codes missing or unknown levels is not exported to ONNX"
            )
        encoder = copy.copy(part)
        # missing and unknown levels both become NaN: without its NaN level, "" is simply unknown
        encoder.categories_ = [np.array([c for c in cats if not _is_nan(c)]) for cats in part.categories_]
        return encoder
    if isinstance(part, TargetEncoder):
        return _TargetEncode(part)
    return part


def _is_nan(value) -> bool:
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _onnx_estimator(estimator):
    from sklearn.base import is_classifier
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    classifier = is_classifier(estimator)
    if isinstance(estimator, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        return (_HGBClassifier if classifier else _HGBRegressor)(estimator)
    if type(estimator).__module__.startswith("catboost"):
        return (_CatBoostClassifier if classifier else _CatBoostRegressor)(estimator)
    forests = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)
    if isinstance(estimator, (DecisionTreeClassifier, DecisionTreeRegressor, *forests)):
        if getattr(estimator, "n_outputs_", 1) != 1:
            raise NotExportable("multi-output tree models are not exported to ONNX")
        return (_TreesClassifier if classifier else _TreesRegressor)(estimator)
    return estimator


# -------------------------------------------------------------------------------------------------
# Converters registered with skl2onnx
# -------------------------------------------------------------------------------------------------

_REGISTERED = False


def _register() -> None:
    """Register the LightGBM and XGBoost converters of onnxmltools, and modelworks' own."""
    global _REGISTERED
    if _REGISTERED:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        import lightgbm
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(
            lightgbm.LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=classifier_options,
        )
        update_registered_converter(
            lightgbm.LGBMRegressor,
            "LightGbmLGBMRegressor",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )
    except ImportError:
        pass
    try:
        import xgboost
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

        update_registered_converter(
            xgboost.XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=classifier_options,
        )
        update_registered_converter(
            xgboost.XGBRegressor,
            "XGBoostXGBRegressor",
            calculate_linear_regressor_output_shapes,
            convert_xgboost,
        )
    except ImportError:
        pass
    update_registered_converter(_ImputeNumbers, "ModelworksImputeNumbers", _impute_shape, _impute_convert)
    update_registered_converter(_OneHot, "ModelworksOneHot", _one_hot_shape, _one_hot_convert)
    update_registered_converter(_TargetEncode, "ModelworksTargetEncode", _target_shape, _target_convert)
    update_registered_converter(
        _Ensemble, "ModelworksEnsemble", _ensemble_shape, _ensemble_convert, parser=_ensemble_parser
    )
    update_registered_converter(
        _CatBoostClassifier,
        "ModelworksCatBoostClassifier",
        calculate_linear_classifier_output_shapes,
        _catboost_convert,
        options=classifier_options,
    )
    update_registered_converter(
        _CatBoostRegressor,
        "ModelworksCatBoostRegressor",
        calculate_linear_regressor_output_shapes,
        _catboost_convert,
    )
    update_registered_converter(
        _TreesClassifier,
        "ModelworksTreesClassifier",
        calculate_linear_classifier_output_shapes,
        _trees_convert,
        options=classifier_options,
    )
    update_registered_converter(
        _TreesRegressor, "ModelworksTreesRegressor", calculate_linear_regressor_output_shapes, _trees_convert
    )
    update_registered_converter(
        _HGBClassifier,
        "ModelworksHGBClassifier",
        calculate_linear_classifier_output_shapes,
        _hgb_convert,
        options=classifier_options,
    )
    update_registered_converter(
        _HGBRegressor, "ModelworksHGBRegressor", calculate_linear_regressor_output_shapes, _hgb_convert
    )
    _REGISTERED = True


class _ImputeNumbers(TransformerMixin, BaseEstimator):
    """A fitted numeric ``SimpleImputer`` (NaN → statistic, then missing indicators), for export only."""

    def __init__(self, imputer=None):
        self.imputer = imputer

    def transform(self, X):
        return self.imputer.transform(X)

    def n_outputs(self, n_inputs: int) -> int:
        indicator = getattr(self.imputer, "indicator_", None)
        return n_inputs + (len(indicator.features_) if indicator is not None else 0)


def _impute_shape(operator) -> None:
    n = operator.inputs[0].get_second_dimension()
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([rows, operator.raw_operator.n_outputs(n)])


def _impute_convert(scope, operator, container) -> None:
    from onnx import TensorProto

    imputer = operator.raw_operator.imputer
    if not _is_nan(imputer.missing_values):
        raise NotExportable("an imputer of non-NaN missing values is not exported to ONNX")
    x = operator.inputs[0]
    double = type(x.type).__name__ == "DoubleTensorType"
    dtype, proto = (np.float64, TensorProto.DOUBLE) if double else (np.float32, TensorProto.FLOAT)
    stats = np.asarray(imputer.statistics_, dtype=np.float64)
    if np.isnan(stats).any():
        if not imputer.keep_empty_features:
            raise NotExportable("an imputer that drops empty columns is not exported to ONNX")
        stats = np.nan_to_num(stats, nan=0.0)
    stats_name = scope.get_unique_variable_name("statistics")
    container.add_initializer(stats_name, proto, [len(stats)], stats.astype(dtype).tolist())
    isnan = scope.get_unique_variable_name("isnan")
    container.add_node("IsNaN", [x.full_name], [isnan], name=scope.get_unique_operator_name("IsNaN"))
    indicator = getattr(imputer, "indicator_", None)
    features = [] if indicator is None else [int(i) for i in indicator.features_]
    filled = operator.outputs[0].full_name if not features else scope.get_unique_variable_name("filled")
    container.add_node(
        "Where", [isnan, stats_name, x.full_name], [filled], name=scope.get_unique_operator_name("Where")
    )
    if not features:
        return
    index = scope.get_unique_variable_name("indicator_features")
    container.add_initializer(index, TensorProto.INT64, [len(features)], features)
    picked = scope.get_unique_variable_name("missing")
    container.add_node(
        "Gather", [isnan, index], [picked], axis=1, name=scope.get_unique_operator_name("Gather")
    )
    flags = scope.get_unique_variable_name("indicators")
    container.add_node("Cast", [picked], [flags], to=proto, name=scope.get_unique_operator_name("Cast"))
    container.add_node(
        "Concat",
        [filled, flags],
        [operator.outputs[0].full_name],
        axis=1,
        name=scope.get_unique_operator_name("Concat"),
    )


class _HGBClassifier(ClassifierMixin, BaseEstimator):
    """A fitted HistGradientBoostingClassifier, for export only."""

    def __init__(self, model=None):
        self.model = model
        self.classes_ = model.classes_ if model is not None else None

    def predict_proba(self, X):
        return self.model.predict_proba(X)


class _HGBRegressor(RegressorMixin, BaseEstimator):
    """A fitted HistGradientBoostingRegressor, for export only."""

    def __init__(self, model=None):
        self.model = model

    def predict(self, X):
        return self.model.predict(X)


def _hgb_convert(scope, operator, container) -> None:
    """HistGradientBoosting with categorical splits, as sklearn's ``_predict_one_from_raw_data`` runs it.

    The model first re-encodes its categorical features with an internal OrdinalEncoder and puts them
    before the numeric ones; then each node sends a row left or right: NaN by the node's missing
    direction, a number by ``x <= threshold``, a category by membership in the node's left set, with
    unknown (and negative) categories sent the missing direction. A categorical node becomes a chain of
    ``BRANCH_EQ`` nodes over the categories that do *not* go the missing direction; every other value
    (NaN, unknown) falls through to the missing side.
    """
    from onnx import TensorProto

    hgb = operator.raw_operator.model
    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    link = type(hgb._loss.link).__name__
    classifier = isinstance(operator.raw_operator, ClassifierMixin)
    links = (
        {"LogitLink": "logistic", "MultinomialLogit": "softmax"} if classifier else {"IdentityLink": "none"}
    )
    if link not in links:
        raise NotExportable(f"HistGradientBoosting with a {link} link is not exported to ONNX")

    x = operator.inputs[0]
    data = x.full_name
    if type(x.type).__name__ != "FloatTensorType":
        data = name("as_float")
        container.add_node("Cast", [x.full_name], [data], to=TensorProto.FLOAT, name=node("Cast"))
    # the model's own preprocessing: categorical columns first (re-encoded), then numeric ones
    is_cat = np.zeros(hgb.n_features_in_, dtype=bool)
    if hgb._preprocessor is not None:
        is_cat = np.asarray(hgb.is_categorical_, dtype=bool)
        encoder = hgb._preprocessor.named_transformers_["encoder"]
    cat_idx, num_idx = np.flatnonzero(is_cat), np.flatnonzero(~is_cat)
    columns = []
    for j, f in enumerate(cat_idx):
        col = name("category")
        index = name("index")
        container.add_initializer(index, TensorProto.INT64, [1], [int(f)])
        container.add_node("Gather", [data, index], [col], axis=1, name=node("Gather"))
        known = np.array([c for c in encoder.categories_[j] if not np.isnan(c)], dtype=np.float64)
        if not np.array_equal(known, np.arange(len(known), dtype=np.float64)):
            coded = name("recoded")
            container.add_node(
                "LabelEncoder",
                [col],
                [coded],
                keys_floats=known.astype(np.float32).tolist(),
                values_floats=np.arange(len(known), dtype=np.float32).tolist(),
                default_float=float("nan"),
                op_domain="ai.onnx.ml",
                op_version=2,
                name=node("LabelEncoder"),
            )
            col = coded
        columns.append(col)
    if len(num_idx):
        numeric = name("numeric")
        index = name("index")
        container.add_initializer(index, TensorProto.INT64, [len(num_idx)], [int(i) for i in num_idx])
        container.add_node("Gather", [data, index], [numeric], axis=1, name=node("Gather"))
        columns.append(numeric)
    features = name("features")
    container.add_node("Concat", columns, [features], axis=1, name=node("Concat"))
    n_targets = int(hgb.n_trees_per_iteration_)
    attrs = _hgb_tree_attributes(hgb)
    base = np.asarray(hgb._baseline_prediction, dtype=np.float64).ravel()
    _tree_ensemble(scope, operator, container, attrs, n_targets, base, hgb, classifier, links[link], features)


def _hgb_tree_attributes(hgb) -> dict:
    """``TreeEnsembleRegressor`` node and leaf attributes of every tree of a HistGradientBoosting model."""
    known_bitsets, f_idx_map = hgb._bin_mapper.make_known_categories_bitsets()
    a = _empty_tree_attributes()
    tree_id = 0
    for iteration in hgb._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            next_id = len(nodes)
            for i, nd in enumerate(nodes):
                if nd["is_leaf"]:
                    _add_node(a, tree_id, i, 0, "LEAF", 0.0, 0, 0, 0)
                    _add_leaf(a, tree_id, i, k, float(nd["value"]))
                    continue
                feature = int(nd["feature_idx"])
                left, right = int(nd["left"]), int(nd["right"])
                missing_left = bool(nd["missing_go_to_left"])
                if not nd["is_categorical"]:
                    # the model compares float64 values with float64 thresholds: rounding both to
                    # the nearest float32 keeps a value equal to its threshold on the same side
                    threshold = float(np.float32(nd["num_threshold"]))
                    _add_node(a, tree_id, i, feature, "BRANCH_LEQ", threshold, left, right, int(missing_left))
                    continue
                goes_left = _bitset_values(predictor.raw_left_cat_bitsets[nd["bitset_idx"]])
                known = _bitset_values(known_bitsets[f_idx_map[feature]])
                # test the categories that do not go the missing way; all else falls through to it
                tested, target, other = (
                    (sorted(known - goes_left), right, left)
                    if missing_left
                    else (sorted(goes_left), left, right)
                )
                if not tested:
                    _add_node(a, tree_id, i, feature, "BRANCH_LEQ", 0.0, other, other, 0)
                    continue
                ids = [i, *range(next_id, next_id + len(tested) - 1)]
                next_id += len(tested) - 1
                for j, (node_id, category) in enumerate(zip(ids, tested, strict=True)):
                    false_id = ids[j + 1] if j + 1 < len(ids) else other
                    _add_node(a, tree_id, node_id, feature, "BRANCH_EQ", float(category), target, false_id, 0)
            tree_id += 1
    return a


def _bitset_values(bitset: np.ndarray) -> set[int]:
    """The values 0..255 held in a scikit-learn 256-bit bitset (8 uint32 words)."""
    return {
        w * 32 + b
        for w, word in enumerate(np.asarray(bitset, dtype=np.uint64))
        for b in range(32)
        if (int(word) >> b) & 1
    }


class _OneHot(TransformerMixin, BaseEstimator):
    """A fitted ``OneHotEncoder`` (unknown and infrequent levels as scikit-learn groups them), for export."""

    def __init__(self, encoder=None):
        self.encoder = encoder

    def transform(self, X):
        return self.encoder.transform(X)

    def widths(self) -> list[int]:
        """Output columns of each input column."""
        return [len(_one_hot_codes(self.encoder, i)[0]) for i in range(len(self.encoder.categories_))]


def _one_hot_codes(encoder, i: int) -> tuple[list[int], int | None, int]:
    """Output column of each category of input column ``i``, the column unknown levels go to (None:
    all zeros) and the number of output columns, as ``OneHotEncoder.transform`` decides them."""
    if encoder.drop_idx_ is not None and encoder.drop_idx_[i] is not None:
        raise NotExportable("a one-hot encoder that drops a level is not exported to ONNX")
    n = len(encoder.categories_[i])
    mappings = getattr(encoder, "_default_to_infrequent_mappings", None)
    mapping = mappings[i] if mappings else None
    if mapping is None:
        return list(range(n)), None, n
    codes = [int(c) for c in mapping]
    width = max(codes) + 1
    infrequent = encoder._infrequent_indices[i]
    unknown = int(mapping[infrequent[0]]) if infrequent is not None else None
    return codes, unknown, width


def _one_hot_shape(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = DoubleTensorType([rows, sum(operator.raw_operator.widths())])


def _one_hot_convert(scope, operator, container) -> None:
    """Each string column: level → output column (LabelEncoder), then one-hot by comparison."""
    from onnx import TensorProto

    encoder = operator.raw_operator.encoder
    if encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise NotExportable("a one-hot encoder that errors on unknown levels is not exported to ONNX")
    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    columns = _input_columns(scope, operator, container, len(encoder.categories_))
    outputs = []
    for i, column in enumerate(columns):
        codes, unknown, width = _one_hot_codes(encoder, i)
        cats = [str(c) for c in encoder.categories_[i]]
        code = name("code")
        container.add_node(
            "LabelEncoder",
            [column],
            [code],
            keys_strings=cats,
            values_int64s=codes,
            default_int64=width if unknown is None else unknown,  # out of range: all zeros
            op_domain="ai.onnx.ml",
            op_version=2,
            name=node("LabelEncoder"),
        )
        positions = name("positions")
        container.add_initializer(positions, TensorProto.INT64, [1, width], list(range(width)))
        hit = name("hit")
        container.add_node("Equal", [code, positions], [hit], name=node("Equal"))
        out = name("one_hot")
        container.add_node("Cast", [hit], [out], to=TensorProto.DOUBLE, name=node("Cast"))
        outputs.append(out)
    container.add_node("Concat", outputs, [operator.outputs[0].full_name], axis=1, name=node("Concat"))


class _TargetEncode(TransformerMixin, BaseEstimator):
    """A fitted ``TargetEncoder`` (any target type), for export only."""

    def __init__(self, encoder=None):
        self.encoder = encoder

    def transform(self, X):
        return self.encoder.transform(X)


def _target_shape(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = DoubleTensorType([rows, len(operator.raw_operator.encoder.encodings_)])


def _target_convert(scope, operator, container) -> None:
    """Output column ``e`` encodes input column ``e // K`` for class ``e % K`` (K = 1 unless the
    target is multiclass), as ``TargetEncoder._transform_X_ordinal`` fills it; unknown levels get the
    target mean, and the missing level (learned when training had one) is spelt ``""``."""
    from onnx import TensorProto

    encoder = operator.raw_operator.encoder
    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    columns = _input_columns(scope, operator, container, len(encoder.categories_))
    means = np.atleast_1d(np.asarray(encoder.target_mean_, dtype=np.float64))
    k = len(encoder.classes_) if encoder.target_type_ == "multiclass" else 1
    outputs = []
    for e, encoding in enumerate(encoder.encodings_):
        feature = e // k
        keys = [MISSING if _is_nan(c) else str(c) for c in encoder.categories_[feature]]
        coded = name("target_encoded")
        container.add_node(
            "LabelEncoder",
            [columns[feature]],
            [coded],
            keys_strings=keys,
            values_floats=np.asarray(encoding, dtype=np.float32).tolist(),
            default_float=float(means[e % k]),
            op_domain="ai.onnx.ml",
            op_version=2,
            name=node("LabelEncoder"),
        )
        out = name("target_column")
        container.add_node("Cast", [coded], [out], to=TensorProto.DOUBLE, name=node("Cast"))
        outputs.append(out)
    container.add_node("Concat", outputs, [operator.outputs[0].full_name], axis=1, name=node("Concat"))


def _input_columns(scope, operator, container, n: int) -> list[str]:
    """Names of ``n`` single-column tensors holding the operator's input columns, in order."""
    from onnx import TensorProto

    columns = []
    for var in operator.inputs:
        width = var.get_second_dimension()
        if width == 1:
            columns.append(var.full_name)
            continue
        for j in range(width if isinstance(width, int) else n - len(columns)):
            index = scope.get_unique_variable_name("index")
            container.add_initializer(index, TensorProto.INT64, [1], [j])
            col = scope.get_unique_variable_name("column")
            container.add_node(
                "Gather", [var.full_name, index], [col], axis=1, name=scope.get_unique_operator_name("Gather")
            )
            columns.append(col)
    if len(columns) != n:
        raise NotExportable("an encoder's inputs do not match its columns")
    return columns


class _TreesClassifier(ClassifierMixin, BaseEstimator):
    """A fitted scikit-learn decision tree or forest classifier, for export only."""

    def __init__(self, model=None):
        self.model = model
        self.classes_ = model.classes_ if model is not None else None


class _TreesRegressor(RegressorMixin, BaseEstimator):
    """A fitted scikit-learn decision tree or forest regressor, for export only."""

    def __init__(self, model=None):
        self.model = model


def _floor32(values: np.ndarray) -> np.ndarray:
    """The largest float32 not above each value: ``x <= t`` and ``x <= _floor32(t)`` then agree for
    every float32 ``x``, which is what scikit-learn's trees compare (float32 data, float64
    thresholds)."""
    values = np.asarray(values, dtype=np.float64)
    rounded = values.astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def _trees_convert(scope, operator, container) -> None:
    """scikit-learn trees and forests, with their missing-value directions (skl2onnx ignores them).

    Leaves hold each tree's class proportions (or value) divided by the number of trees, so the sum
    over trees is the forest's average, as ``predict_proba`` / ``predict`` compute it.
    """
    model = operator.raw_operator.model
    classifier = isinstance(operator.raw_operator, ClassifierMixin)
    trees = [model] if hasattr(model, "tree_") else list(model.estimators_)
    n_targets = len(model.classes_) if classifier else 1
    parts: dict[str, list[np.ndarray]] = {k: [] for k in _empty_tree_attributes() if k != "nodes_modes"}
    modes: list[np.ndarray] = []
    for tree_id, est in enumerate(trees):
        t = est.tree_
        n = int(t.node_count)
        ids = np.arange(n)
        leaf = t.children_left == -1
        missing_left = getattr(t, "missing_go_to_left", None)
        tracks = np.zeros(n, dtype=np.int64) if missing_left is None else np.asarray(missing_left, np.int64)
        parts["nodes_treeids"].append(np.full(n, tree_id))
        parts["nodes_nodeids"].append(ids)
        parts["nodes_featureids"].append(np.where(leaf, 0, t.feature))
        modes.append(leaf)
        parts["nodes_values"].append(np.where(leaf, 0.0, _floor32(t.threshold)))
        parts["nodes_truenodeids"].append(np.where(leaf, 0, t.children_left))
        parts["nodes_falsenodeids"].append(np.where(leaf, 0, t.children_right))
        parts["nodes_missing_value_tracks_true"].append(np.where(leaf, 0, tracks))
        values = np.asarray(t.value[leaf][:, 0, :n_targets], dtype=np.float64)
        if classifier:
            totals = values.sum(axis=1, keepdims=True)
            values = values / np.where(totals == 0, 1.0, totals)
        leaves = ids[leaf]
        parts["target_treeids"].append(np.full(leaves.size * n_targets, tree_id))
        parts["target_nodeids"].append(np.repeat(leaves, n_targets))
        parts["target_ids"].append(np.tile(np.arange(n_targets), leaves.size))
        parts["target_weights"].append((values / len(trees)).ravel())
    attrs: dict[str, list] = {k: np.concatenate(v).tolist() for k, v in parts.items()}
    attrs["nodes_modes"] = np.where(np.concatenate(modes), "LEAF", "BRANCH_LEQ").tolist()
    _tree_ensemble(
        scope, operator, container, attrs, n_targets, np.zeros(n_targets), model, classifier, "none"
    )


def _empty_tree_attributes() -> dict[str, list]:
    keys = (
        "nodes_treeids",
        "nodes_nodeids",
        "nodes_featureids",
        "nodes_modes",
        "nodes_values",
        "nodes_truenodeids",
        "nodes_falsenodeids",
        "nodes_missing_value_tracks_true",
        "target_treeids",
        "target_nodeids",
        "target_ids",
        "target_weights",
    )
    return {k: [] for k in keys}


def _add_node(
    a: dict,
    tree: int,
    node_id: int,
    feature: int,
    mode: str,
    value: float,
    true_id: int,
    false_id: int,
    missing_true: int,
) -> None:
    a["nodes_treeids"].append(tree)
    a["nodes_nodeids"].append(node_id)
    a["nodes_featureids"].append(feature)
    a["nodes_modes"].append(mode)
    a["nodes_values"].append(value)
    a["nodes_truenodeids"].append(true_id)
    a["nodes_falsenodeids"].append(false_id)
    a["nodes_missing_value_tracks_true"].append(missing_true)


def _add_leaf(a: dict, tree: int, node_id: int, target: int, weight: float) -> None:
    a["target_treeids"].append(tree)
    a["target_nodeids"].append(node_id)
    a["target_ids"].append(target)
    a["target_weights"].append(weight)


def _tree_ensemble(
    scope, operator, container, attrs, n_targets, base, model, classifier, link, features=None
):
    """A ``TreeEnsembleRegressor`` summing leaf values, then the link to probabilities for a classifier
    (``"logistic"``: binary raw score, ``"softmax"``, or ``"none"``: the sums are the probabilities),
    and the label of the most probable class."""
    from onnx import TensorProto

    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    x = operator.inputs[0]
    if features is None:
        features = x.full_name
        if type(x.type).__name__ != "FloatTensorType":
            features = name("as_float")
            container.add_node("Cast", [x.full_name], [features], to=TensorProto.FLOAT, name=node("Cast"))
    raw = operator.outputs[0].full_name if not classifier else name("raw")
    container.add_node(
        "TreeEnsembleRegressor",
        [features],
        [raw],
        op_domain="ai.onnx.ml",
        op_version=3,
        name=node("TreeEnsembleRegressor"),
        n_targets=int(n_targets),
        aggregate_function="SUM",
        post_transform="NONE",
        base_values=np.asarray(base, dtype=np.float64).ravel().astype(np.float32).tolist(),
        **attrs,
    )
    if not classifier:
        return
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if link == "logistic":
        p1 = name("p1")
        container.add_node("Sigmoid", [raw], [p1], name=node("Sigmoid"))
        one = name("one")
        container.add_initializer(one, TensorProto.FLOAT, [], [1.0])
        p0 = name("p0")
        container.add_node("Sub", [one, p1], [p0], name=node("Sub"))
        container.add_node("Concat", [p0, p1], [proba], axis=1, name=node("Concat"))
    elif link == "softmax":
        container.add_node("Softmax", [raw], [proba], axis=1, name=node("Softmax"))
    else:
        container.add_node("Identity", [raw], [proba], name=node("Identity"))
    _label(scope, container, proba, label, model.classes_)


def _label(scope, container, proba: str, label: str, classes) -> None:
    """The label output of a classifier: the most probable class."""
    from onnx import TensorProto

    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    best = name("best")
    container.add_node("ArgMax", [proba], [best], axis=1, keepdims=0, name=node("ArgMax"))
    classes = np.asarray(classes)
    table = name("classes")
    if classes.dtype.kind in "iub":
        container.add_initializer(table, TensorProto.INT64, [len(classes)], classes.astype(np.int64).tolist())
    else:
        container.add_initializer(
            table, TensorProto.STRING, [len(classes)], [str(c).encode() for c in classes]
        )
    container.add_node("Gather", [table, best], [label], axis=0, name=node("Gather"))


class _CatBoostClassifier(ClassifierMixin, BaseEstimator):
    """A fitted CatBoost classifier on numeric features, for export only."""

    def __init__(self, model=None):
        self.model = model
        self.classes_ = np.asarray(model.classes_) if model is not None else None


class _CatBoostRegressor(RegressorMixin, BaseEstimator):
    """A fitted CatBoost regressor on numeric features, for export only."""

    def __init__(self, model=None):
        self.model = model


def _catboost_convert(scope, operator, container) -> None:
    """CatBoost's own ONNX export (one tree-ensemble node), spliced into the graph."""
    from catboost.utils import convert_to_onnx_object
    from onnx import TensorProto
    from onnx.helper import get_attribute_value

    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    exported = convert_to_onnx_object(operator.raw_operator.model)
    trees = [n for n in exported.graph.node if n.op_type.startswith("TreeEnsemble")]
    if len(trees) != 1 or len(exported.graph.initializer):
        raise NotExportable("this CatBoost model's ONNX export is not a single tree ensemble")
    tree = trees[0]
    attrs = {a.name: get_attribute_value(a) for a in tree.attribute}
    x = operator.inputs[0]
    features = x.full_name
    if type(x.type).__name__ != "FloatTensorType":
        features = name("as_float")
        container.add_node("Cast", [x.full_name], [features], to=TensorProto.FLOAT, name=node("Cast"))
    if not isinstance(operator.raw_operator, ClassifierMixin):
        container.add_node(
            tree.op_type,
            [features],
            [operator.outputs[0].full_name],
            op_domain=tree.domain,
            name=node(tree.op_type),
            **attrs,
        )
        return
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    container.add_node(
        tree.op_type,
        [features],
        [name("catboost_label"), proba],
        op_domain=tree.domain,
        name=node(tree.op_type),
        **attrs,
    )
    _label(scope, container, proba, label, operator.raw_operator.classes_)


class _Ensemble(BaseEstimator):
    """A fitted ``WeightedEnsemble``, as ONNX-only copies of its members' pipelines, for export only.

    ``classes`` are the ensemble's labels (None for regression).
    """

    def __init__(self, members=None, weights=None, classes=None):
        self.members = members
        self.weights = weights
        self.classes = classes


def _ensemble_parser(scope, model, inputs, custom_parsers=None):
    """Each member's own graph on the shared inputs, then one operator that averages them."""
    from skl2onnx._parse import _parse_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType, StringTensorType

    operator = scope.declare_local_operator("ModelworksEnsemble", model)
    for member in model.members:
        outputs = _parse_sklearn(scope, member, inputs, custom_parsers=custom_parsers)
        operator.inputs.append(outputs[-1])  # a classifier's probabilities, a regressor's values
    if model.classes is None:
        operator.outputs.append(scope.declare_local_variable("variable", DoubleTensorType()))
    else:
        kind = Int64TensorType if np.asarray(model.classes).dtype.kind in "iub" else StringTensorType
        operator.outputs.append(scope.declare_local_variable("label", kind()))
        operator.outputs.append(scope.declare_local_variable("probabilities", DoubleTensorType()))
    return operator.outputs


def _ensemble_shape(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    rows = operator.inputs[0].get_first_dimension()
    classes = operator.raw_operator.classes
    width = 1 if classes is None else len(classes)
    operator.outputs[-1].type = DoubleTensorType([rows, width])


def _ensemble_convert(scope, operator, container) -> None:
    """The weighted average of the members' probabilities (each renormalised to sum to 1, as
    ``align_proba`` does) or predictions, in double precision."""
    from onnx import TensorProto

    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name
    ensemble = operator.raw_operator
    total = None
    for var, weight in zip(operator.inputs, ensemble.weights, strict=True):
        values = name("member")
        container.add_node("Cast", [var.full_name], [values], to=TensorProto.DOUBLE, name=node("Cast"))
        if ensemble.classes is not None:
            axis = name("axis")
            container.add_initializer(axis, TensorProto.INT64, [1], [1])
            row_sum = name("row_sum")
            container.add_node("ReduceSum", [values, axis], [row_sum], keepdims=1, name=node("ReduceSum"))
            normalised = name("normalised")
            container.add_node("Div", [values, row_sum], [normalised], name=node("Div"))
            values = normalised
        else:
            shape = name("shape")
            container.add_initializer(shape, TensorProto.INT64, [2], [-1, 1])
            column = name("column")
            container.add_node("Reshape", [values, shape], [column], name=node("Reshape"))
            values = column
        factor = name("weight")
        container.add_initializer(factor, TensorProto.DOUBLE, [], [float(weight)])
        weighted = name("weighted")
        container.add_node("Mul", [values, factor], [weighted], name=node("Mul"))
        if total is None:
            total = weighted
        else:
            added = name("sum")
            container.add_node("Add", [total, weighted], [added], name=node("Add"))
            total = added
    result = operator.outputs[-1].full_name
    container.add_node("Identity", [total], [result], name=node("Identity"))
    if ensemble.classes is not None:
        _label(scope, container, result, operator.outputs[0].full_name, ensemble.classes)


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
