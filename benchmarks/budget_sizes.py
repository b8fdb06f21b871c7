"""Does the time budget hold from 1,000 to 1,000,000 rows? ``modelworks run`` on synthetic tables.

Each table (numeric columns with missing values, two categorical columns, a date, a binary target
that depends on them non-linearly) is written to a CSV file, then ``modelworks run FILE --target y
--time-budget B`` runs as a real process, report and bundle included; its wall time from start to
exit is compared with the promise, B x 1.1 + 5 s. Tables are generated here, never committed.

With ``--wide COLUMNS`` the tables are wide instead: ``COLUMNS`` numeric columns (the target depends on
the first four), for tables of more columns than rows.

Run: ``python benchmarks/budget_sizes.py [--budget 60] [--rows 1000,10000,100000,1000000] [--wide N]``.
Results go to ``benchmarks/results/budget_sizes.json`` (``budget_sizes_wide_B.json``) and
``docs/benchmarks.md`` (between markers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results" / "budget_sizes.json"
EXE = Path(sys.executable).with_name("modelworks")


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A binary task on ``n`` rows: 8 numeric columns (5% missing), 2 categorical, 1 date."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    df = pd.DataFrame(X, columns=[f"num{i}" for i in range(8)])
    df["region"] = rng.choice(["north", "south", "east", "west", "centre"], n)
    df["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    df["signup"] = (
        pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    ).strftime("%Y-%m-%d")
    logit = X[:, 0] - 0.8 * X[:, 1] ** 2 + X[:, 2] * X[:, 3] + 0.5 * (df["plan"] == "pro") - 0.3
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    for i in range(8):
        df.loc[rng.random(n) < 0.05, f"num{i}"] = np.nan
    return df


def make_wide(n: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """A binary task on ``n`` rows of ``columns`` numeric columns; the first four carry the signal."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, columns))
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns)])
    logit = X[:, 0] - X[:, 1] + X[:, 2] * X[:, 3]
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


def run(n: int, budget: float, work: Path, wide: int | None = None) -> dict:
    data = work / f"rows{n}.csv"
    (make_table(n) if wide is None else make_wide(n, wide)).to_csv(data, index=False)
    out = work / f"out{n}"
    env = {**os.environ, "COLUMNS": "120"}
    start = time.perf_counter()
    proc = subprocess.run(
        [str(EXE), "run", str(data), "--target", "y", "--time-budget", str(budget), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    row = {
        "rows": n,
        "columns": wide,
        "budget_s": budget,
        "wall_s": round(wall, 1),
        "promise_s": round(budget * 1.1 + 5, 1),
        "held": proc.returncode == 0 and wall <= budget * 1.1 + 5,
        "exit": proc.returncode,
    }
    if proc.returncode == 0:
        metrics = json.loads((out / "metrics.json").read_text())
        row["chosen"] = metrics["chosen_model"]
        row["compared"] = len(metrics["leaderboard"])
        row["skipped"] = len(metrics["skipped"])
        row["test_roc_auc"] = round(metrics["test"]["metrics"]["roc_auc"], 4)
        plan = metrics.get("row_plan", {})
        row["compare_rows"], row["fit_rows"] = plan.get("compare_rows"), plan.get("fit_rows")
        row["not_drawn"] = " ".join(
            line
            for line in proc.stdout.splitlines()
            if "skipped" in line.lower() or "not drawn" in line.lower()
        )[:300]
    else:
        row["error"] = proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []
    return row


def write_doc(rows: list[dict], budget: float, wide: int | None = None) -> None:
    command = f"python benchmarks/budget_sizes.py --budget {budget:g}"
    what = "(8 numeric columns with 5% missing, 2 categorical, a date)"
    if wide is not None:
        command += f" --rows {','.join(str(r['rows']) for r in rows)} --wide {wide}"
        what = f"of {wide:,} numeric columns"
    lines = [
        f"`{command}` ({dt.date.today()}, 2-core machine): `modelworks run` on synthetic binary tables "
        f"{what}, report and bundle included; wall time of the whole process against the promise "
        "(budget x 1.1 + 5 s).",
        "",
        "| rows | wall s | promise s | held | compared on / fitted on rows | chosen | models compared / "
        "skipped | test ROC AUC |",
        "|---:|---:|---:|:-:|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['wall_s']} | {r['promise_s']} | {'yes' if r['held'] else 'NO'} | "
            f"{r.get('compare_rows') or 0:,} / {r.get('fit_rows') or 0:,} | {r.get('chosen', 'failed')} | "
            f"{r.get('compared', 0)} / {r.get('skipped', 0)} | "
            f"{r.get('test_roc_auc', '')} |"
        )
    text = DOC.read_text()
    marker, title = ("budget-sizes", "Budget from 1,000 to 1,000,000 rows")
    if wide is not None:
        marker = f"budget-wide-{budget:g}"
        title = f"Budget {budget:g} s on wide tables (more columns than rows)"
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = f"{begin}\n\n" + "\n".join(lines) + f"\n\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text += f"\n## {title}\n\n" + block + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--rows", default="1000,10000,100000,1000000")
    parser.add_argument("--wide", type=int, help="numeric columns of a wide table instead of the 11")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(r) for r in args.rows.split(",")):
            row = run(n, args.budget, Path(tmp), args.wide)
            print(json.dumps(row), flush=True)
            rows.append(row)
    results = RESULTS if args.wide is None else RESULTS.with_name(f"budget_sizes_wide_{args.budget:g}.json")
    results.write_text(json.dumps(rows, indent=1) + "\n")
    write_doc(rows, args.budget, args.wide)
    return 0 if all(r["held"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
