"""Fitted models predict on one thread; the estimators a fitted model is made of.

A forest or a booster fitted with ``n_jobs=2`` also predicts through a thread pool: joblib's pool
costs about a tenth of a second per call on small batches, which the report pays a hundred times
and a server once per request. Training keeps its threads; the fitted model drops them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Parameters that set a model's threads (scikit-learn, LightGBM, XGBoost; CatBoost).
THREAD_PARAMS = ("n_jobs", "thread_count")
#: Attributes that hold fitted sub-estimators scikit-learn's ``get_params`` does not reach.
FITTED_PARTS = ("steps", "transformers_", "estimators_", "estimator", "named_estimators_")


def fitted_parts(model: Any) -> Iterator[Any]:
    """``model`` and every estimator inside it, each once.

    Walks pipelines, column transformers, meta-estimators (``FixedThresholdClassifier``,
    ``FrozenEstimator``), ensembles' fitted members (a forest's trees) and
    :class:`~modelworks.search.ensemble.WeightedEnsemble` members.
    """
    seen: set[int] = set()
    stack = [model]
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen or isinstance(obj, str | int | float | bool):
            continue
        seen.add(id(obj))
        if isinstance(obj, list | tuple | np.ndarray):
            if not isinstance(obj, np.ndarray) or obj.dtype == object:
                stack.extend(reversed(list(np.ravel(obj) if isinstance(obj, np.ndarray) else obj)))
            continue
        if isinstance(obj, dict):
            stack.extend(obj.values())
            continue
        if not hasattr(obj, "get_params"):
            continue
        yield obj
        stack.extend(getattr(obj, part, None) for part in reversed(FITTED_PARTS))


def predict_on_one_thread(model: Any) -> Any:
    """Set every thread parameter of ``model`` and of its :func:`fitted_parts` to 1, in place.

    Parameters
    ----------
    model : estimator
        A fitted estimator.

    Returns
    -------
    estimator
        ``model`` itself.
    """
    for part in fitted_parts(model):
        with contextlib.suppress(Exception):
            params = part.get_params(deep=False)
            for name in THREAD_PARAMS:
                if name in params and params[name] not in (None, 1):
                    part.set_params(**{name: 1})
    return model
