"""``modelworks cluster`` and ``modelworks anomalies``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelworks.cli._app import (
    DaskCluster,
    Exclude,
    NoReport,
    Seed,
    SignKey,
    app,
    check_bundle_out,
    default_out,
    err,
    key_of,
    names_of,
    out,
    user_errors,
)
from modelworks.cli._track import Track, TrackCommand, log_bundle, open_store


@app.command(cls=TrackCommand)
@user_errors
def cluster(
    data: Annotated[str, typer.Argument(help="Table to cluster (CSV, Parquet, Excel, JSON, SQL URL).")],
    method: Annotated[
        str,
        typer.Option(
            help="auto, kmeans, gmm, agglomerative, dbscan, hdbscan, or all (adds the density methods)."
        ),
    ] = "auto",
    k: Annotated[
        str, typer.Option("--k", help="Number of clusters, or auto (chosen from the evidence).")
    ] = "auto",
    exclude: Exclude = None,
    label: Annotated[
        str | None,
        typer.Option(help="Column of known classes: only scores the clusters (ARI, NMI), never fitted."),
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option("--time-budget", help="Seconds for the whole run.")
    ] = 60.0,
    seed: Seed = 0,
    scaling: Annotated[str, typer.Option(help="Scaling of numbers: standard or robust.")] = "standard",
    tsne: Annotated[bool, typer.Option("--tsne", help="Add a t-SNE view to the report.")] = False,
    cluster: DaskCluster = None,
    report: NoReport = True,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Bundle directory.")] = None,
    track: Track = None,
    sign_key_env: SignKey = None,
) -> None:
    """Find clusters in DATA: compare methods and k with evidence, explain each cluster, save a bundle
    whose predict assigns new rows."""
    from modelworks.cli._cluster_run import run_cluster
    from modelworks.workflows.unsupervised import check_clustering_options

    cluster = check_clustering_options(
        method=method, k=k, time_budget=time_budget, seed=seed, scaling=scaling, cluster=cluster
    )
    path = default_out(data, out_dir, "-clusters")
    check_bundle_out(path)
    tracker = open_store(track, data, out, "-clusters")
    path = run_cluster(
        data,
        path,
        out,
        err,
        method=method,
        k=k,
        exclude=names_of(exclude),
        label=label,
        time_budget=time_budget if tracker is None else tracker.budget(time_budget),
        seed=seed,
        scaling=scaling,
        tsne=tsne,
        report=report,
        key=key_of(sign_key_env, sign=True),
        cluster=cluster,
    )
    options = dict(data=data, method=method, k=k, exclude=exclude, label=label, time_budget=time_budget)
    log_bundle(tracker, path, {**options, "seed": seed, "scaling": scaling, "tsne": tsne}, out)


@app.command(cls=TrackCommand)
@user_errors
def anomalies(
    data: Annotated[str, typer.Argument(help="Table to score (CSV, Parquet, Excel, JSON, SQL URL).")],
    contamination: Annotated[
        float | None,
        typer.Option(help="Expected share of anomalies; by default the threshold is chosen from the scores."),
    ] = None,
    exclude: Exclude = None,
    label: Annotated[
        str | None, typer.Option(help="Column of known anomaly flags: only scores the flags, never fitted.")
    ] = None,
    seed: Seed = 0,
    scaling: Annotated[str, typer.Option(help="Scaling of numbers: robust or standard.")] = "robust",
    report: NoReport = True,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Bundle directory.")] = None,
    track: Track = None,
    sign_key_env: SignKey = None,
) -> None:
    """Score every row of DATA for how unusual it is, flag those above a threshold and say why."""
    from modelworks.cli._cluster_run import run_anomalies
    from modelworks.workflows.unsupervised import check_anomaly_options

    check_anomaly_options(contamination=contamination, seed=seed, scaling=scaling)
    path = default_out(data, out_dir, "-anomalies")
    check_bundle_out(path)
    tracker = open_store(track, data, out, "-anomalies")
    path = run_anomalies(
        data,
        path,
        out,
        err,
        contamination=contamination,
        exclude=names_of(exclude),
        label=label,
        seed=seed,
        scaling=scaling,
        report=report,
        key=key_of(sign_key_env, sign=True),
    )
    options = dict(data=data, contamination=contamination, exclude=exclude, label=label, seed=seed)
    log_bundle(tracker, path, {**options, "scaling": scaling}, out)
