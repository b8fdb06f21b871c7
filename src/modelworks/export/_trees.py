"""ONNX converters for tree models whose missing-value directions, categorical splits or feature
order skl2onnx does not reproduce (scikit-learn trees and forests, HistGradientBoosting), and CatBoost."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from modelworks.export._base import NotExportable


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
