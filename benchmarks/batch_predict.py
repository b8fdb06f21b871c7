"""Wall time and peak memory of ``modelworks predict`` on large CSV files, read in chunks.

Trains a small gradient-boosting bundle on the demo churn table (with ``model.onnx`` when it converts),
writes CSV files of ``--rows`` and ``--small-rows`` rows (the demo table tiled, its numbers perturbed,
some values removed), then runs ``modelworks predict BUNDLE FILE --out OUT --chunk-rows N`` as a real
process for each file and runtime, and reports its wall time and peak resident memory (``ru_maxrss`` of
that one child, from ``os.wait4``). With chunked reading the peak memory should not grow with the
number of rows: the larger file is 10x the smaller one.

Prints a markdown table and writes ``benchmarks/results/batch_predict.json``
(``batch_predict.quick.json`` with ``--quick``, which uses small files and finishes in about a minute).

Run: ``python benchmarks/batch_predict.py [--quick] [--model lightgbm] [--runtimes auto,sklearn]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and friends start their pools

import numpy as np  # noqa: E402

FULL = {"rows": 1_000_000, "small_rows": 100_000, "chunk_rows": 50_000, "train_rows": 5_000}
QUICK = {"rows": 40_000, "small_rows": 4_000, "chunk_rows": 5_000, "train_rows": 1_000}


def make_bundle(dest: Path, model: str, train_rows: int) -> dict:
    """Fit ``model`` on the demo table and save a bundle (with its ONNX export) to ``dest``."""
    from modelworks.bundle import save_bundle
    from modelworks.data.demo import make_churn
    from modelworks.data.kinds import infer_kinds
    from modelworks.data.schema import build_schema
    from modelworks.experiment import build_pipeline
    from modelworks.models.registry import REGISTRY

    df = make_churn(train_rows, seed=0).drop(columns=["customer_id"])
    X, y = df.drop(columns=["will_churn"]), df["will_churn"]
    columns = [info.to_dict() for info in infer_kinds(X).values()]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(REGISTRY[model], columns, "binary", seed=0, n_jobs=1).fit(X, y)
    schema = build_schema(X, columns, [], "will_churn", "binary", ["no", "yes"], "yes")
    save_bundle(dest, pipe, schema, {}, onnx_sample=X)
    manifest = json.loads((dest / "manifest.json").read_text())
    return {"seconds": round(time.perf_counter() - started, 2), "runtime": manifest["runtime"]}


def write_csv(path: Path, rows: int, seed: int = 0, block: int = 100_000) -> int:
    """Write ``rows`` rows of perturbed demo data, a block at a time; return the file size."""
    from modelworks.data.demo import make_churn

    rng = np.random.default_rng(seed)
    base = make_churn(20_000, seed=seed)
    with path.open("w", newline="") as fh:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            part = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
            part["customer_id"] = [f"C{start + i:08d}" for i in range(n)]
            part["age"] = (part["age"] + rng.integers(-2, 3, n)).clip(18, 80)
            part["income"] = (part["income"] * rng.uniform(0.9, 1.1, n)).round(-1)
            part.loc[rng.random(n) < 0.01, "region"] = np.nan
            part.to_csv(fh, index=False, header=start == 0)
    return path.stat().st_size


def run_predict(bundle: Path, data: Path, out: Path, runtime: str, chunk_rows: int) -> dict:
    """Run ``modelworks predict`` as a child process; its wall time and peak RSS."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "modelworks", "predict", str(bundle), str(data)]
    command += ["--out", str(out), "--runtime", runtime, "--chunk-rows", str(chunk_rows)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise RuntimeError(f"modelworks predict failed ({code}): {stderr.decode()[-2000:]}")
    written = sum(1 for _ in out.open()) - 1
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kilobytes on Linux
        "rows_written": written,
        "message": stderr.decode().strip().splitlines()[-1] if stderr else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small files, about a minute")
    parser.add_argument("--model", default="lightgbm", help="zoo model of the bundle")
    parser.add_argument("--runtimes", default="auto,sklearn", help="comma-separated --runtime values")
    parser.add_argument("--rows", type=int, help="rows of the large file")
    args = parser.parse_args()
    plan = dict(QUICK if args.quick else FULL)
    if args.rows:
        plan["rows"], plan["small_rows"] = args.rows, max(args.rows // 10, 1)
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]

    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = root / "bundle"
        trained = make_bundle(bundle, args.model, plan["train_rows"])
        print(f"bundle: {args.model}, default runtime {trained['runtime']['default']}", file=sys.stderr)
        for rows in (plan["small_rows"], plan["rows"]):
            data = root / f"rows_{rows}.csv"
            size = write_csv(data, rows)
            for runtime in runtimes:
                out = root / f"pred_{rows}_{runtime}.csv"
                measured = run_predict(bundle, data, out, runtime, plan["chunk_rows"])
                assert measured["rows_written"] == rows, measured
                results.append(
                    {
                        "rows": rows,
                        "file_mb": round(size / 1e6, 1),
                        "runtime": runtime,
                        **measured,
                        "rows_per_second": round(rows / measured["seconds"]),
                    }
                )
                print(f"{rows:>9,} rows {runtime:>7}: {measured['seconds']} s", file=sys.stderr)
                out.unlink()
            data.unlink()

    report = {
        "quick": args.quick,
        "plan": plan,
        "model": args.model,
        "bundle": trained,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "command": "modelworks predict BUNDLE FILE --out OUT --runtime R --chunk-rows N",
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("batch_predict.quick.json" if args.quick else "batch_predict.json")
    path.write_text(json.dumps(report, indent=2) + "\n")

    print(f"`python benchmarks/batch_predict.py{' --quick' if args.quick else ''}` ({args.model} bundle, ")
    print(f"chunks of {plan['chunk_rows']:,} rows, {os.cpu_count()} CPUs, OMP_NUM_THREADS=1)\n")
    print("| rows | file MB | runtime | wall s | rows/s | peak RSS MB |")
    print("|---:|---:|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['file_mb']} | {r['runtime']} | {r['seconds']} | "
            f"{r['rows_per_second']:,} | {r['peak_rss_mb']} |"
        )
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
