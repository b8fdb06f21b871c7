"""Clusters and anomalies, from a table to a saved bundle: the order of the runs without a target.

:func:`run_clustering` reaches the Dask cluster first when one is named (an unreachable scheduler
costs seconds, not the budget), reads the table, fits :class:`~modelworks.cluster.Clustering` and saves
its bundle with the report; :func:`run_anomalies` does the same with
:class:`~modelworks.cluster.Anomalies`. A caller that shows progress (the command line) hears of each
step through an events object (:class:`ClusteringEvents`, :class:`AnomalyEvents`) and prints it.

>>> run = run_clustering("customers.csv", Path("out/customers-clusters"))   # doctest: +SKIP
>>> run.clustering.chosen.label, run.path   # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from modelworks.cluster._options import check_anomaly_options, check_cluster_options

if TYPE_CHECKING:
    import pandas as pd

    from modelworks.cluster.anomalies import Anomalies
    from modelworks.cluster.clustering import Clustering
    from modelworks.distributed import Connection

__all__ = [
    "AnomalyEvents",
    "AnomalyRun",
    "ClusteringEvents",
    "ClusteringRun",
    "RunEvents",
    "check_anomaly_options",
    "check_clustering_options",
    "run_anomalies",
    "run_clustering",
]

M = TypeVar("M")


class RunEvents(Generic[M]):
    """What a run without a target tells as it goes, ``M`` being what it fits.

    Every method does nothing here: a caller that shows progress overrides those it shows.
    """

    def notice(self, text: str) -> None:
        """A note on how the table was read (one line, without a ``notice:`` prefix)."""

    def read(self, model: M) -> None:
        """The table is read and encoded (``model.data``); nothing is fitted yet."""

    def fitted(self, model: M) -> None:
        """The model is fitted; its bundle is not saved yet."""


class ClusteringEvents(RunEvents["Clustering"]):
    """What :func:`run_clustering` tells as it goes (see :class:`RunEvents`), and the Dask cluster."""

    def cluster_warning(self, text: str) -> None:
        """Before connecting: the scheduler's address is not encrypted and leaves this machine."""

    def connected(self, connection: Connection) -> None:
        """The Dask cluster is reached, before the table is read."""


class AnomalyEvents(RunEvents["Anomalies"]):
    """What :func:`run_anomalies` tells as it goes (see :class:`RunEvents`)."""


@dataclass
class ClusteringRun:
    """What :func:`run_clustering` did.

    Attributes
    ----------
    clustering : Clustering
        The fitted clustering: the comparison, the choice, the profiles.
    path : Path
        The saved bundle.
    """

    clustering: Clustering
    path: Path


@dataclass
class AnomalyRun:
    """What :func:`run_anomalies` did.

    Attributes
    ----------
    anomalies : Anomalies
        The fitted detectors: the scores, the threshold, the flagged rows and why.
    path : Path
        The saved bundle.
    """

    anomalies: Anomalies
    path: Path


def check_clustering_options(
    *, method: str, k: str, time_budget: float | None, seed: int, scaling: str, cluster: str | None
) -> str | None:
    """Check the options of a clustering run before anything is read.

    Parameters
    ----------
    method, k, time_budget, seed, scaling
        As :class:`~modelworks.cluster.Clustering` takes them.
    cluster : str, optional
        A ``--cluster`` spelling.

    Returns
    -------
    str or None
        ``cluster`` as :func:`modelworks.options.check_cluster` spells it.

    Raises
    ------
    ConfigError
        In :mod:`modelworks.options`' words, naming the option.
    """
    check_cluster_options(method=method, k=k, time_budget=time_budget, seed=seed, scaling=scaling)
    if cluster is None:
        return None
    from modelworks.options import check_cluster

    return check_cluster(cluster)


def _read(data: str, events: RunEvents) -> pd.DataFrame:
    """The table at ``data``, its reading notes told as notices."""
    from modelworks.data.load import load

    notes: list[str] = []
    df = load(data, notices=notes)
    for note in notes:
        events.notice(note)
    return df


def run_clustering(
    data: str,
    out_dir: Path,
    *,
    method: str = "auto",
    k: str = "auto",
    exclude: tuple[str, ...] = (),
    label: str | None = None,
    time_budget: float | None = 60.0,
    seed: int = 0,
    scaling: str = "standard",
    tsne: bool = False,
    report: bool = True,
    key: bytes | None = None,
    cluster: str | None = None,
    started: float | None = None,
    events: ClusteringEvents | None = None,
) -> ClusteringRun:
    """Cluster the table at ``data`` and save the bundle, whose predict assigns new rows.

    Parameters
    ----------
    data : str
        A table :func:`modelworks.load` reads (CSV, Parquet, Excel, JSON, SQL URL).
    out_dir : Path
        The bundle directory.
    method, k, exclude, label, time_budget, seed, scaling, tsne, cluster
        As :class:`~modelworks.cluster.Clustering` takes them.
    report : bool
        Write ``report.html`` in the bundle.
    key : bytes, optional
        Sign the bundle with this secret.
    started : float, optional
        ``time.perf_counter()`` from which the budget counts (default: now).
    events : ClusteringEvents, optional
        Told of each step as it happens.

    Returns
    -------
    ClusteringRun
    """
    started = time.perf_counter() if started is None else started
    events = ClusteringEvents() if events is None else events
    from modelworks.cluster.clustering import Clustering

    if cluster is not None:  # before reading: an unreachable scheduler costs seconds, not the budget
        from modelworks.distributed import cluster_warning, connect

        note = cluster_warning(cluster)
        if note is not None:
            events.cluster_warning(note)
        events.connected(connect(cluster, warn=False))
    clustering = Clustering(
        _read(data, events),
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
    clustering.source = data
    events.read(clustering)
    clustering.fit()
    events.fitted(clustering)
    return ClusteringRun(clustering, clustering.save(out_dir, report=report, key=key))


def run_anomalies(
    data: str,
    out_dir: Path,
    *,
    contamination: float | None = None,
    exclude: tuple[str, ...] = (),
    label: str | None = None,
    seed: int = 0,
    scaling: str = "robust",
    report: bool = True,
    key: bytes | None = None,
    started: float | None = None,
    events: AnomalyEvents | None = None,
) -> AnomalyRun:
    """Score every row of the table at ``data``, flag the unusual ones and save the bundle.

    Parameters
    ----------
    data : str
        A table :func:`modelworks.load` reads (CSV, Parquet, Excel, JSON, SQL URL).
    out_dir : Path
        The bundle directory.
    contamination, exclude, label, seed, scaling
        As :class:`~modelworks.cluster.Anomalies` takes them.
    report : bool
        Write ``report.html`` in the bundle.
    key : bytes, optional
        Sign the bundle with this secret.
    started : float, optional
        ``time.perf_counter()`` at which the run started (default: now).
    events : AnomalyEvents, optional
        Told of each step as it happens.

    Returns
    -------
    AnomalyRun
    """
    started = time.perf_counter() if started is None else started
    events = AnomalyEvents() if events is None else events
    from modelworks.cluster.anomalies import Anomalies

    anomalies = Anomalies(
        _read(data, events),
        contamination=contamination,
        exclude=exclude,
        label=label,
        seed=seed,
        scaling=scaling,
        started=started,
    )
    anomalies.source = data
    events.read(anomalies)
    anomalies.fit()
    events.fitted(anomalies)
    return AnomalyRun(anomalies, anomalies.save(out_dir, report=report, key=key))
