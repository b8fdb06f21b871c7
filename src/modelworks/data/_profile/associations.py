"""Feature-target associations: Pearson and Spearman, Cramér's V, the correlation ratio."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from modelworks.data._profile.common import ASSOC_COLUMNS
from modelworks.data.kinds import ColumnInfo


def _eta(groups: pd.Series, values: pd.Series) -> tuple[float, float, int]:
    """Correlation ratio of ``values`` by ``groups`` with the one-way ANOVA p-value."""
    mask = groups.notna() & values.notna()
    g, v = groups[mask], values[mask].astype("float64")
    n = len(v)
    if n < 3:
        return float("nan"), float("nan"), n
    by = v.groupby(g.astype(object), sort=False).agg(["size", "mean"])
    k = len(by)
    grand = v.mean()
    sst = float(((v - grand) ** 2).sum())
    if k < 2 or sst <= 0:
        return float("nan"), float("nan"), n
    ssb = float((by["size"] * (by["mean"] - grand) ** 2).sum())
    eta = math.sqrt(min(max(ssb / sst, 0.0), 1.0))
    df1, df2 = k - 1, n - k
    ssw = sst - ssb
    if df2 <= 0:
        p = float("nan")
    elif ssw <= 1e-12 * sst:
        p = 0.0
    else:
        p = float(stats.f.sf((ssb / df1) / (ssw / df2), df1, df2))
    return eta, p, n


def _cramers_v(x: pd.Series, y: pd.Series) -> tuple[float, float, float, int]:
    """Cramér's V with the chi-square statistic and p-value (no continuity correction) and n."""
    table = pd.crosstab(x.astype(object), y.astype(object))
    n = int(table.to_numpy().sum())
    if min(table.shape) < 2 or n == 0:
        return float("nan"), float("nan"), float("nan"), n
    chi2, p, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    v = math.sqrt(chi2 / (n * (min(table.shape) - 1)))
    return float(v), float(chi2), float(p), n


def associations(
    dk: pd.DataFrame,
    features: dict[str, ColumnInfo],
    numk: dict[str, pd.Series],
    yk: pd.Series,
    encoded: pd.Series | None,
    task: str,
) -> pd.DataFrame:
    rows = []
    for name, col in features.items():
        row: dict[str, Any] = dict.fromkeys(ASSOC_COLUMNS, np.nan)
        row.update(feature=name, kind=col.kind)
        if col.kind == "numeric":
            x = numk[name]
            if task == "multiclass":
                eta, p, n = _eta(yk, x)
                row.update(method="eta", eta=eta, p_value=p, n=n, strength=eta)
            else:
                assert encoded is not None
                mask = (x.notna() & encoded.notna()).to_numpy()
                xv, yv = x.to_numpy()[mask], encoded.to_numpy()[mask]
                n = int(mask.sum())
                row.update(method="pearson", n=n)
                if n >= 3 and np.ptp(xv) > 0 and np.ptp(yv) > 0:
                    r, p = stats.pearsonr(xv, yv)
                    rho, sp = stats.spearmanr(xv, yv)
                    row.update(
                        pearson_r=float(r),
                        pearson_p=float(p),
                        spearman_rho=float(rho),
                        spearman_p=float(sp),
                        p_value=float(p),
                        strength=abs(float(r)),
                    )
        elif col.kind in ("categorical", "boolean"):
            x = dk[name]
            if task == "regression":
                assert encoded is not None
                eta, p, n = _eta(x, encoded)
                row.update(method="eta", eta=eta, p_value=p, n=n, strength=eta)
            else:
                v, chi2, p, n = _cramers_v(x, yk)
                row.update(method="cramers_v", cramers_v=v, chi2=chi2, p_value=p, n=n, strength=v)
        else:
            continue
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(ASSOC_COLUMNS))
    if table.empty:
        return table
    table = table.sort_values("strength", ascending=False, na_position="last", kind="stable")
    table["n"] = table["n"].astype("int64")
    for c in ASSOC_COLUMNS[3:-1]:
        table[c] = table[c].astype("float64")
    return table.reset_index(drop=True)
