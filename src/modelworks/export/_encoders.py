"""ONNX converters for the preprocessing parts: numeric imputation with missing-value indicators,
one-hot encoding with infrequent levels, and target encoding (multiclass included)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from modelworks.export._base import NotExportable, is_nan
from modelworks.export.runtime import (
    MISSING,
)


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
    if not is_nan(imputer.missing_values):
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
        keys = [MISSING if is_nan(c) else str(c) for c in encoder.categories_[feature]]
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
