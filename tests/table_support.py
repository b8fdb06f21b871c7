"""Small tables shared by tests in several folders."""

from __future__ import annotations

import numpy as np
import pandas as pd


def tuning_table() -> pd.DataFrame:
    """400 rows, five numbers and a category, a binary target a booster learns better than a line."""
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(5)})
    df["kind"] = rng.choice(list("abc"), n)
    score = df["x0"] * 1.5 - df["x1"] + (df["kind"] == "b") + rng.normal(scale=1.0, size=n)
    df["y"] = np.where(score > 0, "yes", "no")
    return df
