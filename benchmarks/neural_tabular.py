"""The tabular network beside the boosters on every shared dataset.

For each dataset in ``../shared/datasets``: one :class:`~modelworks.Experiment` on ``train.csv`` with
``mlp``, LightGBM and XGBoost at their defaults (no tuning, no time budget, so every model finishes),
5-fold cross-validation on the same folds, then each model and the greedy ensemble refitted on the
whole training part and scored once on ``test.csv``. Reported: the CV and test score of each, the
network's seconds per fold, whether it ties the best (paired test), and the weight the ensemble gives
it. Results go to ``docs/benchmarks.md`` (between markers) and ``benchmarks/results/neural_tabular.json``.

Run: ``python benchmarks/neural_tabular.py [--only pima,concrete]`` (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _doc import replace_section  # noqa: E402  (benchmarks/ is the script folder)
from shared_datasets import LOWER_IS_BETTER, SHARED, score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results" / "neural_tabular.json"
BEGIN, END = "<!-- neural-tabular:begin -->", "<!-- neural-tabular:end -->"
MODELS = ["mlp", "lightgbm", "xgboost"]


def test_score(pipe, test: pd.DataFrame, target: str, task: str, metric: str, classes, positive) -> float:
    X = test.drop(columns=[target])
    if task == "regression":
        pred = pd.DataFrame({"prediction": pipe.predict(X)})
    else:
        proba = pipe.predict_proba(X)
        pred = pd.DataFrame(proba, columns=[str(c) for c in pipe.classes_])
    return score(metric, test[target], pred, list(classes), positive)


def run(name: str) -> dict:
    from modelworks import Experiment
    from modelworks.workflows.tabular._plan import fit_data

    meta = json.loads((SHARED / name / "meta.json").read_text())
    train = pd.read_csv(SHARED / name / "train.csv")
    test = pd.read_csv(SHARED / name / "test.csv")
    target, task, metric = meta["target"], meta["task"], meta["metric"]
    exp = Experiment(
        train,
        target=target,
        task=task,
        metric=metric,
        models=MODELS,
        seed=0,
        tune=False,
        bag=False,
        test_size=0.2,
    )
    start = time.perf_counter()
    board = exp.compare()
    compare_s = time.perf_counter() - start
    results = {r.name: r for r in board.results}
    frame = board.to_frame().set_index("model")
    rows = fit_data(exp.split, exp.rows, all_rows=True)
    row: dict = {"dataset": name, "metric": metric, "rows": len(train), "compare_s": round(compare_s, 1)}
    for model in [*MODELS, "ensemble"]:
        if model not in results:
            continue
        pipe = exp.pipeline(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(*rows)
        row[model] = {
            "cv": float(frame.loc[model, f"{metric}_mean"]),
            "test": test_score(pipe, test, target, task, metric, exp.classes or [], exp.positive_label),
            "tied": bool(frame.loc[model, "tied_with_best"]),
            "fit_s": float(np.mean(results[model].fit_seconds)),
        }
    row["mlp_weight"] = dict(exp.models.ensemble).get("mlp", 0.0)
    row["mlp_epochs"] = results["mlp"].rounds if "mlp" in results else []
    return row


def table(rows: list[dict]) -> str:
    lines = [
        "| dataset | metric | mlp CV | LightGBM CV | XGBoost CV | mlp test | LightGBM test | XGBoost test "
        "| ensemble test | mlp weight | mlp s/fold |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:

        def cell(model: str, key: str, r: dict = r) -> str:
            if model not in r:
                return "–"
            value = f"{r[model][key]:.4f}"
            best = min if r["metric"] in LOWER_IS_BETTER else max
            if best(r[m][key] for m in MODELS if m in r) == r[model][key]:
                value = f"**{value}**"
            if key == "cv" and model == "mlp" and r[model]["tied"]:
                value += " (tied)"
            return value

        ens = f"{r['ensemble']['test']:.4f}" if "ensemble" in r else "–"
        lines.append(
            f"| {r['dataset']} | {r['metric']} | {cell('mlp', 'cv')} | {cell('lightgbm', 'cv')} | "
            f"{cell('xgboost', 'cv')} | {cell('mlp', 'test')} | {cell('lightgbm', 'test')} | "
            f"{cell('xgboost', 'test')} | {ens} | {r['mlp_weight']:.2f} | {r['mlp']['fit_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else sorted(p.name for p in SHARED.iterdir() if p.is_dir())
    rows = []
    for name in names:
        row = run(name)
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    if not args.only:
        replace_section(DOC, BEGIN, END, table(rows), "The tabular network beside the boosters")
    print(table(rows))


if __name__ == "__main__":
    main()
