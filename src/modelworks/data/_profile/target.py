"""The target in the profile: its summary and warnings, its encoding, and the target-rate tables."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data._profile.common import (
    IMBALANCE_RATIO,
    IMBALANCE_SHARE,
    RATE_BINS,
    RATE_LEVELS,
    ProfileWarning,
    fmt,
    native,
)
from modelworks.data.kinds import ColumnInfo
from modelworks.data.target import positive_label


def target_summary(y: pd.Series, task: str, reason: str) -> dict:
    info: dict[str, Any] = {
        "name": str(y.name),
        "task": task,
        "reason": reason,
        "missing": int(y.isna().sum()),
    }
    if task == "regression":
        v = y.astype("float64").dropna()
        info.update(
            mean=float(v.mean()),
            std=float(v.std()),
            min=float(v.min()),
            max=float(v.max()),
            skew=float(v.skew()) if len(v) > 2 else float("nan"),
        )
        return info
    counts = y.value_counts(dropna=True)
    total = int(counts.sum())
    info["classes"] = [
        {"label": native(label), "count": int(c), "share": float(c / total)} for label, c in counts.items()
    ]
    info["majority"] = native(counts.index[0])
    info["minority"] = native(counts.index[-1])
    info["minority_share"] = float(counts.iloc[-1] / total)
    info["imbalance_ratio"] = float(counts.iloc[0] / counts.iloc[-1])
    if task == "binary":
        info["positive_label"] = native(positive_label(list(counts.index)))
    return info


def target_warnings(info: dict) -> list[ProfileWarning]:
    out = []
    name = info["name"]
    if info["missing"]:
        out.append(
            ProfileWarning(
                "target_missing",
                name,
                f"target {name!r} is missing in {info['missing']:,} rows; they are left out of training",
            )
        )
    if info["task"] != "regression":
        share, ratio = info["minority_share"], info["imbalance_ratio"]
        if share < IMBALANCE_SHARE or ratio >= IMBALANCE_RATIO:
            out.append(
                ProfileWarning(
                    "imbalance",
                    name,
                    f"target {name!r} is imbalanced: class {info['minority']!r} is "
                    f"{100 * share:.1f}% of rows (majority/minority ratio {ratio:.1f}); prefer "
                    "balanced accuracy, ROC AUC or average precision over accuracy",
                )
            )
    return out


def encode_target(y: pd.Series, task: str, info: dict) -> pd.Series | None:
    """Binary → 0/1 (positive class 1), regression → float, multiclass → None."""
    if task == "binary":
        positive = info["positive_label"]
        return pd.Series(
            (y.to_numpy(dtype=object) == _to_label(y, positive)).astype("float64"), index=y.index
        )
    if task == "regression":
        return y.astype("float64")
    return None


def _to_label(y: pd.Series, label: object) -> object:
    for value in pd.unique(y.dropna()):
        if native(value) == label:
            return value
    return label


# ---------------------------------------------------------------------- target rates
def _rate_table(
    key: pd.Series, order: list[str], yk: pd.Series, encoded: pd.Series | None, task: str
) -> pd.DataFrame:
    if task == "multiclass":
        counts = pd.crosstab(key, yk)
        sizes = counts.sum(axis=1)
        shares = counts.div(sizes, axis=0)
        shares.columns = [f"share_{c}" for c in shares.columns]
        table = pd.concat([sizes.rename("count"), shares], axis=1)
    else:
        assert encoded is not None
        grouped = encoded.groupby(key, sort=False).agg(["size", "mean"])
        table = grouped.rename(
            columns={
                "size": "count",
                "mean": "rate" if task == "binary" else "mean",
            }
        )
    table = table.reindex([o for o in order if o in table.index])
    table.index.name = "level"
    table = table.reset_index()
    table["level"] = table["level"].astype(object)
    table["count"] = table["count"].astype("int64")
    return table


def target_rates(
    dk: pd.DataFrame,
    features: dict[str, ColumnInfo],
    numk: dict[str, pd.Series],
    yk: pd.Series,
    encoded: pd.Series | None,
    task: str,
    info: dict,
) -> dict[str, pd.DataFrame]:
    rates: dict[str, pd.DataFrame] = {}
    for name, col in features.items():
        if col.kind in ("categorical", "boolean"):
            s = dk[name]
            counts = s.value_counts(dropna=True)
            top = list(counts.index[:RATE_LEVELS])
            text = s.astype(object).map(str)
            key = np.where(s.isna(), "(missing)", np.where(s.isin(top), text, "other"))
            order = [str(v) for v in top] + ["other", "(missing)"]
        elif col.kind == "numeric":
            v = numk[name]
            present = v[np.isfinite(v)]  # infinite values would make the bin edges NaN
            if present.empty:
                continue
            levels = np.sort(present.unique())
            if len(levels) <= RATE_BINS:
                labels = {lv: fmt(lv) for lv in levels}
                key = np.where(v.isna(), "(missing)", v.map(labels).astype(object))
                order = list(labels.values()) + ["(missing)"]
            else:
                edges = np.unique(np.quantile(present.to_numpy(), np.linspace(0, 1, RATE_BINS + 1)))
                if len(edges) < 3:
                    continue
                codes = pd.cut(v, edges, include_lowest=True, labels=False)
                labels_list = [
                    f"{'[' if i == 0 else '('}{fmt(lo)}, {fmt(hi)}]"
                    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
                ]
                key = np.array(
                    ["(missing)" if math.isnan(c) else labels_list[int(c)] for c in codes],
                    dtype=object,
                )
                order = labels_list + ["(missing)"]
        else:
            continue
        rates[name] = _rate_table(pd.Series(key, index=dk.index, name="level"), order, yk, encoded, task)
    return rates
