"""The time budget: a promise, not a hint.

Candidates run cheapest first. Before a candidate starts, its cross-validation time is estimated from the
models already measured (seconds per unit of cost at the current size); it starts only if its folds and
the final fits of the best model would still end within the budget. Between folds the estimate is
replaced by the measured fold time, and a model that would overrun is stopped and listed as skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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
