"""Capabilities a lower layer offers without knowing who provides them, wired by the package root.

A profile's ``.plot`` is drawn by :mod:`modelworks.plots`, and a ``runs:/`` bundle path is fetched by
:mod:`modelworks.track`: both sit above the layer that offers them (``data``, ``evaluate``,
``bundle``). So the lower layer asks for them by name (:func:`provided`), and ``modelworks/__init__``
(the composition root, above every layer) says which ``module:attribute`` provides each name
(:func:`provide`). The provider is imported on first use only, as every public name is.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing is not imported here: see modelworks/__init__
if TYPE_CHECKING:
    from typing import Any

_PROVIDERS: dict[str, str] = {}


def provide(name: str, target: str) -> None:
    """Say that ``target`` (``"package.module:attribute"``) provides the capability ``name``."""
    _PROVIDERS[name] = target


def provided(name: str) -> Any:
    """The object providing ``name``, imported now.

    Raises
    ------
    LookupError
        When nothing provides ``name`` (a wiring mistake in ``modelworks/__init__``, not a user's).
    """
    try:
        module, _, attribute = _PROVIDERS[name].partition(":")
    except KeyError:
        raise LookupError(f"nothing provides {name!r}; see modelworks/_wiring.py") from None
    return getattr(import_module(module), attribute)
