"""What the methodology checks find on the shared tables (false alarms), and what they cost.

For each table of ``../shared/datasets`` the training file goes through the table run's split stage
(``split_table`` with the default settings and the task its meta.json names: the held-out test set,
the checks of :mod:`modelworks.checks`), and every finding is kept with the seconds the checks took.
The shared tables are clean public tables: an error or warning there is either a real property of the
table (explained in docs/checks.md) or a false alarm.

Then the cost on a 50,000-row synthetic table (12 numeric, 4 categorical, 1 date column, binary
target): the checks' seconds against a 60 s budget.

Run: ``python benchmarks/checks_shared.py [--shared ../shared/datasets]``. Results go to
``benchmarks/results/checks_shared.json`` and ``docs/benchmarks.md`` (between markers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import modelworks.workflows.tabular._split as split_stage
from _doc import replace_section
from modelworks.settings import RunSettings

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results" / "checks_shared.json"
BEGIN, END = "<!-- checks-shared:begin -->", "<!-- checks-shared:end -->"


def timed_split(df: pd.DataFrame, target: str, **options) -> tuple[list[dict], float, float]:
    """The split stage's findings, the checks' seconds and the whole stage's seconds."""
    spent: list[float] = []
    run_checks = split_stage.run_checks

    def timed(inp):
        start = time.perf_counter()
        try:
            return run_checks(inp)
        finally:
            spent.append(time.perf_counter() - start)

    split_stage.run_checks = timed
    try:
        start = time.perf_counter()
        split = split_stage.split_table(df, target, RunSettings(**options))
        whole = time.perf_counter() - start
    finally:
        split_stage.run_checks = run_checks
    return [f.to_dict() for f in split.checks], sum(spent), whole


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    cats = {f"c{i}": rng.choice(list("abcdefgh"), size=n) for i in range(4)}
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, size=n), unit="D")
    logit = X[:, 0] - X[:, 1] + np.sin(X[:, 2] * 2) + (cats["c0"] == "a")
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)]).assign(**cats, day=day.strftime("%Y-%m-%d"))
    return df.assign(y=y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    tables = []
    for folder in sorted(p for p in args.shared.iterdir() if (p / "meta.json").exists()):
        meta = json.loads((folder / "meta.json").read_text())
        df = pd.read_csv(folder / "train.csv")
        findings, seconds, whole = timed_split(df, meta["target"], task=meta["task"])
        tables.append(
            {
                "table": folder.name,
                "rows": len(df),
                "columns": df.shape[1] - 1,
                "checks_seconds": round(seconds, 3),
                "split_seconds": round(whole, 3),
                "findings": findings,
            }
        )
        print(folder.name, round(seconds, 2), [(f["code"], f["severity"], f["columns"]) for f in findings])
    big = synthetic(50_000)
    findings, seconds, whole = timed_split(big, "y")
    cost = {"rows": len(big), "checks_seconds": round(seconds, 3), "share_of_60s": round(seconds / 60, 4)}
    print("50,000 rows:", cost, [(f["code"], f["columns"]) for f in findings])
    # a split by time runs the train/test shift check too (a boosted classifier's 3-fold AUC)
    timed_findings, timed_seconds, _ = timed_split(big, "y", time_column="day")
    cost_time = {"checks_seconds": round(timed_seconds, 3), "share_of_60s": round(timed_seconds / 60, 4)}
    print("50,000 rows, --time-column day:", cost_time, [(f["code"], f["columns"]) for f in timed_findings])
    result = {
        "date": dt.date.today().isoformat(),
        "tables": tables,
        "cost_50k": cost | {"findings": findings},
        "cost_50k_time_split": cost_time | {"findings": timed_findings},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Measured {result['date']} by `benchmarks/checks_shared.py` (the split stage on each shared "
        "table's train.csv with default settings and the task of its meta.json; raw results in "
        "`benchmarks/results/checks_shared.json`).",
        "",
        "| table | rows | columns | checks (s) | errors and warnings | infos |",
        "|---|---:|---:|---:|---|---|",
    ]
    for t in tables:

        def shown(f: dict) -> str:
            return f"{f['code']} {','.join(f['columns']) or '(table)'}"

        loud = [shown(f) for f in t["findings"] if f["severity"] != "info"]
        quiet = [shown(f) for f in t["findings"] if f["severity"] == "info"]
        lines.append(
            f"| {t['table']} | {t['rows']:,} | {t['columns']} | {t['checks_seconds']:.2f} | "
            f"{'; '.join(loud) or 'none'} | {'; '.join(quiet) or 'none'} |"
        )
    lines += [
        "",
        f"Cost on a 50,000-row synthetic table (17 columns, binary): {cost['checks_seconds']:.2f} s, "
        f"{100 * cost['share_of_60s']:.1f}% of a 60 s run (goal: under 5%); split by time (`--time-column "
        f"day`, the shift check runs too): {cost_time['checks_seconds']:.2f} s, "
        f"{100 * cost_time['share_of_60s']:.1f}%.",
    ]
    replace_section(DOC, BEGIN, END, "\n".join(lines), "Methodology checks on the shared tables (issue 29)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
