"""Compare several saved runs (datasets, seeds) with the Friedman test and Nemenyi post-hoc."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from modelworks.errors import ConfigError, DataError


def run_scores(paths: list[str | os.PathLike]) -> tuple[pd.DataFrame, str, list[str]]:
    """Mean CV score of each model in each run, for the models present in every run.

    Parameters
    ----------
    paths : list of path-like
        Bundle directories (each holds metrics.json).

    Returns
    -------
    scores : DataFrame
        One row per run, one column per model.
    metric : str
        The ranking metric shared by the runs.
    dropped : list of str
        Models left out because some run lacks them.
    """
    if len(paths) < 2:
        raise ConfigError("compare needs at least two bundles (several datasets or seeds); give more paths")
    rows, metrics = {}, set()
    for path in paths:
        file = Path(path) / "metrics.json"
        if not file.is_file():
            raise DataError(
                f"{path} has no metrics.json; give bundle directories written by 'modelworks run'"
            )
        summary = json.loads(file.read_text())
        metric = summary["metric"]
        metrics.add(metric)
        name = Path(path).resolve().name
        key, n = name, 2
        while key in rows:
            key, n = f"{name}#{n}", n + 1
        rows[key] = {r["model"]: r[f"{metric}_mean"] for r in summary["leaderboard"]}
    if len(metrics) > 1:
        raise ConfigError(
            f"the runs rank by different metrics ({', '.join(sorted(metrics))}); "
            "rerun them with the same --metric"
        )
    frame = pd.DataFrame.from_dict(rows, orient="index")
    common = [c for c in frame.columns if frame[c].notna().all()]
    dropped = [c for c in frame.columns if c not in common]
    return frame[common], metrics.pop(), dropped
