"""What the Display tests share: no warnings while drawing, labelled axes, figures closed after each
test (imported by each test module; ``close_figures`` is autouse)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib.pyplot as plt
import pytest


@contextmanager
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]


def assert_labelled(ax) -> None:
    """A title (the axes' or the figure's) and both axis labels."""
    assert ax.get_title() or (ax.figure.get_suptitle() if hasattr(ax.figure, "get_suptitle") else "")
    assert ax.get_xlabel().strip()
    assert ax.get_ylabel().strip()


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")
