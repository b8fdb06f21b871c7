"""The shared plot style: backend choice, palette, rc context, axes helpers and PNG export."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import pytest

from modelworks.plots import OKABE_ITO, PALETTE, RC, LearningCurveDisplay, style, to_data_uri, to_png
from modelworks.plots._style import grid_axes, new_axes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_headless_import_selects_agg():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    code = "import modelworks.plots, matplotlib; print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().lower() == "agg"
    assert "Warning" not in out.stderr


def test_palette_is_okabe_ito():
    assert len(PALETTE) == 8
    assert set(PALETTE) == set(OKABE_ITO.values())
    assert all(c.startswith("#") and len(c) == 7 for c in PALETTE)


def test_style_context_applies_and_restores():
    before = matplotlib.rcParams["axes.prop_cycle"]
    with style():
        colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [c.upper() for c in colours] == [c.upper() for c in PALETTE]
        assert matplotlib.rcParams["font.size"] == RC["font.size"]
    assert matplotlib.rcParams["axes.prop_cycle"] == before


def test_to_png_returns_png_and_closes():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    data = to_png(fig, dpi=50)
    assert data.startswith(PNG_MAGIC)
    assert plt.get_fignums() == []


def test_to_png_accepts_a_display():
    display = LearningCurveDisplay.from_results([10, 20], [[1.0], [1.0]], [[0.5], [0.6]], "accuracy")
    assert to_png(display, dpi=40).startswith(PNG_MAGIC)
    assert plt.get_fignums() == []


def test_to_png_rejects_other_objects():
    with pytest.raises(TypeError):
        to_png("not a figure")


def test_to_data_uri_is_base64_png_and_closes():
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    uri = to_data_uri(fig, dpi=40)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert plt.get_fignums() == []


def test_new_axes_reuses_given_axes():
    fig, ax = plt.subplots()
    assert new_axes(ax) == (fig, ax)
    new_fig, new_ax = new_axes(None)
    assert new_fig is not fig and new_ax.figure is new_fig


def test_grid_axes_divides_one_axes_and_hides_spares():
    fig, ax = plt.subplots()
    got_fig, axes = grid_axes(4, ax, ncols=3)
    assert got_fig is fig and len(axes) == 4
    assert sum(a.get_visible() for a in fig.axes) == 4


def test_grid_axes_checks_the_number_given():
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="at least 3"):
        grid_axes(3, axes)
    _, used = grid_axes(2, axes)
    assert list(used) == list(axes)
