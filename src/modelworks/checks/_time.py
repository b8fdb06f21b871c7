"""Order in time under a random split (MW301): rows recorded along a date, or a target that drifts along
it, while the test set and the folds are drawn at random, so the model is tested on the past it was
trained around rather than on the future.

No threshold here was tuned on a real dataset's results: they are conventional statistical bars and
effect sizes, reasoned below.
"""

from __future__ import annotations

import numpy as np

from modelworks.checks._common import (
    column_names,
    date_values,
    info_of,
    row_positions,
    sample_rows,
    spearman,
    target_rows,
)
from modelworks.checks._finding import CheckInput, Finding

#: Spearman's ρ between a date and the row position from which the rows are "in date order": 0.95
#: leaves room for a few rows out of place (a log appended late) while a table merely sorted by another
#: column that happens to correlate with time stays well below it.
ORDER_RHO = 0.95
#: Equal-count periods the dates are cut into for the class × period table: five keep each period large
#: (a fifth of the rows) and still show a trend.
PERIODS = 5
#: Significance of a drift: p < 0.001, strict because the check looks at every date column and at
#: large tables, where any effect is "significant"; the effect-size bar below is the real gate.
DRIFT_P = 0.001
#: Effect size from which a drift matters: Cramér's V ≥ 0.1 (classification) or |Spearman ρ| ≥ 0.1
#: between date and target (regression), Cohen's conventional "small" effect — the smallest drift that
#: moves a model's error from one period to the next visibly.
DRIFT_EFFECT = 0.1
#: Rows with a date needed to judge a column.
MIN_ROWS = 30
#: Rows looked at at most (a seeded sample above): 20,000 estimate ρ and V to within about ±0.01, and
#: keep parsing date strings fast.
SAMPLE_ROWS = 20_000


def time_findings(inp: CheckInput) -> list[Finding]:
    """MW301 findings: date columns the rows are ordered along or the target drifts along, under a
    random or stratified split.

    Regression drift is measured by Spearman's ρ between date and target (a monotone trend; a seasonal
    swing that returns to its start is not caught), classification drift by the chi-square test of the
    class × period table with Cramér's V as its effect size.

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
    """
    if inp.split_kind not in ("random", "stratified"):
        return []
    X, y = target_rows(inp)
    if len(y) < MIN_ROWS:
        return []
    positions = row_positions(X)
    rows = sample_rows(len(y), SAMPLE_ROWS, np.random.default_rng(inp.seed))
    if rows is not None:
        X, y, positions = X.iloc[rows], y[rows], positions[rows]
    found = []
    for j, name in enumerate(column_names(X)):
        if name in (inp.time_column, inp.groups):
            continue
        series = X.iloc[:, j]
        if info_of(inp, name, series).kind != "datetime":
            continue
        dates = date_values(series)
        known = np.isfinite(dates)
        if known.sum() < MIN_ROWS or np.unique(dates[known]).size < 2:
            continue
        order = spearman(dates, positions)
        effect, measure = _drift(dates[known], y[known], inp.classification)
        ordered = abs(order) >= ORDER_RHO
        drifts = effect is not None and effect >= DRIFT_EFFECT
        if ordered or drifts:
            found.append(_finding(name, order if ordered else None, effect if drifts else None, measure))
    return found


def _drift(dates: np.ndarray, y: np.ndarray, classification: bool) -> tuple[float | None, str]:
    """The drift's effect size when it is significant (else ``None``), and the measure's name."""
    from scipy.stats import chi2_contingency, rankdata, spearmanr

    if classification:
        ranks = rankdata(dates)  # ties share a period
        period = np.minimum(((ranks - 1) * PERIODS / len(dates)).astype(np.int64), PERIODS - 1)
        k = int(y.max()) + 1
        table = np.bincount(period * k + y, minlength=PERIODS * k).reshape(PERIODS, k)
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        if min(table.shape) < 2:
            return None, "Cramér's V"
        chi2, p, _, _ = chi2_contingency(table, correction=False)
        v = float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
        return (v if p < DRIFT_P else None), "Cramér's V"
    if np.ptp(y) == 0:
        return None, "Spearman ρ"
    rho, p = spearmanr(dates, y)
    if not np.isfinite(rho) or not p < DRIFT_P:
        return None, "Spearman ρ"
    return abs(float(rho)), "Spearman ρ"


def _finding(name: str, order: float | None, drift: float | None, measure: str) -> Finding:
    parts = []
    if order is not None:
        parts.append(f"the rows are in order of {name!r} (Spearman ρ {order:.2f} with the row position)")
    if drift is not None:
        parts.append(f"the target drifts along {name!r} ({measure} {drift:.2f}, p < {DRIFT_P:g})")
    evidence = abs(order) if order is not None else float(drift or 0.0)
    return Finding(
        "MW301",
        "warning",
        (name,),
        f"{' and '.join(parts)} while the test set and folds are drawn at random, so the model is tested "
        f"on rows from the same period it learnt from; pass --time-column {name} to test on the latest "
        "rows",
        evidence,
    )
