"""Time of the test-set bootstrap intervals: every metric of a task, from the same resamples.

For a binary, a multiclass (4 classes) and a regression task on 1,000 and 100,000 synthetic test rows,
times :func:`modelworks.evaluate.resampling.bootstrap_intervals` (metrics vectorised over resamples on
plain NumPy, through ``scipy.stats.bootstrap``; BCa up to 1,000 rows, so the 1,000-row figures include
its jackknife of 1,000 more resamples) with 1,000 resamples. For comparison, on 1,000 rows it also times
the per-resample loop through scikit-learn's metric functions that the intervals used before
(:func:`modelworks.evaluate.stats.bootstrap_ci`, one call per metric per resample), on fewer resamples
and scaled to 1,000 plus the jackknife, since the full loop takes minutes. The figure is the best of
three runs. Prints a markdown table and the library versions; writes
``benchmarks/results/bootstrap_intervals.json`` (``.quick.json`` with ``--quick``).

Run: ``python benchmarks/bootstrap_intervals.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LIBRARIES = ["numpy", "scipy", "scikit-learn", "pandas", "narwhals"]


def task_data(task: str, n: int, rng: np.random.Generator):
    if task == "regression":
        y = rng.normal(size=n)
        return y, y + rng.normal(scale=0.5, size=n), None, None
    k = 2 if task == "binary" else 4
    y = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba, list(range(k)), (1 if k == 2 else None)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 instead of 100,000 rows; fewer loops")
    args = parser.parse_args()
    from modelworks.evaluate.metrics import DEFAULT_METRICS, score_all
    from modelworks.evaluate.resampling import bootstrap_intervals, weighted_metric
    from modelworks.evaluate.stats import bootstrap_ci

    resamples = 1000
    sizes = [1_000, 10_000 if args.quick else 100_000]
    rows = []
    for task in ["binary", "multiclass", "regression"]:
        names = DEFAULT_METRICS[task] + (["balanced_accuracy"] if task != "regression" else [])
        for n in sizes:
            y, pred, classes, pos = task_data(task, n, np.random.default_rng(n))

            def fast(y=y, pred=pred, classes=classes, pos=pos, n=n, names=names):
                metrics = {m: weighted_metric(m, y, pred, classes, pos) for m in names}
                return bootstrap_intervals(metrics, n, n_resamples=resamples, seed=0)

            seconds = best_of(fast, 1 if n > 10_000 else 3)
            row = {
                "task": task,
                "rows": n,
                "metrics": len(names),
                "resamples": resamples,
                "seconds": round(seconds, 4),
            }
            if n == 1_000:
                few = 10 if args.quick else 40
                # the loop cost is linear in resamples: scale to 1,000 resamples plus the jackknife
                loop = best_of(
                    lambda y=y, pred=pred, classes=classes, pos=pos, names=names, few=few: [
                        bootstrap_ci(
                            y,
                            pred,
                            lambda t, p, m=m: score_all([m], t, p, classes, pos)[m],
                            n_resamples=few,
                            seed=0,
                        )
                        for m in names
                    ],
                    1,
                )
                row["scikit_learn_loop_seconds"] = round(loop * (resamples + n) / (few + n), 2)
            rows.append(row)
            print(row, flush=True)
    versions = {lib: version(lib) for lib in LIBRARIES}
    versions["python"] = platform.python_version()
    libs = ", ".join(f"{k} {v}" for k, v in versions.items())
    print(f"\n{libs}; {platform.machine()}, {os.cpu_count()} CPUs\n")
    print("| task | test rows | metrics | resamples | vectorised (s) | scikit-learn loop (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        loop = r.get("scikit_learn_loop_seconds", "")
        cells = [r["task"], f"{r['rows']:,}", r["metrics"], r["resamples"], r["seconds"], loop]
        print("| " + " | ".join(map(str, cells)) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("bootstrap_intervals.quick.json" if args.quick else "bootstrap_intervals.json")
    out.write_text(json.dumps({"versions": versions, "argv": sys.argv[1:], "results": rows}, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
