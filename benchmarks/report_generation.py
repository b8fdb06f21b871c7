"""Time and size of report.html and profile.html on the largest shared dataset (adult by default).

The run itself (comparison, evaluation, learning curve) is timed apart from drawing and writing the
report, which is what this benchmark is about: every figure drawn (permutation importance and partial
dependence included), encoded as PNG and rendered through the Jinja2 templates.

    OMP_NUM_THREADS=1 python benchmarks/report_generation.py [--dataset adult] [--budget 120]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

from modelworks import Experiment, profile
from modelworks.report import render_profile, render_report

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
RESULTS = Path(__file__).resolve().parent / "results" / "report_generation.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=3, help="Renders timed (the median is kept).")
    args = parser.parse_args()

    meta = json.loads((SHARED / args.dataset / "meta.json").read_text())
    df = pd.read_csv(SHARED / args.dataset / "train.csv")
    start = time.perf_counter()
    prof = profile(df, meta["target"])
    exp = Experiment(df, meta["target"], time_budget=args.budget, n_jobs=1)
    exp.evaluate()
    curve = exp.learning_curve()
    run_s = time.perf_counter() - start

    report_times, profile_times = [], []
    html = page = ""
    for _ in range(args.repeats):
        t = time.perf_counter()
        html = render_report(exp, bundle_path=Path("modelworks-out") / args.dataset)
        report_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        page = render_profile(prof, source=f"{args.dataset}/train.csv")
        profile_times.append(time.perf_counter() - t)
    result = {
        "dataset": args.dataset,
        "rows": len(df),
        "columns": df.shape[1],
        "test_rows": exp.evaluation.n_test,
        "chosen_model": exp.best_name,
        "run_seconds": round(run_s, 1),
        "learning_curve_seconds": round(curve.seconds, 2),
        "learning_curve_skipped": curve.skipped,
        "report_seconds": round(sorted(report_times)[len(report_times) // 2], 2),
        "report_bytes": len(html.encode()),
        "report_images": html.count("<img "),
        "profile_seconds": round(sorted(profile_times)[len(profile_times) // 2], 2),
        "profile_bytes": len(page.encode()),
        "profile_images": page.count("<img "),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("| dataset | rows | chosen | report s | report MB | images | profile s | profile MB | curve s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.dataset} | {len(df):,} | {result['chosen_model']} | {result['report_seconds']} | "
        f"{result['report_bytes'] / 1e6:.2f} | {result['report_images']} | {result['profile_seconds']} | "
        f"{result['profile_bytes'] / 1e6:.2f} | {result['learning_curve_seconds']} |"
    )


if __name__ == "__main__":
    main()
