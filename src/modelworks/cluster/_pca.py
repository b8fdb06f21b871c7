"""Principal components of the encoded rows (scree, biplot, projection) and an optional t-SNE view."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

#: Rows t-SNE is computed on, at most.
TSNE_ROWS = 5000


@dataclass
class Projection:
    """PCA of the encoded rows.

    Attributes
    ----------
    explained : ndarray
        Share of variance of each component (at most 20).
    coords : ndarray of shape (n, 2)
        Every row on the first two components.
    loadings : ndarray of shape (2, p)
        The first two components' weights on the encoded features.
    features : list of str
        The encoded features' names.
    tsne : ndarray of shape (m, 2) or None
        A t-SNE view of the rows ``tsne_rows`` (all rows up to :data:`TSNE_ROWS`).
    """

    explained: np.ndarray
    coords: np.ndarray
    loadings: np.ndarray
    features: list[str]
    tsne: np.ndarray | None = None
    tsne_rows: np.ndarray | None = None


def project(Z: np.ndarray, features, seed: int, tsne: bool = False) -> Projection:
    """The :class:`Projection` of the encoded matrix ``Z``."""
    n, p = Z.shape
    components = max(1, min(20, n, p))
    pca = PCA(n_components=components, random_state=seed).fit(Z)
    coords = pca.transform(Z)
    if coords.shape[1] == 1:  # one feature: the second axis is flat
        coords = np.column_stack([coords, np.zeros(n)])
    loadings = pca.components_[:2] if components >= 2 else np.vstack([pca.components_, np.zeros((1, p))])
    view = rows = None
    if tsne:
        from sklearn.manifold import TSNE

        rows = np.arange(n)
        if n > TSNE_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(n, TSNE_ROWS, replace=False))
        perplexity = float(min(30, max(2, (len(rows) - 1) / 3)))
        view = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(Z[rows])
    return Projection(
        pca.explained_variance_ratio_, coords[:, :2], loadings, [str(f) for f in features], view, rows
    )
