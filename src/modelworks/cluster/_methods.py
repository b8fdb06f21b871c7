"""One fit of one clustering method: its labels on the fitted rows and a model that assigns new rows.

Every function takes the encoded matrix ``Z`` (see :mod:`._table`) and returns a :class:`Fit`. Labels
are integers from 0, numbered in order of first appearance (so two fits that agree up to numbering
look alike), and ``-1`` marks noise (density methods only).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from modelworks.cluster._assign import NearestAssigner

LABELS = {
    "kmeans": "k-means",
    "gmm": "Gaussian mixture",
    "agglomerative": "agglomerative (Ward)",
    "dbscan": "DBSCAN",
    "hdbscan": "HDBSCAN",
}
COVARIANCES = ("full", "tied", "diag", "spherical")


@dataclass
class Fit:
    """One fitted clustering.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    k : int or None
        The number of clusters asked for (``None`` for density methods, which find it).
    labels : ndarray of int
        Cluster of each fitted row (``-1``: noise).
    model : estimator
        Assigns encoded rows to clusters with ``predict`` (KMeans, GaussianMixture or
        :class:`~._assign.NearestAssigner`).
    extra : dict
        What the method reports: ``inertia``, ``bic`` and ``covariance``, ``eps`` and ``min_samples``.
    seconds : float
        Fit time.
    """

    method: str
    k: int | None
    labels: np.ndarray
    model: Any
    extra: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n_clusters(self) -> int:
        return int(len(set(self.labels.tolist()) - {-1}))

    @property
    def noise_share(self) -> float:
        return float(np.mean(self.labels == -1))


def renumber(labels: np.ndarray) -> np.ndarray:
    """Labels numbered 0, 1, … in order of first appearance; ``-1`` kept."""
    labels = np.asarray(labels)
    out = np.full(len(labels), -1, dtype=np.int64)
    mapping: dict[int, int] = {}
    for i, value in enumerate(labels.tolist()):
        if value == -1:
            continue
        if value not in mapping:
            mapping[value] = len(mapping)
        out[i] = mapping[value]
    return out


def kmeans(Z: np.ndarray, k: int, seed: int, n_init: int = 10) -> Fit:
    """k-means (k-means++ starts, the best of ``n_init``)."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(Z)
    labels = model.labels_.astype(np.int64)
    return Fit("kmeans", k, labels, model, {"inertia": float(model.inertia_)}, time.perf_counter() - started)


def gmm(Z: np.ndarray, k: int, seed: int, covariance: str | None = None, n_init: int = 1) -> Fit:
    """A Gaussian mixture; without ``covariance``, the covariance type of least BIC (as mclust does)."""
    started = time.perf_counter()
    best: tuple[float, str, GaussianMixture] | None = None
    n, d = Z.shape
    # covariance types with fewer parameters than rows (BIC cannot support more; they also cost d³)
    affordable = [c for c in COVARIANCES if _covariance_parameters(c, k, d) < n] or ["spherical"]
    for cov in (covariance,) if covariance else affordable:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = GaussianMixture(k, covariance_type=cov, n_init=n_init, reg_covar=1e-4, random_state=seed)
            model.fit(Z)
        bic = float(model.bic(Z))
        if best is None or bic < best[0]:
            best = (bic, cov, model)
    assert best is not None
    bic, cov, model = best
    labels = model.predict(Z).astype(np.int64)
    return Fit("gmm", k, labels, model, {"bic": bic, "covariance": cov}, time.perf_counter() - started)


def _covariance_parameters(covariance: str, k: int, d: int) -> int:
    return {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d, "spherical": k}[covariance]


def ward_tree(Z: np.ndarray) -> np.ndarray:
    """The Ward linkage matrix (scipy's ``linkage``), computed once for every k."""
    return linkage(Z, method="ward")


def agglomerative(Z: np.ndarray, k: int, tree: np.ndarray | None = None) -> Fit:
    """Ward's agglomerative clustering cut into ``k`` clusters; new rows go to their nearest fitted row."""
    started = time.perf_counter()
    tree = ward_tree(Z) if tree is None else tree
    labels = renumber(fcluster(tree, t=k, criterion="maxclust"))
    model = NearestAssigner("agglomerative", "nearest fitted row").fit(Z, labels)
    return Fit("agglomerative", k, labels, model, {}, time.perf_counter() - started)


def k_distances(Z: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its ``k``-th nearest other row."""
    k = min(k, len(Z) - 1)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)
    return distances[:, -1]


def knee(values: np.ndarray) -> float:
    """The knee of an increasing curve: the point farthest below the chord from its first to its last
    point, both axes scaled to [0, 1] (the "kneedle" rule)."""
    y = np.sort(np.asarray(values, dtype=np.float64))
    if len(y) < 3 or y[-1] <= y[0]:
        return float(y[-1]) if len(y) else 0.0
    x = np.linspace(0.0, 1.0, len(y))
    scaled = (y - y[0]) / (y[-1] - y[0])
    return float(y[int(np.argmax(x - scaled))])


def dbscan_settings(Z: np.ndarray) -> dict:
    """``min_samples`` twice the number of dimensions (Sander et al., 1998; at most a tenth of the rows),
    ``eps`` at the knee of the sorted ``min_samples``-distances, and those distances for the plot."""
    n, d = Z.shape
    min_samples = int(max(3, min(2 * d, n // 10)))
    distances = k_distances(Z, min_samples - 1)
    eps = knee(distances)
    if eps <= 0:
        eps = float(np.max(distances)) or 1.0
    return {"min_samples": min_samples, "eps": eps, "k_distances": distances}


def dbscan(Z: np.ndarray, eps: float, min_samples: int) -> Fit:
    """DBSCAN; every row that is not a core row takes the cluster of its nearest core row within ``eps``,
    or is noise (see :mod:`._assign`), exactly as ``predict`` will assign it."""
    started = time.perf_counter()
    model = DBSCAN(eps=eps, min_samples=min_samples).fit(Z)
    core = np.zeros(len(Z), dtype=bool)
    core[model.core_sample_indices_] = True
    labels = renumber(model.labels_)
    # a hair above eps: the knee is itself a distance between two rows, which DBSCAN counts as within
    assigner = NearestAssigner("dbscan", "nearest core point", radius=float(eps) * (1 + 1e-9))
    assigner.fit(Z[core], labels[core])
    if (~core).any():
        labels[~core] = assigner.predict(Z[~core])
    extra = {"eps": float(eps), "min_samples": int(min_samples)}
    return Fit("dbscan", None, labels, assigner, extra, time.perf_counter() - started)


def hdbscan(Z: np.ndarray, min_cluster_size: int | None = None) -> Fit:
    """HDBSCAN (smallest cluster: 2% of the rows, at least 5); new rows go to their nearest fitted row."""
    started = time.perf_counter()
    size = min_cluster_size or max(5, round(0.02 * len(Z)))
    labels = renumber(HDBSCAN(min_cluster_size=size, copy=True).fit(Z).labels_)
    model = NearestAssigner("hdbscan", "nearest fitted row").fit(Z, labels)
    return Fit("hdbscan", None, labels, model, {"min_cluster_size": size}, time.perf_counter() - started)
