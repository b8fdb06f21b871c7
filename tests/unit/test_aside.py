"""Values set aside on disk while the fit on all rows runs (modelworks.distributed._aside)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from modelworks.distributed._aside import set_aside


def _owners():
    rows = pd.DataFrame({"x": np.arange(1_000.0), "kind": pd.Series(["a", "b"] * 500, dtype="category")})
    exp = SimpleNamespace(data=rows, X_train=rows.iloc[:800], X_test=rows.iloc[800:], kept="not set aside")
    profile = SimpleNamespace(frame=rows)  # the same object as exp.data
    return exp, profile, rows


def _folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("modelworks-aside-*"))


def test_values_are_away_inside_and_back_after_still_shared():
    exp, profile, rows = _owners()
    before = _folders()
    with set_aside([(exp, "data"), (exp, "X_train"), (exp, "X_test"), (profile, "frame")]):
        assert exp.data is None and exp.X_train is None and exp.X_test is None and profile.frame is None
        assert exp.kept == "not set aside"
        assert len(_folders() - before) == 1  # on disk meanwhile
    pd.testing.assert_frame_equal(exp.data, rows)
    pd.testing.assert_frame_equal(exp.X_train, rows.iloc[:800])
    pd.testing.assert_frame_equal(exp.X_test, rows.iloc[800:])
    assert exp.data is profile.frame  # one value for two places, as before
    assert _folders() == before  # the temporary folder is gone


def test_values_come_back_when_the_step_fails():
    exp, profile, rows = _owners()
    before = _folders()
    with pytest.raises(RuntimeError, match="the fit failed"), set_aside([(exp, "data"), (profile, "frame")]):
        raise RuntimeError("the fit failed")
    pd.testing.assert_frame_equal(exp.data, rows)
    assert profile.frame is exp.data
    assert _folders() == before
