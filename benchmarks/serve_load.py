"""Load and fuzzing of a real ``modelworks serve`` on loopback: concurrent clients, then schemathesis.

Trains a small bundle (a linear model on 400 demo churn customers, seconds) unless ``--bundle`` is given,
then for each worker count (``--workers 1,2``):

- starts ``python -m modelworks serve BUNDLE --workers N`` and times the start-up, from the process
  start to the first 200 on ``GET /health``;
- warms up (every client connection once), then runs ``--clients`` (32) concurrent clients, each its
  own keep-alive connection (asyncio tasks over one event loop, httpx), each sending ``--requests``
  (200) single-record ``POST /predict`` back to back, and reports errors (non-200 answers and
  transport errors; there must be none), latency p50/p95/p99/max and requests per second;
- counts the server errors in the server's log (access-log lines with a 5xx status).

Then, on a fresh one-worker server, schemathesis sends ``--fuzz`` (10,000) requests generated from
the server's own ``/openapi.json`` (positive and negative cases, JSON and CSV bodies, every operation)
and reports how many answered 5xx (there must be none), with a curl command for each of the first ones.

Every phase is bounded in requests and seconds; only 127.0.0.1 is contacted. Client and server share
the machine's cores, so every latency includes the client's own CPU use (reported as client CPU).
Prints markdown tables and writes ``benchmarks/results/serve_load.json``.

Run: ``python benchmarks/serve_load.py [--bundle DIR] [--workers 1,2] [--clients 32] [--requests 200]
[--fuzz 10000] [--fuzz-seconds 300] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serve_load.json"
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and friends start their pools

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from _serving import free_port, library_versions, stop_server  # noqa: E402

LIBRARIES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "onnxruntime",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "schemathesis",
    "hypothesis",
)
#: Seconds any one load phase may take before its clients stop.
LOAD_SECONDS = 120
JSON_HEADERS = {"Content-Type": "application/json"}


def train_bundle(out: Path) -> Path:
    """A small bundle: the linear model on 400 demo churn customers (ONNX included when it converts)."""
    from modelworks import Experiment
    from modelworks.data.demo import make_churn

    exp = Experiment(
        make_churn(n_customers=400, seed=0),
        target="will_churn",
        models=["linear"],
        cv=3,
        time_budget=20,
        seed=0,
        n_jobs=1,
    )
    exp.compare()
    exp.evaluate()
    return Path(exp.save(out))


def request_bodies(n: int = 500) -> list[bytes]:
    """Single-record JSON bodies: new demo churn customers (another seed), target dropped, NaN as null."""
    from modelworks.data.demo import make_churn
    from modelworks.data.schema import json_safe

    rows = make_churn(n, seed=1).drop(columns=["will_churn", "customer_id"])
    return [json.dumps(json_safe(r), allow_nan=False).encode() for r in rows.to_dict(orient="records")]


class Server:
    """``modelworks serve`` as a subprocess (its own process group) on a free loopback port."""

    def __init__(self, bundle: Path, workers: int, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWORKS_SERVE_")}
        env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        command = [sys.executable, "-m", "modelworks", "serve", str(bundle), "--port", str(self.port)]
        command += ["--workers", str(workers)]
        started = time.perf_counter()
        with log.open("wb") as fh:
            self.process = subprocess.Popen(
                command, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.read_log()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    self.startup_s = time.perf_counter() - started
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError(f"server did not answer /health within 120 s:\n{self.read_log()}")
        # with several workers the first answer comes from the first worker up: wait for every one
        while time.monotonic() < deadline:
            if self.read_log().count("Application startup complete.") >= workers:
                self.all_ready_s = time.perf_counter() - started
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"not every worker started within 120 s:\n{self.read_log()}")

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")

    def logged_server_errors(self) -> int:
        """Access-log lines (one JSON line per request) with a 5xx status."""
        count = 0
        for line in self.read_log().splitlines():
            if line.startswith("{"):
                try:
                    count += int(json.loads(line).get("status") or 0) >= 500
                except ValueError:
                    continue
        return count

    def stop(self) -> int | None:
        return stop_server(self.process)


def percentiles(latencies_ms: list[float]) -> dict[str, float | None]:
    if not latencies_ms:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    values = np.asarray(latencies_ms)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p95_ms": round(float(np.percentile(values, 95)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "mean_ms": round(float(values.mean()), 3),
        "max_ms": round(float(values.max()), 3),
    }


def sequential(url: str, bodies: list[bytes], n: int = 100) -> dict[str, float | None]:
    """One client on one keep-alive connection: p50 of ``GET /health`` and of ``POST /predict``.

    The per-request floor with no concurrency (it shows, for instance, a transport-level delay).
    """
    out: dict[str, float | None] = {}
    with httpx.Client(base_url=url, timeout=30) as http:
        for name, call in (
            ("health", lambda i: http.get("/health")),
            (
                "predict",
                lambda i: http.post("/predict", content=bodies[i % len(bodies)], headers=JSON_HEADERS),
            ),
        ):
            latencies = []
            for i in range(n + 5):
                t0 = time.perf_counter()
                call(i)
                if i >= 5:  # the first few warm the connection
                    latencies.append((time.perf_counter() - t0) * 1000)
            out[f"one_client_{name}_p50_ms"] = percentiles(latencies)["p50_ms"]
    return out


def load(url: str, bodies: list[bytes], clients: int, per_client: int, seconds: float) -> dict[str, Any]:
    """``clients`` concurrent keep-alive connections, each sending ``per_client`` POST /predict in turn."""

    async def client(index: int, ready: asyncio.Barrier, latencies: list[float], errors: Counter[str]) -> int:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        sent = 0
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
            for i in range(3):  # warm-up on this client's own connection, not measured
                await http.post("/predict", content=bodies[(index + i) % len(bodies)], headers=JSON_HEADERS)
            await ready.wait()  # every client connected and warm: the measured phase starts together
            deadline = time.monotonic() + seconds
            for i in range(per_client):
                if time.monotonic() > deadline:
                    break
                body = bodies[(index * per_client + i) % len(bodies)]
                t0 = time.perf_counter()
                try:
                    response = await http.post("/predict", content=body, headers=JSON_HEADERS)
                    if response.status_code != 200:
                        errors[f"status {response.status_code}"] += 1
                    elif "prediction" not in response.json():
                        errors["answer without prediction"] += 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                latencies.append((time.perf_counter() - t0) * 1000)
                sent += 1
        return sent

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        marks: dict[str, Any] = {}

        def start_clock() -> None:
            marks["cpu"] = resource.getrusage(resource.RUSAGE_SELF)
            marks["started"] = time.perf_counter()

        ready = asyncio.Barrier(clients + 1)
        tasks = [asyncio.create_task(client(i, ready, latencies, errors)) for i in range(clients)]
        await ready.wait()
        start_clock()
        sent = await asyncio.gather(*tasks)
        wall = time.perf_counter() - marks["started"]
        cpu0, cpu1 = marks["cpu"], resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        total = int(sum(sent))
        return {
            "clients": clients,
            "requests_per_client": per_client,
            "requests_planned": clients * per_client,
            "requests": total,
            "errors": int(sum(errors.values())),
            "error_kinds": dict(errors),
            "wall_s": round(wall, 3),
            "requests_per_s": round(total / wall, 1) if wall > 0 else None,
            "client_cpu_s": round(client_cpu, 3),
            **percentiles(latencies),
        }

    return asyncio.run(run())


def fuzz(url: str, target: int, seconds: float) -> dict[str, Any]:
    """About ``target`` schemathesis requests from the server's /openapi.json; 5xx answers reported.

    Each POST operation is fuzzed with positive and negative cases, JSON and CSV bodies; the GET
    operations take no input, so hypothesis soon runs out of distinct cases for them. Rounds with new
    seeds run until ``target`` requests have been sent or ``seconds`` have passed.
    """
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    plans: list[tuple[Any, Any, str | None]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "POST":
            for mode in GenerationMode:
                for media in ("application/json", "text/csv"):
                    plans.append((operation, mode, media))
        else:
            plans.append((operation, GenerationMode.POSITIVE, None))
    post_plans = sum(1 for op, _, _ in plans if op.method.upper() == "POST")
    statuses: Counter[int] = Counter()
    per_plan: Counter[str] = Counter()
    server_errors: list[dict[str, Any]] = []
    transport_errors: Counter[str] = Counter()
    session = requests.Session()
    started = time.monotonic()
    sent = 0
    rounds = 0

    def out_of_budget() -> bool:
        return sent >= target or time.monotonic() - started > seconds

    def send(case: Any, key: str) -> None:
        nonlocal sent
        if out_of_budget():
            return
        sent += 1
        try:
            response = case.call(base_url=url, session=session, timeout=30)
        except requests.RequestException as exc:
            transport_errors[type(exc).__name__] += 1
            return
        per_plan[key] += 1
        statuses[response.status_code] += 1
        if response.status_code >= 500 and len(server_errors) < 20:
            server_errors.append(
                {"status": response.status_code, "plan": key, "curl": case.as_curl_command()}
            )

    def hypothesis_test(strategy: Any, key: str, examples: int, round_seed: int) -> Any:
        @hypothesis_seed(round_seed)
        @settings(
            deadline=None,
            database=None,
            max_examples=examples,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            send(case, key)

        return run

    while not out_of_budget() and rounds < 20:
        rounds += 1
        remaining = target - sent
        for operation, mode, media in plans:
            if out_of_budget():
                break
            post = operation.method.upper() == "POST"
            examples = max(1, math.ceil(remaining / post_plans)) if post else 10
            key = f"{operation.method.upper()} {operation.path} {mode.value} {media or ''}".strip()
            strategy = operation.as_strategy(generation_mode=mode, media_type=media)
            hypothesis_test(strategy, key, examples, rounds)()
    session.close()
    return {
        "requests": sent,
        "target": target,
        "rounds": rounds,
        "wall_s": round(time.monotonic() - started, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "server_error_examples": server_errors,
        "transport_errors": dict(transport_errors),
        "per_plan": dict(per_plan),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| workers | startup to first 200 (s) | all workers up (s) | requests | errors | p50 (ms) "
        "| p95 (ms) | p99 (ms) | max (ms) | req/s | client CPU (s) | server 5xx logged "
        "| 1 client /health p50 (ms) | 1 client /predict p50 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["load"]:
        lines.append(
            f"| {row['workers']} | {row['startup_s']:.2f} | {row['all_workers_ready_s']:.2f} "
            f"| {row['requests']:,} | {row['errors']} "
            f"| {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['max_ms']} "
            f"| {row['requests_per_s']} | {row['client_cpu_s']} | {row['server_5xx_logged']} "
            f"| {row['one_client_health_p50_ms']} | {row['one_client_predict_p50_ms']} |"
        )
    fz = result.get("fuzz")
    if fz:
        lines += [
            "",
            "| schemathesis requests | 5xx | transport errors | statuses | wall (s) |",
            "|---:|---:|---:|---|---:|",
            f"| {fz['requests']:,} | {fz['server_errors']} | {sum(fz['transport_errors'].values())} "
            f"| {', '.join(f'{k}: {v:,}' for k, v in fz['statuses'].items())} | {fz['wall_s']} |",
        ]
        for example in fz["server_error_examples"][:5]:
            lines.append(f"\n5xx ({example['plan']}): `{example['curl']}`")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path, help="serve this bundle instead of training one")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated (default 1,2)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--fuzz", type=int, default=10_000, help="schemathesis requests (0: none)")
    parser.add_argument("--fuzz-seconds", type=float, default=300, help="time cap of the fuzzing")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    if not worker_counts or min(worker_counts) < 1 or max(worker_counts) > 8:
        parser.error("--workers takes counts from 1 to 8")
    if not 1 <= args.clients <= 256 or not 1 <= args.requests <= 10_000:
        parser.error("--clients must be 1-256 and --requests 1-10000")

    began = time.perf_counter()
    result: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": library_versions(LIBRARIES),
        "load": [],
    }
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp_dir:
        tmp = Path(tmp_dir)
        if args.bundle is None:
            t0 = time.perf_counter()
            bundle = train_bundle(tmp / "churn")
            result["bundle"] = {"trained": True, "train_s": round(time.perf_counter() - t0, 1)}
        else:
            bundle = args.bundle
            result["bundle"] = {"trained": False, "path": str(bundle)}
        manifest = json.loads((bundle / "manifest.json").read_text())
        result["bundle"]["files"] = sorted(manifest.get("files") or [])
        bodies = request_bodies()

        for workers in worker_counts:
            server = Server(bundle, workers, tmp / f"server-w{workers}.log")
            row: dict[str, Any] = {
                "workers": workers,
                "startup_s": round(server.startup_s, 3),
                "all_workers_ready_s": round(server.all_ready_s, 3),
            }
            try:
                meta = httpx.get(server.url + "/metadata", timeout=10).json()
                row.update(runtime=meta.get("runtime"), model=meta.get("model"))
                row.update(sequential(server.url, bodies))
                row.update(load(server.url, bodies, args.clients, args.requests, LOAD_SECONDS))
                time.sleep(0.5)  # access-log lines are written once each answer is sent
                row["server_5xx_logged"] = server.logged_server_errors()
            finally:
                row["exit_status"] = server.stop()
            result["load"].append(row)
            print(
                f"workers={workers}: {row['requests']} requests, {row['errors']} errors, "
                f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, {row['requests_per_s']} req/s",
                flush=True,
            )

        if args.fuzz > 0:
            server = Server(bundle, 1, tmp / "server-fuzz.log")
            try:
                fuzzed = fuzz(server.url, args.fuzz, args.fuzz_seconds)
                fuzzed["health_after"] = httpx.get(server.url + "/health", timeout=10).status_code
                time.sleep(0.5)
                fuzzed["server_5xx_logged"] = server.logged_server_errors()
            finally:
                exit_status = server.stop()
            result["fuzz"] = {**fuzzed, "exit_status": exit_status}

    result["total_s"] = round(time.perf_counter() - began, 1)
    table = markdown(result)
    print()
    print(table)
    print(f"\nversions: {result['versions']}\ncpus: {result['machine']['cpus']}, total {result['total_s']} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    failed = any(r["errors"] or r["server_5xx_logged"] for r in result["load"])
    failed |= bool(result.get("fuzz", {}).get("server_errors"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
