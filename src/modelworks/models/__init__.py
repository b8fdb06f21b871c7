"""The model zoo: a registry of model specifications. Each name is imported on first use, so importing
:mod:`modelworks.models.neural` (as loading a bundle does) does not import the zoo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelworks._lazy import lazy_getattr

if TYPE_CHECKING:
    from modelworks.models.registry import REGISTRY, BuildContext, ModelSpec, candidates

_WHERE = dict.fromkeys(("REGISTRY", "BuildContext", "ModelSpec", "candidates"), "modelworks.models.registry")
__all__ = ["REGISTRY", "BuildContext", "ModelSpec", "candidates"]


__getattr__ = lazy_getattr(globals(), _WHERE)
