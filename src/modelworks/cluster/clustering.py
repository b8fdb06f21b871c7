"""``Clustering``: compare clustering methods and numbers of clusters on a table, choose one with
evidence, explain the clusters, and save a bundle that assigns new rows.

>>> import modelworks as mw
>>> cl = mw.Clustering("penguins.csv", exclude=("species",), seed=0).fit()   # doctest: +SKIP
>>> cl.comparison          # method × k: silhouette, Calinski–Harabasz, Davies–Bouldin, stability, …
>>> cl.chosen, cl.reason   # the clustering kept, and why
>>> cl.profiles[0].sentence
>>> cl.save("out/penguins")
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from modelworks.cluster import _evidence as ev
from modelworks.cluster import _methods as mt
from modelworks.cluster import _stability
from modelworks.cluster._explain import ClusterProfile, feature_tests, profile_clusters, standardised_centres
from modelworks.cluster._options import DENSITY, METHODS, PARTITIONING, check_cluster_options
from modelworks.cluster._pca import Projection, project
from modelworks.cluster._table import Table, encode, read_table
from modelworks.errors import ConfigError

#: Rows the comparison is run on, at most; the chosen method is then fitted on every row.
COMPARE_ROWS = 5000
#: Rows the cluster profiles are tested on, at most (a sample beyond: p-values are ~0 long before).
PROFILE_ROWS = 20_000
#: Rows the gap statistic is computed on, at most.
GAP_ROWS = 2000
#: The largest k compared when ``k="auto"``.
MAX_K = 10
#: Share of the time left (after the finishing reserve) after which no further (method, k) is fitted:
#: the rest is for the gap statistic and the bootstrap.
FIT_SHARE = 0.4


def finish_seconds(n: int, d: int) -> float:
    """Seconds kept for what follows the choice: assigning every row, the profiles, PCA, the report and
    the bundle (measured on this 2-core machine: 14 s for 200,000 rows of 15 encoded columns)."""
    assign = 4e-10 * n * min(n, COMPARE_ROWS) * d if n > COMPARE_ROWS else 0.0
    return 3.0 + 2e-5 * n + assign


@dataclass
class Chosen:
    """The clustering kept: ``method``, ``k`` (asked for; ``None`` for density methods), ``n_clusters``."""

    method: str
    k: int | None
    n_clusters: int

    @property
    def label(self) -> str:
        base = mt.LABELS[self.method]
        return f"{base}, k = {self.k}" if self.k is not None else f"{base} ({self.n_clusters} clusters found)"


def _as_frame(data: Any) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, "DataFrame"
    if isinstance(data, (str, os.PathLike)):
        from modelworks.data.load import load

        return load(data), str(data)
    raise ConfigError(f"data must be a DataFrame or a path to a table (got {type(data).__name__})")


class Clustering:
    """Find clusters in a table without a target.

    Parameters
    ----------
    data : DataFrame or path
        The rows to cluster (any format :func:`modelworks.load` reads).
    method : {"auto", "all", "kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"}
        ``"auto"`` compares k-means, Gaussian mixtures and Ward's agglomerative clustering; ``"all"``
        adds DBSCAN and HDBSCAN, which find their own number of clusters.
    k : "auto" or int
        Number of clusters; ``"auto"`` chooses it from the evidence (see :mod:`._evidence`).
    exclude : sequence of str
        Columns left out.
    label : str, optional
        A column of known classes: never used for fitting, only to score the clusters (ARI, NMI,
        homogeneity, completeness).
    time_budget : float, optional
        Seconds for the whole run; the bootstrap is cut to what it affords (down to 5 resamples per
        candidate, then left out and said so).
    seed : int
        Seed of every random choice: the same data and seed give the same clusters.
    scaling : {"standard", "robust"}
        How numbers are scaled before distances.
    tsne : bool
        Also compute a 2-D t-SNE view (on at most 5,000 rows).
    started : float, optional
        ``time.perf_counter()`` at which the budget started (default: now).
    cluster : str, optional
        Refit the bootstrap resamples of the stability check as tasks on a Dask cluster: ``"local:N"``
        or ``"tcp://HOST:PORT"`` (see :mod:`modelworks.distributed`); the same resamples, the same
        scores.
    """

    def __init__(
        self,
        data: Any,
        *,
        method: str = "auto",
        k: int | str = "auto",
        exclude: tuple[str, ...] | list[str] = (),
        label: str | None = None,
        time_budget: float | None = 60.0,
        seed: int = 0,
        scaling: str = "standard",
        tsne: bool = False,
        started: float | None = None,
        cluster: str | None = None,
    ):
        self.started = time.perf_counter() if started is None else started
        k = check_cluster_options(method=method, k=k, time_budget=time_budget, seed=seed, scaling=scaling)
        frame, self.source = _as_frame(data)
        self.data: Table = read_table(frame, exclude=tuple(exclude), label=label)
        n = len(self.data.X)
        if k != "auto" and k >= n:  # type: ignore[operator]
            raise ConfigError(f"k = {k} clusters needs more rows than that; the table has {n}")
        if cluster is not None:
            from modelworks.options import check_cluster

            cluster = check_cluster(cluster)
        self.cluster = cluster
        self.method, self.k, self.label_column = method, k, label
        self.time_budget, self.seed, self.scaling, self.tsne = time_budget, seed, scaling, tsne
        self.fitted = False
        self._reserve = 0.0

    # ----------------------------------------------------------------------------------------------
    def _left(self) -> float:
        """Seconds of the budget left, less the reserve for finishing."""
        if self.time_budget is None:
            return math.inf
        return self.time_budget - (time.perf_counter() - self.started) - self._reserve

    def fit(self) -> Clustering:
        """Compare, choose, explain. Returns ``self``."""
        seed = self.seed
        self.encoder_, Z = encode(self.data, self.scaling)
        if Z.shape[1] == 0 or np.allclose(Z, Z[0]):
            raise ConfigError("every row is the same in the columns used; there is nothing to cluster")
        n = len(Z)
        self._reserve = finish_seconds(n, Z.shape[1])
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, COMPARE_ROWS, replace=False)) if n > COMPARE_ROWS else np.arange(n)
        Zs = Z[sample]
        self.compare_rows = len(sample)
        distinct = len(np.unique(Zs, axis=0))
        top = min(MAX_K, distinct - 1) if self.k == "auto" else int(self.k)
        if top < 2:
            raise ConfigError(
                f"only {distinct} distinct row(s) in the columns used; at least 3 are needed to cluster"
            )
        ks = list(range(2, top + 1)) if self.k == "auto" else [int(self.k)]
        methods = (
            PARTITIONING if self.method == "auto" else METHODS if self.method == "all" else (self.method,)
        )
        # the evidence for k first: the gap curve of k-means from k = 1, on at most GAP_ROWS rows
        Zg = Zs if len(Zs) <= GAP_ROWS else Zs[np.sort(rng.choice(len(Zs), GAP_ROWS, replace=False))]
        if self.k == "auto":
            self.inertia_ = {1: ev.total_inertia(Zg)}
            self.inertia_.update({k: mt.kmeans(Zg, k, seed).extra["inertia"] for k in ks})
            self.gap_ = ev.gap_curve(Zg, self.inertia_, seed, references=10 if self._left() > 20 else 5)
            k_star = ev.gap_elbow(self.gap_)
            self.k_reason = (
                f"k = {k_star}: where the gap statistic bends (the next cluster gains less than "
                f"{ev.GAIN_SHARE:.0%} of the largest gain)"
            )
        else:
            self.gap_, self.inertia_ = None, {}
            k_star = int(self.k)
            self.k_reason = f"k = {k_star} given"
        self.k_star = k_star
        fits: list[mt.Fit] = []
        tree = None
        # k* first for every method, then the other k nearest to it first: a binding budget cuts the
        # candidates least likely to be chosen
        deadline = None if self.time_budget is None else time.perf_counter() + FIT_SHARE * self._left()
        self.skipped: list[str] = []
        for k in sorted(ks, key=lambda k: (abs(k - k_star), k)):
            for method in (m for m in methods if m in PARTITIONING):
                if deadline is not None and time.perf_counter() > deadline and k != k_star:
                    self.skipped.append(f"{mt.LABELS[method]}, k = {k}")
                    continue
                if method == "kmeans":
                    fits.append(mt.kmeans(Zs, k, seed))
                elif method == "gmm":
                    fits.append(mt.gmm(Zs, k, seed))
                else:
                    if tree is None:
                        tree = mt.ward_tree(Zs)
                    fits.append(mt.agglomerative(Zs, k, tree))
        if "dbscan" in methods:
            self.dbscan_settings_ = mt.dbscan_settings(Zs)
            fits.append(mt.dbscan(Zs, self.dbscan_settings_["eps"], self.dbscan_settings_["min_samples"]))
        if "hdbscan" in methods:
            fits.append(mt.hdbscan(Zs))
        fits.sort(key=lambda f: (METHODS.index(f.method), f.k or 0))
        self.linkage_ = tree
        rows = []
        for f in fits:
            scores = ev.internal_scores(Zs, f.labels, seed)
            rows.append(
                {
                    "method": f.method,
                    "k": f.k,
                    "n_clusters": f.n_clusters,
                    "noise_share": f.noise_share,
                    **scores,
                    "inertia": f.extra.get("inertia", math.nan),
                    "bic": f.extra.get("bic", math.nan),
                    "covariance": f.extra.get("covariance"),
                    "fit_seconds": f.seconds,
                }
            )
        table = pd.DataFrame(rows)
        self._stability(table, fits, Zs)
        if self.method in DENSITY:
            index, why = 0, f"{mt.LABELS[self.method]} asked for; it found {fits[0].n_clusters} cluster(s)"
        elif (table["n_clusters"] == k_star).any():
            index, why = ev.choose(table, k_star)
        else:
            index, why = int(table["silhouette"].idxmax()), "best silhouette"
        chosen = fits[index]
        self.comparison = table
        self.chosen = Chosen(chosen.method, chosen.k, chosen.n_clusters)
        self.reason = why
        self.model_, labels = self._final(chosen, Z, sample)
        self.labels_ = labels
        self.pipeline_ = Pipeline([*self.encoder_.steps, ("cluster", self.model_)])
        tested = _profile_rows(labels, seed)
        self.profile_rows = len(tested)
        cleaned = self.encoder_.named_steps["clean"].transform(self.data.X.iloc[tested])
        sizes = {int(c): int(m) for c, m in zip(*np.unique(labels, return_counts=True), strict=True)}
        self.profiles: list[ClusterProfile] = profile_clusters(
            cleaned, labels[tested], self.data.numeric, self.data.categorical, sizes=sizes
        )
        self.feature_tests = feature_tests(cleaned, labels[tested], self.data.numeric, self.data.categorical)
        self.centres = standardised_centres(cleaned, labels[tested], self.data.numeric)
        self.external = ev.external_scores(self.data.label, labels) if self.data.label is not None else None
        self.silhouette_values_, self.silhouette_labels_ = ev.silhouettes(Z, labels, seed)
        self.projection: Projection = project(
            Z, self.encoder_.named_steps["encode"].get_feature_names_out(), seed, tsne=self.tsne
        )
        self.seconds = time.perf_counter() - self.started
        self.fitted = True
        return self

    def _stability(self, table: pd.DataFrame, fits: list[mt.Fit], Z: np.ndarray) -> None:
        """Bootstrap stability of every candidate (see :mod:`._stability`), in ``table``."""
        if self.cluster is None:
            out, resamples = _stability.measure(fits, Z, self.seed, self._left)
        else:
            from modelworks.distributed import connect

            connection = connect(self.cluster)
            try:
                out, resamples = _stability.measure(fits, Z, self.seed, self._left, connection)
            finally:
                connection.close()
        for key in ("stability", "stability_low", "stability_high", "resamples"):
            table[key] = [o[key] for o in out]
        full = _stability.TIERS[0]
        self.stability_note = (
            f"stability not measured: the time budget did not afford {ev.MIN_RESAMPLES} bootstrap resamples"
            if resamples < ev.MIN_RESAMPLES
            else f"stability from {resamples} bootstrap resamples (the time budget did not afford {full})"
            if resamples < full
            else None
        )

    def _final(self, chosen: mt.Fit, Z: np.ndarray, sample: np.ndarray) -> tuple[Any, np.ndarray]:
        """The chosen method fitted for the bundle, and the label of every row (exactly what ``predict``
        gives them)."""
        if len(sample) == len(Z):
            model = chosen.model
        elif chosen.method == "kmeans":
            model = mt.kmeans(Z, chosen.k, self.seed).model  # type: ignore[arg-type]
        elif chosen.method == "gmm":
            model = mt.gmm(Z, chosen.k, self.seed, chosen.extra["covariance"]).model  # type: ignore[arg-type]
        else:  # fitted on the compared sample; the other rows are assigned as new rows would be
            model = chosen.model
        self.fitted_on = (
            "every row"
            if len(sample) == len(Z) or chosen.method in ("kmeans", "gmm")
            else f"a sample of {len(sample):,} rows; the others assigned by {model.rule}"
        )
        return model, np.asarray(model.predict(Z), dtype=np.int64)

    # ----------------------------------------------------------------------------------------------
    @property
    def assignments(self) -> pd.DataFrame:
        """``row`` (input row number, from 0) and ``cluster`` of every fitted row."""
        self._check()
        return pd.DataFrame({"row": np.arange(len(self.labels_)), "cluster": self.labels_})

    @property
    def assignment_rule(self) -> str:
        """How ``predict`` assigns a new row."""
        self._check()
        if self.chosen.method == "kmeans":
            return "nearest k-means centre"
        if self.chosen.method == "gmm":
            return "most probable mixture component"
        return f"{self.model_.rule} ({'within eps' if self.model_.radius is not None else 'no limit'})"

    def _check(self) -> None:
        if not self.fitted:
            raise ConfigError("call fit() first")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Cluster of each row of ``X`` (raw columns, as the fitted table)."""
        self._check()
        return self.pipeline_.predict(X)

    def summary(self) -> dict:
        """Everything measured, JSON-ready (``metrics.json`` of the bundle)."""
        self._check()
        comp = self.comparison.replace({np.nan: None})
        return {
            "kind": "clustering",
            "source": self.source,
            "rows": len(self.labels_),
            "compare_rows": self.compare_rows,
            "profile_rows": self.profile_rows,
            "seed": self.seed,
            "scaling": self.scaling,
            "method": self.method,
            "k": self.k,
            "chosen": {
                "method": self.chosen.method,
                "k": self.chosen.k,
                "n_clusters": self.chosen.n_clusters,
                "label": self.chosen.label,
            },
            "k_star": self.k_star,
            "k_reason": self.k_reason,
            "reason": self.reason,
            "assignment": self.assignment_rule,
            "fitted_on": self.fitted_on,
            "comparison": comp.to_dict(orient="records"),
            "gap": None if self.gap_ is None else self.gap_.to_dict(orient="records"),
            "stability_note": self.stability_note,
            "skipped": self.skipped,
            "external": self.external,
            "label_column": self.label_column,
            "profiles": [
                {
                    "cluster": p.label,
                    "size": p.size,
                    "share": p.share,
                    "centre": p.centre,
                    "sentence": p.sentence,
                    "differences": p.differences[:10],
                }
                for p in self.profiles
            ],
            "feature_tests": self.feature_tests.replace({np.nan: None}).to_dict(orient="records"),
            "pca_explained": self.projection.explained.tolist(),
            "dropped": self.data.dropped,
            "seconds": self.seconds,
        }

    def schema(self) -> dict:
        """``schema.json``: the input columns; the answer is a ``cluster`` column."""
        from modelworks.data.schema import build_schema

        self._check()
        schema = build_schema(
            self.data.X, self.data.columns, self.data.dropped, "cluster", "clustering", None
        )
        schema["assignment"] = self.assignment_rule
        return schema

    def save(self, path: str | os.PathLike, *, report: bool = True, key: bytes | str | None = None) -> Path:
        """Write the bundle: pipeline, schema, metrics, ``assignments.csv`` and ``report.html``."""
        from modelworks.bundle import save_bundle

        self._check()
        files = {"assignments.csv": self.assignments.to_csv(index=False)}
        if report:
            from modelworks.report.clusters import render_cluster_report

            files["report.html"] = render_cluster_report(self, Path(path))
        return save_bundle(path, self.pipeline_, self.schema(), self.summary(), files, key=key)


def _profile_rows(labels: np.ndarray, seed: int) -> np.ndarray:
    """The rows the profiles are tested on: all of them up to :data:`PROFILE_ROWS`, else a random
    sample of that many plus up to 100 rows of every cluster (so that none is left unprofiled)."""
    n = len(labels)
    if n <= PROFILE_ROWS:
        return np.arange(n)
    rows = set(np.random.default_rng(seed).choice(n, PROFILE_ROWS, replace=False).tolist())
    for c in np.unique(labels):
        rows.update(np.flatnonzero(labels == c)[:100].tolist())
    return np.array(sorted(rows))
