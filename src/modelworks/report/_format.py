"""How numbers and tables are written in a report (shared by every section builder)."""

from __future__ import annotations

import math
from typing import Any


def fmt(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (thousands separated); text as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value != 0 and abs(value) >= 10**digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def _table(columns: list[str], rows: list[list[Any]], css: list[str] | None = None) -> dict:
    return {
        "columns": columns,
        "rows": [
            {"cells": [fmt(v) for v in row], "css": (css[i] if css else "")} for i, row in enumerate(rows)
        ],
    }
