"""Fold fits on a real Dask cluster: a LocalCluster of processes, and a ``dask scheduler`` with two
``dask worker`` processes on 127.0.0.1, started and stopped here. Every model compared gets the same
fold scores as on this machine's own workers; a killed worker, a lost cluster and an unreachable
scheduler end cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from net_support import free_port

pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(600)

DASK = str(Path(sys.executable).parent / "dask")
#: Models of every kind whose fits run as tasks: linear, tree, forest, booster (stopped early).
MODELS = "linear,decision_tree,random_forest,lightgbm"


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONWARNINGS", None)
    return env


class DaskProcesses:
    """A ``dask scheduler`` and ``dask worker`` processes (no nanny: a killed worker stays dead)."""

    def __init__(self, workers: int):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        port = self.address.rsplit(":", 1)[1]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": _env()}
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard", "--no-show"], **quiet
        )
        self.workers = [
            subprocess.Popen(
                [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
                + ["--no-dashboard"],
                **quiet,
            )
            for _ in range(workers)
        ]
        from distributed import Client

        try:
            with Client(self.address, timeout="60s") as client:
                client.wait_for_workers(workers, timeout=120)
        except BaseException:  # a fixture that fails to start leaves no process behind
            self.stop()
            raise

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)


@pytest.fixture
def dask_processes():
    procs = DaskProcesses(workers=2)
    try:
        yield procs
    finally:
        procs.stop()


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory) -> Path:
    from sklearn.datasets import load_breast_cancer

    path = tmp_path_factory.mktemp("cancer") / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def _fold_scores(bundle: Path) -> dict[str, dict[str, list[float]]]:
    return json.loads((bundle / "metrics.json").read_text())["fold_scores"]


def _run(cli, csv: Path, out: Path, *extra: object, timeout: float = 300):
    # no tuning: under a budget the tuner fills the time left, so its trial count depends on speed
    return cli(
        "run", csv, "--target", "target", "--models", MODELS, "--no-tune", "--no-report", "--seed", 7,
        "--time-budget", 300, "--out", out, *extra, cwd=out.parent, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def local_scores(cli, cancer_csv, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("local") / "bundle"
    done = _run(cli, cancer_csv, out)
    assert done.returncode == 0, done.stderr
    return _fold_scores(out)


def test_local_cluster_gives_the_local_scores_with_tuning_trials_as_tasks():
    """Python API, LocalCluster of two processes: every configuration and tuner trial is a task."""
    from sklearn.datasets import load_breast_cancer

    from modelworks import Experiment

    df = load_breast_cancer(as_frame=True).frame
    options = dict(models=("linear", "lightgbm"), seed=3, ensemble=False, bag=False, tune=True, n_jobs=2)
    here = Experiment(df, target="target", **options)
    there = Experiment(df, target="target", cluster="local:2", **options)
    assert type(there._workers).__name__ == "DaskWorkers"
    mine, theirs = here.compare().fold_scores(), there.compare().fold_scores()
    assert set(mine) == set(theirs) and "lightgbm_tuned" in theirs
    assert mine == theirs
    assert there.tuning.trials >= 2
    assert there._workers.tasks > 5 * 2  # the two models' folds, and the trials' folds too
    assert there._workers.connection.client.status == "closed"  # closed with the comparison


def test_scheduler_and_two_workers_give_the_local_scores(
    cli, cancer_csv, tmp_path, local_scores, dask_processes
):
    out = tmp_path / "bundle"
    done = _run(cli, cancer_csv, out, "--cluster", dask_processes.address)
    assert done.returncode == 0, done.stderr
    assert f"Dask cluster at {dask_processes.address}: 2 worker thread(s)" in done.stdout
    assert _fold_scores(out) == local_scores
    assert set(local_scores) >= set(MODELS.split(","))
    assert all(p.poll() is None for p in dask_processes.workers)  # the run leaves the cluster running


def test_local_n_on_the_command_line_gives_the_local_scores(cli, cancer_csv, tmp_path, local_scores):
    out = tmp_path / "bundle"
    done = _run(cli, cancer_csv, out, "--cluster", "local:2")
    assert done.returncode == 0, done.stderr
    assert _fold_scores(out) == local_scores


def _slow_table(path: Path) -> Path:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3000, n_features=20, n_informative=10, random_state=0)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(target=y)
    df.to_csv(path, index=False)
    return path


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return errors[0]


def _fitting(client) -> bool:
    """Whether a fold fit is running on the cluster (not only the workers' warm-up imports)."""
    return any(str(key).startswith("_fit_task") for keys in client.processing().values() for key in keys)


def test_a_worker_killed_during_the_run_does_not_lose_it(tmp_path, dask_processes):
    csv = _slow_table(tmp_path / "slow.csv")
    out = tmp_path / "bundle"
    cmd = [sys.executable, "-m", "modelworks", "run", csv, "--target", "target", "--models"]
    cmd += ["random_forest,lightgbm", "--no-tune", "--no-report", "--no-ensemble", "--no-bag"]
    cmd += ["--time-budget", "120"]
    cmd += ["--cluster", dask_processes.address, "--out", out]
    run = subprocess.Popen(
        list(map(str, cmd)), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        from distributed import Client

        with Client(dask_processes.address, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while not _fitting(client):  # the first fold fits are running
                assert time.monotonic() < deadline and run.poll() is None, "no fit ever started"
                time.sleep(0.1)
            dask_processes.workers[0].send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=300)  # never hangs: the timeout fails the test
    finally:
        if run.poll() is None:
            run.kill()
    if run.returncode == 0:  # the lost worker's tasks ran again on the other
        board = json.loads((out / "metrics.json").read_text())["leaderboard"]
        assert {r["model"] for r in board} >= {"random_forest"}
    else:
        assert "Dask" in _one_line_error(subprocess.CompletedProcess(cmd, run.returncode, stdout, stderr))


def test_every_worker_lost_is_a_clean_error(tmp_path, dask_processes):
    csv = _slow_table(tmp_path / "slow.csv")
    cmd = [sys.executable, "-m", "modelworks", "run", csv, "--target", "target", "--models"]
    cmd += ["random_forest,extra_trees", "--no-tune", "--no-report", "--no-ensemble", "--no-bag"]
    cmd += ["--time-budget", "300"]
    cmd += ["--cluster", dask_processes.address, "--out", tmp_path / "bundle"]
    run = subprocess.Popen(
        list(map(str, cmd)), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        from distributed import Client

        with Client(dask_processes.address, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while not _fitting(client):
                assert time.monotonic() < deadline and run.poll() is None, "no fit ever started"
                time.sleep(0.1)
        for worker in dask_processes.workers:
            worker.send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
    line = _one_line_error(subprocess.CompletedProcess(cmd, run.returncode, stdout, stderr))
    assert dask_processes.address in line and ("was lost" in line or "went away" in line), line
    assert not (tmp_path / "bundle").exists()


def test_a_fit_sent_after_every_worker_went_is_the_cluster_lost_not_a_failed_model(
    monkeypatch, dask_processes
):
    """Dask's scatter, with no worker to send the table to, raises TimeoutError("No valid workers
    found"): that must end the run (WorkersLost), not mark the next model "failed"."""
    import numpy as np

    from modelworks.distributed import _executor
    from modelworks.distributed._connect import connect
    from modelworks.search.workers import WorkersLost

    monkeypatch.setattr(_executor, "LOST_SECONDS", 2.0)
    connection = connect(dask_processes.address)
    try:
        workers = _executor.DaskWorkers(connection, folds=3)
        for worker in dask_processes.workers:
            worker.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 60
        while connection.threads():
            assert time.monotonic() < deadline, "the scheduler never noticed the workers gone"
            time.sleep(0.2)
        started = time.monotonic()
        with pytest.raises(WorkersLost, match="every Dask worker of tcp://127.0.0.1:"):
            workers.submit((None, np.zeros((4, 2)), np.zeros(4), None, None, None, None, None))
        assert time.monotonic() - started < 30
    finally:
        connection.close()


def test_an_unreachable_scheduler_is_one_line_naming_the_address(cli, cancer_csv, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    done = cli(
        "run", cancer_csv, "--target", "target", "--cluster", address, "--out", tmp_path / "b", cwd=tmp_path
    )
    line = _one_line_error(done)
    assert f"cannot reach the Dask scheduler at {address}" in line
    assert time.monotonic() - started < 60
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("spec", ["local:0", "dask", "http//x", "local:two"])
def test_a_misspelt_cluster_is_refused_before_anything_runs(cli, cancer_csv, tmp_path, spec):
    done = cli(
        "run", cancer_csv, "--target", "target", "--cluster", spec, "--out", tmp_path / "b", cwd=tmp_path
    )
    line = _one_line_error(done)
    assert "--cluster" in line and ("local:N" in line or "at least one worker" in line)


def test_the_cluster_option_is_a_checked_setting():
    from modelworks.errors import ConfigError
    from modelworks.settings import RunSettings

    assert RunSettings(cluster="127.0.0.1:8786").cluster == "tcp://127.0.0.1:8786"
    assert RunSettings(cluster="local:3").cluster == "local:3"
    with pytest.raises(ConfigError, match="local:N"):
        RunSettings(cluster="spark://x:7077")


def test_cluster_stability_resamples_on_a_cluster_give_the_local_evidence(cli, tmp_path, dask_processes):
    """``modelworks cluster --cluster ADDRESS``: every bootstrap refit is a task; the same table."""
    from sklearn.datasets import load_wine

    csv = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.drop(columns="target").to_csv(csv, index=False)
    runs = {}
    for name, extra in (("here", ()), ("there", ("--cluster", dask_processes.address))):
        out = tmp_path / name
        # a budget that does not bind: with two threads the cluster would afford more resamples
        done = cli("cluster", csv, "--no-report", "--time-budget", 600, "--out", out, *extra, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        runs[name] = json.loads((out / "metrics.json").read_text())
    assert "Dask cluster at" in done.stdout
    here, there = runs["here"], runs["there"]
    timed = ("fit_seconds",)
    assert [{k: v for k, v in row.items() if k not in timed} for row in there["comparison"]] == [
        {k: v for k, v in row.items() if k not in timed} for row in here["comparison"]
    ]
    assert there["chosen"] == here["chosen"]
    assert {row["resamples"] for row in there["comparison"]} == {20}
