"""What the cluster and anomaly Displays share: the noise label, the label colours, float coercion.

Every Display takes plain NumPy or pandas input (never a fitted model), so the clustering code computes
and the Displays only draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from modelworks.plots import _style
from modelworks.plots._frame import short

#: Label of the rows a density clustering (DBSCAN, HDBSCAN) leaves out of every cluster.
NOISE = -1
#: Colour of the noise rows and of the normal rows in an anomaly view.
LIGHT = "#C8C8C8"


def as_floats(values: Any) -> np.ndarray:
    """``values`` as a 1-D float array (None as NaN)."""
    return np.asarray(pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce"), dtype=float)


def label_text(value: Any) -> str:
    """A cluster label for a legend: ``-1`` as "noise", whole floats without their ".0"."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if value == NOISE:
            return "noise"
        if float(value).is_integer():
            return str(int(value))
    return short(value, 18)


def label_styles(labels: np.ndarray) -> list[tuple[Any, str, Any, int]]:
    """(value, legend text, colour, z-order) of each distinct label, in legend order.

    Booleans are an anomaly flag: False "normal" in light grey, True "anomaly" in the highlight colour on
    top. Otherwise the clusters in sorted order take the palette (tab20 beyond its eight colours) and
    the noise label -1 comes last, in grey, beneath them.
    """
    if labels.dtype == bool:
        present = set(labels.tolist())
        flags = [(False, "normal", LIGHT, 1), (True, "anomaly", _style.HIGHLIGHT, 3)]
        return [style for style in flags if style[0] in present]
    distinct = list(pd.unique(pd.Series(labels).dropna()))
    try:
        values = sorted(distinct)
    except TypeError:
        values = sorted(distinct, key=str)
    clusters = [v for v in values if label_text(v) != "noise"]
    noise = [v for v in values if label_text(v) == "noise"]
    many = len(clusters) > len(_style.PALETTE)
    tab20 = _style.colormap("tab20")
    styles: list[tuple[Any, str, Any, int]] = [
        (v, label_text(v), tab20(i % 20) if many else _style.color(i), 2) for i, v in enumerate(clusters)
    ]
    styles += [(v, "noise", _style.MUTED, 1) for v in noise]
    return styles


def integer_ticks(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
