"""Bootstrap stability of every candidate clustering (see :mod:`._evidence` for the reading).

Each method is refitted on the same bootstrap resamples for every k it was compared at, and one refit
serves every k where it can: Ward's tree is built once per resample and cut at each k, and the nearest
resampled row of every row is found once. Each refit assigns every row of the data (new rows are
assigned as ``predict`` assigns them), and the adjusted Rand index with the full fit is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy.cluster.hierarchy import fcluster
from sklearn.metrics import adjusted_rand_score

from modelworks.cluster import _methods as mt
from modelworks.cluster._assign import nearest
from modelworks.cluster._evidence import MIN_RESAMPLES, summarise_stability

#: Resamples per candidate, most first: the largest the time left affords (twice over) is used.
TIERS = (20, 10, MIN_RESAMPLES)


def _resampler(
    method: str, fits: list[mt.Fit], Z: np.ndarray, seed: int
) -> Callable[[np.ndarray, int], list]:
    """``refit(rows, b)``: the labels of every row of ``Z`` by each of ``fits`` refitted on ``Z[rows]``."""

    def refit(rows: np.ndarray, b: int) -> list[np.ndarray]:
        part = Z[rows]
        if method == "kmeans":
            return [mt.kmeans(part, f.k, seed + b + 1, n_init=3).model.predict(Z) for f in fits]  # type: ignore[arg-type]
        if method == "gmm":
            return [
                mt.gmm(part, f.k, seed + b + 1, f.extra["covariance"], n_init=1).model.predict(Z)  # type: ignore[arg-type]
                for f in fits
            ]
        if method == "agglomerative":
            tree = mt.ward_tree(part)
            index, _ = nearest(Z, part)
            return [mt.renumber(fcluster(tree, t=f.k, criterion="maxclust"))[index] for f in fits]
        if method == "dbscan":
            return [mt.dbscan(part, f.extra["eps"], f.extra["min_samples"]).model.predict(Z) for f in fits]
        return [mt.hdbscan(part, f.extra["min_cluster_size"]).model.predict(Z) for f in fits]

    return refit


def measure(
    fits: list[mt.Fit], Z: np.ndarray, seed: int, seconds_left: Callable[[], float]
) -> tuple[list[dict], int]:
    """Stability of each fit, and the number of resamples each got.

    One resample of every method is timed first; then as many as the first tier of :data:`TIERS` whose
    cost fits in half the time left (so that, short of a binding budget, timing never changes the
    result). Under :data:`MIN_RESAMPLES`, stability is not reported.
    """
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(fits):
        groups.setdefault(f.method, []).append(i)
    refits = {m: _resampler(m, [fits[i] for i in idx], Z, seed) for m, idx in groups.items()}
    rngs = {m: np.random.default_rng([seed, j]) for j, m in enumerate(groups)}
    scores: list[list[float]] = [[] for _ in fits]

    def one_round(b: int) -> None:
        for m, idx in groups.items():
            rows = rngs[m].choice(len(Z), len(Z), replace=True)
            for i, labels in zip(idx, refits[m](rows, b), strict=True):
                scores[i].append(float(adjusted_rand_score(fits[i].labels, labels)))

    if seconds_left() <= 0:
        return [summarise_stability([]) for _ in fits], 0
    started = time.perf_counter()
    one_round(0)
    cost = time.perf_counter() - started
    resamples = next((t for t in TIERS if (t - 1) * cost <= 0.5 * seconds_left()), 1)
    for b in range(1, resamples):
        one_round(b)
    return [summarise_stability(s) for s in scores], resamples
