"""Draw the report's figures through the ``.plot`` accessors and inline them as PNG data URIs.

Under a time budget the figures are drawn most useful first (``Spec.priority``), each only when its
estimated time fits in what is left (see :class:`FigureClock`); the rest are listed as not drawn.
"""

from __future__ import annotations

import base64
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelworks.plots._style import REPORT_DPI as DPI
from modelworks.plots.accessors import NotApplicable
from modelworks.search.budget import REPORT_BASE_ROWS


@dataclass
class Figure:
    """One drawn figure (``uri``) or one that failed (``error``)."""

    id: str
    title: str
    caption: str = ""
    uri: str | None = None
    width: int = 0
    height: int = 0
    error: str | None = None
    wide: bool = False


@dataclass
class NotDrawn:
    """A figure left out because it does not apply to this data, or for the time budget, and why."""

    id: str
    title: str
    reason: str


@dataclass(frozen=True)
class Spec:
    """How to draw one figure: the accessor method, its title and what to look for, and what it
    costs and is worth under a time budget."""

    id: str
    title: str
    #: The accessor's method, or a function of no arguments that returns a Display.
    method: str | Callable
    caption: str
    wide: bool = False
    #: Its time in plain figures (see :func:`modelworks.plots._style.seconds_per_figure`) on a table
    #: of up to :data:`~modelworks.search.budget.REPORT_BASE_ROWS` rows, and more per doubling of
    #: the rows beyond; the chosen model's predictions behind it are counted apart.
    units: float = 1.0
    per_doubling: float = 0.0
    #: Order of drawing under a time budget, most useful (lowest) first.
    priority: int = 0
    #: A figure this one reuses the work of: when that one is not drawn for the time budget, neither
    #: is this one.
    needs: str | None = None
    #: Whether it can apply at all, cheaply, from the accessor (the task, the chosen model); one
    #: that cannot is not listed when the time budget leaves it out.
    applies: Callable[[Any], bool] | None = None


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


#: Why a figure is missing when the run reached its deadline before the figure.
LATE = "the run had spent its time budget before the report reached this figure"
#: Why a figure is missing when it would not end in the time the report has left.
TIME_BUDGET = "the time budget"
#: Plain figures' worth of evidence the set-up measurement of the drawing speed counts for, against
#: the figures drawn since (see :meth:`FigureClock.speed`).
PRIOR_UNITS = 2.0


@dataclass
class FigureClock:
    """When the report's figures must end, and how long each is expected to take.

    The drawing speed measured at set-up (one plain figure, often while the fold workers were still
    importing) is corrected by every figure drawn: the report draws at the speed it measures.

    Attributes
    ----------
    deadline : float or None
        ``time.perf_counter()`` by which the figures and the saving of the bundle must end; ``None``
        draws everything.
    seconds_per_unit : float
        Measured seconds of one plain figure.
    n_rows : int
        Rows of the table (the data figures' work grows with them).
    keep_units : float
        The work after the figures (saving the bundle), in plain figures.
    predictions : dict
        Estimated seconds of the chosen model's predictions behind a figure, by figure id.
    """

    deadline: float | None = None
    seconds_per_unit: float = 0.0
    n_rows: int = 0
    keep_units: float = 0.0
    predictions: dict[str, float] = field(default_factory=dict)
    #: Titles of the figures left out for the time budget, in the order they were considered.
    left_out: list[str] = field(default_factory=list)
    _units: float = 0.0
    _seconds: float = 0.0

    def speed(self) -> float:
        """Seconds per plain figure: the set-up measurement, weighted as :data:`PRIOR_UNITS` plain
        figures, pooled with the figures drawn so far."""
        return (self._seconds + PRIOR_UNITS * self.seconds_per_unit) / (self._units + PRIOR_UNITS)

    def units(self, spec: Spec) -> float:
        """Plain figures' worth of drawing ``spec`` on this table."""
        doublings = math.log2(max(self.n_rows / REPORT_BASE_ROWS, 1.0))
        return spec.units + spec.per_doubling * doublings

    def estimate(self, spec: Spec) -> float:
        """Estimated seconds of ``spec``: its drawing and the predictions behind it."""
        return self.units(spec) * self.speed() + self.predictions.get(spec.id, 0.0)

    def left(self) -> float:
        """Seconds left for figures: to the deadline, less the saving of the bundle."""
        if self.deadline is None:
            return math.inf
        return self.deadline - time.perf_counter() - self.keep_units * self.speed()

    def record(self, spec: Spec, seconds: float) -> None:
        """Learn the drawing speed from ``spec``, drawn in ``seconds``."""
        self._units += self.units(spec)
        self._seconds += max(seconds - self.predictions.get(spec.id, 0.0), 0.0)


def draw(
    specs: list[Spec], accessor: object, deadline: float | None = None
) -> tuple[list[Figure], list[NotDrawn]]:
    """Draw every figure in ``specs`` with ``accessor`` until ``deadline`` (a ``time.perf_counter()``
    value; the rest are listed as not drawn); see :func:`draw_sections`."""
    return draw_sections([(specs, accessor)], FigureClock(deadline))[0]


def draw_sections(
    sections: list[tuple[list[Spec], object]], clock: FigureClock | None = None
) -> list[tuple[list[Figure], list[NotDrawn]]]:
    """Draw the figures of several sections, each ``(specs, accessor)``, within ``clock``'s time.

    Figures are drawn most useful first across all sections (``Spec.priority``), each only when
    ``clock`` expects it to end in the time left; one that does not fit is listed as not drawn for
    the time budget and a cheaper, less useful one may still be drawn. A figure that does not apply
    (:class:`NotApplicable`) is listed, with its reason, unless the reason is the task (a ROC curve
    for a regression); a figure that fails is shown as an error in the report rather than ending the
    run. Each figure is closed once encoded.

    Returns
    -------
    list of (figures, not_drawn)
        Per section, in the order of its ``specs``.
    """
    clock = clock if clock is not None else FigureClock()
    drawn: list[list[tuple[int, Figure]]] = [[] for _ in sections]
    missing: list[list[tuple[int, NotDrawn]]] = [[] for _ in sections]
    order = sorted(
        ((spec, s, i) for s, (specs, _) in enumerate(sections) for i, spec in enumerate(specs)),
        key=lambda item: (item[0].priority, item[1], item[2]),
    )
    titles = {spec.id: spec.title for spec, _, _ in order}
    timed_out: set[str] = set()
    for spec, s, i in order:
        accessor = sections[s][1]
        left, needed = clock.left(), clock.estimate(spec)
        blocked = spec.needs is not None and spec.needs in timed_out
        if blocked or left <= 0 or needed > left:
            timed_out.add(spec.id)
            if spec.applies is None or spec.applies(accessor):
                if left <= 0:
                    reason = LATE
                elif blocked:
                    reason = f"{TIME_BUDGET}: it reuses the {titles[str(spec.needs)]}, not drawn"
                else:
                    reason = f"{TIME_BUDGET}: about {needed:.1f}s needed, {left:.1f}s left"
                missing[s].append((i, NotDrawn(spec.id, spec.title, reason)))
                clock.left_out.append(spec.title)
            continue
        start = time.perf_counter()
        outcome = _draw_one(spec, accessor)
        if isinstance(outcome, NotDrawn):
            missing[s].append((i, outcome))
        elif outcome is not None:
            drawn[s].append((i, outcome))
            if outcome.uri is not None:
                clock.record(spec, time.perf_counter() - start)
    return [
        ([f for _, f in sorted(figures, key=_first)], [n for _, n in sorted(items, key=_first)])
        for figures, items in zip(drawn, missing, strict=True)
    ]


def _first(item: tuple[int, object]) -> int:
    return item[0]


def _draw_one(spec: Spec, accessor: object) -> Figure | NotDrawn | None:
    """Draw ``spec``: the figure, why it does not apply, or ``None`` when it quietly does not."""
    from modelworks.plots import to_png

    method: Callable = spec.method if callable(spec.method) else getattr(accessor, spec.method)
    try:
        display = method()
    except NotApplicable as exc:
        return None if exc.quiet else NotDrawn(spec.id, spec.title, str(exc))
    except Exception as exc:  # one broken figure must not cost the user the whole report
        return Figure(spec.id, spec.title, error=f"{type(exc).__name__}: {exc}")
    png = to_png(display.figure_, dpi=DPI)
    width, height = png_size(png)
    caption = spec.caption
    reading = getattr(display, "reading", None)
    if reading:
        caption = f"{reading} {caption}"
    return Figure(
        spec.id,
        spec.title,
        caption,
        "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        width,
        height,
        wide=spec.wide,
    )


def _classification(plot: Any) -> bool:
    return plot.task != "regression"


def _regression(plot: Any) -> bool:
    return plot.task == "regression"


def _neural(plot: Any) -> bool:
    return bool(plot.experiment.training_histories())


# Units are each figure's share of REPORT_FIGURES (and of REPORT_FIGURES_PER_DOUBLING for the data
# figures), timed against a plain figure on five shared tables (160 to 36,631 rows); a classification
# report's figures sum to those totals (tests/unit/test_finish_budget.py). Priorities: the comparison
# and the chosen model on test first (what a run is for), the data figures last (the Data section's
# tables say much of it, and they cost the most).
DATA_FIGURES = [
    Spec(
        "target",
        "Target distribution",
        "target_distribution",
        "How the values to predict are spread.",
        units=1.0,
        priority=5,
    ),
    Spec(
        "histograms",
        "Numeric features by class",
        "histograms",
        "Features whose distributions differ between classes carry signal.",
        wide=True,
        units=5.5,
        priority=14,
    ),
    Spec(
        "boxplots",
        "Box plots by class",
        "boxplots",
        "Medians, spread and outliers per class.",
        wide=True,
        units=4.5,
        priority=16,
    ),
    Spec(
        "scatter",
        "Two most informative features",
        "scatter",
        "Chosen by mutual information with the target: are the classes separable?",
        units=2.5,
        per_doubling=1.0,
        priority=12,
    ),
    Spec(
        "pca",
        "PCA projection",
        "pca",
        "All features projected on their two main directions.",
        units=1.5,
        per_doubling=1.0,
        priority=17,
    ),
    Spec(
        "associations",
        "Associations between features",
        "associations",
        "Spearman correlation, Cramér's V and the correlation ratio; strong pairs are redundant.",
        units=2.5,
        per_doubling=2.0,
        priority=13,
    ),
    Spec(
        "missing",
        "Missing values",
        "missing",
        "Where values are missing, by row and column.",
        units=1.5,
        per_doubling=0.5,
        priority=18,
    ),
    Spec(
        "target_rate",
        "Target by category",
        "target_rate",
        "The target per level of the most associated categorical feature; the line is the overall value.",
        units=1.0,
        per_doubling=0.5,
        priority=15,
    ),
]

MODEL_FIGURES = [
    Spec(
        "comparison",
        "Model comparison",
        "comparison",
        "Mean cross-validation score with its spread over folds; hatched bars are tied with the best.",
        units=1.0,
        priority=1,
    ),
    Spec(
        "learning_curve",
        "Learning curve of the chosen model",
        "learning_curve",
        "Training and validation scores against training rows, with their spread over folds.",
        units=1.0,
        priority=8,
    ),
    Spec(
        "training_curve",
        "Training curve of the neural network",
        "training_curve",
        "Loss per epoch on the first fold's training and validation parts; the dashed line marks the epoch "
        "kept (least validation loss), which the final fit on all rows trains up to.",
        units=1.0,
        priority=9,
        applies=_neural,
    ),
    Spec(
        "fit_time",
        "Fit time against score",
        "fit_time",
        "Seconds to fit one fold (log scale) and score.",
        units=1.5,
        priority=10,
    ),
]

TEST_FIGURES = [
    Spec(
        "roc",
        "ROC curve",
        "roc",
        "True against false positive rate on the test set.",
        units=1.0,
        priority=2,
        applies=_classification,
    ),
    Spec(
        "precision_recall",
        "Precision–recall curve",
        "precision_recall",
        "Precision against recall.",
        units=1.0,
        priority=6,
        applies=_classification,
    ),
    Spec(
        "calibration",
        "Calibration",
        "calibration",
        "Predicted probability against observed frequency; the diagonal is perfect calibration.",
        units=1.0,
        priority=7,
        applies=_classification,
    ),
    Spec(
        "confusion_matrix",
        "Confusion matrix",
        "confusion_matrix",
        "Counts and shares of each true class (rows) predicted as each class (columns).",
        wide=True,
        units=1.5,
        priority=3,
        applies=_classification,
    ),
    Spec(
        "permutation_importance",
        "Permutation importance",
        "permutation_importance",
        "Drop in the test score when a feature's values are shuffled, with the spread over repeats.",
        units=1.5,
        priority=4,
    ),
    Spec(
        "partial_dependence",
        "Partial dependence",
        "partial_dependence",
        "Average prediction as each of the most important features varies, others as observed.",
        wide=True,
        units=2.5,
        priority=11,
        needs="permutation_importance",
    ),
    Spec(
        "predicted_actual",
        "Predicted against actual",
        "predicted_actual",
        "Points on the diagonal are exact.",
        units=1.0,
        priority=2,
        applies=_regression,
    ),
    Spec(
        "residuals",
        "Residuals against predicted",
        "residuals",
        "A pattern here means the model misses structure.",
        units=1.0,
        priority=3,
        applies=_regression,
    ),
    Spec(
        "residual_histogram",
        "Residual distribution",
        "residual_histogram",
        "Actual minus predicted on the test set.",
        units=1.0,
        priority=6,
        applies=_regression,
    ),
]
