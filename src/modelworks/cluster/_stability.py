"""Bootstrap stability of every candidate clustering (see :mod:`._evidence` for the reading).

Each method is refitted on the same bootstrap resamples for every k it was compared at, and one refit
serves every k where it can: Ward's tree is built once per resample and cut at each k, and the nearest
resampled row of every row is found once. Each refit assigns every row of the data (new rows are
assigned as ``predict`` assigns them), and the adjusted Rand index with the full fit is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster
from sklearn.metrics import adjusted_rand_score

from modelworks.cluster import _methods as mt
from modelworks.cluster._assign import nearest
from modelworks.cluster._evidence import MIN_RESAMPLES, summarise_stability

#: Resamples per candidate, most first: the largest the time left affords (twice over) is used.
TIERS = (20, 10, MIN_RESAMPLES)
#: Seconds a resample on a cluster is awaited at least, even when the budget is spent.
MIN_WAIT = 5.0


def refit_labels(
    method: str, specs: list[tuple[int | None, dict]], Z: np.ndarray, rows: np.ndarray, seed: int
):
    """The labels of every row of ``Z`` by ``method`` refitted on ``Z[rows]`` once per ``(k, extra)`` of
    ``specs`` (resample number ``seed``: each resample's own seed). Runs here or as a Dask task."""
    part = Z[rows]
    if method == "kmeans":
        return [mt.kmeans(part, k, seed, n_init=3).model.predict(Z) for k, _ in specs]  # type: ignore[arg-type]
    if method == "gmm":
        return [
            mt.gmm(part, k, seed, extra["covariance"], n_init=1).model.predict(Z)  # type: ignore[arg-type]
            for k, extra in specs
        ]
    if method == "agglomerative":
        tree = mt.ward_tree(part)
        index, _ = nearest(Z, part)
        return [mt.renumber(fcluster(tree, t=k, criterion="maxclust"))[index] for k, _ in specs]
    if method == "dbscan":
        return [mt.dbscan(part, e["eps"], e["min_samples"]).model.predict(Z) for _, e in specs]
    return [mt.hdbscan(part, e["min_cluster_size"]).model.predict(Z) for _, e in specs]


def measure(
    fits: list[mt.Fit], Z: np.ndarray, seed: int, seconds_left: Callable[[], float], cluster: Any = None
) -> tuple[list[dict], int]:
    """Stability of each fit, and the number of resamples each got.

    One resample of every method is timed first; then as many as the first tier of :data:`TIERS` whose
    cost fits in half the time left (so that, short of a binding budget, timing never changes the
    result). Under :data:`MIN_RESAMPLES`, stability is not reported. With ``cluster`` (a
    :class:`~modelworks.distributed.Connection`), each method's refit on each resample is a Dask task:
    ``Z`` is sent once, the tier counts the cluster's threads, and the resamples are the same as here.
    """
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(fits):
        groups.setdefault(f.method, []).append(i)
    specs = {m: [(fits[i].k, fits[i].extra) for i in idx] for m, idx in groups.items()}
    rngs = {m: np.random.default_rng([seed, j]) for j, m in enumerate(groups)}
    scores: list[list[float]] = [[] for _ in fits]
    data = Z if cluster is None else cluster.scatter(Z)

    def draw() -> dict[str, np.ndarray]:
        return {m: rngs[m].choice(len(Z), len(Z), replace=True) for m in groups}

    def record(m: str, labels: list[np.ndarray]) -> None:
        for i, got in zip(groups[m], labels, strict=True):
            scores[i].append(float(adjusted_rand_score(fits[i].labels, got)))

    def run_rounds(rounds: list[dict[str, np.ndarray]], first: int) -> None:
        if cluster is None:
            for b, rows in enumerate(rounds, start=first):
                for m in groups:
                    record(m, refit_labels(m, specs[m], Z, rows[m], seed + b + 1))
            return
        futures = [
            (m, cluster.client.submit(refit_labels, m, specs[m], data, rows[m], seed + b + 1, pure=False))
            for b, rows in enumerate(rounds, start=first)
            for m in groups
        ]
        try:
            for m, future in futures:  # in submission order: the same scores as here
                record(m, future.result(timeout=max(seconds_left(), MIN_WAIT)))
        except TimeoutError:  # the budget ends first (or the cluster lost its workers): whole rounds only
            cluster.client.cancel([f for _, f in futures], force=True)
            done = min(len(s) for s in scores)
            for s in scores:
                del s[done:]

    if seconds_left() <= 0:
        return [summarise_stability([]) for _ in fits], 0
    started = time.perf_counter()
    run_rounds([draw()], 0)
    cost = time.perf_counter() - started
    parallel = 1 if cluster is None else max(cluster.threads(), 1)
    resamples = next((t for t in TIERS if (t - 1) * cost / parallel <= 0.5 * seconds_left()), 1)
    run_rounds([draw() for _ in range(1, resamples)], 1)
    return [summarise_stability(s) for s in scores], min(len(s) for s in scores)
