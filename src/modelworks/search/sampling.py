"""How many training rows a large table is compared and fitted on, so that the budget holds.

On a table of a million rows one cross-validated model can take the whole budget, and the final fits on
all rows as much again. Before the comparison, the schedule's first two boosters (else its first model)
are timed on two small samples each; a fixed cost plus a cost per row, fitted to the two timings,
extrapolates to any size (fit time grows about linearly with the rows on large tables, which the
registry's small-table exponents do not describe). The cheaper of them at the table's size is planned
for:

- its final fits (training part, then all rows) may take at most :data:`FINAL_SHARE` of the time left;
  beyond it they use a seeded, stratified sample of the rows;
- its cross-validation may take at most :data:`FIRST_SHARE` of what remains, so that other models are
  compared too and the tuner has time; beyond it every model is compared on the same seeded,
  stratified sample of the training part (whole groups of repeated rows, rare classes kept).

The test set is never sampled. What was sampled, and why, is said in the output and in metrics.json.
FLAML's sample-size search (Wang et al. 2021, "FLAML: A Fast and Lightweight AutoML Library") makes the
same trade: a sample compared well beats a full table compared once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelworks.search.budget import RESERVE, SAFETY, Budget
from modelworks.search.fold import fit_fold
from modelworks.search.splits import Folds, cv_folds, holdout

#: Training rows below which nothing is sampled (and nothing is timed beforehand).
SAMPLE_FLOOR = 20_000
#: Training rows of the two timing fits (a quarter more rows are predicted).
CALIBRATION_ROWS = (2_000, 8_000)
#: Fewest rows a comparison sample has.
FEWEST_ROWS = 2_000
#: Share of the time left the final fits of the timed model may take.
FINAL_SHARE = 0.35
#: Share of the time left after the final fits that the timed model's cross-validation may take.
FIRST_SHARE = 0.25


@dataclass(frozen=True)
class FitCost:
    """Seconds of one fit and prediction as a fixed cost plus a cost per training row."""

    fixed: float
    per_row: float

    def seconds(self, rows: float) -> float:
        """Estimated seconds (with the budget's safety margin) on ``rows`` training rows."""
        return SAFETY * (self.fixed + self.per_row * rows)

    @classmethod
    def from_timings(cls, rows: tuple[int, int], seconds: tuple[float, float]) -> FitCost:
        """The line through two timings; never a negative cost per row or fixed cost."""
        (n1, n2), (t1, t2) = rows, seconds
        per_row = max((t2 - t1) / max(n2 - n1, 1), t2 / max(n2, 1) / 4, 0.0)
        return cls(max(t2 - per_row * n2, 0.0), per_row)


@dataclass(frozen=True)
class RowPlan:
    """Rows the comparison and the final fits use.

    Attributes
    ----------
    train_rows : int
        Rows of the training part.
    compare_rows : int
        Training rows every model is cross-validated on (``train_rows`` when not sampled).
    fit_rows : int
        Training rows of the final fits (``train_rows`` when not sampled); the refit on all rows adds
        the same share of the test rows.
    cost : FitCost or None
        The timed model's measured cost, when one was timed.
    model : str or None
        Name of the timed model (it runs right after the cheapest, see
        :func:`~modelworks.search.budget.schedule`).
    note : str or None
        What was sampled and why, said in the output; ``None`` when nothing was.
    """

    train_rows: int
    compare_rows: int
    fit_rows: int
    cost: FitCost | None = None
    note: str | None = None
    model: str | None = None

    @property
    def sampled(self) -> bool:
        return self.compare_rows < self.train_rows or self.fit_rows < self.train_rows

    def to_dict(self) -> dict:
        out: dict = {
            "train_rows": self.train_rows,
            "compare_rows": self.compare_rows,
            "fit_rows": self.fit_rows,
        }
        if self.cost is not None:
            out["timed_model_fixed_seconds"] = round(self.cost.fixed, 4)
            out["timed_model_us_per_row"] = round(self.cost.per_row * 1e6, 3)
        if self.note:
            out["note"] = self.note
        return out


def plan_rows(
    budget: Budget,
    cost: FitCost,
    train_rows: int,
    all_rows: int,
    n_folds: int,
    cv: int,
    refit: bool,
    model: str,
) -> RowPlan:
    """Rows for the comparison and the final fits such that the timed model (``model``, whose fit
    costs ``cost``) leaves time for the others; see the module's description."""
    room = budget.remaining() - budget.evaluation_reserve - budget.finish_reserve - RESERVE
    refit_share = all_rows / train_rows if refit else 0.0

    def final(rows: float) -> float:
        return cost.seconds(rows) + (cost.seconds(rows * refit_share) if refit else 0.0)

    fit_rows = _most_rows(final, FINAL_SHARE * room, train_rows)
    left = room - final(fit_rows)
    rounds = math.ceil(n_folds / budget.parallel)

    def comparison(rows: float) -> float:
        return rounds * cost.seconds(rows * (cv - 1) / cv)

    compare_rows = min(_most_rows(comparison, FIRST_SHARE * left, train_rows), fit_rows)
    note = None
    if compare_rows < train_rows or fit_rows < train_rows:
        per_row = cost.per_row * 1e6
        note = (
            f"compared on {compare_rows:,} and fitted on {fit_rows:,} of the {train_rows:,} training rows "
            f"(a seeded sample): {model} was timed at {per_row:.1f} µs per row, and all rows would not fit "
            f"the time budget with other models compared; a larger --time-budget uses more"
        )
    return RowPlan(train_rows, compare_rows, fit_rows, cost, note)


def _most_rows(seconds: Callable[[float], float], limit: float, rows: int) -> int:
    """The most rows (at most ``rows``, at least :data:`FEWEST_ROWS`) whose ``seconds`` stay within
    ``limit``; costs grow with the rows, so a bisection finds it."""
    if seconds(rows) <= limit or rows <= FEWEST_ROWS:
        return rows
    low, high = FEWEST_ROWS, rows
    while high - low > max(low // 100, 1):
        middle = (low + high) // 2
        low, high = (middle, high) if seconds(middle) <= limit else (low, middle)
    return low


def sample_rows(y: pd.Series, groups: np.ndarray | None, rows: int, seed: int, stratify: bool) -> np.ndarray:
    """Sorted indices of about ``rows`` rows of ``y``, drawn with ``seed``: the same share of each class
    (``stratify``), whole groups of repeated rows, a class of a single row (or group) always in.

    Linear in the rows (labels are hashed, not sorted): scikit-learn's stratified split took 0.8 s per
    sample on 800,000 rows of text labels.
    """
    n = len(y)
    if rows >= n:
        return np.arange(n)
    if groups is None:
        units, unit_of_row = np.arange(n), None
    else:
        _, units, unit_of_row = np.unique(groups, return_index=True, return_inverse=True)
    codes = pd.factorize(y.to_numpy()[units])[0] if stratify else np.zeros(len(units), dtype=np.int64)
    share = rows / n
    rng = np.random.default_rng(seed)
    counts = np.bincount(codes)
    chosen = []
    for code in np.flatnonzero(counts):
        members = np.flatnonzero(codes == code)
        take = len(members) if len(members) < 2 else max(1, round(share * len(members)))
        chosen.append(rng.choice(members, size=take, replace=False))
    picked = np.concatenate(chosen)
    if unit_of_row is None:
        return np.sort(picked)
    keep = np.zeros(len(units), dtype=bool)
    keep[picked] = True
    return np.flatnonzero(keep[unit_of_row.ravel()])


def time_fits(pipeline, patience: int, X, y, groups, classes, seed: int) -> FitCost:
    """The cost of fitting and predicting ``pipeline`` (one thread), timed on samples of
    :data:`CALIBRATION_ROWS` training rows after an untimed warm-up fit (imports, first calls)."""
    stratify = classes is not None
    seconds = []
    for rows in (200, *CALIBRATION_ROWS):
        part = sample_rows(y, groups, int(rows * 1.25), seed, stratify)
        train, val = holdout(y.iloc[part], None if groups is None else groups[part], 0.2, seed, stratify)
        fold = fit_fold(pipeline, X, y, part[train], part[val], patience, classes, None, False)
        seconds.append(fold.seconds)
    return FitCost.from_timings(CALIBRATION_ROWS, (seconds[1], seconds[2]))


def sampled_folds(
    y: pd.Series,
    groups: np.ndarray | None,
    rows: int,
    cv: int,
    repeats: int,
    seed: int,
    stratify: bool,
    *,
    times: np.ndarray | None = None,
    gap: int = 0,
) -> Folds:
    """Cross-validation folds over a seeded sample of ``rows`` rows (indices into ``y``); over
    ``times`` (forward-chaining) when given."""
    part = sample_rows(y, groups, rows, seed, stratify)
    folds = cv_folds(
        y.iloc[part],
        None if groups is None else groups[part],
        cv,
        repeats,
        seed,
        stratify,
        times=None if times is None else times[part],
        gap=gap,
    )
    return [(part[train], part[val]) for train, val in folds]
