"""Pairwise association between columns of mixed kinds, on a common 0-1 (or -1 to 1) scale."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from modelworks.plots._frame import categorical_columns, is_numeric, to_numeric


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Cramér's V of two categorical series (rows missing either dropped; NaN when undefined)."""
    both = pd.DataFrame({"a": a, "b": b}).dropna()
    if both.empty:
        return math.nan
    table = pd.crosstab(both["a"], both["b"]).to_numpy(dtype=float)
    r, c = table.shape
    if min(r, c) < 2:
        return math.nan
    n = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(min(chi2 / (n * (min(r, c) - 1)), 1.0))


def correlation_ratio(groups: pd.Series, values: pd.Series) -> float:
    """The correlation ratio η of numeric ``values`` across categorical ``groups`` (NaN when undefined)."""
    both = pd.DataFrame({"g": groups, "v": values}).dropna()
    if len(both) < 2:
        return math.nan
    total = float(((both["v"] - both["v"].mean()) ** 2).sum())
    if total == 0.0:
        return math.nan
    stats = both.groupby("g", observed=True)["v"].agg(["mean", "count"])
    between = float((stats["count"] * (stats["mean"] - both["v"].mean()) ** 2).sum())
    return math.sqrt(min(max(between / total, 0.0), 1.0))


def association_matrix(
    X: pd.DataFrame,
    *,
    numeric_method: str = "spearman",
    max_columns: int = 30,
    max_levels: int = 50,
) -> pd.DataFrame:
    """Square matrix of associations between the numeric and low-cardinality categorical columns of ``X``.

    Numeric pairs use the Spearman (or Pearson) correlation, categorical pairs Cramér's V and mixed pairs
    the correlation ratio η. The diagonal is 1; pairs that cannot be measured are NaN.
    """
    if numeric_method not in ("spearman", "pearson"):
        raise ValueError(f"numeric_method must be 'spearman' or 'pearson'; got {numeric_method!r}")
    categorical = set(categorical_columns(X, max_levels))
    numeric = {c for c in X.columns if c not in categorical and is_numeric(X[c])}
    names = [c for c in X.columns if c in categorical or c in numeric][:max_columns]
    values = {c: to_numeric(X[c]) if c in numeric else X[c] for c in names}
    num = [c for c in names if c in numeric]
    out = pd.DataFrame(np.nan, index=names, columns=names, dtype=float)
    if num:
        corr = pd.DataFrame({c: values[c] for c in num}).corr(method=numeric_method, min_periods=3)
        out.loc[num, num] = corr.loc[num, num].to_numpy()
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a in numeric and b in numeric:
                continue
            if a in numeric:
                value = correlation_ratio(values[b], values[a])
            elif b in numeric:
                value = correlation_ratio(values[a], values[b])
            else:
                value = cramers_v(values[a], values[b])
            out.loc[a, b] = out.loc[b, a] = value
    for name in names:
        out.loc[name, name] = 1.0
    return out
