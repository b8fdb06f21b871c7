"""What a bundle's ``model.skops`` may hold, checked before skops builds anything and after.

skops refuses any type it does not trust by default unless the caller lists it, and builds the others
by calling what the file names (a class, a function, a constructor). So the list passed to skops decides
what a file can make Python do. Ours is :data:`TRUSTED_TYPES`: exact names, each the class (or, for two
entries, the function) a pipeline built from :mod:`modelworks.models.registry` holds beyond skops'
defaults, found by saving every registry model (``tests/unit/test_bundle.py`` keeps it complete and
minimal). Nothing in it executes code, imports by name, opens files or unpickles.

A name alone is not enough: skops has several loaders, and some call the named object with arguments
taken from the file (``ConstructorFromReduceNode``: ``xgboost.core.Booster(model_file=...)`` opens a
file), bind a method (``MethodNode``) or build an :mod:`operator` callable (``OperatorFuncNode``). So each
trusted name is also tied to the loader skops uses when it saves that type, and loaders that call what
the file names are refused outright (:func:`audit_model_file`).

Three trusted types hold raw indices that scikit-learn follows without bounds checks
(``sklearn.tree._tree.Tree``, HistGradientBoosting's ``TreePredictor``, the neighbours' ``KDTree``); skops
leaves the first two untrusted for that reason. After loading, :func:`check_trees` verifies every node of
every tree (children inside the tree and after their parent, features inside the input, sample indices
a permutation of the data rows), so a crafted tree is refused instead of reading memory out of bounds at
prediction time.
"""

from __future__ import annotations

import io
import json
import re
import types
import zipfile
from collections.abc import Iterator, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np

from modelworks.bundle._skops import skops_io

_OBJECT = frozenset({"ObjectNode"})

#: scikit-learn's classes a registry pipeline holds. skops trusts every scikit-learn estimator by
#: default when it lists them at import, but modelworks imports skops without that listing
#: (:mod:`modelworks.bundle._skops`), so each class is named here. Manifests leave them out, as they did
#: when skops trusted them by default, so bundles read the same whatever imported skops first.
_SKLEARN_NAMES = (
    # The pipeline, its column transformer and preprocessing steps (modelworks.prepare.columns):
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._target_encoder.TargetEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    # the decision threshold of tuned binary classifiers
    "sklearn.model_selection._classification_threshold.FixedThresholdClassifier",
    # the calibration map of a calibrated classifier (modelworks.checks._calibration): Platt scaling is
    # the zoo's LogisticRegression on the log-odds, isotonic calibration a monotone step function
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.frozen._frozen.FrozenEstimator",
    # the zoo's scikit-learn models (modelworks.models.registry)
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.linear_model._ridge.RidgeCV",
    "sklearn.linear_model._coordinate_descent.LassoCV",
    "sklearn.linear_model._coordinate_descent.ElasticNetCV",
    "sklearn.naive_bayes.GaussianNB",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.neighbors._regression.KNeighborsRegressor",
    "sklearn.svm._classes.SVC",
    "sklearn.svm._classes.SVR",
    "sklearn.compose._target.TransformedTargetRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    # clustering and anomaly bundles (modelworks.cluster)
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.cluster._kmeans.KMeans",
    "sklearn.mixture._gaussian_mixture.GaussianMixture",
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.neighbors._lof.LocalOutlierFactor",
    "sklearn.covariance._elliptic_envelope.EllipticEnvelope",
)
SKLEARN_CLASSES = frozenset(_SKLEARN_NAMES)

#: Every type (and function) a bundle's model may hold beyond skops' own defaults (which, as modelworks
#: The neural estimators' names in bundles saved before :mod:`modelworks.neural` moved under
#: :mod:`modelworks.models` (old name → new name): that old path still provides the same classes, so
#: each old name is trusted as its new one is.
RENAMED_TYPES: Mapping[str, str] = MappingProxyType(
    {
        f"modelworks.neural.{name}": f"modelworks.models.neural.{name}"
        for name in (
            "tabular.MLPClassifier",
            "tabular.MLPRegressor",
            "images.ImageClassifier",
            "keras_images.KerasImageClassifier",
        )
    }
)

#: imports skops, hold no scikit-learn estimator), by exact name, with the skops loaders through which
#: it may be built. No prefixes: a name absent here is refused.
TRUSTED_TYPES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # first step of every pipeline (raw table in, typed columns out)
        "modelworks.prepare.clean.TableCleaner": _OBJECT,
        # XGBoost classifiers: labels encoded as 0..K-1 around XGBClassifier
        "modelworks.models.wrappers.LabelEncodedClassifier": _OBJECT,
        # a classifier's probabilities through the calibration map fitted out of fold (plain numbers
        # and the scikit-learn models above)
        "modelworks.models.wrappers.CalibratedClassifier": _OBJECT,
        "modelworks.checks._calibration.Calibrator": _OBJECT,
        # the weighted ensemble of the best models
        "modelworks.search.ensemble.WeightedEnsemble": _OBJECT,
        # the ensemble whose members a learned combiner joins (plain numbers: coef, intercept)
        "modelworks.search.stacking.StackedEnsemble": _OBJECT,
        # the tabular network: settings and plain numbers; its weights are safetensors files beside
        # the skops file (modelworks.models.neural._persist)
        "modelworks.models.neural.tabular.MLPClassifier": _OBJECT,
        "modelworks.models.neural.tabular.MLPRegressor": _OBJECT,
        # the image networks: settings and plain numbers, weights beside them likewise
        "modelworks.models.neural.images.ImageClassifier": _OBJECT,
        # the article's network in Keras: settings; the model is a .keras file loaded in safe mode
        "modelworks.models.neural.keras_images.KerasImageClassifier": _OBJECT,
        # clustering: new rows assigned by their nearest reference point (plain arrays); anomaly
        # detection: three scikit-learn detectors, their score scales and a threshold
        "modelworks.cluster._assign.NearestAssigner": _OBJECT,
        "modelworks.cluster._detect.AnomalyScorer": _OBJECT,
        # TargetEncoder's cross-fitting folds (high-cardinality columns): regression, classification
        "sklearn.model_selection._split.KFold": _OBJECT,
        "sklearn.model_selection._split.StratifiedKFold": _OBJECT,
        # decision tree, random forest, extra trees: the node storage (checked by check_trees)
        "sklearn.tree._tree.Tree": frozenset({"TreeNode"}),
        # HistGradientBoosting: one predictor per tree (checked by check_trees)
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": _OBJECT,
        # HistGradientBoosting with categorical features: its FunctionTransformer holds
        # partial(check_array, ...); check_array only validates and converts an array
        "functools.partial": frozenset({"PartialNode"}),
        "sklearn.utils.validation.check_array": frozenset({"FunctionNode"}),
        # K nearest neighbours on dense input: its KD tree (checked by check_trees) and metric
        "sklearn.neighbors._kd_tree.KDTree": _OBJECT,
        "sklearn.metrics._dist_metrics.EuclideanDistance64": _OBJECT,
        # SimpleImputer's fitted dtypes (scaled and dense families)
        "numpy.dtype": frozenset({"DTypeNode"}),
        # LightGBM: best_score_ is a defaultdict(OrderedDict); the type itself is stored
        "collections.OrderedDict": frozenset({"TypeNode"}),
        "lightgbm.sklearn.LGBMClassifier": _OBJECT,
        "lightgbm.sklearn.LGBMRegressor": _OBJECT,
        # LightGBM's booster: restored from its model text in memory (never model_file)
        "lightgbm.basic.Booster": _OBJECT,
        "xgboost.sklearn.XGBClassifier": _OBJECT,
        "xgboost.sklearn.XGBRegressor": _OBJECT,
        # XGBoost's booster: restored from its raw bytes in memory (never model_file)
        "xgboost.core.Booster": _OBJECT,
        # CatBoost: the model is restored from bytes in memory by __setstate__
        "catboost.core.CatBoostClassifier": _OBJECT,
        "catboost.core.CatBoostRegressor": _OBJECT,
        # scikit-learn's own classes (SKLEARN_CLASSES, below)
        **dict.fromkeys(_SKLEARN_NAMES, _OBJECT),
        # the neural estimators by the names older bundles give them (RENAMED_TYPES, above)
        **dict.fromkeys(RENAMED_TYPES, _OBJECT),
    }
)

#: The skops loaders a bundle may use. Left out on purpose: ``ConstructorFromReduceNode`` (calls the
#: named object with arguments from the file), ``MethodNode`` (binds a method named in the file),
#: ``OperatorFuncNode`` (builds attrgetter/itemgetter/methodcaller), ``CachedNode`` and anything unknown.
LOADERS = frozenset(
    {
        "BytearrayNode",
        "BytesNode",
        "DTypeNode",
        "DefaultDictNode",
        "DictNode",
        "FunctionNode",
        "JsonNode",
        "ListNode",
        "LossNode",
        "MaskedArrayNode",
        "NdArrayNode",
        "ObjectNode",
        "PartialNode",
        "RandomGeneratorNode",
        "RandomStateNode",
        "SetNode",
        "SliceNode",
        "SparseMatrixNode",
        "TreeNode",
        "TupleNode",
        "TypeNode",
    }
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_SHOWN = 5


class Refusal(Exception):
    """A model file that must not be loaded; the message says why, as a clause.

    The caller puts it in a sentence that names the file and the fix, e.g. ``f"model.skops in {root}
    {refusal}; refusing to load it; ..."``.
    """


def shown(name: object, limit: int = 80) -> str:
    """``name`` as it may appear in a one-line message: escaped (no newlines or control characters),
    and cut to ``limit`` characters. Names come from files that may be hostile."""
    text = ascii(str(name))[1:-1]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown_list(names: list[str] | set[str]) -> str:
    """Up to five names, escaped, comma-separated, with a count of the rest."""
    ordered = sorted(names)
    text = ", ".join(shown(n) for n in ordered[:_MAX_SHOWN])
    if len(ordered) > _MAX_SHOWN:
        text += f" and {len(ordered) - _MAX_SHOWN} more"
    return text


def _nodes(schema: object) -> Iterator[dict]:
    """Every dict of the skops state tree that skops would turn into a node (it has ``__loader__``),
    without recursion (a hostile file may nest deeply)."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise Refusal("is not a skops file (not a zip archive; modelworks never loads pickles)") from None
    total = 0
    for info in archive.infolist():
        # skops writes members uncompressed; a compressed member could expand without bound
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise Refusal(
                f"holds a compressed member ({shown(info.filename)}), which modelworks never writes"
            )
        total += info.file_size
    if total > len(data):
        raise Refusal("declares members larger than the file itself")
    return archive


def _read_schema(archive: zipfile.ZipFile) -> dict:
    try:
        raw = archive.read("schema.json")
    except KeyError:
        raise Refusal("has no schema.json, so it is not a skops file") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Refusal(f"cannot be read as a zip archive ({shown(exc, 120)})") from None
    try:
        schema = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refusal("holds a schema.json that is not valid JSON (or nests too deeply)") from None
    if not isinstance(schema, dict):
        raise Refusal("holds a schema.json that is not a JSON object")
    return schema


def _check_nodes(schema: dict) -> None:
    for node in _nodes(schema):
        loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
        if not all(isinstance(v, str) for v in (loader, module, cls)):
            raise Refusal("holds a node without a text loader, module and class (corrupted or crafted)")
        name = f"{module}.{cls}"
        if not _NAME.fullmatch(name):
            raise Refusal(f"names a type that is not a Python name ({shown(name)})")
        if loader not in LOADERS:
            raise Refusal(
                f"builds {shown(name)} with the skops loader {shown(loader)}, which modelworks never "
                "uses (it calls or binds what the file names)"
            )
        allowed = TRUSTED_TYPES.get(name)
        if allowed is not None and loader not in allowed:
            raise Refusal(
                f"builds {shown(name)} with the skops loader {shown(loader)}, not the way modelworks "
                f"saves it ({', '.join(sorted(allowed))})"
            )


def audit_model_file(data: bytes) -> list[str]:
    """Check a skops file before anything in it is built; return the types it needs beyond skops'
    defaults and :data:`SKLEARN_CLASSES` (all of them in :data:`TRUSTED_TYPES`): what a manifest
    lists.

    Parameters
    ----------
    data : bytes
        The content of ``model.skops``.

    Returns
    -------
    list of str
        The sorted names to pass to ``skops.io.loads(trusted=...)``, with :data:`SKLEARN_CLASSES`.

    Raises
    ------
    Refusal
        When the file is not an uncompressed zip with a valid ``schema.json``, uses a loader outside
        :data:`LOADERS`, builds a trusted name through another loader than its own, or needs a type
        outside :data:`TRUSTED_TYPES`.
    """
    with _open_zip(data) as archive:
        _check_nodes(_read_schema(archive))
    sio = skops_io()

    try:
        needed = sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # any failure to parse the tree: the file is not one skops wrote
        raise Refusal(f"could not be read by skops ({type(exc).__name__}: {shown(exc, 160)})") from None
    outside = [n for n in needed if n not in TRUSTED_TYPES]
    if outside:
        raise Refusal(
            f"needs {shown_list(outside)}, outside modelworks' allow-list of model types "
            "(a model file can run code through them)"
        )
    return [n for n in needed if n not in SKLEARN_CLASSES]


# -- after loading: tree structures ------------------------------------------------------------------


def _objects(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through containers and instance attributes."""
    atoms = (str, bytes, bytearray, int, float, complex, bool, type(None), type, types.ModuleType)
    callables = (types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, (*atoms, *callables)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, partial):
            stack.extend(obj.args)
            stack.extend(obj.keywords.values())
        else:
            attrs = getattr(obj, "__dict__", None)
            if isinstance(attrs, dict):
                stack.extend(attrs.values())


def _check_children(left: np.ndarray, right: np.ndarray, leaf: np.ndarray, n: int, what: str) -> None:
    """Internal nodes must point to two nodes after themselves inside the tree (so prediction stays
    inside the arrays and always reaches a leaf)."""
    index = np.arange(n)[~leaf]
    left, right = left[~leaf].astype(np.int64), right[~leaf].astype(np.int64)
    bad = (left <= index) | (left >= n) | (right <= index) | (right >= n)
    if bad.any():
        raise Refusal(f"holds a {what} whose node {int(index[bad][0])} points outside the tree")


def _check_sklearn_tree(tree: Any, n_features: int | None) -> None:
    n, capacity = int(tree.node_count), int(tree.capacity)
    if not 1 <= n <= capacity:
        raise Refusal("holds a decision tree whose node count does not match its nodes")
    left, right = np.asarray(tree.children_left), np.asarray(tree.children_right)
    leaf = (left == -1) & (right == -1)
    _check_children(left, right, leaf, n, "decision tree")
    feature = np.asarray(tree.feature)[~leaf]
    limit = int(tree.n_features) if n_features is None else min(int(tree.n_features), n_features)
    if ((feature < 0) | (feature >= limit)).any():
        raise Refusal("holds a decision tree that splits on a feature outside its input")


def _check_predictor(
    predictor: Any, n_features: int | None, categorical: np.ndarray | None, owned: bool
) -> None:
    """Check one HistGradientBoosting tree; ``owned``: seen through its estimator, which says which
    features are categorical (``categorical``) and how many there are (``n_features``)."""
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = getattr(predictor, "nodes", None)
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1:
        raise Refusal("holds a gradient-boosting tree whose nodes are not a node array")
    n = len(nodes)
    if n == 0:
        raise Refusal("holds an empty gradient-boosting tree")
    leaf = nodes["is_leaf"].astype(bool)
    _check_children(nodes["left"], nodes["right"], leaf, n, "gradient-boosting tree")
    feature = nodes["feature_idx"][~leaf]
    if (feature < 0).any() or (n_features is not None and (feature >= n_features).any()):
        raise Refusal("holds a gradient-boosting tree that splits on a feature outside its input")
    split_cat = ~leaf & nodes["is_categorical"].astype(bool)
    if not split_cat.any():
        return
    bitsets = getattr(predictor, "raw_left_cat_bitsets", None)
    if (
        not isinstance(bitsets, np.ndarray)
        or bitsets.ndim != 2
        or bitsets.shape[1] != 8
        or bitsets.dtype != np.uint32
        or (nodes["bitset_idx"][split_cat] >= bitsets.shape[0]).any()
    ):
        raise Refusal("holds a gradient-boosting tree whose category splits point outside its bitsets")
    if owned:
        cat_features = nodes["feature_idx"][split_cat]
        if (
            categorical is None
            or (cat_features >= len(categorical)).any()
            or not categorical[cat_features].all()
        ):
            raise Refusal("holds a gradient-boosting tree that splits a non-categorical feature by category")


def _check_neighbors_tree(tree: Any) -> None:
    """A KD or ball tree: its sample indices a permutation of its rows, every node's range inside
    them, every internal node's children inside the node array."""
    state = tree.__getstate__()
    data, idx, nodes, bounds = (np.asarray(a) for a in state[:4])
    n_levels, n_nodes, weights = int(state[5]), int(state[6]), state[12]
    if data.ndim != 2 or data.shape[0] < 1:
        raise Refusal("holds a neighbours tree without data rows")
    n, d = data.shape
    if idx.shape != (n,) or not np.array_equal(np.sort(idx), np.arange(n)):
        raise Refusal("holds a neighbours tree whose sample indices are not its rows")
    if (
        not 0 < n_levels < 64
        or n_nodes != 2**n_levels - 1
        or nodes.shape != (n_nodes,)
        or bounds.ndim != 3
        or bounds.shape[1:] != (n_nodes, d)
        or (weights is not None and np.shape(weights) != (n,))
    ):
        raise Refusal("holds a neighbours tree whose arrays do not match its size")
    start, end = nodes["idx_start"], nodes["idx_end"]
    internal = np.flatnonzero(nodes["is_leaf"] == 0)
    if ((start < 0) | (start > end) | (end > n)).any() or (2 * internal + 2 >= n_nodes).any():
        raise Refusal("holds a neighbours tree whose nodes point outside it")


def check_trees(model: object) -> None:
    """Verify the node structure of every tree reachable from a loaded model.

    Parameters
    ----------
    model : object
        What skops built (a fitted pipeline).

    Raises
    ------
    Refusal
        When a node points outside its tree or to an earlier node, splits on a feature outside the
        estimator's input, or a neighbours tree's indices are not a permutation of its rows.
    """
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.neighbors._ball_tree import BinaryTree32 as BallBase32
    from sklearn.neighbors._ball_tree import BinaryTree64 as BallBase64
    from sklearn.neighbors._kd_tree import BinaryTree32 as KDBase32
    from sklearn.neighbors._kd_tree import BinaryTree64 as KDBase64
    from sklearn.tree import BaseDecisionTree
    from sklearn.tree._tree import Tree

    neighbors_trees = (KDBase32, KDBase64, BallBase32, BallBase64)

    for obj in _objects(model):
        n_in = getattr(obj, "n_features_in_", None)
        n_in = int(n_in) if isinstance(n_in, (int, np.integer)) else None
        if isinstance(obj, Tree):
            _check_sklearn_tree(obj, None)
        elif isinstance(obj, neighbors_trees):
            _check_neighbors_tree(obj)
        elif isinstance(obj, TreePredictor):
            _check_predictor(obj, None, None, owned=False)
        elif isinstance(obj, BaseDecisionTree) and isinstance(getattr(obj, "tree_", None), Tree):
            _check_sklearn_tree(obj.tree_, n_in)
        elif isinstance(obj, BaseHistGradientBoosting) and hasattr(obj, "_predictors"):
            mapper = getattr(obj, "_bin_mapper", None)
            flags = getattr(mapper, "is_categorical_", None)
            categorical = None if flags is None else np.asarray(flags, dtype=bool).ravel()
            for per_iteration in obj._predictors:
                for predictor in per_iteration:
                    _check_predictor(predictor, n_in, categorical, owned=True)
