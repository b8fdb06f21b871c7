"""``skops.io``, imported without walking scikit-learn.

At import, skops lists scikit-learn's estimators (``sklearn.utils.all_estimators``) to make its
default list of trusted type names. That walks every scikit-learn package with
:func:`pkgutil.walk_packages`, importing each (about 1 s), among them scikit-learn's vendored
array-API shim for PyTorch, which imports torch (2–3 s more): for every run that saves a bundle and
every process that loads one.

modelworks never relies on that default list: every load names its exact trusted types
(:mod:`modelworks.bundle._trust`), and skops adds its defaults to them. So while skops imports,
``sklearn.utils.all_estimators`` answers an empty list: nothing is walked, torch is not imported, and
skops trusts by default no scikit-learn estimator at all, only those a load names (stricter, not
looser). The real function is put back at once.

skops also writes every item of an object array or a list as a JSON node of its own, where a numeric
or fixed-width text array is one ``.npy`` file. A fitted ColumnTransformer on 10,000 columns holds
three such lists (its ``feature_names_in_``, that of its imputer, and its column indices): 30,000
nodes, seconds to write and to audit. :func:`compacted` stores them as arrays for the time of the
save, and :func:`expand` puts the loaded model back as scikit-learn fitted it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


def skops_io() -> Any:
    """The ``skops.io`` module (imported on first use)."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    listing = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = _no_estimators
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = listing
    return skops.io


def _no_estimators(*args: Any, **kwargs: Any) -> list:
    return []


@contextmanager
def compacted(model: Any) -> Iterator[Any]:
    """``model`` with its lists of column names and indices as arrays, put back on exit."""
    from modelworks.models.threads import fitted_parts

    changed: list[tuple[Any, str, Any]] = []
    try:
        for est in fitted_parts(model):
            names = vars(est).get("feature_names_in_")
            if isinstance(names, np.ndarray) and names.dtype == object and names.size:
                text = names.astype(str) if all(isinstance(n, str) for n in names) else None
                # fixed-width text drops trailing NUL characters: keep the names as they are then
                if text is not None and text.tolist() == names.tolist():
                    changed.append((est, "feature_names_in_", names))
                    est.feature_names_in_ = text
            where = vars(est).get("_transformer_to_input_indices")
            if isinstance(where, dict) and all(isinstance(v, list) for v in where.values()):
                changed.append((est, "_transformer_to_input_indices", where))
                est._transformer_to_input_indices = {
                    k: np.asarray(v, dtype=np.intp) for k, v in where.items()
                }
        yield model
    finally:
        for est, attr, value in reversed(changed):
            setattr(est, attr, value)


def expand(model: Any) -> Any:
    """Undo :func:`compacted` on a loaded model (a no-op on one saved without it); returns it."""
    from modelworks.models.threads import fitted_parts

    for est in fitted_parts(model):
        names = vars(est).get("feature_names_in_")
        if isinstance(names, np.ndarray) and names.dtype.kind == "U":
            est.feature_names_in_ = names.astype(object)
        where = vars(est).get("_transformer_to_input_indices")
        if isinstance(where, dict) and any(isinstance(v, np.ndarray) for v in where.values()):
            est._transformer_to_input_indices = {
                k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in where.items()
            }
    return model
