"""Preprocessing that lives inside the scikit-learn Pipeline, so it is fitted inside each CV fold.

The names are imported on first use: the prediction path imports :mod:`modelworks.prepare._cleaning`
alone, without scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelworks.prepare.clean import TableCleaner
    from modelworks.prepare.columns import build_preprocessor

__all__ = ["TableCleaner", "build_preprocessor"]


def __getattr__(name: str) -> Any:
    if name == "TableCleaner":
        from modelworks.prepare.clean import TableCleaner

        return TableCleaner
    if name == "build_preprocessor":
        from modelworks.prepare.columns import build_preprocessor

        return build_preprocessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
