"""Converters for the parts of a modelworks pipeline that skl2onnx gets wrong or cannot convert.

:func:`onnx_prepare` and :func:`onnx_estimator` swap each fitted part for a small wrapper carrying its
own shape calculator and converter (see :mod:`modelworks.export.onnx` for why each is needed);
:func:`register` registers them, and the onnxmltools converters of LightGBM and XGBoost, with skl2onnx.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from modelworks.export._base import NotExportable, is_nan
from modelworks.export._encoders import (
    _impute_convert,
    _impute_shape,
    _ImputeNumbers,
    _one_hot_convert,
    _one_hot_shape,
    _OneHot,
    _target_convert,
    _target_shape,
    _TargetEncode,
)
from modelworks.export._neural import _network_convert, _NetworkClassifier, _NetworkRegressor
from modelworks.export._trees import (
    _catboost_convert,
    _CatBoostClassifier,
    _CatBoostRegressor,
    _hgb_convert,
    _HGBClassifier,
    _HGBRegressor,
    _label,
    _trees_convert,
    _TreesClassifier,
    _TreesRegressor,
)
from modelworks.export.runtime import (
    MISSING,
    UNSEEN,
)


def onnx_prepare(prepare):
    """A copy of the fitted ColumnTransformer in which each part converts exactly (see module doc)."""
    clone = copy.copy(prepare)
    clone.transformers_ = [
        (name, _onnx_part(part), _by_name(prepare, cols)) for name, part, cols in prepare.transformers_
    ]
    return clone


def _by_name(prepare, cols):
    """Column names for columns selected by position (a wide table's, see
    :data:`modelworks.prepare.columns.POSITIONS_ABOVE`): the graph's inputs are named."""
    if isinstance(cols, np.ndarray) and cols.dtype.kind in "iu":
        return [str(n) for n in np.asarray(prepare.feature_names_in_)[cols]]
    return cols


def _onnx_part(part):
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    if isinstance(part, str):
        return part
    if isinstance(part, Pipeline):
        return Pipeline([(name, _onnx_part(step)) for name, step in part.steps])
    if isinstance(part, SimpleImputer):
        if np.asarray(part.statistics_).dtype.kind in "OUS":  # levels, not numbers
            if not is_nan(part.missing_values):
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
        # the tabular network's codes: -1 for missing and unknown, which it reads as NaN reads
        coded = part.encoded_missing_value == -1 and part.unknown_value == -1
        if not (coded or (is_nan(part.encoded_missing_value) and is_nan(part.unknown_value))):
            raise NotExportable(
                "an ordinal encoder that codes missing or unknown levels is not exported to ONNX"
            )
        encoder = copy.copy(part)
        # missing and unknown levels both become NaN: without its NaN level, "" is simply unknown
        encoder.categories_ = [np.array([c for c in cats if not is_nan(c)]) for cats in part.categories_]
        return encoder
    if isinstance(part, TargetEncoder):
        return _TargetEncode(part)
    return part


def onnx_estimator(estimator):
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

    from modelworks.models.neural.tabular import _TabularNetwork

    classifier = is_classifier(estimator)
    if isinstance(estimator, _TabularNetwork):
        return (_NetworkClassifier if classifier else _NetworkRegressor)(estimator)
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


def register() -> None:
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
        EnsembleModel, "ModelworksEnsemble", _ensemble_shape, _ensemble_convert, parser=_ensemble_parser
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
    update_registered_converter(
        _NetworkClassifier,
        "ModelworksNetworkClassifier",
        calculate_linear_classifier_output_shapes,
        _network_convert,
        options=classifier_options,
    )
    update_registered_converter(
        _NetworkRegressor,
        "ModelworksNetworkRegressor",
        calculate_linear_regressor_output_shapes,
        _network_convert,
    )
    _REGISTERED = True


class EnsembleModel(BaseEstimator):
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
