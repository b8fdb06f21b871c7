"""Latency and throughput of ``modelworks serve`` on loopback, scikit-learn runtime against ONNX.

Trains (or takes ``--bundle``) a gradient-boosting bundle on the demo churn table (or on ``--data``, a
table file with its ``--target``), then for each runtime (``--runtime sklearn``, and ``--runtime auto``
when the bundle holds ``model.onnx``) starts the real server as a subprocess and measures over loopback:

- single-record latency, one httpx client, sequential requests on one keep-alive connection (p50, p99,
  mean) and its throughput; the same with the standard library's ``http.client``, which spends less
  CPU per request; ``GET /health`` with httpx, the floor of HTTP on this machine;
- throughput and latency with 32 concurrent clients (asyncio tasks, one connection each);
- error counts (non-200 answers and transport errors);
- in-process single-row :func:`modelworks.predict.predict_frame` time, and the server's own work for
  one JSON record without HTTP (decode, check, predict, encode) (min and median over N calls).

The records sent are rows of the training table (the demo churn table drawn with another seed, or the
``--data`` file), target removed, missing values as ``null``. Every phase is bounded in requests and in
seconds. Prints markdown tables with the library versions and writes
``benchmarks/results/serve_latency.json`` (``serve_latency.quick.json`` with ``--quick``). Client and
server share the machine (2 cores here), so every latency includes the client's own CPU use.

Run: ``python benchmarks/serve_latency.py [--quick] [--bundle DIR] [--model lightgbm]
[--data FILE --target NAME] [--runtimes sklearn,auto] [--out FILE]``, for instance on titanic:
``python benchmarks/serve_latency.py --data ../shared/datasets/titanic/train.csv --target survived``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serve_latency.json"
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and friends start their pools

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from _serving import free_port, library_versions, stop_server  # noqa: E402
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


#: Libraries whose versions are printed beside the figures.
LIBRARIES = ("numpy", "pandas", "scikit-learn", "onnxruntime", "fastapi", "starlette", "uvicorn", "pydantic")


def training_table(data: Path | None, target: str | None, rows: int) -> tuple[pd.DataFrame, str]:
    """The table to train on and its target: ``data`` when given, else the demo churn table."""
    if data is None:
        from modelworks.data.demo import make_churn

        return make_churn(rows, seed=0), "will_churn"
    from modelworks.data.load import load

    if target is None:
        raise SystemExit("--data needs --target")
    return load(data), target


def request_rows(data: Path | None, target: str | None) -> pd.DataFrame:
    """Rows to send (without the target): the ``data`` table, else 500 new demo churn customers."""
    if data is None:
        from modelworks.data.demo import make_churn

        return make_churn(500, seed=1).drop(columns=["will_churn"])
    from modelworks.data.load import load

    return load(data).drop(columns=[target])


def train_bundle(model: str, table: pd.DataFrame, target: str, out: Path) -> Path:
    from modelworks import Experiment

    exp = Experiment(table, target=target, models=[model], cv=3, seed=0, n_jobs=1)
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
                start_new_session=True,  # its own process group, which stop_server can end whole
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
        return stop_server(self.process)


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


def health_floor(url: str, n: int, seconds: float) -> dict[str, Any]:
    """``GET /health`` back to back with the same client: what HTTP costs here with no model at all."""
    latencies: list[float] = []
    errors = 0
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(50):
            http.get("/health")
        started = time.perf_counter()
        for _ in range(n):
            if time.perf_counter() - started > seconds:
                break
            t0 = time.perf_counter()
            try:
                ok = http.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += not ok
        elapsed = time.perf_counter() - started
    return summary(latencies, errors, elapsed, clients=1)


def sequential_stdlib(url: str, records: list[dict], n: int, seconds: float) -> dict[str, Any]:
    """As :func:`sequential` with the standard library's HTTP client (one keep-alive connection).

    It spends far less CPU per request than httpx, so on a shared 2-core machine its latency is closer
    to the server's own.
    """
    host, port = url.removeprefix("http://").split(":")
    conn = HTTPConnection(host, int(port), timeout=30)
    bodies = [json.dumps(r).encode() for r in records]
    headers = {"Content-Type": "application/json"}

    def post(body: bytes) -> bool:
        conn.request("POST", "/predict_proba", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200

    latencies: list[float] = []
    errors = 0
    try:
        for body in bodies[:50]:
            post(body)
        started = time.perf_counter()
        for i in range(n):
            if time.perf_counter() - started > seconds:
                break
            t0 = time.perf_counter()
            try:
                ok = post(bodies[i % len(bodies)])
            except (OSError, HTTPException):
                ok = False
                conn.close()
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += not ok
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
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
    """Single-row :func:`~modelworks.predict.predict_frame` on a DataFrame row."""
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


def in_service(bundle: Path, runtime: str, records: list[dict], n: int) -> dict[str, Any]:
    """What the server does per request without HTTP: decode, check, predict and encode one record."""
    from types import SimpleNamespace

    from modelworks.serve.app import create_app

    service = create_app(bundle, runtime=runtime).state.service
    bodies = [json.dumps(r).encode() for r in records]
    times = []
    for i in range(n + 5):
        t0 = time.perf_counter()
        service.answer(bodies[i % len(bodies)], "json", True, SimpleNamespace())
        if i >= 5:
            times.append((time.perf_counter() - t0) * 1000)
    return {"calls": len(times), "min_ms": min(times), "median_ms": statistics.median(times)}


def fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="Bundle to serve (default: train one).")
    parser.add_argument("--model", default="lightgbm", help="Model to train when no --bundle is given.")
    parser.add_argument("--quick", action="store_true", help="Short smoke run (small counts).")
    parser.add_argument("--data", type=Path, help="Table to train on and send rows of (default: demo churn).")
    parser.add_argument("--target", help="Target column of --data.")
    parser.add_argument(
        "--runtimes", default="sklearn,auto", help="Runtimes to serve with, comma-separated (sklearn,auto)."
    )
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
        if args.bundle is None:
            table, target = training_table(args.data, args.target, plan["train_rows"])
            bundle = train_bundle(args.model, table, target, work / "bundle")
        else:
            bundle = args.bundle
        train_s = time.perf_counter() - started
        rows = request_rows(args.data, args.target or "will_churn")
        records = [json_safe(r) for r in rows.to_dict(orient="records")]
        has_onnx = (Path(bundle) / "model.onnx").is_file()
        runtimes = [r for r in args.runtimes.split(",") if r == "sklearn" or (r == "auto" and has_onnx)]
        results: dict[str, Any] = {}
        for runtime in runtimes:
            server = Server(Path(bundle), runtime, work / f"server-{runtime}.log")
            try:
                in_use = httpx.get(server.url + "/metadata", timeout=10).json()["runtime"]
                one = sequential(server.url, records, plan["requests"], plan["seconds"])
                stdlib = sequential_stdlib(server.url, records, plan["requests"], plan["seconds"])
                floor = health_floor(server.url, plan["requests"], plan["seconds"])
                many = concurrent(
                    server.url, records, plan["concurrent_requests"], plan["seconds"], CONCURRENCY
                )
            finally:
                exit_code = server.stop()
            results[runtime] = {
                "runtime_in_use": in_use,
                "single_client": one,
                "single_client_stdlib": stdlib,
                "health_floor": floor,
                f"concurrent_{CONCURRENCY}": many,
                "in_process": in_process(Path(bundle), runtime, rows, plan["in_process_calls"]),
                "in_service": in_service(Path(bundle), runtime, records, plan["in_process_calls"]),
                "server_exit_code": exit_code,
            }
        meta = json.loads((Path(bundle) / "metrics.json").read_text())

    report = {
        "quick": args.quick,
        "plan": plan,
        "model": meta.get("chosen_model"),
        "trained_here": args.bundle is None,
        "data": str(args.data) if args.data else "demo churn",
        "train_seconds": round(train_s, 1),
        "onnx_in_bundle": has_onnx,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "versions": library_versions(LIBRARIES),
        "endpoint": "POST /predict_proba, one JSON record per request, loopback",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"Model {report['model']} ({'trained here' if args.bundle is None else args.bundle}); "
        f"{'quick run' if args.quick else 'full run'}; "
        f"ONNX in bundle: {'yes' if has_onnx else 'no (ONNX absent)'}; data: {report['data']}"
    )
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + "\n")
    print(
        "| runtime | in use | 1 client p50 ms | p99 ms | req/s | "
        f"{CONCURRENCY} clients p50 ms | p99 ms | req/s | errors | in-process min / median ms | "
        "service min / median ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for runtime, r in results.items():
        one, many, local = r["single_client"], r[f"concurrent_{CONCURRENCY}"], r["in_process"]
        served = r["in_service"]
        print(
            f"| {runtime} | {r['runtime_in_use']} | {fmt(one['p50_ms'])} | {fmt(one['p99_ms'])} | "
            f"{fmt(one['throughput_rps'], 0)} | {fmt(many['p50_ms'])} | {fmt(many['p99_ms'])} | "
            f"{fmt(many['throughput_rps'], 0)} | {one['errors'] + many['errors']} | "
            f"{fmt(local['min_ms'])} / {fmt(local['median_ms'])} | "
            f"{fmt(served['min_ms'])} / {fmt(served['median_ms'])} |"
        )
    print(
        "\nin-process: predict_frame on a one-row DataFrame; service: the server's work for one JSON "
        "record (decode, check, predict, encode) without HTTP.\n"
    )
    print(
        "| runtime | 1 client (httpx) p50 ms | 1 client (http.client) p50 ms | p99 ms | req/s | "
        "GET /health (httpx) p50 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for runtime, r in results.items():
        one, stdlib, floor = r["single_client"], r["single_client_stdlib"], r["health_floor"]
        print(
            f"| {runtime} | {fmt(one['p50_ms'])} | {fmt(stdlib['p50_ms'])} | {fmt(stdlib['p99_ms'])} | "
            f"{fmt(stdlib['throughput_rps'], 0)} | {fmt(floor['p50_ms'])} |"
        )
    print(
        "\nGET /health is the floor of HTTP on this machine (client, uvicorn, FastAPI, no model); the "
        "standard library's client spends less CPU per request than httpx."
    )
    print(f"\nWrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
