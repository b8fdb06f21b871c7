"""modelworks, AutoGluon and FLAML side by side on the shared datasets, one after another.

Each system runs in its own process at the same time budget on ``train.csv`` and predicts
``test.csv``; the prediction is scored with the metric of ``meta.json``. Wall time covers the whole
process (for modelworks: ``run`` then ``predict``), peak memory is the process's maximum resident set
(``os.wait4``). AutoGluon (``autogluon.tabular[all]``, default preset) and FLAML (``flaml[automl]``)
live in their own virtual environments under ``benchmarks/.venvs/`` (git-ignored), created on first
use with ``torch==2.13.0`` installed first (a looser pin would pull a multi-GB CUDA build).

Run: ``python benchmarks/peers.py [--budget 60] [--only adult,titanic] [--systems modelworks,flaml]``.
The table goes to ``docs/benchmarks.md`` (between markers) and ``benchmarks/results/peers.<budget>.json``.
Never tune anything to one of these tables: modelworks is also judged on tables nobody has seen.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shared_datasets import LOWER_IS_BETTER, SHARED, score

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / "benchmarks" / ".venvs"
DOC = ROOT / "docs" / "benchmarks.md"
SYSTEMS = ("modelworks", "autogluon", "flaml")
#: What each peer's environment installs (torch first: the CPU build on this machine's disk).
INSTALL = {
    "autogluon": [["torch==2.13.0"], ["autogluon.tabular[all]==1.6.*"]],
    "flaml": [["flaml[automl]==2.7.*"]],
}

#: Fit and predict with a peer: argv = train, test, target, task, metric, budget, predictions file.
RUNNERS = {
    "autogluon": """
import sys, pandas as pd
from autogluon.tabular import TabularPredictor
train, test, target, task, metric, budget, out = sys.argv[1:]
names = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}
problem = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[task]
tr, te = pd.read_csv(train), pd.read_csv(test).drop(columns=[target])
p = TabularPredictor(label=target, problem_type=problem, eval_metric=names[metric], verbosity=0,
                     path=out + ".models")  # beside the predictions, in the run's temporary folder
p.fit(tr, time_limit=float(budget))
if task == "regression":
    pd.DataFrame({"prediction": p.predict(te)}).to_csv(out, index=False)
else:
    proba = p.predict_proba(te)
    proba.columns = [str(c) for c in proba.columns]
    proba.to_csv(out, index=False)
""",
    "flaml": """
import sys, pandas as pd
from flaml import AutoML
train, test, target, task, metric, budget, out = sys.argv[1:]
tr, te = pd.read_csv(train), pd.read_csv(test).drop(columns=[target])
automl = AutoML()
automl.fit(tr.drop(columns=[target]), tr[target], time_budget=float(budget), metric=metric, seed=0,
           task="regression" if task == "regression" else "classification", verbose=0)
if task == "regression":
    pd.DataFrame({"prediction": automl.predict(te)}).to_csv(out, index=False)
else:
    pd.DataFrame(automl.predict_proba(te), columns=[str(c) for c in automl.classes_]).to_csv(out, index=False)
""",
}


def python_of(system: str) -> str:
    """The interpreter of ``system``, creating its environment on first use."""
    if system == "modelworks":
        return sys.executable
    venv = VENVS / system
    exe = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        for packages in INSTALL[system]:
            subprocess.run([str(exe), "-m", "pip", "install", "--quiet", *packages], check=True)
        (venv / ".installed").touch()
    return str(exe)


def timed(args: list[str], env: dict) -> tuple[int, float, float, str]:
    """Run ``args``; return its exit code, wall seconds, peak resident MB and its stderr's tail."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        err.seek(0)
        tail = err.read()[-2000:]
    return proc.returncode, wall, usage.ru_maxrss / 1024, tail


def run_system(system: str, name: str, budget: float, work: Path) -> dict:
    meta = json.loads((SHARED / name / "meta.json").read_text())
    target, task, metric = meta["target"], meta["task"], meta["metric"]
    train, test = SHARED / name / "train.csv", SHARED / name / "test.csv"
    pred = work / f"{system}-{name}.csv"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    if system == "modelworks":
        bundle = work / f"bundle-{name}"
        steps = [
            [sys.executable, "-m", "modelworks", "run", str(train), "--target", target, "--task", task]
            + ["--time-budget", str(budget), "--out", str(bundle)],
            [sys.executable, "-m", "modelworks", "predict", str(bundle), str(test), "--out", str(pred)]
            + ([] if task == "regression" else ["--proba"]),
        ]
    else:
        code = RUNNERS[system]
        steps = [
            [
                python_of(system),
                "-c",
                code,
                str(train),
                str(test),
                target,
                task,
                metric,
                str(budget),
                str(pred),
            ]
        ]
    wall, peak, failed = 0.0, 0.0, None
    for args in steps:
        rc, seconds, mb, tail = timed(args, env)
        wall, peak = wall + seconds, max(peak, mb)
        if rc != 0:
            failed = tail.strip().splitlines()[-1] if tail.strip() else f"exit {rc}"
            break
    row = {
        "system": system,
        "dataset": name,
        "metric": metric,
        "wall_s": round(wall, 1),
        "peak_mb": round(peak),
        "date": time.strftime("%Y-%m-%d"),  # kept rows (--keep) keep the date they were measured
    }
    if failed:
        return {**row, "score": None, "failed": failed}
    truth = pd.read_csv(test)[target]
    predictions = pd.read_csv(pred)
    labels = list(predictions.columns) if task != "regression" else None
    # binary ROC AUC is the same whichever class is called positive (its probability beside it)
    positive = labels[-1] if task == "binary" and labels else None
    return {**row, "score": round(score(metric, truth, predictions, labels, positive), 4)}


def ranks(rows: list[dict]) -> dict[str, float]:
    """Mean rank of each system over the datasets (a failure ranks last)."""
    by_dataset: dict[str, list[dict]] = {}
    for r in rows:
        by_dataset.setdefault(r["dataset"], []).append(r)
    totals: dict[str, list[float]] = {}
    for group in by_dataset.values():
        lower = group[0]["metric"] in LOWER_IS_BETTER
        # oriented so that lower is better; a failure is worst
        values = [np.inf if r["score"] is None else r["score"] * (1 if lower else -1) for r in group]
        for r, rank in zip(group, pd.Series(values).rank(method="average"), strict=True):
            r["rank"] = float(rank)
            totals.setdefault(r["system"], []).append(float(rank))
    return {s: round(float(np.mean(v)), 2) for s, v in totals.items()}


def measured(rows: list[dict], systems: list[str]) -> str:
    """When each system's rows were measured, e.g. "modelworks measured 2026-12-07, autogluon and flaml
    2026-11-28": a row kept from an earlier run (--keep) carries its own date, never today's."""
    dates: dict[str, list[str]] = {}
    for s in systems:
        days = sorted({r.get("date", "date not recorded") for r in rows if r["system"] == s})
        dates.setdefault(" to ".join([days[0], days[-1]] if len(days) > 1 else days), []).append(s)
    parts = [f"{' and '.join(names)} measured {day}" for day, names in dates.items()]
    return "; ".join(parts)


def write_doc(rows: list[dict], mean_ranks: dict[str, float], budget: float) -> None:
    begin, end = f"<!-- peers-{budget:g}:begin -->", f"<!-- peers-{budget:g}:end -->"
    systems = [s for s in SYSTEMS if s in mean_ranks]
    lines = [
        begin,
        "",
        f"`python benchmarks/peers.py --budget {budget:g}` (2-core machine; {measured(rows, systems)}). "
        "Score on test.csv (rank), wall time of the whole process in s, peak memory in MB.",
        "",
        "| dataset | metric | " + " | ".join(systems) + " |",
        "|---|---|" + "---:|" * len(systems),
    ]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        cells = []
        for s in systems:
            r = next((r for r in rows if r["dataset"] == name and r["system"] == s), None)
            if r is None:
                cells.append("")
            elif r["score"] is None:
                cells.append(f"failed ({r['wall_s']} s)")
            else:
                cells.append(f"{r['score']} ({r['rank']:g}) · {r['wall_s']} s · {r['peak_mb']} MB")
        metric = next(r["metric"] for r in rows if r["dataset"] == name)
        lines.append(f"| {name} | {metric} | " + " | ".join(cells) + " |")
    lines.append("| **mean rank** | | " + " | ".join(f"**{mean_ranks[s]}**" for s in systems) + " |")
    lines += ["", end]
    text = DOC.read_text()
    block = "\n".join(lines)
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## Peers at {budget:g} s\n\n" + block + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--only", help="comma-separated dataset names")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the earlier rows of the systems not run now (from benchmarks/results/peers.<budget>.json)",
    )
    args = parser.parse_args(argv)
    names = sorted(p.name for p in SHARED.iterdir()) if SHARED.is_dir() else []
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    if not names:
        raise SystemExit(f"no shared datasets at {SHARED}")
    systems = [s for s in args.systems.split(",") if s]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for system in systems:  # one after another: never two at once on this machine
                row = run_system(system, name, args.budget, Path(tmp))
                print(json.dumps(row), flush=True)
                rows.append(row)
    out = ROOT / "benchmarks" / "results" / f"peers.{args.budget:g}.json"
    if args.keep and out.exists():
        earlier = json.loads(out.read_text())["rows"]
        rows += [r for r in earlier if r["system"] not in systems and r["dataset"] in names]
        order = {s: i for i, s in enumerate(SYSTEMS)}
        rows.sort(key=lambda r: (names.index(r["dataset"]), order[r["system"]]))
    mean_ranks = ranks(rows)
    print(json.dumps({"mean_rank": mean_ranks}))
    out.write_text(json.dumps({"budget_s": args.budget, "rows": rows, "mean_rank": mean_ranks}, indent=2))
    write_doc(rows, mean_ranks, args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
