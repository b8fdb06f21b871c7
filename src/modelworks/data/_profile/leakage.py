"""The leakage check: features that alone predict the target almost perfectly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelworks.data._profile.common import (
    LEAK_ACCURACY,
    LEAK_AUC,
    LEAK_PEARSON,
    LEAK_R2,
    LEAK_ROWS,
    ProfileWarning,
)
from modelworks.data.kinds import ColumnInfo, parse_dates


def _feature_matrix(s: pd.Series, kind: str, numeric: pd.Series | None) -> np.ndarray | None:
    """One feature as a float column for a tree: ordinal codes for categories, a sentinel below
    the observed range for missing values (so missingness itself can be used)."""
    if kind == "numeric":
        assert numeric is not None
        v = numeric.to_numpy(dtype="float64")
    elif kind == "datetime":
        d = parse_dates(s)
        v = np.where(d.isna(), np.nan, d.to_numpy(dtype="datetime64[ns]").astype("int64"))
        v = v.astype("float64")
    elif kind in ("categorical", "boolean"):
        counts = s.value_counts(dropna=True)
        codes = {level: float(i) for i, level in enumerate(counts.index[:255])}
        v = s.map(codes).astype("float64").to_numpy()
        v = np.where(s.notna().to_numpy() & np.isnan(v), float(len(codes)), v)
    else:
        return None
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    v = np.where(np.isfinite(v), v, low - (high - low) - 1.0)
    return v.reshape(-1, 1)


def leakage_warnings(
    dk: pd.DataFrame,
    features: dict[str, ColumnInfo],
    numk: dict[str, pd.Series],
    yk: pd.Series,
    task: str,
    assoc: pd.DataFrame,
    seed: int,
) -> list[ProfileWarning]:
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    found: dict[str, str] = {}
    if len(assoc):
        strong = assoc[(assoc["method"] == "pearson") & (assoc["pearson_r"].abs() >= LEAK_PEARSON)]
        for row in strong.itertuples(index=False):
            found[row.feature] = f"Pearson r {row.pearson_r:.3f}"

    if len(dk) > LEAK_ROWS:
        rows = dk.sample(n=LEAK_ROWS, random_state=seed).index
        dk, yk = dk.loc[rows], yk.loc[rows]
        numk = {k: v.loc[rows] for k, v in numk.items()}
    if task == "regression":
        y = yk.to_numpy(dtype="float64")
        folds = KFold(3, shuffle=True, random_state=seed)
        majority = 0.0
        min_count = len(y)
    else:
        y, _ = pd.factorize(yk.astype(object), sort=True)
        counts = np.bincount(y)
        min_count = int(counts.min())
        majority = float(counts.max() / counts.sum())
        folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    if len(y) >= 30 and min_count >= 3:
        splits = list(folds.split(np.zeros((len(y), 1)), y))
        for name, col in features.items():
            if name in found:
                continue
            x = _feature_matrix(dk[name], col.kind, numk.get(name))
            if x is None:
                continue
            if task == "regression":
                model: Any = DecisionTreeRegressor(max_depth=8, min_samples_leaf=3, random_state=seed)
                pred = np.empty(len(y), dtype="float64")
            else:
                model = DecisionTreeClassifier(max_depth=8, min_samples_leaf=3, random_state=seed)
                pred = np.empty(len(y), dtype="float64")
            for train, test in splits:
                model.fit(x[train], y[train])
                if task == "binary":
                    proba = model.predict_proba(x[test])
                    pred[test] = proba[:, list(model.classes_).index(1)] if (1 in model.classes_) else 0.0
                else:
                    pred[test] = model.predict(x[test])
            if task == "binary":
                score = roc_auc_score(y, pred)
                if score >= LEAK_AUC:
                    found[name] = f"cross-validated ROC AUC {score:.3f}"
            elif task == "multiclass":
                score = accuracy_score(y, pred.astype(int))
                if score >= LEAK_ACCURACY and score > majority:
                    found[name] = f"cross-validated accuracy {score:.3f}"
            else:
                score = r2_score(y, pred)
                if score >= LEAK_R2:
                    found[name] = f"cross-validated R² {score:.3f}"
    return [
        ProfileWarning(
            "leakage",
            name,
            f"column {name!r} alone predicts the target almost perfectly ({why}); it may be "
            "derived from the target or recorded after the outcome — drop it unless it is known "
            "at prediction time",
        )
        for name, why in found.items()
    ]
