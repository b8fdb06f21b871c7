"""Latency and throughput of ``modelworks serve`` on loopback, scikit-learn runtime against ONNX.

Trains (or takes ``--bundle``) a gradient-boosting bundle on the demo churn table, then for each
runtime (``--runtime sklearn``, and ``--runtime auto`` when the bundle holds ``model.onnx``) starts the
real server as a subprocess and measures, with httpx over loopback:

- single-record latency, one client, sequential requests (p50, p99, mean) and its throughput;
- throughput and latency with 32 concurrent clients (asyncio tasks, one connection each);
- error counts (non-200 answers and transport errors);
- in-process single-row :func:`modelworks.predict.predict_frame` time (min and median over N calls).

Every phase is bounded in requests and in seconds. Prints a markdown table and writes
``benchmarks/results/serve_latency.json`` (``serve_latency.quick.json`` with ``--quick``). Client and
server share the machine (2 cores here), so concurrent numbers include the clients' own CPU use.

Run: ``python benchmarks/serve_latency.py [--quick] [--bundle DIR] [--model lightgbm]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serve_latency.json"
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and friends start their pools

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from modelworks.data.schema import json_safe  # noqa: E402

FULL = {
    "train_rows": 5000,
    "requests": 2000,
    "concurrent_requests": 4000,
    "in_process_calls": 300,
    "seconds": 60,
}
QUICK = {
    "train_rows": 1000,
    "requests": 60,
    "concurrent_requests": 200,
    "in_process_calls": 20,
    "seconds": 10,
}
CONCURRENCY = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def train_bundle(model: str, rows: int, out: Path) -> Path:
    from modelworks import Experiment
    from modelworks.data.demo import make_churn

    exp = Experiment(make_churn(rows, seed=0), target="will_churn", models=[model], cv=3, seed=0, n_jobs=1)
    exp.compare()
    exp.evaluate()
    return exp.save(out)


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


class Server:
    """``modelworks serve`` as a subprocess on a free loopback port."""

    def __init__(self, bundle: Path, runtime: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with log.open("w") as fh:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "modelworks", "serve", str(bundle), "--port", str(self.port)]
                + ["--runtime", runtime],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{log.read_text()}")

    def stop(self) -> int | None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        return self.process.returncode


def sequential(url: str, records: list[dict], n: int, seconds: float) -> dict[str, Any]:
    """One client, one record per request, back to back."""
    latencies: list[float] = []
    errors = 0
    with httpx.Client(base_url=url, timeout=30) as http:
        for record in records[:50]:  # warm-up: connections, caches, lazy imports
            http.post("/predict_proba", json=record)
        started = time.perf_counter()
        for i in range(n):
            if time.perf_counter() - started > seconds:
                break
            t0 = time.perf_counter()
            try:
                ok = http.post("/predict_proba", json=records[i % len(records)]).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += not ok
        elapsed = time.perf_counter() - started
    return summary(latencies, errors, elapsed, clients=1)


def concurrent(url: str, records: list[dict], n: int, seconds: float, clients: int) -> dict[str, Any]:
    """``clients`` concurrent connections (asyncio tasks) sharing ``n`` requests (or ``seconds``).

    One event loop drives every client: far less client CPU than as many threads, which matters when
    client and server share two cores.
    """

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        todo = iter(range(n))
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            await asyncio.gather(*(http.post("/predict_proba", json=records[0]) for _ in range(clients)))
            started = time.perf_counter()
            deadline = started + seconds

            async def client() -> None:
                nonlocal errors
                for i in todo:
                    if time.perf_counter() > deadline:
                        return
                    t0 = time.perf_counter()
                    try:
                        response = await http.post("/predict_proba", json=records[i % len(records)])
                        ok = response.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    latencies.append((time.perf_counter() - t0) * 1000)
                    errors += not ok

            await asyncio.gather(*(client() for _ in range(clients)))
            return summary(latencies, errors, time.perf_counter() - started, clients=clients)

    return asyncio.run(run())


def summary(latencies: list[float], errors: int, elapsed: float, clients: int) -> dict[str, Any]:
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "throughput_rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": float(np.mean(latencies)) if latencies else None,
    }


def in_process(bundle: Path, runtime: str, rows: pd.DataFrame, n: int) -> dict[str, Any]:
    from modelworks.bundle import load_bundle
    from modelworks.predict import predict_frame

    loaded = load_bundle(bundle, runtime=runtime)
    times = []
    for i in range(n + 5):
        row = rows.iloc[[i % len(rows)]].reset_index(drop=True)
        t0 = time.perf_counter()
        predict_frame(loaded, row, proba=True)
        if i >= 5:  # the first calls warm caches
            times.append((time.perf_counter() - t0) * 1000)
    return {"calls": len(times), "min_ms": min(times), "median_ms": statistics.median(times)}


def fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="Bundle to serve (default: train one).")
    parser.add_argument("--model", default="lightgbm", help="Model to train when no --bundle is given.")
    parser.add_argument("--quick", action="store_true", help="Short smoke run (small counts).")
    parser.add_argument(
        "--out", type=Path, help=f"JSON results file (default {RESULTS.name}; quick runs *.quick.json)."
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.out is None:  # a smoke run never overwrites the real measurement
        args.out = RESULTS.with_suffix(".quick.json") if args.quick else RESULTS

    with tempfile.TemporaryDirectory(prefix="mw-serve-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        bundle = args.bundle or train_bundle(args.model, plan["train_rows"], work / "bundle")
        train_s = time.perf_counter() - started
        from modelworks.data.demo import make_churn

        rows = make_churn(500, seed=1).drop(columns=["will_churn"])
        records = [json_safe(r) for r in rows.to_dict(orient="records")]
        has_onnx = (Path(bundle) / "model.onnx").is_file()
        runtimes = ["sklearn", "auto"] if has_onnx else ["sklearn"]
        results: dict[str, Any] = {}
        for runtime in runtimes:
            server = Server(Path(bundle), runtime, work / f"server-{runtime}.log")
            try:
                in_use = httpx.get(server.url + "/metadata", timeout=10).json()["runtime"]
                one = sequential(server.url, records, plan["requests"], plan["seconds"])
                many = concurrent(
                    server.url, records, plan["concurrent_requests"], plan["seconds"], CONCURRENCY
                )
            finally:
                exit_code = server.stop()
            results[runtime] = {
                "runtime_in_use": in_use,
                "single_client": one,
                f"concurrent_{CONCURRENCY}": many,
                "in_process": in_process(Path(bundle), runtime, rows, plan["in_process_calls"]),
                "server_exit_code": exit_code,
            }
        meta = json.loads((Path(bundle) / "metrics.json").read_text())

    report = {
        "quick": args.quick,
        "plan": plan,
        "model": meta.get("chosen_model"),
        "trained_here": args.bundle is None,
        "train_seconds": round(train_s, 1),
        "onnx_in_bundle": has_onnx,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "endpoint": "POST /predict_proba, one JSON record per request, loopback",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"Model {report['model']} ({'trained here' if args.bundle is None else args.bundle}); "
        f"{'quick run' if args.quick else 'full run'}; "
        f"ONNX in bundle: {'yes' if has_onnx else 'no (ONNX absent)'}\n"
    )
    print(
        "| runtime | in use | 1 client p50 ms | p99 ms | req/s | "
        f"{CONCURRENCY} clients p50 ms | p99 ms | req/s | errors | in-process min / median ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for runtime, r in results.items():
        one, many, local = r["single_client"], r[f"concurrent_{CONCURRENCY}"], r["in_process"]
        print(
            f"| {runtime} | {r['runtime_in_use']} | {fmt(one['p50_ms'])} | {fmt(one['p99_ms'])} | "
            f"{fmt(one['throughput_rps'], 0)} | {fmt(many['p50_ms'])} | {fmt(many['p99_ms'])} | "
            f"{fmt(many['throughput_rps'], 0)} | {one['errors'] + many['errors']} | "
            f"{fmt(local['min_ms'])} / {fmt(local['median_ms'])} |"
        )
    print(f"\nWrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
