"""Assign new rows to the clusters of a method that has no ``predict`` of its own.

Agglomerative clustering and HDBSCAN label the rows they were fitted on only; DBSCAN defines membership
through its core points. :class:`NearestAssigner` keeps reference points with their labels and gives a
new row the label of the nearest one, within a radius when there is one (farther: noise, ``-1``):

- DBSCAN: the core points, within ``eps`` (DBSCAN's own definition of a border point). Border rows of the
  fitted data are relabelled to the cluster of their nearest core point, as DBSCAN's own choice among
  several reachable clusters depends on the order of the rows; so ``predict`` on the fitted rows gives
  back exactly their clusters.
- Agglomerative clustering and HDBSCAN: every fitted row (nearest neighbour), which also gives back the
  fitted rows' clusters exactly.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

#: Rows compared with the reference points at a time (bounds memory at CHUNK × references floats).
CHUNK = 2048


def nearest(X: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest row of ``points`` for each row of ``X``, and its Euclidean distance."""
    X = np.asarray(X, dtype=np.float64)
    index = np.empty(len(X), dtype=np.int64)
    distance = np.empty(len(X), dtype=np.float64)
    sq_points = np.einsum("ij,ij->i", points, points)
    for start in range(0, len(X), CHUNK):
        part = X[start : start + CHUNK]
        d2 = np.einsum("ij,ij->i", part, part)[:, None] - 2.0 * part @ points.T + sq_points[None, :]
        best = np.argmin(d2, axis=1)
        index[start : start + CHUNK] = best
        distance[start : start + CHUNK] = np.sqrt(np.maximum(d2[np.arange(len(part)), best], 0.0))
    return index, distance


class NearestAssigner(ClusterMixin, BaseEstimator):
    """Label rows by their nearest reference point.

    Parameters
    ----------
    method : str
        The clustering method the labels come from (``"dbscan"``, ``"agglomerative"``, ``"hdbscan"``).
    rule : {"nearest core point", "nearest fitted row"}
        How new rows are assigned; said in the bundle.
    radius : float or None
        Farther than this from every reference point, a row is noise (``-1``); ``None``: no limit.
    """

    def __init__(
        self, method: str = "agglomerative", rule: str = "nearest fitted row", radius: float | None = None
    ):
        self.method = method
        self.rule = rule
        self.radius = radius

    def fit(self, X, y) -> NearestAssigner:
        """Keep the rows ``X`` (already encoded) with their labels ``y`` as reference points."""
        self.points_ = np.ascontiguousarray(X, dtype=np.float64)
        self.point_labels_ = np.asarray(y, dtype=np.int64)
        self.n_features_in_ = self.points_.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """The label of each row's nearest reference point (``-1`` beyond ``radius``)."""
        check_is_fitted(self, "points_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} encoded columns, got {X.shape}")
        if len(self.points_) == 0:
            return np.full(len(X), -1, dtype=np.int64)
        index, distance = nearest(X, self.points_)
        labels = self.point_labels_[index].copy()
        if self.radius is not None:
            labels[distance > self.radius] = -1
        return labels
