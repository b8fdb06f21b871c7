"""``skops.io``, imported without walking scikit-learn.

At import, skops lists scikit-learn's estimators (``sklearn.utils.all_estimators``) to make its
default list of trusted type names. That walks every scikit-learn package with
:func:`pkgutil.walk_packages`, importing each (about 1 s), among them scikit-learn's vendored
array-API shim for PyTorch, which imports torch (2–3 s more): for every run that saves a bundle and
every process that loads one.

modelworks never relies on that default list: every load names its exact trusted types
(:mod:`modelworks._bundle_trust`), and skops adds its defaults to them. So while skops imports,
``sklearn.utils.all_estimators`` answers an empty list: nothing is walked, torch is not imported, and
skops trusts by default no scikit-learn estimator at all, only those a load names (stricter, not
looser). The real function is put back at once.
"""

from __future__ import annotations

import sys
from typing import Any


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
