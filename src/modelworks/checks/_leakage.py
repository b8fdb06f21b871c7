"""Target leakage: one column (MW101), a column's missingness (MW102) or an identifier (MW103) that
predicts the target almost perfectly out of fold.

Every column is scored by the out-of-fold skill of a single-column binned predictor
(:func:`modelworks.checks._common.skill`: 0 is chance, 1 perfect). No threshold here was tuned on a
real dataset's results; each is reasoned from what a near copy of the target produces.
"""

from __future__ import annotations

import numpy as np

from modelworks.checks._common import (
    Target,
    bin_codes,
    bin_count,
    bin_numbers,
    category_codes,
    column_names,
    fold_ids,
    info_of,
    numeric_values,
    row_positions,
    sample_rows,
    skill,
    spearman,
    target_rows,
)
from modelworks.checks._finding import CheckInput, Finding
from modelworks.data.kinds import ColumnInfo

#: Skill at or above which one column "alone predicts the target almost perfectly". A binary target
#: copied with 3% of its values flipped scores (0.97 - 0.5) / 0.5 = 0.94, and 5% flipped scores 0.90: the
#: threshold catches a copy corrupted by up to about one row in twenty. A legitimately strong feature of
#: a noisy outcome rarely reaches it (balanced accuracy 0.95 from one column).
LEAK_SKILL = 0.90
#: How far the leaking column must be above every other column. A copy stands alone (its next best
#: column scores what a legitimate feature does: 0.2 to 0.6 on the synthetic traps); an easy problem
#: has several strong columns within a few hundredths of each other (the radius, perimeter and area of a
#: tumour). A quarter of the scale separates the two with room on both sides.
LEAK_MARGIN = 0.25
#: Skill of a column's missingness (1 where missing) at or above which MW102 is reported: the same bar as
#: a value's. A date filled in only for the positive class scores 1.0.
MISSING_SKILL = 0.90
#: Shares of missing values between which missingness is scored: a column missing in fewer than 1% (or
#: more than 99%) of rows cannot mark a class of more than about that share, which the skill bar then
#: rules out anyway, and scoring it would only cost time.
MISSING_LOW, MISSING_HIGH = 0.01, 0.99
#: Share of distinct values among present ones from which a column counts as unique per row (an
#: identifier, a record number): 95%, as the kind inference counts a string identifier.
UNIQUE_SHARE = 0.95
#: Spearman's ρ between a unique column and the row position from which the column follows the row
#: order (a record number counting rows): near 1, since a record number is exactly monotonic and a few
#: re-sorted rows lower ρ only slightly.
ROW_ORDER_RHO = 0.99
#: Rows below which no leakage check runs: three folds of ten rows are too few to tell skill from luck.
MIN_ROWS = 30
#: Rows scored at most (a seeded sample above): 50,000 rows estimate a skill to within about ±0.005, far
#: finer than the margins above, and keep the check to about a second on 100,000 × 50.
SAMPLE_ROWS = 50_000
#: Present values a column needs to be taken for an identifier.
MIN_ID_VALUES = 20


def leakage_findings(inp: CheckInput) -> list[Finding]:
    """MW101, MW102 and MW103 findings (at most one per column: MW102, then MW103, then MW101).

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
    """
    X, y = target_rows(inp)
    if len(y) < MIN_ROWS:
        return []
    rng = np.random.default_rng(inp.seed)
    rows = sample_rows(len(y), SAMPLE_ROWS, rng)
    if rows is not None:
        X, y = X.iloc[rows], y[rows]
    names = column_names(X)
    groups = None
    if inp.groups is not None and inp.groups in names:
        groups = category_codes(X.iloc[:, names.index(inp.groups)])
    target = Target.build(y, inp.classification, fold_ids(y, inp.classification, rng, groups))
    if inp.classification and int(target.present.sum()) < 2:
        return []
    n_bins = bin_count(len(y))
    positions = row_positions(X)

    skills: dict[str, float] = {}
    missing: dict[str, float] = {}
    unique_like: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name == inp.groups:  # the groups column is not a feature
            continue
        series = X.iloc[:, j]
        info = info_of(inp, name, series)
        absent = series.isna().to_numpy()
        share = float(absent.mean())
        if MISSING_LOW <= share <= MISSING_HIGH:
            missing[name] = skill(absent.astype(np.int64), 2, target)
        if info.kind == "categorical":
            skills[name] = skill(*bin_codes(category_codes(series), n_bins), target)
            continue
        values = numeric_values(series, info)
        if values is None:  # text, constant
            continue
        skills[name] = skill(*bin_numbers(values, n_bins), target)
        if _unique_per_row(values, info):
            unique_like[name] = values

    row_skill = skill(*bin_numbers(positions, n_bins), target) if unique_like else 0.0
    best = sorted(skills.items(), key=lambda item: -item[1])[:2]
    found = []
    for name in names:
        if name in missing and missing[name] >= MISSING_SKILL:
            found.append(_missing_finding(name, missing[name], inp))
            continue
        if name not in skills:
            continue
        value, runner_up = skills[name], _next_best(best, name)
        stands_out = len(skills) >= 2 and value >= LEAK_SKILL and value - runner_up >= LEAK_MARGIN
        if name in unique_like:
            ordered = abs(spearman(unique_like[name], positions)) >= ROW_ORDER_RHO
            if stands_out or (ordered and row_skill >= LEAK_SKILL):
                found.append(_identifier_finding(name, value, ordered and row_skill >= LEAK_SKILL, inp))
                continue
        if stands_out:
            found.append(_column_finding(name, value, runner_up, inp))
    return found


def _unique_per_row(values: np.ndarray, info: ColumnInfo) -> bool:
    """Whether a column's values (as :func:`numeric_values` gives them) are unique per row and those of
    an identifier or whole numbers."""
    if info.kind not in ("identifier", "numeric"):
        return False
    present = values[np.isfinite(values)]
    if present.size < MIN_ID_VALUES:
        return False
    if info.kind == "numeric" and not np.all(np.mod(present, 1) == 0):
        return False
    return bool(np.unique(present).size >= UNIQUE_SHARE * present.size)


def _next_best(best: list[tuple[str, float]], name: str) -> float:
    """The best skill among the columns other than ``name``, from the two best (0 when there is none)."""
    others = [v for k, v in best if k != name]
    return others[0] if others else 0.0


def _fate(name: str, inp: CheckInput) -> str:
    if name in inp.keep:
        return f"it is kept because --keep-column {name} asks for it"
    return f"it is left out — pass --keep-column {name} if it is known at prediction time"


def _column_finding(name: str, value: float, runner_up: float, inp: CheckInput) -> Finding:
    return Finding(
        "MW101",
        "error",
        (name,),
        f"column {name!r} alone predicts the target out of fold (skill {value:.2f}, next best column "
        f"{runner_up:.2f}): it is likely derived from the target or recorded after it; {_fate(name, inp)}",
        value,
    )


def _missing_finding(name: str, value: float, inp: CheckInput) -> Finding:
    return Finding(
        "MW102",
        "error",
        (name,),
        f"whether column {name!r} is missing alone predicts the target out of fold (skill {value:.2f}): "
        f"it is likely filled in only after the outcome is known; {_fate(name, inp)}",
        value,
    )


def _identifier_finding(name: str, value: float, ordered: bool, inp: CheckInput) -> Finding:
    why = (
        "it counts the rows of a file ordered by the target"
        if ordered
        else "it is likely assigned in an order that follows the target"
    )
    return Finding(
        "MW103",
        "error",
        (name,),
        f"column {name!r} is unique per row yet predicts the target out of fold (skill {value:.2f}): "
        f"{why}; {_fate(name, inp)}",
        value,
    )
