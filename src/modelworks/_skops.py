"""``skops.io``, imported without importing PyTorch.

At import, skops lists scikit-learn's estimators (``sklearn.utils.all_estimators``), which walks every
scikit-learn package with :func:`pkgutil.walk_packages`. Walking imports each package, among them
scikit-learn's vendored array-API shim for PyTorch, and that imports torch: 2–3 s for every run that
saves a bundle and every process that loads one, though no estimator lives there (scikit-learn skips
``externals`` when it collects them). While skops imports, that one package is stood in for by an
empty module without a ``__path__``, so the walk neither imports nor descends into it; the stand-in
is removed at once, and a later real import of the shim works as before.
"""

from __future__ import annotations

import sys
import types
from typing import Any

_SHIM = "sklearn.externals.array_api_compat.torch"


def skops_io() -> Any:
    """The ``skops.io`` module (imported on first use)."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    if "torch" in sys.modules or _SHIM in sys.modules:  # torch is paid for already
        import skops.io

        return skops.io
    stand_in = sys.modules[_SHIM] = types.ModuleType(_SHIM)
    try:
        import skops.io
    finally:
        if sys.modules.get(_SHIM) is stand_in:
            del sys.modules[_SHIM]
        parent = sys.modules.get(_SHIM.rpartition(".")[0])
        if getattr(parent, "torch", None) is stand_in:
            delattr(parent, "torch")
    return skops.io
