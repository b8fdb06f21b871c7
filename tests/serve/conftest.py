"""Real prediction servers for the serving tests: ``python -m modelworks serve`` in subprocesses.

Each server listens on a free loopback port, is ready once ``/health`` answers, and is stopped by its
PID (SIGTERM, then SIGKILL if it lingers) when its fixture ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from serve_support import API_KEY, API_KEY_ENV, FAST_CV, FAST_MODELS, MAX_BODY_MB, MAX_ROWS, free_port


class Server:
    """A ``modelworks serve`` subprocess, its URL and its log (stdout and stderr)."""

    def __init__(self, process: subprocess.Popen, url: str, log_path: Path):
        self.process = process
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        """The log, whole lines only: the server may be half-way through writing the last."""
        data = self.log_path.read_bytes()
        return data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait for the exit; return the exit status (kill and fail if it hangs)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(
                    f"server did not stop within {timeout}s of SIGTERM:\n{self.log()}"
                ) from None
        return int(self.process.returncode)

    def kill(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL), by its PID."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(15)


@pytest.fixture(scope="session")
def serve_env(tmp_path_factory) -> dict[str, str]:
    """Environment of server subprocesses: one thread per pool, caches in temporary directories."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWORKS_SERVE_")}
    cache = tmp_path_factory.mktemp("serve_cache")
    env.update(
        OMP_NUM_THREADS="1",
        MPLCONFIGDIR=str(cache / "mpl"),
        XDG_CACHE_HOME=str(cache),
        SKB_DATA_DIRECTORY=str(cache / "skrub"),
        PYTHONUNBUFFERED="1",
    )
    for name in ("FORCE_COLOR", "PYTHONWARNINGS", API_KEY_ENV):
        env.pop(name, None)
    return env


@pytest.fixture(scope="session")
def start_server(serve_env, tmp_path_factory) -> Iterator[Callable[..., Server]]:
    """``start_server(bundle, *args, env=None)``: a ready server; every one is stopped at the end."""
    started: list[Server] = []

    def start(bundle: Path, *args: object, env: dict[str, str] | None = None, timeout: float = 90) -> Server:
        port = free_port()
        log_path = tmp_path_factory.mktemp("server") / "server.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "modelworks",
                    "serve",
                    str(bundle),
                    "--port",
                    str(port),
                    *map(str, args),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**serve_env, **(env or {})},
                cwd=log_path.parent,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log_path)
        started.append(server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"server exited with {process.returncode} before answering:\n{server.log()}"
                )
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        server.kill()
        raise AssertionError(f"server did not answer /health within {timeout}s:\n{server.log()}")

    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="session")
def churn_server(start_server, trained_bundle) -> Server:
    """The churn bundle served without a key, with limits the 413 tests can reach."""
    return start_server(trained_bundle, "--max-rows", MAX_ROWS, "--max-body-mb", MAX_BODY_MB)


@pytest.fixture(scope="session")
def allow_bundle(regression_df: pd.DataFrame, tmp_path_factory) -> Path:
    """A regression bundle whose schema lets unseen categories through (``unseen_categories="allow"``)."""
    from modelworks import Experiment

    exp = Experiment(
        regression_df,
        target="price",
        models=FAST_MODELS,
        cv=FAST_CV,
        seed=0,
        n_jobs=1,
        unseen_categories="allow",
    )
    exp.compare()
    exp.evaluate()
    return exp.save(tmp_path_factory.mktemp("allow_bundle") / "price")


@pytest.fixture(scope="session")
def keyed_server(start_server, allow_bundle) -> Server:
    """The regression ("allow") bundle served with an API key read from :data:`API_KEY_ENV`."""
    return start_server(allow_bundle, "--api-key-env", API_KEY_ENV, env={API_KEY_ENV: API_KEY})


@pytest.fixture(scope="session")
def churn_rows(churn_df: pd.DataFrame) -> pd.DataFrame:
    """The churn table in a shuffled order (answers must follow it), with a few more missing values."""
    rows = churn_df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    rows.loc[[3, 10], "plan"] = None
    rows.loc[[5], "signup_date"] = None
    return rows


@pytest.fixture(scope="session")
def rows_csv(churn_rows: pd.DataFrame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    churn_rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def cli_predictions(cli, trained_bundle: Path, rows_csv: Path) -> dict[str, str]:
    """``modelworks predict`` output (CSV text) for :func:`churn_rows`: labels and probabilities."""
    out = {}
    for name, extra in (("labels", ()), ("proba", ("--proba",))):
        result = cli("predict", trained_bundle, rows_csv, *extra, cwd=rows_csv.parent)
        assert result.returncode == 0, result.stderr
        out[name] = result.stdout
    return out
