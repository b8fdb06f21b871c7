"""The time budget: a promise, not a hint.

Candidates run cheapest first. Before a candidate starts, its cross-validation time is estimated from the
models already measured (seconds per unit of cost at the current size); it starts only if its folds and
the final fits of the best model would still end within the budget. Between folds the estimate is
replaced by the measured fold time, and a model that would overrun is stopped and listed as skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from modelworks.evaluate.resampling import BCA_MAX_ROWS
from modelworks.models.registry import ModelSpec

#: Seconds per unit of cost assumed before any model has been measured.
PRIOR_UNIT = 0.05
#: Multiplier on estimates: estimates err, and overruns break the promise.
SAFETY = 1.5
#: Final fits of the chosen model: one on the training part, one on all rows, each on more rows
#: than a CV fold; expressed in CV fold fits.
FINAL_FITS = 2.8
#: Seconds kept for saving, beyond the final fits and the test-set evaluation.
RESERVE = 1.5


#: Seconds to draw and write the report and export ONNX: a fixed part, per feature (importance and
#: partial dependence predictions) and per test row; see benchmarks/report_generation.py.
REPORT_COST = (4.0, 0.25, 5e-4)


#: Share of the budget the test-set bootstrap intervals may take; beyond it they use fewer resamples.
INTERVAL_SHARE = 0.1
#: Bootstrap resamples of the test-set intervals: the most, and the fewest still worth computing.
INTERVAL_RESAMPLES = (1000, 100)
#: Resampled rows (resamples x test rows) the intervals need not exceed, whatever the budget.
INTERVAL_CELLS = 2_000_000
#: Seconds of fixed cost of the intervals (scipy's set-up, preparing each metric).
INTERVAL_FIXED = 0.05


@dataclass(frozen=True)
class IntervalPlan:
    """How many bootstrap resamples the test-set intervals get, what they cost, and why fewer.

    Attributes
    ----------
    resamples : int
        Bootstrap resamples.
    seconds : float
        Reserved seconds (with the safety margin).
    seconds_per_cell : float
        Measured seconds per resampled row for all metrics together.
    note : str or None
        Why fewer resamples than usual, said in the output; ``None`` when the full number fits.
    """

    resamples: int
    seconds: float
    seconds_per_cell: float
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "resamples": self.resamples,
            "reserved_seconds": round(self.seconds, 3),
            "measured_ns_per_resampled_row": round(self.seconds_per_cell * 1e9, 2),
            **({"note": self.note} if self.note else {}),
        }


def plan_intervals(n_test: int, seconds_per_cell: float, budget_seconds: float | None) -> IntervalPlan:
    """Resamples for the test-set intervals from the measured cost per resampled row.

    The cost is measured at run time (:func:`modelworks.evaluate.resampling.seconds_per_cell`), so a
    slower release of a dependency shortens the interval work instead of breaking the budget. BCa's
    jackknife adds one resample per test row up to its row limit.
    """
    jackknife = n_test if n_test <= BCA_MAX_ROWS else 0
    most, fewest = INTERVAL_RESAMPLES
    wanted = int(min(most, max(200, INTERVAL_CELLS // max(n_test, 1))))

    def cost(resamples: int) -> float:
        return INTERVAL_FIXED + SAFETY * seconds_per_cell * (resamples + jackknife) * n_test

    if budget_seconds is None or cost(wanted) <= INTERVAL_SHARE * budget_seconds:
        return IntervalPlan(wanted, cost(wanted), seconds_per_cell)
    room = INTERVAL_SHARE * budget_seconds - INTERVAL_FIXED
    fits = int(room / (SAFETY * seconds_per_cell * max(n_test, 1))) - jackknife
    resamples = max(fewest, min(wanted, fits))
    note = (
        f"test-set intervals use {resamples} bootstrap resamples instead of {wanted}: the time budget "
        f"leaves {max(room, 0):.2g}s for them on {n_test:,} test rows "
        f"(measured {seconds_per_cell * 1e9:.0f} ns per resampled row); a larger --time-budget gives more"
    )
    return IntervalPlan(resamples, cost(resamples), seconds_per_cell, note)


def report_seconds(n_test: int, n_features: int) -> float:
    """Estimated seconds to build the report of a run."""
    fixed, per_feature, per_row = REPORT_COST
    return fixed + per_feature * n_features + per_row * min(n_test, 2000)


def scale(spec: ModelSpec, n_rows: int) -> float:
    """Relative cost of fitting ``spec`` on ``n_rows`` rows."""
    return spec.cost * max(n_rows / 1000, 0.05) ** spec.exponent


@dataclass
class Budget:
    """Wall-clock budget of one comparison.

    Parameters
    ----------
    seconds : float or None
        The budget; ``None`` means no limit.
    start : float
        ``time.perf_counter()`` when the budget started.
    """

    seconds: float | None
    start: float = field(default_factory=time.perf_counter)
    _units: list[float] = field(default_factory=list)
    final_reserve: float = 0.0
    #: Seconds the test-set evaluation will take beyond the final fits (bootstrap intervals).
    evaluation_reserve: float = 0.0
    #: Fits of the chosen model after the final ones (the learning curve), in CV fold fits.
    analysis_fits: float = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        if self.seconds is None:
            return float("inf")
        return self.seconds - self.elapsed()

    def record(self, spec: ModelSpec, n_rows: int, fold_seconds: float) -> None:
        """Learn the machine's speed from a measured fold fit."""
        self._units.append(fold_seconds / scale(spec, n_rows))

    def unit(self) -> float:
        if not self._units:
            return PRIOR_UNIT
        ordered = sorted(self._units)
        return ordered[len(ordered) // 2]

    def estimate_fold(self, spec: ModelSpec, n_rows: int) -> float:
        """Estimated seconds of one fold (fit and predict) of ``spec``."""
        return SAFETY * self.unit() * scale(spec, n_rows)

    def can_start(self, spec: ModelSpec, n_rows: int, n_folds: int) -> bool:
        """Whether ``spec`` would finish its folds and still leave time for the final fits."""
        return self.can_continue(self.estimate_fold(spec, n_rows), n_folds)

    def can_continue(self, fold_seconds: float, folds_left: int) -> bool:
        """Whether ``folds_left`` folds of ``fold_seconds`` each, the final fits and the evaluation
        still fit in the budget."""
        if self.seconds is None:
            return True
        final = (FINAL_FITS + self.analysis_fits) * fold_seconds
        needed = fold_seconds * folds_left + max(self.final_reserve, final)
        return needed + RESERVE + self.evaluation_reserve <= self.remaining()

    def reserve_final(self, fold_seconds: float) -> None:
        """Reserve time for the final fits of the current best model, given its fold time."""
        self.final_reserve = (FINAL_FITS + self.analysis_fits) * fold_seconds
