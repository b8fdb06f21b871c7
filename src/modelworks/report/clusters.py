"""The reports of clustering and anomaly bundles (``report.html``): every figure and table of the run."""

from __future__ import annotations

import json
import math
import shlex
from functools import partial
from pathlib import Path
from typing import NoReturn

import numpy as np

from modelworks.report._build import _base, _table, render
from modelworks.report._figures import Spec, draw


def _not_applicable(reason: str) -> NoReturn:
    from modelworks.plots.accessors import NotApplicable

    raise NotApplicable(reason)


def _rows(frame, method: str):
    part = frame[frame["method"] == method]
    return part["k"].astype(int).to_numpy(), part


def _elbow(cl):
    from modelworks.plots import ElbowDisplay

    if cl.gap_ is None:
        ks, part = _rows(cl.comparison, "kmeans")
        if not len(ks):
            _not_applicable("k was given and k-means was not compared")
        return ElbowDisplay.from_values(ks, part["inertia"].to_numpy(), chosen_k=cl.k_star)
    gap = cl.gap_
    ks = gap["k"].to_numpy()
    return ElbowDisplay.from_values(
        ks,
        [cl.inertia_[int(k)] for k in ks],
        gap["gap"].to_numpy(),
        gap["gap_se"].to_numpy(),
        chosen_k=cl.k_star,
    )


def _selection(cl):
    from modelworks.plots import SelectionDisplay

    return SelectionDisplay.from_table(cl.comparison, chosen=(cl.chosen.method, cl.chosen.k))


def _bic(cl):
    from modelworks.plots import BICDisplay

    ks, part = _rows(cl.comparison, "gmm")
    if not len(ks):
        _not_applicable("no Gaussian mixture was compared")
    return BICDisplay.from_values(ks, part["bic"].to_numpy(), chosen_k=cl.k_star)


def _dendrogram(cl):
    from modelworks.plots import DendrogramDisplay

    if cl.linkage_ is None:
        _not_applicable("agglomerative clustering was not compared")
    return DendrogramDisplay.from_linkage(cl.linkage_, chosen_k=cl.k_star)


def _k_distance(cl):
    from modelworks.plots import KDistanceDisplay

    settings = getattr(cl, "dbscan_settings_", None)
    if settings is None:
        _not_applicable("DBSCAN was not compared (--method all or dbscan)")
    return KDistanceDisplay.from_distances(
        settings["k_distances"], eps=settings["eps"], k=settings["min_samples"] - 1
    )


def _silhouette(cl):
    from modelworks.plots import SilhouetteDisplay

    if len(cl.silhouette_values_) == 0:
        _not_applicable("fewer than two clusters")
    return SilhouetteDisplay.from_samples(cl.silhouette_values_, cl.silhouette_labels_)


def _profile_heatmap(cl):
    from modelworks.plots import ClusterProfileDisplay

    if cl.centres.empty or cl.centres.shape[1] == 0:
        _not_applicable("no numeric column")
    return ClusterProfileDisplay.from_frame(cl.centres)


def _scree(obj):
    from modelworks.plots import ScreeDisplay

    return ScreeDisplay.from_ratios(obj.projection.explained)


def _biplot(obj, labels):
    from modelworks.plots import BiplotDisplay

    p = obj.projection
    return BiplotDisplay.from_pca(p.coords, p.loadings, p.features, labels=labels, explained=p.explained[:2])


def _projection(coords, labels, title, xlabel, ylabel):
    from modelworks.plots import ClusterProjectionDisplay

    return ClusterProjectionDisplay.from_coords(coords, labels, title=title, xlabel=xlabel, ylabel=ylabel)


def _tsne(cl):
    p = cl.projection
    if p.tsne is None:
        _not_applicable("t-SNE not asked for (--tsne)")
    return _projection(p.tsne, cl.labels_[p.tsne_rows], "t-SNE view", "t-SNE 1", "t-SNE 2")


def _scores(an):
    from modelworks.plots import AnomalyScoreDisplay

    return AnomalyScoreDisplay.from_scores(an.scores_, an.threshold)


def _pct(v) -> str:
    return f"{v:.0%}"


def _usage(path: Path | None) -> dict:
    shown = str(path) if path is not None else "BUNDLE"
    return {"bundle": shown, "bundle_q": shlex.quote(shown), "bundle_py": json.dumps(shown)}


def cluster_report_context(cl, bundle: Path | None) -> dict:
    """The template context of a fitted :class:`~modelworks.cluster.Clustering`."""
    comp = cl.comparison
    board = []
    for _, r in comp.iterrows():
        is_chosen = r["method"] == cl.chosen.method and (
            (r["k"] == cl.chosen.k) or (cl.chosen.k is None and r["k"] != r["k"])
        )
        stab = (
            ""
            if math.isnan(r["stability"])
            else f"{r['stability']:.3f} ({r['stability_low']:.2f} – {r['stability_high']:.2f}, "
            f"{int(r['resamples'])})"
        )
        board.append(
            [
                r["method"] + (" ★" if is_chosen else ""),
                None if r["k"] != r["k"] or r["k"] is None else int(r["k"]),
                int(r["n_clusters"]),
                _pct(r["noise_share"]) if r["noise_share"] else "",
                r["silhouette"],
                r["calinski_harabasz"],
                r["davies_bouldin"],
                stab,
                r["bic"],
                r["covariance"] or "",
                r["fit_seconds"],
            ]
        )
    profiles = [
        {
            "name": p.name,
            "sentence": p.sentence,
            "centre": _table(
                ["feature", "centre (median or most frequent)"], [[k, v] for k, v in p.centre.items()]
            ),
            "differences": _table(
                ["feature", "test", "effect", "size", "in cluster", "elsewhere", "Holm p", "significant"],
                [
                    [
                        d["feature"] + (f" = {d['level']}" if d.get("level") else ""),
                        d["test"],
                        d["effect_name"],
                        d["effect"],
                        d["cluster"],
                        d["rest"],
                        d["p_holm"],
                        "yes" if d["significant"] else "no",
                    ]
                    for d in p.differences[:8]
                ],
            ),
        }
        for p in cl.profiles
    ]
    tests = _table(
        ["feature", "test", "statistic", "effect", "size", "Holm p", "significant"],
        [
            [
                t.feature,
                t.test,
                t.statistic,
                t.effect_name,
                t.effect,
                t.p_holm,
                "yes" if t.significant else "no",
            ]
            for t in cl.feature_tests.itertuples(index=False)
        ],
    )
    labels = cl.labels_
    p = cl.projection
    evidence = [
        Spec(
            "elbow",
            "Elbow and gap statistic",
            partial(_elbow, cl),
            "k-means' within-cluster sum of squares against k, and the gap statistic with one standard "
            "error; "
            "the dashed line marks the k chosen.",
            wide=True,
        ),
        Spec(
            "selection",
            "Silhouette and stability by k",
            partial(_selection, cl),
            "Silhouette (higher: tighter, better separated) and bootstrap stability (mean ARI between refits "
            "on resamples, with its 95% interval) of every method and k.",
            wide=True,
        ),
        Spec(
            "bic",
            "Gaussian mixture BIC",
            partial(_bic, cl),
            "Lower is better; the covariance type of least BIC at each k.",
        ),
        Spec(
            "dendrogram",
            "Dendrogram (Ward)",
            partial(_dendrogram, cl),
            "The merges of Ward's agglomerative clustering; the dashed line cuts it into the chosen k.",
        ),
        Spec(
            "k_distance",
            "k-distance plot",
            partial(_k_distance, cl),
            "Each row's distance to its k-th nearest neighbour, sorted; DBSCAN's eps is taken at the knee.",
        ),
    ]
    clusters = [
        Spec(
            "silhouette_plot",
            "Silhouette of each row",
            partial(_silhouette, cl),
            "Rows of each cluster by silhouette: bars below zero sit closer to another cluster.",
        ),
        Spec(
            "profiles",
            "Cluster profiles",
            partial(_profile_heatmap, cl),
            "Each cluster's mean minus the overall mean, in standard deviations, per numeric column.",
        ),
    ]
    pca = [
        Spec(
            "scree",
            "Explained variance (scree)",
            partial(_scree, cl),
            "Share of variance of each principal component, and the cumulative share.",
        ),
        Spec(
            "biplot",
            "Biplot",
            partial(_biplot, cl, labels),
            "Rows on the first two components, coloured by cluster; arrows: the columns' loadings.",
        ),
        Spec(
            "projection",
            "PCA projection by cluster",
            partial(_projection, p.coords, labels, "PCA projection", "PC1", "PC2"),
            "Every row on the first two principal components, coloured by its cluster.",
        ),
        Spec("tsne", "t-SNE view", partial(_tsne, cl), "A non-linear 2-D view (t-SNE) coloured by cluster."),
    ]
    ev_figures, ev_not = draw(evidence, None)
    cl_figures, cl_not = draw(clusters, None)
    pca_figures, pca_not = draw(pca, None)
    toc = [
        {"id": "data", "title": "Data", "children": []},
        {"id": "choice", "title": "Choosing the clustering", "children": []},
        {"id": "clusters", "title": "The clusters", "children": []},
        {"id": "pca", "title": "PCA", "children": []},
        {"id": "usage", "title": "How to use", "children": []},
    ]
    external = None
    if cl.external is not None:
        e = cl.external
        external = _table(
            ["known classes", "ARI", "NMI", "homogeneity", "completeness"],
            [[cl.label_column, e["ari"], e["nmi"], e["homogeneity"], e["completeness"]]],
        )
    sizes = ", ".join(f"{pr.name}: {pr.size:,}" for pr in cl.profiles)
    return {
        **_base("modelworks report: clusters", toc),
        "source": cl.source,
        "rows": f"{len(labels):,}",
        "compare_rows": f"{cl.compare_rows:,}",
        "columns_used": len(cl.data.columns),
        "scaling": cl.scaling,
        "seed": cl.seed,
        "chosen": cl.chosen.label,
        "reason": cl.reason,
        "k_reason": cl.k_reason,
        "assignment": cl.assignment_rule,
        "fitted_on": cl.fitted_on,
        "stability_note": cl.stability_note,
        "skipped": ", ".join(cl.skipped),
        "cards": [
            {"k": "Chosen", "v": cl.chosen.label},
            {"k": "Clusters", "v": str(cl.chosen.n_clusters)},
            {"k": "Rows", "v": f"{len(labels):,}"},
            {"k": "Sizes", "v": sizes},
        ],
        "dropped": _table(["column", "reason"], [[d["name"], d["reason"]] for d in cl.data.dropped]),
        "comparison": _table(
            [
                "method",
                "k",
                "clusters",
                "noise",
                "silhouette",
                "Calinski–Harabasz",
                "Davies–Bouldin",
                "stability (95% interval, resamples)",
                "BIC",
                "covariance",
                "fit s",
            ],
            board,
        ),
        "external": external,
        "profiles": profiles,
        "tests": tests,
        "ev_figures": ev_figures,
        "ev_not": ev_not,
        "cl_figures": cl_figures,
        "cl_not": cl_not,
        "pca_figures": pca_figures,
        "pca_not": pca_not,
        **_usage(bundle),
    }


def render_cluster_report(cl, bundle: Path | None = None) -> str:
    """One self-contained HTML page for a clustering run."""
    return render("clusters.html.j2", cluster_report_context(cl, bundle))


def anomaly_report_context(an, bundle: Path | None) -> dict:
    """The template context of a fitted :class:`~modelworks.cluster.Anomalies`."""
    s = an.summary()
    flags = an.is_anomaly_.astype(bool)
    p = an.projection
    specs = [
        Spec(
            "scores",
            "Anomaly scores",
            partial(_scores, an),
            "Every row's score (higher: more unusual); the dashed line is the threshold.",
        ),
        Spec(
            "projection",
            "Flagged rows on the PCA projection",
            partial(_projection, p.coords, flags, "PCA projection", "PC1", "PC2"),
            "Every row on the first two principal components; flagged rows stand out.",
        ),
        Spec(
            "scree",
            "Explained variance (scree)",
            partial(_scree, an),
            "Share of variance of each principal component.",
        ),
        Spec(
            "biplot",
            "Biplot",
            partial(_biplot, an, flags),
            "Rows on the first two components; arrows: the columns' loadings.",
        ),
    ]
    figures, not_drawn = draw(specs, None)
    toc = [
        {"id": "data", "title": "Data", "children": []},
        {"id": "scores", "title": "Scores and threshold", "children": []},
        {"id": "flagged", "title": "Flagged rows", "children": []},
        {"id": "usage", "title": "How to use", "children": []},
    ]
    flagged = an.flagged.head(100)
    external = None
    if an.external is not None:
        e = an.external
        external = _table(
            ["known flags", "known anomalies", "flagged", "caught", "recall", "precision"],
            [[an.label_column, e["known_anomalies"], e["flagged"], e["caught"], e["recall"], e["precision"]]],
        )
    return {
        **_base("modelworks report: anomalies", toc),
        "source": an.source,
        "rows": f"{s['rows']:,}",
        "columns_used": len(an.data.columns),
        "scaling": an.scaling,
        "seed": an.seed,
        "detectors": ", ".join(s["detectors"]),
        "fit_rows": f"{s['fit_rows']:,}" if s["fit_rows"] < s["rows"] else None,
        "left_out": s["left_out"],
        "threshold": f"{an.threshold:.3f}",
        "threshold_rule": an.threshold_rule,
        "cards": [
            {"k": "Flagged", "v": f"{s['flagged']:,} ({s['flagged_share']:.2%})"},
            {"k": "Rows", "v": f"{s['rows']:,}"},
            {"k": "Threshold", "v": f"{an.threshold:.3f}"},
        ],
        "dropped": _table(["column", "reason"], [[d["name"], d["reason"]] for d in an.data.dropped]),
        "agreement": _table(
            ["detectors", "Spearman ρ of their scores"], [[k, v] for k, v in s["detector_agreement"].items()]
        ),
        "external": external,
        "flagged": _table(
            ["row", "score", "why"],
            [[int(r.row), r.anomaly_score, r.why] for r in flagged.itertuples(index=False)],
        ),
        "n_flagged": int(np.sum(flags)),
        "figures": figures,
        "not_drawn": not_drawn,
        **_usage(bundle),
    }


def render_anomaly_report(an, bundle: Path | None = None) -> str:
    """One self-contained HTML page for an anomaly run."""
    return render("anomalies.html.j2", anomaly_report_context(an, bundle))
