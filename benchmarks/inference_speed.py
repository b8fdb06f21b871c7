"""In-process prediction time, scikit-learn against ONNX Runtime, for gradient-boosting bundles.

For each model (LightGBM and HistGradientBoosting by default) fits a pipeline on the demo churn table,
saves a bundle with its ONNX export, loads it once per runtime and times, on one row and on 1,000 rows:

- ``predict_frame``: what ``modelworks predict`` and the server call (schema check, cleaning,
  the model, labels or probabilities), ``proba=True``;
- the model alone: ``pipeline.predict_proba`` against the ONNX Runtime session on the graph's inputs
  (the cleaned columns), which leaves out the Python work both runtimes share.

Each figure is the median over many calls (after a warm-up call); the ratio is scikit-learn / ONNX.
Threads: ``OMP_NUM_THREADS=1`` and a one-thread ONNX Runtime session, as a server process runs them.
Prints a markdown table and writes ``benchmarks/results/inference_speed.json``
(``inference_speed.quick.json`` with ``--quick``).

Run: ``python benchmarks/inference_speed.py [--quick] [--models lightgbm,hist_gradient_boosting]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and friends start their pools

FULL = {"train_rows": 5_000, "one_row_calls": 2_000, "batch_calls": 100, "batch_rows": 1_000}
QUICK = {"train_rows": 1_000, "one_row_calls": 100, "batch_calls": 5, "batch_rows": 1_000}


def median_ms(fn: Callable[[], object], calls: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def measure(model: str, plan: dict, root: Path) -> dict:
    from modelworks.bundle import load_bundle, save_bundle
    from modelworks.data.demo import make_churn
    from modelworks.data.kinds import infer_kinds
    from modelworks.data.schema import build_schema
    from modelworks.experiment import build_pipeline
    from modelworks.models.registry import REGISTRY
    from modelworks.predict import predict_frame

    df = make_churn(plan["train_rows"], seed=0).drop(columns=["customer_id"])
    X, y = df.drop(columns=["will_churn"]), df["will_churn"]
    columns = [info.to_dict() for info in infer_kinds(X).values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(REGISTRY[model], columns, "binary", seed=0, n_jobs=1).fit(X, y)
    schema = build_schema(X, columns, [], "will_churn", "binary", ["no", "yes"], "yes")
    path = save_bundle(root / model, pipe, schema, {}, onnx_sample=X)
    runtime = json.loads((path / "manifest.json").read_text())["runtime"]
    if runtime["default"] != "onnx":
        return {"model": model, "onnx": False, "reason": runtime["reason"]}
    sk, on = load_bundle(path, runtime="sklearn"), load_bundle(path, runtime="onnx")
    assert on.onnx is not None
    rows = make_churn(plan["batch_rows"], seed=1).drop(columns=["customer_id", "will_churn"])
    one = rows.iloc[[0]]
    # the same row would be answered from the remembered cleaned values: cycle through many rows
    singles = [rows.iloc[[i]] for i in range(len(rows))]

    def cycling(bundle):
        state = {"i": 0}

        def call():
            state["i"] = (state["i"] + 1) % len(singles)
            predict_frame(bundle, singles[state["i"]], proba=True)

        return call

    out: dict = {"model": model, "onnx": True, "reason": runtime["reason"]}
    n1, nb = plan["one_row_calls"], plan["batch_calls"]
    out["predict_frame_1_row_ms"] = {
        "sklearn": median_ms(cycling(sk), n1),
        "onnx": median_ms(cycling(on), n1),
        "onnx_same_row": median_ms(lambda: predict_frame(on, one, proba=True), n1),
    }
    out["predict_frame_1000_rows_ms"] = {
        "sklearn": median_ms(lambda: predict_frame(sk, rows, proba=True), nb),
        "onnx": median_ms(lambda: predict_frame(on, rows, proba=True), nb),
    }
    cleaner = pipe.steps[0][1]
    feeds_one = on.onnx.feeds(cleaner.transform(one))
    feeds_rows = on.onnx.feeds(cleaner.transform(rows))
    after_clean = pipe[1:]
    clean_one, clean_rows = cleaner.transform(one), cleaner.transform(rows)
    out["model_only_1_row_ms"] = {
        "sklearn": median_ms(lambda: after_clean.predict_proba(clean_one), n1),
        "onnx": median_ms(lambda: on.onnx.run(feeds_one), n1),
    }
    out["model_only_1000_rows_ms"] = {
        "sklearn": median_ms(lambda: after_clean.predict_proba(clean_rows), nb),
        "onnx": median_ms(lambda: on.onnx.run(feeds_rows), nb),
    }
    for key in ("predict_frame_1_row_ms", "predict_frame_1000_rows_ms", "model_only_1_row_ms"):
        out[key]["ratio"] = out[key]["sklearn"] / out[key]["onnx"]
    out["model_only_1000_rows_ms"]["ratio"] = (
        out["model_only_1000_rows_ms"]["sklearn"] / out["model_only_1000_rows_ms"]["onnx"]
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few calls, under a minute")
    parser.add_argument("--models", default="lightgbm,hist_gradient_boosting")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for model in models:
            results.append(measure(model, plan, Path(tmp)))
            print(f"measured {model}", file=sys.stderr)
    report = {
        "quick": args.quick,
        "plan": plan,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("inference_speed.quick.json" if args.quick else "inference_speed.json")
    path.write_text(json.dumps(report, indent=2) + "\n")

    print(f"`python benchmarks/inference_speed.py{' --quick' if args.quick else ''}` (median ms per call, ")
    print(f"{os.cpu_count()} CPUs, OMP_NUM_THREADS=1, one-thread ONNX Runtime session)\n")
    print("| model | what | rows | scikit-learn ms | ONNX ms | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        if not r["onnx"]:
            print(f"| {r['model']} | not converted: {r['reason']} | | | | |")
            continue
        for key, what, rows in (
            ("predict_frame_1_row_ms", "predict_frame", 1),
            ("predict_frame_1000_rows_ms", "predict_frame", plan["batch_rows"]),
            ("model_only_1_row_ms", "model only", 1),
            ("model_only_1000_rows_ms", "model only", plan["batch_rows"]),
        ):
            m = r[key]
            print(
                f"| {r['model']} | {what} | {rows:,} | {m['sklearn']:.3f} | {m['onnx']:.3f} | "
                f"{m['ratio']:.1f}x |"
            )
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
