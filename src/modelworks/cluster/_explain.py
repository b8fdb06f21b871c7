"""What makes each cluster different: a profile per cluster with tests, effect sizes and one sentence.

For every cluster and feature, the cluster's rows are compared with all other rows: numbers with the
Mann–Whitney U test and its rank-biserial correlation (+1: every row of the cluster above every other
row), categories with the chi-square test of the cluster-against-rest table and Cramér's V. The p-values
of all (cluster, feature) tests are Holm-adjusted together. Across all clusters at once, each feature
gets the Kruskal–Wallis test (effect size ε²) or the chi-square test of the clusters-by-levels table.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from modelworks.evaluate.stats import holm

#: A difference enters a cluster's sentence from these effect sizes on (and when significant).
MIN_RANK_BISERIAL, MIN_CRAMERS_V = 0.3, 0.2
#: Differences named in a cluster's sentence, at most.
IN_SENTENCE = 3


@dataclass
class ClusterProfile:
    """One cluster: its size, centre and what sets it apart.

    Attributes
    ----------
    label : int
        The cluster (``-1``: noise).
    size : int
    share : float
        Its share of the rows.
    centre : dict
        Feature to its centre in the original units: the median of a number, the most frequent level of
        a category.
    differences : list of dict
        One per feature, strongest effect first: ``feature``, ``kind``, ``test``, ``p``, ``p_holm``,
        ``effect`` (rank-biserial correlation or Cramér's V), ``effect_name``, ``cluster`` and ``rest``
        (median or share of ``level``), ``level`` (categories), ``significant``.
    sentence : str
        The strongest significant differences in words.
    """

    label: int
    size: int
    share: float
    centre: dict
    differences: list[dict] = field(default_factory=list)
    sentence: str = ""

    @property
    def name(self) -> str:
        return "noise" if self.label == -1 else f"cluster {self.label}"


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    if v != 0 and (abs(v) >= 1e9 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _numeric_difference(inside: np.ndarray, outside: np.ndarray) -> dict | None:
    inside, outside = inside[~np.isnan(inside)], outside[~np.isnan(outside)]
    if len(inside) == 0 or len(outside) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u, p = stats.mannwhitneyu(inside, outside, alternative="two-sided", method="asymptotic")
    effect = 2.0 * u / (len(inside) * len(outside)) - 1.0
    return {
        "test": "Mann–Whitney U",
        "p": float(p) if np.isfinite(p) else 1.0,
        "effect": float(effect),
        "effect_name": "rank-biserial r",
        "cluster": float(np.median(inside)),
        "rest": float(np.median(outside)),
    }


def _categorical_difference(values: pd.Series, inside: np.ndarray) -> dict | None:
    table = pd.crosstab(inside, values.fillna("(missing)").astype(str))
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    chi2, p, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
    n = table.to_numpy().sum()
    v = math.sqrt(chi2 / (n * (min(table.shape) - 1))) if n else 0.0
    shares = table.div(table.sum(axis=1), axis=0)
    lift = shares.loc[True] - shares.loc[False]
    level = str(lift.idxmax())
    return {
        "test": "chi-square",
        "p": float(p),
        "effect": float(v),
        "effect_name": "Cramér's V",
        "level": level,
        "cluster": float(shares.loc[True, level]),
        "rest": float(shares.loc[False, level]),
    }


def _phrase(d: dict) -> str:
    name = d["feature"]
    if d["kind"] == "categorical":
        word = "mostly" if d["cluster"] >= 0.5 else "more often"
        return f"{word} {name} = {d['level']} ({d['cluster']:.0%} vs {d['rest']:.0%})"
    inside, rest = d["cluster"], d["rest"]
    if inside > 0 and rest > 0 and inside / rest >= 2:
        return f"{inside / rest:.1f} times the {name} (median {_num(inside)} vs {_num(rest)})"
    word = "higher" if d["effect"] > 0 else "lower"
    return f"{word} {name} (median {_num(inside)} vs {_num(rest)})"


def profile_clusters(
    frame: pd.DataFrame,
    labels: np.ndarray,
    numeric: list[str],
    categorical: list[str],
    alpha: float = 0.05,
    sizes: dict[int, int] | None = None,
) -> list[ClusterProfile]:
    """A :class:`ClusterProfile` per cluster (noise last) of the cleaned rows ``frame``.

    ``sizes`` (cluster to rows) gives the sizes when ``frame`` is a sample of the rows clustered.
    """
    numbers = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64) for c in numeric}
    clusters = sorted(set(labels.tolist()), key=lambda c: (c == -1, c))
    profiles, p_values = [], {}
    for c in clusters:
        inside = labels == c
        centre: dict = {}
        differences = []
        for col, values in numbers.items():
            med = values[inside][~np.isnan(values[inside])]
            centre[col] = float(np.median(med)) if len(med) else None
            if len(clusters) > 1:
                d = _numeric_difference(values[inside], values[~inside])
                if d is not None:
                    differences.append({"feature": col, "kind": "numeric", **d})
        for col in categorical:
            values = frame[col]
            mode = values[inside].mode(dropna=True)
            centre[col] = None if mode.empty else str(mode.iloc[0])
            if len(clusters) > 1:
                d = _categorical_difference(values, inside)
                if d is not None:
                    differences.append({"feature": col, "kind": "categorical", **d})
        for d in differences:
            p_values[(c, d["feature"])] = d["p"]
        size = int(inside.sum()) if sizes is None else sizes[int(c)]
        share = size / (len(labels) if sizes is None else sum(sizes.values()))
        profiles.append(ClusterProfile(int(c), size, share, centre, differences))
    adjusted = holm({f"{c}\x00{f}": p for (c, f), p in p_values.items()}, alpha=alpha)
    for prof in profiles:
        for d in prof.differences:
            a = adjusted[f"{prof.label}\x00{d['feature']}"]
            d["p_holm"], d["significant"] = float(a["p_holm"]), bool(a["reject"])
        prof.differences.sort(key=lambda d: -abs(d["effect"]))
        strong = [
            d
            for d in prof.differences
            if d["significant"]
            and abs(d["effect"]) >= (MIN_CRAMERS_V if d["kind"] == "categorical" else MIN_RANK_BISERIAL)
        ][:IN_SENTENCE]
        head = f"{prof.name} ({prof.size:,} rows, {prof.share:.0%})"
        if strong:
            prof.sentence = f"{head}: " + ", ".join(_phrase(d) for d in strong)
        elif prof.label == -1:
            prof.sentence = f"{head}: rows in no dense region"
        else:
            prof.sentence = f"{head}: no feature differs clearly from the other rows"
    return profiles


def feature_tests(
    frame: pd.DataFrame, labels: np.ndarray, numeric: list[str], categorical: list[str], alpha: float = 0.05
) -> pd.DataFrame:
    """One row per feature: does it differ across the clusters at all (noise left out)?

    Kruskal–Wallis with ε² for numbers, chi-square with Cramér's V for categories; Holm-adjusted.
    """
    keep = labels != -1
    groups = sorted(set(labels[keep].tolist()))
    rows = []
    for col in numeric:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)[keep]
        parts = [values[labels[keep] == g] for g in groups]
        parts = [p[~np.isnan(p)] for p in parts]
        parts = [p for p in parts if len(p)]
        if len(parts) < 2 or np.ptp(np.concatenate(parts)) == 0:
            continue
        h, p = stats.kruskal(*parts)
        n = sum(len(p_) for p_ in parts)
        rows.append(
            {
                "feature": col,
                "test": "Kruskal–Wallis",
                "statistic": float(h),
                "p": float(p),
                "effect": float(h / (n - 1)) if n > 1 else math.nan,
                "effect_name": "ε²",
            }
        )
    for col in categorical:
        table = pd.crosstab(labels[keep], frame[col][keep].fillna("(missing)").astype(str).to_numpy())
        if table.shape[0] < 2 or table.shape[1] < 2:
            continue
        chi2, p, _, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
        n = table.to_numpy().sum()
        rows.append(
            {
                "feature": col,
                "test": "chi-square",
                "statistic": float(chi2),
                "p": float(p),
                "effect": math.sqrt(chi2 / (n * (min(table.shape) - 1))),
                "effect_name": "Cramér's V",
            }
        )
    out = pd.DataFrame(rows, columns=["feature", "test", "statistic", "p", "effect", "effect_name"])
    if out.empty:
        return out.assign(p_holm=[], significant=[])
    adjusted = holm(dict(zip(out["feature"], out["p"], strict=True)), alpha=alpha)
    out["p_holm"] = [adjusted[f]["p_holm"] for f in out["feature"]]
    out["significant"] = [adjusted[f]["reject"] for f in out["feature"]]
    return out.sort_values("effect", ascending=False, kind="stable").reset_index(drop=True)


def standardised_centres(frame: pd.DataFrame, labels: np.ndarray, numeric: list[str]) -> pd.DataFrame:
    """Cluster mean minus overall mean, in standard deviations, per numeric feature (noise left out)."""
    data = frame[numeric].apply(pd.to_numeric, errors="coerce")
    sd = data.std(ddof=0).replace(0, np.nan)
    keep = labels != -1
    means = data[keep].groupby(labels[keep]).mean()
    out = (means - data.mean()) / sd
    out.index = [f"cluster {i}" for i in out.index]
    return out
