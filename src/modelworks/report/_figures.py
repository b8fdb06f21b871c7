"""Draw the report's figures through the ``.plot`` accessors and inline them as PNG data URIs."""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelworks.plots._style import REPORT_DPI as DPI
from modelworks.plots.accessors import NotApplicable


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
    """A figure left out because it does not apply to this data, and why."""

    id: str
    title: str
    reason: str


@dataclass(frozen=True)
class Spec:
    """How to draw one figure: the accessor method, its title and what to look for."""

    id: str
    title: str
    #: The accessor's method, or a function of no arguments that returns a Display.
    method: str | Callable
    caption: str
    wide: bool = False


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


#: Why a figure is missing when the run reached its deadline before the figure.
LATE = "not drawn: the run had spent its time budget before the report reached this figure"


def draw(
    specs: list[Spec], accessor: object, deadline: float | None = None
) -> tuple[list[Figure], list[NotDrawn]]:
    """Draw every figure in ``specs`` with ``accessor``; close each figure once encoded.

    A figure that does not apply (:class:`NotApplicable`) is listed, with its reason, unless the
    reason is the task (a ROC curve for a regression); a figure that fails is shown as an error in
    the report rather than ending the run. A time budget reserves the report's time from the start
    (see :class:`modelworks.search.budget.FinishCost`); only when the fixed costs alone overran it
    (a table of thousands of columns on a budget of seconds) is ``deadline`` (a
    ``time.perf_counter()`` value) passed before the last figures, which are then listed as not
    drawn rather than breaking the promise.
    """
    from modelworks.plots import to_png

    figures: list[Figure] = []
    not_drawn: list[NotDrawn] = []
    for spec in specs:
        if deadline is not None and time.perf_counter() > deadline:
            not_drawn.append(NotDrawn(spec.id, spec.title, LATE))
            continue
        method: Callable = spec.method if callable(spec.method) else getattr(accessor, spec.method)
        try:
            display = method()
        except NotApplicable as exc:
            if not exc.quiet:
                not_drawn.append(NotDrawn(spec.id, spec.title, str(exc)))
            continue
        except Exception as exc:  # one broken figure must not cost the user the whole report
            figures.append(Figure(spec.id, spec.title, error=f"{type(exc).__name__}: {exc}"))
            continue
        png = to_png(display.figure_, dpi=DPI)
        width, height = png_size(png)
        caption = spec.caption
        reading = getattr(display, "reading", None)
        if reading:
            caption = f"{reading} {caption}"
        figures.append(
            Figure(
                spec.id,
                spec.title,
                caption,
                "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                width,
                height,
                wide=spec.wide,
            )
        )
    return figures, not_drawn


DATA_FIGURES = [
    Spec("target", "Target distribution", "target_distribution", "How the values to predict are spread."),
    Spec(
        "histograms",
        "Numeric features by class",
        "histograms",
        "Features whose distributions differ between classes carry signal.",
        wide=True,
    ),
    Spec("boxplots", "Box plots by class", "boxplots", "Medians, spread and outliers per class.", wide=True),
    Spec(
        "scatter",
        "Two most informative features",
        "scatter",
        "Chosen by mutual information with the target: are the classes separable?",
    ),
    Spec("pca", "PCA projection", "pca", "All features projected on their two main directions."),
    Spec(
        "associations",
        "Associations between features",
        "associations",
        "Spearman correlation, Cramér's V and the correlation ratio; strong pairs are redundant.",
    ),
    Spec("missing", "Missing values", "missing", "Where values are missing, by row and column."),
    Spec(
        "target_rate",
        "Target by category",
        "target_rate",
        "The target per level of the most associated categorical feature; the line is the overall value.",
    ),
]

MODEL_FIGURES = [
    Spec(
        "comparison",
        "Model comparison",
        "comparison",
        "Mean cross-validation score with its spread over folds; hatched bars are tied with the best.",
    ),
    Spec(
        "learning_curve",
        "Learning curve of the chosen model",
        "learning_curve",
        "Training and validation scores against training rows, with their spread over folds.",
    ),
    Spec(
        "training_curve",
        "Training curve of the neural network",
        "training_curve",
        "Loss per epoch on the first fold's training and validation parts; the dashed line marks the epoch "
        "kept (least validation loss), which the final fit on all rows trains up to.",
    ),
    Spec("fit_time", "Fit time against score", "fit_time", "Seconds to fit one fold (log scale) and score."),
]

TEST_FIGURES = [
    Spec("roc", "ROC curve", "roc", "True against false positive rate on the test set."),
    Spec("precision_recall", "Precision–recall curve", "precision_recall", "Precision against recall."),
    Spec(
        "calibration",
        "Calibration",
        "calibration",
        "Predicted probability against observed frequency; the diagonal is perfect calibration.",
    ),
    Spec(
        "confusion_matrix",
        "Confusion matrix",
        "confusion_matrix",
        "Counts and shares of each true class (rows) predicted as each class (columns).",
        wide=True,
    ),
    Spec(
        "permutation_importance",
        "Permutation importance",
        "permutation_importance",
        "Drop in the test score when a feature's values are shuffled, with the spread over repeats.",
    ),
    Spec(
        "partial_dependence",
        "Partial dependence",
        "partial_dependence",
        "Average prediction as each of the most important features varies, others as observed.",
        wide=True,
    ),
    Spec(
        "predicted_actual",
        "Predicted against actual",
        "predicted_actual",
        "Points on the diagonal are exact.",
    ),
    Spec(
        "residuals",
        "Residuals against predicted",
        "residuals",
        "A pattern here means the model misses structure.",
    ),
    Spec(
        "residual_histogram",
        "Residual distribution",
        "residual_histogram",
        "Actual minus predicted on the test set.",
    ),
]
