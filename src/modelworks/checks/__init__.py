"""Methodology checks: what a table run should not believe about the data it is given.

Each check returns :class:`Finding` objects with a stable code (``MW101``…, see :data:`CODES` and
docs/checks.md). :func:`run_checks` runs them all on a :class:`CheckInput`; the table run's split stage
calls it, leaves out the columns of the findings in :data:`DROPPING` (unless kept), prints each finding
as one line and records them in ``metrics.json`` and the report.
"""

from __future__ import annotations

from modelworks.checks._finding import CODES, DROPPING, CheckInput, Finding, Severity
from modelworks.checks._frame import check_table
from modelworks.checks._run import dropped_columns, run_checks

__all__ = [
    "CODES",
    "DROPPING",
    "CheckInput",
    "Finding",
    "Severity",
    "check_table",
    "dropped_columns",
    "run_checks",
]
