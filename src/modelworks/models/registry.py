"""Registry of model specifications.

Each :class:`ModelSpec` says how to build an estimator for a task, which preprocessing family it needs
and roughly what it costs, so the time scheduler can run cheap models first and skip the ones that
would not finish. Boosting libraries are imported only when their model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn import ensemble, linear_model, naive_bayes, neighbors, svm, tree
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import StandardScaler

from modelworks.models.wrappers import LabelEncodedClassifier
from modelworks.prepare.columns import embedded_indices, native_categorical_indices


@dataclass(frozen=True)
class BuildContext:
    """What a model factory may depend on."""

    task: str
    seed: int = 0
    n_jobs: int = 1
    columns: list[dict] = field(default_factory=list)
    #: Fewest rows the model will be fitted on (the smallest cross-validation training part), where
    #: a model's settings depend on it; ``None`` when unknown.
    n_rows: int | None = None

    @property
    def classification(self) -> bool:
        return self.task != "regression"


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the zoo.

    Parameters
    ----------
    name : str
        Identifier used on the command line (``--models``).
    label : str
        Display name.
    family : {"scaled", "dense", "tree", "neural"}
        Preprocessing family (see :mod:`modelworks.prepare.columns`).
    build : callable
        ``build(ctx: BuildContext) -> estimator``.
    cost : float
        Fold time relative to logistic regression on 1,000 rows (measured by
        ``benchmarks/calibrate_costs.py``).
    exponent : float
        Fit time grows as ``rows ** exponent``.
    simplicity : int
        Lower is simpler (used to prefer simple models among tied ones).
    max_rows : int or None
        Above this many training rows the model is skipped (kernel SVM is quadratic).
    patience : int
        Boosters and the tabular network: rounds (epochs) without improvement on the fold's
        validation part that stop the fit (:mod:`modelworks.models.boosting`); 0 for models fitted
        as built.
    group : str
        The model family this configuration belongs to (``lightgbm`` for ``lightgbm_large``); the
        name itself when empty.
    """

    name: str
    label: str
    family: str
    build: Callable[[BuildContext], object]
    cost: float = 1.0
    exponent: float = 1.0
    simplicity: int = 5
    max_rows: int | None = None
    tasks: tuple[str, ...] = ("binary", "multiclass", "regression")
    patience: int = 0
    group: str = ""

    @property
    def family_name(self) -> str:
        """The model family (see ``group``)."""
        return self.group or self.name


def _logistic(ctx: BuildContext, **kw):
    return linear_model.LogisticRegression(max_iter=2000, **kw)


def _linear(ctx):
    return _logistic(ctx) if ctx.classification else linear_model.LinearRegression()


def _ridge(ctx):
    if ctx.classification:  # strongly L2-penalised logistic regression
        return _logistic(ctx, C=0.1)
    return linear_model.RidgeCV(alphas=np.logspace(-3, 3, 13))


def _lasso(ctx):
    if ctx.classification:
        return _logistic(ctx, l1_ratio=1.0, solver="saga", C=0.5, random_state=ctx.seed)
    return linear_model.LassoCV(cv=3, max_iter=5000, random_state=ctx.seed)


def _elastic_net(ctx):
    if ctx.classification:
        return _logistic(ctx, l1_ratio=0.5, solver="saga", C=0.5, random_state=ctx.seed)
    return linear_model.ElasticNetCV(l1_ratio=0.5, cv=3, max_iter=5000, random_state=ctx.seed)


def _decision_tree(ctx):
    cls = tree.DecisionTreeClassifier if ctx.classification else tree.DecisionTreeRegressor
    return cls(min_samples_leaf=5, random_state=ctx.seed)


def _random_forest(ctx):
    cls = ensemble.RandomForestClassifier if ctx.classification else ensemble.RandomForestRegressor
    return cls(n_estimators=200, min_samples_leaf=2, n_jobs=ctx.n_jobs, random_state=ctx.seed)


def _extra_trees(ctx):
    cls = ensemble.ExtraTreesClassifier if ctx.classification else ensemble.ExtraTreesRegressor
    return cls(n_estimators=200, min_samples_leaf=2, n_jobs=ctx.n_jobs, random_state=ctx.seed)


def _hist_gradient_boosting(ctx):
    cls = (
        ensemble.HistGradientBoostingClassifier
        if ctx.classification
        else ensemble.HistGradientBoostingRegressor
    )
    cats = native_categorical_indices(ctx.columns) or None
    return cls(categorical_features=cats, random_state=ctx.seed)


def _svm(ctx):
    if ctx.classification:
        return svm.SVC(probability=True, random_state=ctx.seed)
    return TransformedTargetRegressor(svm.SVR(), transformer=StandardScaler())


def _gaussian_nb(ctx):
    return naive_bayes.GaussianNB()


def _knn(ctx):
    cls = neighbors.KNeighborsClassifier if ctx.classification else neighbors.KNeighborsRegressor
    # never more neighbours than the smallest training part holds
    k = 15 if ctx.n_rows is None else max(1, min(15, ctx.n_rows))
    return cls(n_neighbors=k, weights="distance", n_jobs=ctx.n_jobs)


#: Boosting rounds allowed when stopping early, and rounds without improvement that stop it:
#: the tuned defaults of Holzmüller et al. 2024 ("Better by default: strong pre-tuned MLPs and boosted
#: trees on tabular data", NeurIPS; pytabkit's ``LGBM_TD_*``, ``XGB_TD_*``, ``CB_TD_*``).
MAX_ROUNDS = 1000
PATIENCE = 300


def _lightgbm_params(ctx: BuildContext, **params) -> object:
    import lightgbm

    cls = lightgbm.LGBMClassifier if ctx.classification else lightgbm.LGBMRegressor
    return cls(
        n_estimators=MAX_ROUNDS,
        random_state=ctx.seed,
        n_jobs=ctx.n_jobs,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
        **params,
    )


def _lightgbm(ctx):
    # Holzmüller et al. 2024, LGBM_TD_CLASS / LGBM_TD_REG (meta-learned on 71 classification and 47
    # regression tables)
    if ctx.classification:
        return _lightgbm_params(
            ctx,
            learning_rate=0.04,
            num_leaves=50,
            subsample=0.75,
            subsample_freq=1,
            colsample_bytree=1.0,
            min_child_samples=40,
            min_child_weight=1e-7,
            max_bin=255,
        )
    return _lightgbm_params(
        ctx,
        learning_rate=0.05,
        num_leaves=100,
        subsample=0.7,
        subsample_freq=1,
        colsample_bytree=1.0,
        min_child_samples=3,
        min_child_weight=1e-7,
        max_bin=255,
    )


def _lightgbm_large(ctx):
    # AutoGluon's second LightGBM configuration ("GBMLarge" in autogluon.tabular's default
    # hyperparameters): more and smaller leaves, slower learning
    return _lightgbm_params(
        ctx, learning_rate=0.03, num_leaves=128, colsample_bytree=0.9, min_child_samples=3
    )


def _xgboost(ctx):
    import xgboost

    # Holzmüller et al. 2024, XGB_TD_CLASS / XGB_TD_REG
    common = dict(
        n_estimators=MAX_ROUNDS,
        tree_method="hist",
        max_bin=256,
        reg_lambda=0.0,
        random_state=ctx.seed,
        n_jobs=ctx.n_jobs,
        verbosity=0,
    )
    if ctx.classification:
        params = dict(
            learning_rate=0.08,
            max_depth=6,
            min_child_weight=5e-6,
            subsample=0.65,
            colsample_bytree=1.0,
            colsample_bylevel=0.9,
        )
        return LabelEncodedClassifier(xgboost.XGBClassifier(**common, **params))
    return xgboost.XGBRegressor(
        **common, learning_rate=0.05, max_depth=9, min_child_weight=2.0, subsample=0.7, colsample_bytree=1.0
    )


def _catboost(ctx):
    import catboost

    # Holzmüller et al. 2024, CB_TD_CLASS / CB_TD_REG (one_hot_max_size is left out: the columns
    # reach CatBoost already encoded)
    cls = catboost.CatBoostClassifier if ctx.classification else catboost.CatBoostRegressor
    common = dict(
        iterations=MAX_ROUNDS,
        l2_leaf_reg=1e-5,
        boosting_type="Plain",
        bootstrap_type="Bernoulli",
        subsample=0.9,
        border_count=254,
        random_seed=ctx.seed,
        thread_count=ctx.n_jobs,
        verbose=False,
        allow_writing_files=False,
    )
    if ctx.classification:
        return cls(**common, learning_rate=0.08, depth=7, random_strength=0.8, leaf_estimation_iterations=1)
    return cls(**common, learning_rate=0.09, depth=9, random_strength=0.0, leaf_estimation_iterations=20)


def _mlp(ctx):
    from modelworks.models.neural import MLPClassifier, MLPRegressor

    cls = MLPClassifier if ctx.classification else MLPRegressor
    return cls(categorical=embedded_indices(ctx.columns), n_jobs=ctx.n_jobs, random_state=ctx.seed)


#: Epochs without improvement that stop the tabular network, at most (the adaptive rule of
#: :mod:`modelworks.models.boosting` applies, from 20 epochs).
MLP_PATIENCE = 40

_SPECS = [
    ModelSpec("linear", "Logistic/Linear regression", "scaled", _linear, 1.0, 0.7, 0),
    ModelSpec("ridge", "Ridge", "scaled", _ridge, 1.0, 0.7, 1),
    ModelSpec("lasso", "Lasso", "scaled", _lasso, 3.5, 1.15, 1),
    ModelSpec("elastic_net", "Elastic net", "scaled", _elastic_net, 4.0, 1.1, 1),
    ModelSpec(
        "gaussian_nb",
        "Gaussian naive Bayes",
        "dense",
        _gaussian_nb,
        0.7,
        0.85,
        0,
        tasks=("binary", "multiclass"),
    ),
    ModelSpec("decision_tree", "Decision tree", "tree", _decision_tree, 0.7, 0.8, 2),
    ModelSpec("knn", "K nearest neighbours", "scaled", _knn, 0.7, 1.75, 2, max_rows=100_000),
    ModelSpec(
        "hist_gradient_boosting",
        "Hist gradient boosting",
        "tree",
        _hist_gradient_boosting,
        3.4,
        0.45,
        4,
    ),
    ModelSpec("lightgbm", "LightGBM", "tree", _lightgbm, 4.3, 0.5, 4, patience=PATIENCE),
    ModelSpec(
        "lightgbm_large",
        "LightGBM, large leaves",
        "tree",
        _lightgbm_large,
        6.0,
        0.5,
        4,
        patience=PATIENCE,
        group="lightgbm",
    ),
    ModelSpec("xgboost", "XGBoost", "tree", _xgboost, 2.2, 0.7, 4, patience=PATIENCE),
    ModelSpec("random_forest", "Random forest", "tree", _random_forest, 8.0, 0.65, 3),
    ModelSpec("extra_trees", "Extra trees", "tree", _extra_trees, 6.3, 0.6, 3),
    ModelSpec("svm", "Support vector machine", "scaled", _svm, 3.0, 2.0, 3, max_rows=15_000),
    ModelSpec("catboost", "CatBoost", "tree", _catboost, 6.3, 0.6, 4, patience=PATIENCE),
    ModelSpec("mlp", "Neural network (MLP)", "neural", _mlp, 100.0, 0.35, 5, patience=MLP_PATIENCE),
]
REGISTRY: dict[str, ModelSpec] = {s.name: s for s in _SPECS}


def candidates(task: str, names: list[str] | None = None) -> list[ModelSpec]:
    """The specs that apply to ``task``, restricted to ``names`` when given (unknown names raise)."""
    from modelworks.errors import ConfigError

    if names:
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ConfigError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(REGISTRY)}")
        specs = [REGISTRY[n] for n in names]
        wrong = [s.name for s in specs if task not in s.tasks]
        if wrong:
            raise ConfigError(f"model(s) {', '.join(wrong)} do not support {task}; drop them")
        return specs
    return [s for s in _SPECS if task in s.tasks]
