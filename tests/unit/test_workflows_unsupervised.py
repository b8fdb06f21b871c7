"""The cluster and anomaly runs (modelworks.workflows.unsupervised): the order of their steps, told to
an events object, and the bundles they save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from modelworks.bundle import load_bundle
from modelworks.errors import ConfigError
from modelworks.predict import predict_frame
from modelworks.workflows.unsupervised import (
    AnomalyEvents,
    ClusteringEvents,
    check_clustering_options,
    run_anomalies,
    run_clustering,
)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = make_blobs(n_samples=120, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=0.8, random_state=0)
    df = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "group": y, "same": 1})
    df.loc[0, ["x", "y"]] = [60.0, -60.0]
    path = tmp_path_factory.mktemp("table") / "rows.csv"
    df.to_csv(path, index=False)
    return path, df


class Told(ClusteringEvents, AnomalyEvents):
    """Every event, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def notice(self, text: str) -> None:
        self.seen.append(("notice", text))

    def cluster_warning(self, text: str) -> None:
        self.seen.append(("cluster_warning", text))

    def connected(self, connection) -> None:
        self.seen.append(("connected", connection))

    def read(self, model) -> None:
        assert not model.fitted
        self.seen.append(("read", model))

    def fitted(self, model) -> None:
        assert model.fitted
        self.seen.append(("fitted", model))


def test_clustering_run_reads_fits_then_saves_and_tells_each_step(table, tmp_path):
    path, df = table
    told = Told()
    # one method and k: what is tested is the run's order, not the choice (tests/unit/test_cluster.py)
    run = run_clustering(
        str(path),
        tmp_path / "bundle",
        method="kmeans",
        k="3",
        label="group",
        seed=0,
        time_budget=60,
        report=False,
        events=told,
    )
    assert [name for name, _ in told.seen] == ["read", "fitted"]
    assert all(model is run.clustering for _, model in told.seen)
    assert run.clustering.source == str(path) and run.clustering.external is not None
    assert run.path == tmp_path / "bundle" and not (run.path / "report.html").exists()
    assigned, _ = predict_frame(load_bundle(run.path), df)
    np.testing.assert_array_equal(assigned["cluster"], run.clustering.labels_)


def test_anomaly_run_flags_the_far_row_and_runs_without_events(table, tmp_path):
    path, df = table
    run = run_anomalies(str(path), tmp_path / "bundle", exclude=("group",), report=False)
    assert run.anomalies.source == str(path)
    assert 0 in set(run.anomalies.flagged["row"])
    scored, _ = predict_frame(load_bundle(run.path), df)
    assert bool(scored["is_anomaly"].iloc[0])


def test_options_are_checked_in_the_command_line_words():
    assert (
        check_clustering_options(
            method="auto", k="auto", time_budget=60.0, seed=0, scaling="standard", cluster=None
        )
        is None
    )
    assert (
        check_clustering_options(
            method="auto", k="3", time_budget=None, seed=0, scaling="robust", cluster="local:2"
        )
        == "local:2"
    )
    with pytest.raises(ConfigError, match="--k must be at least 2"):
        check_clustering_options(
            method="auto", k="1", time_budget=60.0, seed=0, scaling="standard", cluster=None
        )
    with pytest.raises(ConfigError, match="--cluster"):
        check_clustering_options(
            method="auto", k="auto", time_budget=60.0, seed=0, scaling="standard", cluster="local:0"
        )


def test_the_dask_cluster_is_reached_before_the_table_is_read(monkeypatch, tmp_path):
    import modelworks.distributed as distributed
    from modelworks.errors import DataError

    reached = []
    monkeypatch.setattr(distributed, "cluster_warning", lambda spec: f"{spec} is plain", raising=False)
    monkeypatch.setattr(
        distributed, "connect", lambda spec, warn: reached.append((spec, warn)) or "conn", raising=False
    )
    told = Told()
    with pytest.raises(DataError, match="not found"):
        run_clustering(
            str(tmp_path / "missing.csv"), tmp_path / "bundle", cluster="tcp://10.1.2.3:8786", events=told
        )
    assert reached == [("tcp://10.1.2.3:8786", False)]
    assert told.seen == [("cluster_warning", "tcp://10.1.2.3:8786 is plain"), ("connected", "conn")]
