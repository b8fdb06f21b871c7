"""The tabular network (:mod:`modelworks.models.neural`) as ONNX operators, written from its weights.

The network is a handful of standard operators (Gather for the embeddings, MatMul and Add, Selu,
Softmax), so they are emitted here directly from the fitted NumPy weights, as the other converters
of this package do, rather than exported by ``torch.onnx`` and merged into scikit-learn's graph: one
graph builder, no tracing, and no PyTorch import to save a bundle. The parity check of
:mod:`modelworks.export.onnx` compares the result with PyTorch's, as for every model.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class _NetworkClassifier(ClassifierMixin, BaseEstimator):
    """A fitted :class:`~modelworks.models.neural.MLPClassifier`, for export only."""

    def __init__(self, model=None):
        self.model = model
        self.classes_ = None if model is None else np.asarray(model.classes_)


class _NetworkRegressor(RegressorMixin, BaseEstimator):
    """A fitted :class:`~modelworks.models.neural.MLPRegressor`, for export only."""

    def __init__(self, model=None):
        self.model = model


def _network_convert(scope, operator, container) -> None:
    """Codes and numbers taken apart as the estimator does (a code that is missing, negative or
    unseen becomes 0), the numbers robustly scaled, smoothly clipped and scaled again, the embeddings
    gathered, the layers applied in float32, and the outputs (probabilities by softmax, or values
    un-standardised) cast to the precision the graph expects."""
    from onnx import TensorProto

    net = operator.raw_operator.model
    config, weights = net.config_, net.weights_
    name, node = scope.get_unique_variable_name, scope.get_unique_operator_name

    def const(values, dtype=np.float32) -> str:
        arr = np.asarray(values, dtype=dtype)
        var = name("const")
        kind = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64}[dtype]
        container.add_initializer(var, kind, list(arr.shape), arr.ravel().tolist())
        return var

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = name(kind.lower())
        container.add_node(kind, inputs, [out], name=node(kind), **attrs)
        return out

    x = op("Cast", [operator.inputs[0].full_name], to=TensorProto.FLOAT)
    cat = np.zeros(net.n_features_in_, dtype=bool)
    cat[list(net.categorical)] = True
    parts: list[str] = []
    numeric_idx = np.flatnonzero(~cat)
    if len(numeric_idx):
        num = op("Gather", [x, const(numeric_idx, np.int64)], axis=1)
        bad = op("Or", [op("IsNaN", [num]), op("IsInf", [num])])
        num = op("Where", [bad, const(0.0), num])
        num = op("Mul", [op("Sub", [num, const(net.center_)]), const(net.scale_)])
        third = op("Div", [num, const(3.0)])
        clip = op("Sqrt", [op("Add", [const(1.0), op("Mul", [third, third])])])
        parts.append(op("Mul", [op("Div", [num, clip]), const(weights["scale"])]))
    cat_idx = np.flatnonzero(cat)
    if len(cat_idx):
        raw = op("Gather", [x, const(cat_idx, np.int64)], axis=1)
        shifted = op("Add", [raw, const(1.0)])
        valid = op(
            "And",
            [
                op("GreaterOrEqual", [raw, const(0.0)]),
                op("Less", [shifted, const(np.asarray(net.cardinalities_, dtype=np.float32))]),
            ],
        )
        codes = op("Cast", [op("Where", [valid, shifted, const(0.0)])], to=TensorProto.INT64)
        for j in range(len(cat_idx)):
            column = op("Gather", [codes, const(j, np.int64)], axis=1)
            parts.append(op("Gather", [const(weights[f"embeddings.{j}.weight"]), column], axis=0))
    h = parts[0] if len(parts) == 1 else op("Concat", parts, axis=1)
    layer = 0
    for _ in config["hidden"]:
        h = _linear(op, const, h, weights, layer)
        h = _activation(op, const, h, config["activation"])
        layer += 3
    out = _linear(op, const, h, weights, layer)
    # the shape calculator gives the outputs the inputs' precision
    double = type(operator.outputs[-1].type).__name__ == "DoubleTensorType"
    precision = TensorProto.DOUBLE if double else TensorProto.FLOAT
    if isinstance(operator.raw_operator, ClassifierMixin):
        from modelworks.export._trees import _label

        proba = operator.outputs[1].full_name
        container.add_node("Cast", [op("Softmax", [out], axis=1)], [proba], to=precision, name=node("Cast"))
        _label(scope, container, proba, operator.outputs[0].full_name, net.classes_)
    else:
        values = op("Cast", [out], to=precision)
        scale = name("scale")
        container.add_initializer(scale, precision, [], [float(net.y_scale_)])
        mean = name("mean")
        container.add_initializer(mean, precision, [], [float(net.y_mean_)])
        container.add_node(
            "Add", [op("Mul", [values, scale]), mean], [operator.outputs[0].full_name], name=node("Add")
        )


def _linear(op, const, h: str, weights: dict, layer: int) -> str:
    w, b = weights[f"body.{layer}.weight"], weights[f"body.{layer}.bias"]
    return op("Add", [op("MatMul", [h, const(np.ascontiguousarray(w.T))]), const(b)])


def _activation(op, const, h: str, activation: str) -> str:
    if activation == "selu":
        return op("Selu", [h])
    if activation == "relu":
        return op("Relu", [h])
    if activation == "mish":  # opset 18 has Mish; x * tanh(softplus(x)) before
        return op("Mul", [h, op("Tanh", [op("Softplus", [h])])])
    # gelu: x * (1 + erf(x / sqrt 2)) / 2
    erf = op("Erf", [op("Div", [h, const(np.sqrt(2.0))])])
    return op("Mul", [op("Mul", [h, const(0.5)]), op("Add", [erf, const(1.0)])])
