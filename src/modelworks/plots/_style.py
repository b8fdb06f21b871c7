"""The one look shared by every Display: backend choice, palette, fonts, figure helpers and PNG export.

Importing this module picks the non-interactive Agg backend on a Linux machine without a display, before
``matplotlib.pyplot`` is imported anywhere in modelworks, so that headless runs never try a GUI toolkit.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
from cycler import cycler


def _headless() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# An explicit MPLBACKEND is the user's choice; once pyplot is loaded its backend is settled and switching
# could close the user's windows, so only choose when neither is the case.
if _headless() and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import Colormap  # noqa: E402
from matplotlib.figure import Figure, SubFigure  # noqa: E402

__all__ = [
    "PALETTE",
    "OKABE_ITO",
    "RC",
    "FIGSIZE",
    "style",
    "color",
    "to_png",
    "to_data_uri",
]

#: Okabe & Ito (2008) colours, safe for the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Order of the colours for successive series (yellow, hard to see on white, comes last but one).
PALETTE: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["yellow"],
    OKABE_ITO["black"],
)
#: Colour of the best model, the reference lines and the "other" series.
HIGHLIGHT = OKABE_ITO["vermillion"]
MUTED = "#9A9A9A"
REFERENCE = "#4D4D4D"
#: Sequential and diverging colour maps readable with colour-vision deficiencies.
SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
#: Default size of a single-axes figure, in inches (readable on a laptop screen).
FIGSIZE: tuple[float, float] = (6.4, 4.2)
#: Size of a figure with a square plot area (ROC, calibration, predicted against actual).
SQUARE: tuple[float, float] = (6.2, 5.2)

#: Resolution of the report's inlined figures: sharp on a laptop screen, small enough to keep it light.
REPORT_DPI = 90

RC: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "font.size": 10,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.5,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.7,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9.5,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": SEQUENTIAL_CMAP,
    "savefig.facecolor": "white",
}


@contextmanager
def style() -> Iterator[None]:
    """Apply :data:`RC` for the duration of a block (every Display's ``plot`` runs inside one)."""
    rc: Any = RC  # matplotlib types the keys as literals
    with matplotlib.rc_context(rc):
        yield


@contextmanager
def _quiet_glyphs() -> Iterator[None]:
    """Silence "Glyph ... missing from font" for labels in scripts the font lacks (one warning per
    character would flood the terminal; the label still shows, with boxes for those characters)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        yield


def colormap(name: str) -> Colormap:
    """The registered colour map ``name``."""
    return matplotlib.colormaps[name]


def color(i: int) -> str:
    """The ``i``-th palette colour, cycling."""
    return PALETTE[i % len(PALETTE)]


def new_axes(ax: Axes | None, figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure | SubFigure, Axes]:
    """``ax`` and its figure, or a new figure with one axes (constrained layout) when ``ax`` is None."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def grid_axes(
    n: int,
    ax: Axes | Sequence[Axes] | Any | None,
    *,
    ncols: int = 3,
    panel: tuple[float, float] = (3.6, 2.9),
) -> tuple[Figure | SubFigure, list[Axes]]:
    """``n`` axes for small multiples.

    ``ax`` may be None (a new figure sized to the grid), a sequence of at least ``n`` axes (spare ones
    are hidden), or one axes placed in a grid, whose area is divided as scikit-learn does.
    """
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig: Any
    if ax is None:
        fig, grid = plt.subplots(
            nrows,
            ncols,
            figsize=(max(FIGSIZE[0], panel[0] * ncols), panel[1] * nrows + 0.6),
            layout="constrained",
            squeeze=False,
        )
        axes = list(grid.ravel())
    elif isinstance(ax, Axes):
        if n == 1:
            return ax.figure, [ax]
        spec = ax.get_subplotspec()
        if spec is None:
            raise ValueError(f"pass {n} axes, or one axes created with subplots, to draw {n} panels")
        fig = ax.figure
        ax.remove()
        sub = spec.subgridspec(nrows, ncols)
        axes = [fig.add_subplot(sub[i // ncols, i % ncols]) for i in range(nrows * ncols)]
    else:
        axes = list(getattr(ax, "ravel", lambda: ax)())
        if len(axes) < n:
            raise ValueError(f"expected at least {n} axes, got {len(axes)}")
        fig = axes[0].figure
    for extra in axes[n:]:
        extra.set_visible(False)
    return fig, axes[:n]


def _figure_of(fig: Any) -> Figure:
    """The top-level Figure of a Figure, SubFigure or Display (anything with ``figure_``)."""
    figure: Any = getattr(fig, "figure_", fig)
    while isinstance(figure, SubFigure):
        figure = figure.figure
    if not isinstance(figure, Figure):
        raise TypeError(f"expected a matplotlib Figure or a Display, got {type(figure).__name__}")
    return figure


def to_png(fig: Any, dpi: int = 110) -> bytes:
    """Render ``fig`` (a Figure or a Display) as PNG bytes, then close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or Display
        The figure, or a Display holding it in ``figure_``.
    dpi : int, default=110
        Resolution of the image.

    Returns
    -------
    bytes
        The PNG file's content.
    """
    figure = _figure_of(fig)
    buffer = io.BytesIO()
    try:
        with _quiet_glyphs():
            # a constrained layout already fits every label inside the figure; "tight" would draw
            # the figure a second time to measure it (half the cost of a report's figures)
            tight = None if figure.get_layout_engine() is not None else "tight"
            figure.savefig(buffer, format="png", dpi=dpi, bbox_inches=tight)
    finally:
        # close even when saving fails: a long report run must not accumulate open figures
        plt.close(figure)
    return buffer.getvalue()


def to_data_uri(fig: Any, dpi: int = 110) -> str:
    """Render ``fig`` as a ``data:image/png;base64,...`` URI for inline HTML, then close it."""
    return "data:image/png;base64," + base64.b64encode(to_png(fig, dpi=dpi)).decode("ascii")


def seconds_per_figure(dpi: int = REPORT_DPI) -> float:
    """Seconds this machine takes to draw and encode one plain figure, measured now.

    A bar chart with a line, a title, labels and a legend: the unit in which the report's drawing is
    reserved from a time budget (see :class:`modelworks.search.budget.FinishCost`).
    """
    import time

    start = time.perf_counter()
    with style():
        fig, ax = new_axes(None)
        ax.bar(np.arange(8), np.linspace(1.0, 3.0, 8), label="bars")
        ax.plot(np.arange(8), np.linspace(3.0, 1.0, 8), label="line")
        ax.set(title="calibration", xlabel="x", ylabel="y")
        ax.legend()
    to_png(fig, dpi=dpi)
    return time.perf_counter() - start
