"""What ``modelworks cluster`` and ``modelworks anomalies`` print as their runs go (the runs themselves:
:mod:`modelworks.workflows.unsupervised`)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelworks.cli._print import print_saved
from modelworks.workflows import unsupervised as workflow
from modelworks.workflows.unsupervised import AnomalyEvents, ClusteringEvents

if TYPE_CHECKING:
    from modelworks.cluster.anomalies import Anomalies
    from modelworks.cluster.clustering import Clustering
    from modelworks.distributed import Connection

#: The columns of the comparison of clusterings.
_COMPARED = (
    "method",
    "k",
    "clusters",
    "silhouette",
    "Calinski–H.",
    "Davies–B.",
    "stability (95% interval)",
    "BIC",
)


def _cell(v: object, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _comparison(cl: Clustering) -> Table:
    """Every clustering compared, the chosen one starred (its first row, should two match)."""
    table = Table(title="Clusterings compared (★ chosen)", title_justify="left")
    for col in _COMPARED:
        table.add_column(col, justify="left" if col == "method" else "right")
    starred = False
    for _, r in cl.comparison.iterrows():
        mark = ""
        if not starred and (r["method"], r["k"] if r["k"] == r["k"] else None) == (
            cl.chosen.method,
            cl.chosen.k,
        ):
            mark, starred = " ★", True
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
    return table


class _ClusteringPrinter(ClusteringEvents):
    """Prints a clustering run: the table read, the comparison, the choice and the profiles."""

    def __init__(self, out: Console, err: Console):
        self.out, self.err = out, err

    def notice(self, text: str) -> None:
        self.err.print(f"notice: {escape(text)}")

    def cluster_warning(self, text: str) -> None:
        self.err.print(f"warning: {escape(text)}")

    def connected(self, connection: Connection) -> None:
        self.out.print(f"Dask cluster at {connection.address}: {connection.threads()} worker thread(s)")

    def read(self, model: Clustering) -> None:
        used = (
            f"{len(model.data.columns)} column(s) used ({model.scaling} scaling of numbers, one-hot levels)"
        )
        self.out.print(f"{len(model.data.X):,} rows, {used}")
        for d in model.data.dropped:
            self.out.print(f"left out column {d['name']!r}: {d['reason']}")

    def fitted(self, model: Clustering) -> None:
        out, err = self.out, self.err
        if model.compare_rows < len(model.data.X):
            out.print(
                f"compared on a sample of {model.compare_rows:,} rows; the chosen method fitted on "
                f"{model.fitted_on}"
            )
        out.print(_comparison(model))
        out.print(model.k_reason)
        out.print(f"Chosen: {model.chosen.label}: {model.reason}")
        if model.stability_note:
            err.print(f"notice: {model.stability_note}")
        if model.skipped:
            err.print(f"notice: not fitted within the time budget: {', '.join(model.skipped)}")
        out.print(f"New rows are assigned by {model.assignment_rule}")
        if model.external is not None:
            e = model.external
            out.print(
                f"Against {model.label_column!r} (not used for fitting): ARI {e['ari']:.3f}, NMI "
                f"{e['nmi']:.3f}, homogeneity {e['homogeneity']:.3f}, completeness {e['completeness']:.3f}"
            )
        out.print("\nClusters:")
        for p in model.profiles:
            out.print(f"  {escape(p.sentence)}")


class _AnomalyPrinter(AnomalyEvents):
    """Prints an anomaly run: the detectors, the threshold and the most unusual rows."""

    def __init__(self, out: Console, err: Console):
        self.out, self.err = out, err

    def notice(self, text: str) -> None:
        self.err.print(f"notice: {escape(text)}")

    def read(self, model: Anomalies) -> None:
        for d in model.data.dropped:
            self.out.print(f"left out column {d['name']!r}: {d['reason']}")

    def fitted(self, model: Anomalies) -> None:
        out, s = self.out, model.summary()
        out.print(
            f"Detectors: {', '.join(s['detectors'])} (a row's score: the median of theirs, each in IQRs "
            "above its upper quartile)"
        )
        if s["fit_rows"] < s["rows"]:
            out.print(f"Detectors fitted on a sample of {s['fit_rows']:,} rows; every row scored")
        for name, why in s["left_out"].items():
            self.err.print(f"notice: {name} left out: {why}")
        out.print(f"Threshold {model.threshold:.3f}: {model.threshold_rule}")
        out.print(f"Flagged {s['flagged']:,} of {s['rows']:,} rows ({s['flagged_share']:.2%})")
        if model.external is not None:
            e = model.external
            out.print(
                f"Against {model.label_column!r} (not used for fitting): caught {e['caught']} of "
                f"{e['known_anomalies']} known anomalies (recall {e['recall']:.2f}), precision "
                f"{e['precision']:.2f}"
            )
        flagged = model.flagged.head(10)
        if len(flagged):
            table = Table(title="Most unusual rows", title_justify="left")
            for col in ("row", "score", "why"):
                table.add_column(col, justify="left" if col == "why" else "right")
            for r in flagged.itertuples(index=False):
                table.add_row(str(r.row), f"{r.anomaly_score:.2f}", escape(r.why))
            out.print(table)


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
    run = workflow.run_clustering(
        data,
        out_dir,
        method=method,
        k=k,
        exclude=exclude,
        label=label,
        time_budget=time_budget,
        seed=seed,
        scaling=scaling,
        tsne=tsne,
        report=report,
        key=key,
        cluster=cluster,
        started=started,
        events=_ClusteringPrinter(out, err),
    )
    print_saved(out, run.path, started, report)
    return run.path


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
    path = workflow.run_anomalies(
        data,
        out_dir,
        contamination=contamination,
        exclude=exclude,
        label=label,
        seed=seed,
        scaling=scaling,
        report=report,
        key=key,
        started=started,
        events=_AnomalyPrinter(out, err),
    ).path
    print_saved(out, path, started, report)
    return path
