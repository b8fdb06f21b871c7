"""What a Dask cluster costs per fold fit and per run, against this machine's own worker processes.

Per task. The same fold fit (``fit_fold`` of a one-step pipeline, ``DummyClassifier``, on a 2,000-row
table: a fit of about a millisecond) is sent 200 times, one at a time, to (a) the local pool of two
loky worker processes ``modelworks run`` uses, (b) ``--cluster local:2`` (a LocalCluster of two
processes) and (c) a ``dask scheduler`` with two ``dask worker`` processes on 127.0.0.1. The overhead of
a task is its round trip less the fit's own seconds (measured inside the task); median and 90th
percentile. Then the same with two tasks in flight (the throughput a 2-worker pool reaches). The table
is sent once (``scatter``): its cost is measured for the adult table (36,632 rows, 14 columns).

Per run. ``modelworks run`` as a real process on shared tables (telco_churn, adult) with ``--models
linear,lightgbm --no-tune --no-ensemble --no-bag --no-report --time-budget 600``, on the local pool
and on both clusters: the wall time of the whole process, and whether every model's fold scores equal
the local run's.

Run: ``OMP_NUM_THREADS=1 python benchmarks/dask_overhead.py`` (about five minutes on 2 cores). The
tables go to ``docs/benchmarks.md`` between their markers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _doc import replace_section  # noqa: E402  (benchmarks/ is the script folder)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- dask-overhead:begin -->", "<!-- dask-overhead:end -->"
HEADING = "A Dask cluster: overhead per task and per run"
TASKS = 200
DASK = str(Path(sys.executable).parent / "dask")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Scheduler:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""

    def __init__(self) -> None:
        port = _port()
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.procs = [
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-dashboard",
                    "--no-show",
                ],
                **quiet,
            )
        ]
        self.procs += [
            subprocess.Popen(
                [DASK, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                **quiet,
            )
            for _ in range(2)
        ]
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.kill()
            p.wait()


def _table(rows: int = 2000) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    return X, pd.Series((X["x0"] > 0).astype(int), name="y")


def _task_overhead(pool, in_flight: int) -> dict:
    """Round trips of TASKS tiny fold fits through ``pool`` with ``in_flight`` at a time."""
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline

    X, y = _table()
    train, val = np.arange(0, 1600), np.arange(1600, 2000)
    args = (Pipeline([("model", DummyClassifier())]), X, y, train, val, 0, [0, 1], None, False)
    pool.submit(args).result(None)  # warm: imports, and the table sent once
    over, started = [], time.perf_counter()
    for _ in range(TASKS // in_flight):
        sent = time.perf_counter()
        running = [pool.submit(args) for _ in range(in_flight)]
        fits = [r.result(None) for r in running]
        over.append((time.perf_counter() - sent) * 1000 - max(f.seconds for f in fits) * 1000)
    wall = time.perf_counter() - started
    return {
        "median_ms": float(np.median(over)),
        "p90_ms": float(np.percentile(over, 90)),
        "tasks_per_s": TASKS / wall,
    }


def per_task() -> tuple[list[dict], dict]:
    from modelworks.distributed import DaskWorkers, connect
    from modelworks.search.workers import FoldWorkers

    rows, scatter = [], {}
    local = FoldWorkers(2)
    for flight in (1, 2):
        rows.append(
            {"pool": "local worker processes (loky)", "in_flight": flight, **_task_overhead(local, flight)}
        )
    local.close()
    scheduler = Scheduler()
    try:
        for name, spec in (
            ("--cluster local:2", "local:2"),
            ("dask scheduler + 2 workers", scheduler.address),
        ):
            conn = connect(spec)
            pool = DaskWorkers(conn, 5)
            for flight in (1, 2):
                rows.append({"pool": name, "in_flight": flight, **_task_overhead(pool, flight)})
            if (SHARED / "adult").exists():
                adult = pd.read_csv(SHARED / "adult" / "train.csv")
                conn.forget_data()
                started = time.perf_counter()
                conn.scatter(adult)
                scatter[name] = {
                    "seconds": time.perf_counter() - started,
                    "mb": adult.memory_usage(deep=True).sum() / 1e6,
                }
            conn.close()
    finally:
        scheduler.stop()
    return rows, scatter


def _run(table: str, out: Path, cluster: str | None) -> dict:
    meta = json.loads((SHARED / table / "meta.json").read_text())
    cmd = [sys.executable, "-m", "modelworks", "run", str(SHARED / table / "train.csv"), "--target"]
    cmd += [meta["target"], "--models", "linear,lightgbm", "--no-tune", "--no-ensemble", "--no-bag"]
    cmd += ["--no-report", "--time-budget", "600", "--seed", "0", "--out", str(out)]
    if cluster:
        cmd += ["--cluster", cluster]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{table} {cluster}: {done.stderr.strip().splitlines()[-1]}")
    return {"wall": wall, "scores": json.loads((out / "metrics.json").read_text())["fold_scores"]}


def per_run() -> list[dict]:
    rows = []
    scheduler = Scheduler()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for table in ("telco_churn", "adult"):
                if not (SHARED / table).exists():
                    continue
                base = _run(table, Path(tmp) / f"{table}-local", None)
                rows.append(
                    {"table": table, "pool": "local worker processes", "wall": base["wall"], "same": "–"}
                )
                for name, spec in (
                    ("--cluster local:2", "local:2"),
                    ("dask scheduler + 2 workers", scheduler.address),
                ):
                    got = _run(table, Path(tmp) / f"{table}-{len(rows)}", spec)
                    same = "yes" if got["scores"] == base["scores"] else "NO"
                    rows.append(
                        {
                            "table": table,
                            "pool": name,
                            "wall": got["wall"],
                            "same": same,
                            "extra": got["wall"] - base["wall"],
                        }
                    )
    finally:
        scheduler.stop()
    return rows


def render(tasks: list[dict], scatter: dict, runs: list[dict]) -> str:
    lines = [
        f"`OMP_NUM_THREADS=1 python benchmarks/dask_overhead.py` (2 cores; {time.strftime('%Y-%m-%d')}).",
        "",
        f"Per task: {TASKS} tiny fold fits (about 1 ms each), round trip less the fit's own time.",
        "",
        "| pool | in flight | overhead per task, median | 90th percentile | tasks per second |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in tasks:
        cells = f"{r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | {r['tasks_per_s']:.0f}"
        lines.append(f"| {r['pool']} | {r['in_flight']} | {cells} |")
    if scatter:
        lines += [
            "",
            "The table sent once to every worker (adult, "
            + f"{next(iter(scatter.values()))['mb']:.0f} MB in pandas):",
        ]
        lines += [""] + [f"- {name}: {v['seconds']:.2f} s" for name, v in scatter.items()]
    lines += [
        "",
        "Per run: `modelworks run TABLE --models linear,lightgbm --no-tune --no-ensemble --no-bag "
        "--no-report` (whole process, from outside).",
        "",
        "| table | pool | wall | extra vs local | fold scores equal to local |",
        "|---|---|---:|---:|:-:|",
    ]
    for r in runs:
        extra = f"{r['extra']:+.1f} s" if "extra" in r else "–"
        lines.append(f"| {r['table']} | {r['pool']} | {r['wall']:.1f} s | {extra} | {r['same']} |")
    return "\n".join(lines)


def main() -> None:
    tasks, scatter = per_task()
    for r in tasks:
        print(r)
    print(scatter)
    runs = per_run()
    for r in runs:
        print({k: v for k, v in r.items()})
    replace_section(DOC, BEGIN, END, render(tasks, scatter, runs), HEADING)
    if any(r["same"] == "NO" for r in runs):
        raise SystemExit("a cluster run's scores differ from the local run's")


if __name__ == "__main__":
    main()
