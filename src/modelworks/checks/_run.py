"""Run every methodology check on a table and list the columns the errors leave out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from modelworks.checks._entities import duplicate_findings, entity_findings
from modelworks.checks._finding import DROPPING, CheckInput, Finding
from modelworks.checks._leakage import leakage_findings
from modelworks.checks._shift import shift_findings
from modelworks.checks._table import class_findings, column_findings
from modelworks.checks._time import time_findings

_log = logging.getLogger(__name__)

#: The checks, in the order they run.
CHECKS: tuple[Callable[[CheckInput], list[Finding]], ...] = (
    leakage_findings,
    entity_findings,
    duplicate_findings,
    time_findings,
    shift_findings,
    class_findings,
    column_findings,
)
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
#: Tests set this to let a failing check raise instead of being logged and skipped.
_RAISE = False

#: Why a dropping code leaves a column out, in the words of ``schema.json``'s ``dropped`` list.
_REASONS = {
    "MW101": "alone predicts the target out of fold (target leakage)",
    "MW102": "its missingness alone predicts the target (target leakage)",
    "MW103": "an identifier that encodes the target",
}


def run_checks(inp: CheckInput) -> list[Finding]:
    """Run every methodology check on ``inp``.

    A check that cannot apply to the data (too few rows, one class, no test set, no column of its
    kind) returns nothing; a check that fails on unforeseen data is logged and skipped, so the run goes
    on.

    Parameters
    ----------
    inp : CheckInput
        The training part, the test set's features when split, and how the run splits.

    Returns
    -------
    list of Finding
        Sorted by severity (error, warning, info), then code, then columns; the same for the same
        input and seed.
    """
    found: list[Finding] = []
    for check in CHECKS:
        try:
            found.extend(check(inp))
        except Exception:
            if _RAISE:
                raise
            _log.warning("check %s failed and was skipped", check.__name__, exc_info=True)
    return sorted(found, key=lambda f: (_SEVERITY_ORDER[f.severity], f.code, f.columns))


def dropped_columns(findings: Iterable[Finding], keep: Iterable[str] = ()) -> list[dict]:
    """The columns the errors leave out of the model.

    Parameters
    ----------
    findings : iterable of Finding
        What :func:`run_checks` returned.
    keep : iterable of str
        Columns the user keeps (``--keep-column``): their findings stay reported, the columns stay in.

    Returns
    -------
    list of dict
        ``{"name", "reason", "code"}`` for each column of a finding whose code is in :data:`DROPPING`,
        one entry per column (the first finding wins), in the order of ``findings``.
    """
    kept = set(keep)
    out: list[dict] = []
    seen: set[str] = set()
    for finding in findings:
        if finding.code not in DROPPING:
            continue
        for col in finding.columns:
            if col in kept or col in seen:
                continue
            seen.add(col)
            reason = _REASONS.get(finding.code, finding.message)
            out.append({"name": col, "reason": f"{finding.code}: {reason}", "code": finding.code})
    return out
