"""The time budget: a promise, not a hint.

Candidates run cheapest first. Before a candidate starts, its cross-validation time is estimated from the
models already measured (seconds per unit of cost at the current size); it starts only if its folds and
the final fits, the report and the saving of the best model would still end within the budget. Between
folds the estimate is replaced by the measured fold time, and a model that would overrun is stopped and
listed as skipped. The report and the saving are reserved from measurements, not constants: a plain
figure drawn at set-up gives the machine's drawing speed, and the best model's fit and prediction
times (fixed cost per call, cost per row) come from its folds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from modelworks.evaluate.resampling import BCA_MAX_ROWS
from modelworks.models.registry import ModelSpec
from modelworks.search.leaderboard import ModelResult

#: Seconds per unit of cost assumed before any model has been measured.
PRIOR_UNIT = 0.05
#: Multiplier on estimates: estimates err, and overruns break the promise.
SAFETY = 1.5
#: Final fits of the chosen model: one on the training part, one on all rows, each on more rows
#: than a CV fold; expressed in CV fold fits.
FINAL_FITS = 2.8
#: Seconds kept beyond every estimate: printing, the process's exit, a fold or a figure slower than
#: measured (a run of the shared-dataset test once ended 9 s past its usual time on a busy machine).
RESERVE = 2.5


#: The report's drawing and writing, in plain figures (timed at set-up, see
#: :func:`modelworks.plots._style.seconds_per_figure`), on a table of up to REPORT_BASE_ROWS rows;
#: its data figures cost REPORT_FIGURES_PER_DOUBLING more per doubling of the rows beyond. Each
#: figure's share is in :mod:`modelworks.report._figures` (``Spec.units``), which sums to these.
REPORT_FIGURES = 32.0
REPORT_BASE_ROWS = 500
REPORT_FIGURES_PER_DOUBLING = 5.0
#: Calls the report makes to the chosen model (importance, partial dependence, test figures).
REPORT_CALLS = 12
#: Saving the bundle (skops, the ONNX export and the checks of both): plain figures, plus plain
#: figures per estimator inside the chosen model (skops describes each, a forest's trees included,
#: in JSON; ONNX converts each) and per megabyte of it pickled.
SAVE_FIGURES = 8.0
SAVE_FIGURES_PER_PART = 0.04
SAVE_FIGURES_PER_MB = 0.3
#: Most of the time budget the report's figures (and the predictions behind them) are reserved: the
#: model is what a run is for. At 25 s (about 21 s once ``run`` has read and profiled the table) that
#: leaves the report about 5 s, enough for its most useful figures (the comparison, the test curves,
#: the confusion matrix, the importance) at the 0.15-0.3 s per plain figure of a 2-core machine; from
#: 60 s on, 14 s or more, which a table of ordinary size does not need (the shared tables' whole
#: reports drew in 7-12 s). The report draws, most useful first, what fits in the time it has when it
#: starts, and lists the rest as not drawn: a reserve below its estimate costs figures, never the
#: promise. Saving the bundle is not capped: it is not optional.
REPORT_SHARE = 0.25


@dataclass(frozen=True)
class FinishCost:
    """What the finishing steps (report, saving) cost on this machine and this table.

    Attributes
    ----------
    figure_seconds : float
        Measured seconds to draw and encode one plain figure.
    n_rows : int
        Rows of the table (the data figures' work grows with them).
    report_rows : int
        Rows the report predicts in all (importance and partial dependence copies).
    report : bool
        Whether the report is drawn at all (only the bundle is saved otherwise).
    budget_seconds : float or None
        The run's time budget: the report is reserved at most :data:`REPORT_SHARE` of it.
    """

    figure_seconds: float
    n_rows: int
    report_rows: int
    report: bool = True
    budget_seconds: float | None = None

    def seconds(self, result: ModelResult | None = None) -> float:
        """Estimated seconds of the report (at most :meth:`report_cap`) and the bundle for the chosen
        model ``result`` (its predictions and size measured in cross-validation), or without the
        model's part."""
        return self.save_seconds(result) + min(self.report_seconds(result), self.report_cap())

    def report_cap(self) -> float:
        """Most seconds reserved for the report: :data:`REPORT_SHARE` of the budget (unlimited
        without one)."""
        return math.inf if self.budget_seconds is None else REPORT_SHARE * self.budget_seconds

    def report_units(self) -> float:
        """The report's drawing and writing, in plain figures (0 without a report)."""
        if not self.report:
            return 0.0
        doublings = math.log2(max(self.n_rows / REPORT_BASE_ROWS, 1.0))
        return REPORT_FIGURES + REPORT_FIGURES_PER_DOUBLING * doublings

    def report_seconds(self, result: ModelResult | None = None) -> float:
        """Estimated seconds of the whole report, uncapped: its figures and, for ``result``, the
        predictions behind them."""
        predictions = 0.0
        if self.report and result is not None:
            predictions = result.prediction_seconds(self.report_rows, REPORT_CALLS)
        return self.report_units() * self.figure_seconds + predictions

    def save_units(self, result: ModelResult | None = None) -> float:
        """Saving the bundle of ``result`` (or without the model's part), in plain figures."""
        units = SAVE_FIGURES
        if result is not None:
            units += SAVE_FIGURES_PER_PART * result.parts + SAVE_FIGURES_PER_MB * result.size_mb
        return units

    def save_seconds(self, result: ModelResult | None = None) -> float:
        """Estimated seconds of saving the bundle of ``result``."""
        return self.save_units(result) * self.figure_seconds


#: Share of the budget the test-set bootstrap intervals may take; beyond it they use fewer resamples.
INTERVAL_SHARE = 0.1
#: Bootstrap resamples of the test-set intervals: the most, and the fewest still worth computing.
INTERVAL_RESAMPLES = (1000, 100)
#: Resampled rows (resamples x test rows) the intervals need not exceed, whatever the budget.
INTERVAL_CELLS = 2_000_000
#: Seconds of fixed cost of the intervals (scipy's set-up, preparing each metric).
INTERVAL_FIXED = 0.05

#: Share of the budget the profile's detailed statistics may take (see :func:`profile_columns`).
PROFILE_SHARE = 0.05
#: Seconds of those statistics per feature column (distribution fits, target rates, associations,
#: leakage check): 11 ms on 20 rows, 17 ms on 200, measured on 10,000-column tables, 2-core machine.
PROFILE_SECONDS_PER_COLUMN = 0.02
#: Feature columns detailed whatever the budget.
PROFILE_MIN_COLUMNS = 20


def profile_columns(budget_seconds: float | None, most: int) -> int:
    """Feature columns the profile details (at most ``most``) within :data:`PROFILE_SHARE` of the
    budget: the rest of a wide table get counts and quartiles only, and a warning says so. At 10 s
    that is 25 columns, from 80 s on all ``most``."""
    if budget_seconds is None:
        return most
    affordable = int(budget_seconds * PROFILE_SHARE / PROFILE_SECONDS_PER_COLUMN)
    return min(most, max(PROFILE_MIN_COLUMNS, affordable))


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


#: The strong model run right after the cheapest one, before the other families: gradient boosting
#: wins most tabular comparisons (Grinsztajn et al. 2022; AutoGluon and FLAML both start there), so a
#: tight budget should not spend itself on weaker families first. The first of these that is a
#: candidate leads.
LEADERS = ("lightgbm", "hist_gradient_boosting", "xgboost", "catboost")


def schedule(specs: list[ModelSpec], n_rows: int, leader: str | None = None) -> list[ModelSpec]:
    """The order candidates run in: the cheapest (it also measures the machine), then the leading
    gradient-boosting model (``leader`` when given: the one a large table's sample was planned for),
    then the rest cheapest first."""
    order = sorted(specs, key=lambda s: (scale(s, n_rows), s.name))
    names = (leader,) if leader is not None else LEADERS
    lead = next((s for name in names for s in order if s.name == name), None)
    if lead is None or len(order) < 3:
        return order
    rest = [s for s in order[1:] if s is not lead]
    return [order[0], lead, *rest] if order[0] is not lead else order


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
    _prepare: dict[str, list[float]] = field(default_factory=dict)
    #: Seconds for the final fits, the report and saving of the best model so far.
    final_reserve: float = 0.0
    #: Seconds the test-set evaluation takes beyond the final fits (bootstrap intervals).
    evaluation_reserve: float = 0.0
    #: Seconds of the report and saving, for the best model so far (or, before any, without its
    #: predictions).
    finish_reserve: float = 0.0
    #: Folds fitted at a time (worker processes, see :mod:`modelworks.search.workers`).
    parallel: int = 1
    #: The final fits in fold fits: more when they use more rows than the compared sample (see
    #: :mod:`modelworks.search.sampling`).
    final_fits: float = FINAL_FITS

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        if self.seconds is None:
            return float("inf")
        return self.seconds - self.elapsed()

    def record(self, spec: ModelSpec, n_rows: int, fold_seconds: float, prepare_seconds: float = 0.0) -> None:
        """Learn the machine's speed from a measured fold of ``spec`` on ``n_rows`` training rows.

        ``prepare_seconds`` of the fold went to the preprocessing (cleaning, encoding), which costs
        the same for every model of its recipe: it is learned per recipe, and only the rest of the
        fold measures the model.
        """
        self._units.append(max(fold_seconds - prepare_seconds, 0.0) / scale(spec, n_rows))
        if prepare_seconds > 0:
            self._prepare.setdefault(spec.family, []).append(prepare_seconds / max(n_rows, 1))

    def unit(self) -> float:
        if not self._units:
            return PRIOR_UNIT
        ordered = sorted(self._units)
        return ordered[len(ordered) // 2]

    def prepare_seconds(self, family: str, n_rows: int) -> float:
        """Measured seconds of one fold's preprocessing for recipe ``family`` (the slowest recipe
        measured when this one has not been yet; 0 before any)."""
        rates = self._prepare.get(family) or [max(r) for r in self._prepare.values()]
        if not rates:
            return 0.0
        return float(np.median(rates)) * n_rows

    def estimate_fold(self, spec: ModelSpec, n_rows: int) -> float:
        """Estimated seconds of one fold (preprocessing, fit and predict) of ``spec``."""
        return SAFETY * (self.prepare_seconds(spec.family, n_rows) + self.unit() * scale(spec, n_rows))

    def deadline(self) -> float | None:
        """``time.perf_counter()`` by which a fold must end for the best model so far to still be
        refitted, evaluated, reported and saved; ``None`` without a budget."""
        if self.seconds is None:
            return None
        return self.start + self.seconds - self.final_reserve - self.evaluation_reserve - RESERVE

    def figures_deadline(self) -> float | None:
        """``time.perf_counter()`` by which the report's figures and the saving of the bundle must
        end: the budget's end, less :data:`RESERVE`; ``None`` without a budget. The report keeps
        the saving's time itself (see :class:`modelworks.report._figures.FigureClock`)."""
        if self.seconds is None:
            return None
        return self.start + self.seconds - RESERVE

    def can_start(self, spec: ModelSpec, n_rows: int, n_folds: int) -> bool:
        """Whether ``spec`` would finish its folds and still leave time for the final fits."""
        return self.can_continue(self.estimate_fold(spec, n_rows), n_folds)

    def can_continue(self, fold_seconds: float, folds_left: int) -> bool:
        """Whether ``folds_left`` folds of ``fold_seconds`` each (:attr:`parallel` at a time), then the
        final fits, the evaluation,
        the report and saving of the best model (this one or the best so far) still fit in the budget."""
        if self.seconds is None:
            return True
        final = self.final_fits * fold_seconds + self.finish_reserve
        needed = fold_seconds * math.ceil(folds_left / self.parallel) + max(self.final_reserve, final)
        return needed + RESERVE + self.evaluation_reserve <= self.remaining()

    def can_finish(self, fold_seconds: float, finish_seconds: float) -> bool:
        """Whether a model of ``fold_seconds`` per fold fit could still be refitted, evaluated,
        reported and saved (``finish_seconds``) within the budget."""
        return self.can_afford(self.final_fits * fold_seconds, finish_seconds)

    def can_afford(self, seconds: float, finish_seconds: float) -> bool:
        """Whether ``seconds`` of fitting, then the evaluation, the report and saving
        (``finish_seconds``), still fit in the budget."""
        if self.seconds is None:
            return True
        return seconds + finish_seconds + self.evaluation_reserve + RESERVE <= self.remaining()

    def finish_deadline(self, keep: float = 0.0) -> float | None:
        """``time.perf_counter()`` by which fitting must end so that ``keep`` more seconds of it, the
        evaluation, the report and saving still fit; ``None`` without a budget."""
        if self.seconds is None:
            return None
        return self.start + self.seconds - keep - self.finish_reserve - self.evaluation_reserve - RESERVE

    def reserve_final(self, fold_seconds: float, finish_seconds: float | None = None) -> None:
        """Reserve time for the final fits of the current best model, given its fold time, and for
        its report and saving (``finish_seconds``; unchanged when ``None``)."""
        if finish_seconds is not None:
            self.finish_reserve = finish_seconds
        self.final_reserve = self.final_fits * fold_seconds + self.finish_reserve
