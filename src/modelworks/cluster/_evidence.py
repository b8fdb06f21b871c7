"""Evidence for the number of clusters and the method: internal indices, the gap statistic, bootstrap
stability, and the rule that weighs them.

- **Internal indices** (scikit-learn): silhouette (higher is better; on at most 3,000 rows), Calinski–
  Harabasz (higher), Davies–Bouldin (lower), computed on the non-noise rows.
- **Gap statistic** (Tibshirani, Walther and Hastie, 2001): ``E*[log W_k] − log W_k`` for k-means, the
  reference drawn uniformly in the box of the data's principal axes (their second, more robust
  reference), with its standard error ``s_k``.
- **Stability** (Hennig, 2007; Lange et al., 2004): the method is refitted on bootstrap resamples and
  each refit assigns every row; the adjusted Rand index between those assignments and the full fit, mean
  and 95% percentile interval. Hennig's reading: below 0.6 a cluster structure dissolves, above 0.75 it
  is stable.

The rule (:func:`choose`): the number of clusters is where the gap curve bends: from the largest single
gain in the gap on, the last k whose added cluster still gains at least a quarter of it (Tibshirani's own
"first k within one standard error of the next" keeps splitting real sub-groups, such as the sexes within
penguin species, and silhouette alone prefers the coarsest split). Among the methods at that k, the
unstable ones (mean ARI under 0.75) are set aside, and of the others the best silhouette wins, where a
silhouette within 0.02 of the best counts as a tie that stability breaks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    completeness_score,
    davies_bouldin_score,
    homogeneity_score,
    normalized_mutual_info_score,
    silhouette_samples,
    silhouette_score,
)

#: Fewest bootstrap resamples a stability is reported from.
MIN_RESAMPLES = 5
#: Rows the silhouette is computed on, at most (it costs O(n²)).
SILHOUETTE_ROWS = 3000
#: Mean bootstrap ARI from which a clustering counts as stable (Hennig, 2007).
STABLE = 0.75
#: Share of the largest gain in the gap statistic an added cluster must still bring.
GAIN_SHARE = 0.25
#: Silhouettes this close to the best count as tied.
SILHOUETTE_TIE = 0.02


def internal_scores(Z: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float]:
    """Silhouette, Calinski–Harabasz and Davies–Bouldin on the non-noise rows (NaN under 2 clusters)."""
    keep = labels != -1
    n_clusters = len(set(labels[keep].tolist()))
    nan = {"silhouette": math.nan, "calinski_harabasz": math.nan, "davies_bouldin": math.nan}
    if n_clusters < 2 or n_clusters >= keep.sum():
        return nan
    Zk, lk = Z[keep], labels[keep]
    size = SILHOUETTE_ROWS if len(Zk) > SILHOUETTE_ROWS else None
    return {
        "silhouette": float(silhouette_score(Zk, lk, sample_size=size, random_state=seed)),
        "calinski_harabasz": float(calinski_harabasz_score(Zk, lk)),
        "davies_bouldin": float(davies_bouldin_score(Zk, lk)),
    }


def silhouettes(Z: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row silhouettes of at most :data:`SILHOUETTE_ROWS` non-noise rows, and their labels."""
    keep = np.flatnonzero(labels != -1)
    if len(keep) > SILHOUETTE_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(keep, SILHOUETTE_ROWS, replace=False))
    if len(set(labels[keep].tolist())) < 2:
        return np.array([]), np.array([], dtype=np.int64)
    return silhouette_samples(Z[keep], labels[keep]), labels[keep]


def external_scores(truth: pd.Series, labels: np.ndarray) -> dict[str, float]:
    """Agreement with known classes (rows where they are missing left out): ARI, NMI, homogeneity,
    completeness."""
    known = truth.notna().to_numpy()
    t = truth[known].astype(str).to_numpy()
    p = labels[known]
    return {
        "ari": float(adjusted_rand_score(t, p)),
        "nmi": float(normalized_mutual_info_score(t, p)),
        "homogeneity": float(homogeneity_score(t, p)),
        "completeness": float(completeness_score(t, p)),
    }


def gap_curve(Z: np.ndarray, inertia: dict[int, float], seed: int, references: int = 10) -> pd.DataFrame:
    """Gap statistic and its standard error for each k of ``inertia`` (k-means on the data).

    The references are uniform in the box of the principal axes of ``Z``, clustered with k-means (3
    starts each).
    """
    rng = np.random.default_rng(seed)
    centre = Z.mean(axis=0)
    _, _, vt = np.linalg.svd(Z - centre, full_matrices=False)
    rotated = (Z - centre) @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    ks = sorted(inertia)
    logs = np.empty((references, len(ks)))
    for b in range(references):
        ref = rng.uniform(low, high, size=rotated.shape) @ vt + centre
        for j, k in enumerate(ks):
            w = KMeans(n_clusters=k, n_init=3, random_state=seed + b).fit(ref).inertia_ if k > 1 else _ss(ref)
            logs[b, j] = math.log(max(w, 1e-300))
    gap = logs.mean(axis=0) - np.log(np.maximum([inertia[k] for k in ks], 1e-300))
    se = logs.std(axis=0) * math.sqrt(1 + 1 / references)
    return pd.DataFrame({"k": ks, "gap": gap, "gap_se": se})


def _ss(X: np.ndarray) -> float:
    return float(((X - X.mean(axis=0)) ** 2).sum())


def total_inertia(Z: np.ndarray) -> float:
    """The within-cluster sum of squares of a single cluster (k = 1)."""
    return _ss(Z)


def gap_elbow(curve: pd.DataFrame) -> int:
    """The k where the gap curve bends: from the k of the largest single gain on, the last k before an
    added cluster gains less than :data:`GAIN_SHARE` of that largest gain (at least 2)."""
    curve = curve.sort_values("k")
    ks, gap = curve["k"].to_numpy(), curve["gap"].to_numpy()
    gains = np.diff(gap)  # gains[i]: from ks[i] to ks[i + 1]
    if len(gains) == 0 or gains.max() <= 0:
        return int(max(ks[min(1, len(ks) - 1)], 2))
    top = int(np.argmax(gains))
    chosen = int(ks[top + 1])
    for i in range(top + 1, len(gains)):
        if gains[i] < GAIN_SHARE * gains[top]:
            break
        chosen = int(ks[i + 1])
    return max(chosen, 2)


def summarise_stability(scores: list[float]) -> dict[str, float]:
    """Mean adjusted Rand index over the resamples and its 95% percentile interval (NaN under
    :data:`MIN_RESAMPLES`)."""
    if len(scores) < MIN_RESAMPLES:
        return {"stability": math.nan, "stability_low": math.nan, "stability_high": math.nan, "resamples": 0}
    values = np.asarray(scores)
    return {
        "stability": float(values.mean()),
        "stability_low": float(np.percentile(values, 2.5)),
        "stability_high": float(np.percentile(values, 97.5)),
        "resamples": len(scores),
    }


def choose(table: pd.DataFrame, k: int) -> tuple[int, str]:
    """The row of ``table`` (method, k, silhouette, stability, n_clusters) chosen at ``k`` clusters, and
    the reason in one sentence.

    Rows whose ``n_clusters`` is ``k`` compete; see the module docstring for the rule.
    """
    at_k = table[(table["n_clusters"] == k) & table["silhouette"].notna()]
    if at_k.empty:
        at_k = table[table["n_clusters"] == k]
    if at_k.empty:
        raise ValueError(f"no clustering with {k} clusters to choose from")
    stable = at_k[at_k["stability"].isna() | (at_k["stability"] >= STABLE)]
    pool = stable if not stable.empty else at_k
    best_sil = pool["silhouette"].max()
    tied = pool[pool["silhouette"] >= best_sil - SILHOUETTE_TIE] if pd.notna(best_sil) else pool
    order = tied.assign(_s=tied["stability"].fillna(-1.0)).sort_values(
        ["_s", "silhouette"], ascending=False, kind="stable"
    )
    index = int(order.index[0])
    row = table.loc[index]
    others = len(at_k) - 1
    if at_k["stability"].isna().all():
        index = int(at_k["silhouette"].idxmax()) if at_k["silhouette"].notna().any() else int(at_k.index[0])
        return index, f"best silhouette at k = {k} (stability not measured)"
    if stable.empty:
        why = f"no method is stable at k = {k} (mean bootstrap ARI ≥ {STABLE}); the most stable one is kept"
    elif len(tied) > 1:
        why = (
            f"{len(tied)} methods tie on silhouette (within {SILHOUETTE_TIE}) at k = {k}; the most stable "
            f"(mean bootstrap ARI {row['stability']:.2f}) is kept"
        )
    elif others:
        why = f"best silhouette ({row['silhouette']:.3f}) among the stable methods at k = {k}"
    else:
        why = f"the only method compared at k = {k}"
    return index, why
