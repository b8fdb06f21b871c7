"""Public names of a package imported on first use (so that ``import modelworks`` stays light)."""

from __future__ import annotations

import sys
import threading
from importlib import import_module

TYPE_CHECKING = False  # not typing's: importing typing is most of the time before Ctrl-C is ours
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType
    from typing import Any


def lazy_getattr(namespace: dict[str, Any], where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from the module ``where[name]`` on first use and
    keeps it in ``namespace`` (the package's ``globals()``)."""

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(import_module(where[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")

    return __getattr__


def import_detached(name: str) -> ModuleType:
    """Import the module ``name`` on a short-lived thread of its own, and return it.

    Some libraries keep the error of an optional import they could not make (Optuna keeps the
    ``ImportError`` of redis, from its ``try_import``). That error's traceback links, frame by frame,
    back through the stack that imported the library, and a frame keeps its local variables: imported
    in the middle of a run, the run's frames (an experiment and its data) would stay in memory for the
    life of the process. On a fresh thread that stack is the thread's own few frames, which hold nothing.
    """
    if name in sys.modules:
        return sys.modules[name]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["module"] = import_module(name)
        except BaseException as exc:  # raised again in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"import {name}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["module"]
