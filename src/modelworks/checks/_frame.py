"""The checks on a whole table, before any split: what ``modelworks profile --target`` shows."""

from __future__ import annotations

import pandas as pd

from modelworks.checks._finding import CheckInput, Finding
from modelworks.data.kinds import infer_kinds
from modelworks.data.load import consolidated
from modelworks.data.target import detect_task, find_target


def check_table(
    df: pd.DataFrame, target: str, *, task: str = "auto", cv: int = 5, seed: int = 0
) -> list[Finding]:
    """Run the methodology checks on ``df`` as a random split would see it (rows with a target, no
    test set yet: the train/test shift and near-duplicate checks need a split and are left out).

    Parameters
    ----------
    df : DataFrame
        The table, target included.
    target : str
        The column to predict.
    task : {"auto", "binary", "multiclass", "regression"}
    cv : int
        The folds a run would use.
    seed : int

    Returns
    -------
    list of Finding
    """
    from modelworks.checks._run import run_checks

    y = find_target(df, target)
    task, _ = detect_task(y, task)
    keep = y.notna().to_numpy()
    rows = consolidated(df.loc[keep].reset_index(drop=True))
    X, y = rows.drop(columns=[target]), rows[target]
    kinds = infer_kinds(X)
    split_kind = "random" if task == "regression" else "stratified"
    return run_checks(CheckInput(X, y, task, kinds, split_kind=split_kind, cv=cv, seed=seed))
