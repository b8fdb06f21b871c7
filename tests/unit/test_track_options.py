"""MLflow tracking without the command line: the optional ``--track`` value, URIs and names, the
missing extra, ``log_run`` on a real sqlite store, and a failure half-way that leaves no run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import modelworks as mw
from modelworks import cli
from modelworks.cli._track import expand_bare
from modelworks.errors import BundleError, ConfigError
from modelworks.track import _uri
from modelworks.track._uri import BARE, DEFAULT_URI


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "d.csv", "--track"], ["run", "d.csv", f"--track={BARE}"]),
        (["run", "--track", "d.csv"], ["run", f"--track={BARE}", "d.csv"]),
        (["run", "--track", "--seed", "3"], ["run", f"--track={BARE}", "--seed", "3"]),
        (["run", "--track", "sqlite:///x.db"], ["run", "--track", "sqlite:///x.db"]),
        (["run", "--track", "http://h:5000"], ["run", "--track", "http://h:5000"]),
        (["run", "--track=./mlruns"], ["run", "--track=./mlruns"]),
        (["run", "--", "--track"], ["run", "--", "--track"]),
    ],
)
def test_a_bare_track_gets_its_value(args, expected):
    assert expand_bare(args) == expected


@pytest.mark.parametrize(
    ("args", "track", "data"),
    [
        (["run", "d.csv", "-t", "y", "--track"], BARE, "d.csv"),
        (["run", "--track", "d.csv", "-t", "y"], BARE, "d.csv"),
        (["run", "d.csv", "--track", "--seed", "3", "-t", "y"], BARE, "d.csv"),
        (["run", "d.csv", "--track", "sqlite:///x.db", "-t", "y"], "sqlite:///x.db", "d.csv"),
        (["run", "d.csv", "-t", "y"], None, "d.csv"),
        (["cluster", "d.csv", "--track"], BARE, "d.csv"),
        (["anomalies", "--track", "d.csv"], BARE, "d.csv"),
    ],
)
def test_the_commands_parse_track_with_or_without_a_uri(monkeypatch, args, track, data):
    seen = {}

    def stop(track, data, out, suffix=""):
        seen.update(track=track, data=data)
        raise ConfigError("stopped here")

    from modelworks.cli import _app, _run, _unsupervised

    for command_module in (_run, _unsupervised):  # where each command looks it up
        monkeypatch.setattr(command_module, "open_store", stop)
    monkeypatch.setattr(_app, "check_writable", lambda *a, **k: None)
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 2, result.output
    assert seen == {"track": track, "data": data}


def test_tracking_uris_resolve_from_the_option_the_environment_or_the_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert DEFAULT_URI == "sqlite:///mlruns.db"
    assert _uri.resolve(None) == _uri.resolve(BARE) == f"sqlite:///{tmp_path / 'mlruns.db'}"
    assert _uri.resolve("sqlite:///sub/x.db") == f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    assert _uri.resolve("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert _uri.resolve("file:runs") == (tmp_path / "runs").as_uri()
    assert _uri.resolve("http://h:5000") == "http://h:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://server:5000")
    assert _uri.resolve(BARE) == "http://server:5000"
    assert _uri.resolve("sqlite:///y.db") == f"sqlite:///{tmp_path / 'y.db'}"
    with pytest.raises(ConfigError, match="give a database file"):
        _uri.resolve("sqlite:///:memory:")


def test_run_uris_and_experiment_names(monkeypatch):
    run = "0123456789abcdef0123456789abcdef"
    assert _uri.parse_run_uri(f"runs:/{run}/bundle") == (run, "bundle")
    assert _uri.parse_run_uri(f"runs:/{run}") == (run, "bundle")
    for bad in ("runs:/", "runs:/a b/bundle", f"runs:/{run}/../x"):
        with pytest.raises(BundleError, match="runs:/RUN_ID/bundle"):
            _uri.parse_run_uri(bad)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    assert _uri.experiment_name("data/churn.csv") == "churn"
    assert _uri.experiment_name("churn.csv", "-clusters") == "churn-clusters"
    assert _uri.experiment_name("sqlite:///shop.db?table=customers") == "customers"
    assert _uri.experiment_name(None) == "modelworks"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mine")
    assert _uri.experiment_name("churn.csv") == "mine"
    assert _uri.shown_data("postgresql://me:secret@db/shop?table=t") == "postgresql://me:***@db/shop?table=t"


def test_without_mlflow_one_line_names_the_extra(monkeypatch, tmp_path):
    from modelworks.track import Tracker

    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'modelworks\[track\]'"):
        Tracker(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match=r"pip install 'modelworks\[track\]'"):
        mw.load_model("runs:/0123456789abcdef0123456789abcdef/bundle")


@pytest.fixture
def client(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'store' / 'mlruns.db'}"
    return uri, mlflow.tracking.MlflowClient(tracking_uri=uri)


@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")
def test_log_run_logs_an_experiment_and_its_bundle(churn_experiment, trained_bundle, client, monkeypatch):
    from modelworks.track import log_run

    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    uri, mlflow_client = client
    run_id = log_run(churn_experiment, trained_bundle, uri, data="data/churn.csv")
    run = mlflow_client.get_run(run_id)
    assert mlflow_client.get_experiment(run.info.experiment_id).name == "churn"
    assert run.data.params["models"] == "linear,decision_tree"
    assert run.data.params["data"] == "data/churn.csv"
    evaluation = churn_experiment.evaluation
    assert run.data.metrics[f"test_{churn_experiment.metric}"] == evaluation.metrics[churn_experiment.metric]
    artefact_root = Path(run.info.artifact_uri.removeprefix("file://"))
    assert artefact_root.parent.parent == Path(uri.removeprefix("sqlite:///")).parent / "mlruns" / "churn"
    second = log_run(None, trained_bundle, uri)  # no experiment object: what the bundle records
    assert mlflow_client.get_run(second).data.params["task"] == churn_experiment.task
    assert mlflow_client.get_experiment_by_name("modelworks") is not None


@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")
def test_a_failure_half_way_leaves_no_run(trained_bundle, client, monkeypatch):
    from modelworks.track import Tracker

    uri, mlflow_client = client
    tracker = Tracker(uri, "failing")

    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tracker._client, "log_artifacts", refuse)
    with pytest.raises(ConfigError, match=r"cannot log the run to .*disk full.*the bundle is saved in"):
        tracker.log(trained_bundle)
    runs = mlflow_client.search_runs([tracker.experiment_id])
    assert runs == []  # the half-logged run was deleted


def test_the_budget_keeps_opening_and_logging():
    from modelworks.track import Tracker

    tracker = Tracker.__new__(Tracker)
    tracker.seconds, tracker.reserve = 4.2, 1.1
    assert tracker.budget(None) is None
    assert tracker.budget(60.0) == 54.7
    assert tracker.budget(3.0) == 1.0
