"""``modelworks cluster`` and ``modelworks anomalies``: read, fit, print what was found, save a bundle
(see :mod:`modelworks.cluster`)."""

from __future__ import annotations

import math
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelworks.cli._app import connect_cluster
from modelworks.cli._print import print_saved


def _load(data: str, err: Console):
    from modelworks.data.load import load

    notes: list[str] = []
    df = load(data, notices=notes)
    for note in notes:
        err.print(f"notice: {escape(note)}")
    return df


def _cell(v: object, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def run_cluster(
    data: str,
    out_dir: Path,
    out: Console,
    err: Console,
    *,
    method: str,
    k: str,
    exclude: tuple[str, ...],
    label: str | None,
    time_budget: float | None,
    seed: int,
    scaling: str,
    tsne: bool,
    report: bool,
    key: bytes | None,
    cluster: str | None = None,
) -> Path:
    """Cluster DATA, print the comparison, the choice and the profiles, save the bundle."""
    started = time.perf_counter()
    budget = f" within {time_budget:g}s" if time_budget is not None else ""
    out.print(f"Reading {escape(data)}, then comparing clusterings{budget}")
    from modelworks.cluster.clustering import Clustering

    if cluster is not None:  # before reading: an unreachable scheduler costs seconds, not the budget
        connect_cluster(cluster, out, err)

    cl = Clustering(
        _load(data, err),
        method=method,
        k=k,
        exclude=exclude,
        label=label,
        time_budget=time_budget,
        seed=seed,
        scaling=scaling,
        tsne=tsne,
        started=started,
        cluster=cluster,
    )
    cl.source = data
    n = len(cl.data.X)
    out.print(
        f"{n:,} rows, {len(cl.data.columns)} column(s) used ({scaling} scaling of numbers, one-hot levels)"
    )
    for d in cl.data.dropped:
        out.print(f"left out column {d['name']!r}: {d['reason']}")
    cl.fit()
    if cl.compare_rows < n:
        out.print(
            f"compared on a sample of {cl.compare_rows:,} rows; the chosen method fitted on {cl.fitted_on}"
        )
    table = Table(title="Clusterings compared (★ chosen)", title_justify="left")
    for col in (
        "method",
        "k",
        "clusters",
        "silhouette",
        "Calinski–H.",
        "Davies–B.",
        "stability (95% interval)",
        "BIC",
    ):
        table.add_column(col, justify="left" if col == "method" else "right")
    chosen_index = None
    for i, r in cl.comparison.iterrows():
        mark = ""
        if (r["method"], r["k"] if r["k"] == r["k"] else None) == (
            cl.chosen.method,
            cl.chosen.k,
        ) and chosen_index is None:
            mark, chosen_index = " ★", i
        stab = (
            ""
            if math.isnan(r["stability"])
            else (f"{r['stability']:.2f} ({r['stability_low']:.2f}–{r['stability_high']:.2f})")
        )
        table.add_row(
            r["method"] + mark,
            "" if r["k"] != r["k"] or r["k"] is None else str(int(r["k"])),
            str(int(r["n_clusters"])) + (f" +{r['noise_share']:.0%} noise" if r["noise_share"] else ""),
            _cell(r["silhouette"]),
            _cell(r["calinski_harabasz"], 1),
            _cell(r["davies_bouldin"]),
            stab,
            _cell(r["bic"], 1),
        )
    out.print(table)
    out.print(cl.k_reason)
    out.print(f"Chosen: {cl.chosen.label}: {cl.reason}")
    if cl.stability_note:
        err.print(f"notice: {cl.stability_note}")
    if cl.skipped:
        err.print(f"notice: not fitted within the time budget: {', '.join(cl.skipped)}")
    out.print(f"New rows are assigned by {cl.assignment_rule}")
    if cl.external is not None:
        e = cl.external
        out.print(
            f"Against {label!r} (not used for fitting): ARI {e['ari']:.3f}, NMI {e['nmi']:.3f}, "
            f"homogeneity {e['homogeneity']:.3f}, completeness {e['completeness']:.3f}"
        )
    out.print("\nClusters:")
    for p in cl.profiles:
        out.print(f"  {escape(p.sentence)}")
    path = cl.save(out_dir, report=report, key=key)
    print_saved(out, path, started, report)
    return path


def run_anomalies(
    data: str,
    out_dir: Path,
    out: Console,
    err: Console,
    *,
    contamination: float | None,
    exclude: tuple[str, ...],
    label: str | None,
    seed: int,
    scaling: str,
    report: bool,
    key: bytes | None,
) -> Path:
    """Score DATA's rows, print the threshold and the most unusual rows, save the bundle."""
    started = time.perf_counter()
    out.print(f"Reading {escape(data)}, then scoring every row")
    from modelworks.cluster.anomalies import Anomalies

    an = Anomalies(
        _load(data, err),
        contamination=contamination,
        exclude=exclude,
        label=label,
        seed=seed,
        scaling=scaling,
        started=started,
    )
    an.source = data
    for d in an.data.dropped:
        out.print(f"left out column {d['name']!r}: {d['reason']}")
    an.fit()
    s = an.summary()
    out.print(
        f"Detectors: {', '.join(s['detectors'])} (a row's score: the median of theirs, each in IQRs "
        "above its upper quartile)"
    )
    if s["fit_rows"] < s["rows"]:
        out.print(f"Detectors fitted on a sample of {s['fit_rows']:,} rows; every row scored")
    for name, why in s["left_out"].items():
        err.print(f"notice: {name} left out: {why}")
    out.print(f"Threshold {an.threshold:.3f}: {an.threshold_rule}")
    out.print(f"Flagged {s['flagged']:,} of {s['rows']:,} rows ({s['flagged_share']:.2%})")
    if an.external is not None:
        e = an.external
        out.print(
            f"Against {label!r} (not used for fitting): caught {e['caught']} of {e['known_anomalies']} "
            f"known anomalies (recall {e['recall']:.2f}), precision {e['precision']:.2f}"
        )
    flagged = an.flagged.head(10)
    if len(flagged):
        table = Table(title="Most unusual rows", title_justify="left")
        for col in ("row", "score", "why"):
            table.add_column(col, justify="left" if col == "why" else "right")
        for r in flagged.itertuples(index=False):
            table.add_row(str(r.row), f"{r.anomaly_score:.2f}", escape(r.why))
        out.print(table)
    path = an.save(out_dir, report=report, key=key)
    print_saved(out, path, started, report)
    return path
