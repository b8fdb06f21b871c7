"""Rendering many figures does not leak: closed figures are released and resident memory stays flat.

Kept out of the unit tests (55 renders and a memory reading): `make test` runs it."""

from __future__ import annotations

import gc
import os
import warnings
import weakref

import matplotlib.pyplot as plt
import numpy as np

from modelworks.plots import LearningCurveDisplay, to_png


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def test_many_renders_do_not_leak():
    rng = np.random.default_rng(0)
    figures: list[weakref.ref] = []

    def render() -> None:
        display = LearningCurveDisplay.from_results(
            [50, 100, 200], rng.random((3, 3)), rng.random((3, 3)), "accuracy"
        )
        figures.append(weakref.ref(display.figure_))
        to_png(display, dpi=40)

    for _ in range(5):  # warm caches (fonts, text layout) before measuring
        render()
    gc.collect()
    before = _rss_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(50):
            render()
    gc.collect()
    after = _rss_bytes()
    assert plt.get_fignums() == []
    assert not caught
    assert sum(ref() is not None for ref in figures) == 0, "closed figures are still referenced"
    if before is not None and after is not None:
        assert after - before < 25 * 2**20, f"RSS grew by {(after - before) / 2**20:.1f} MiB over 50 figures"
