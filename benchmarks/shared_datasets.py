"""modelworks against the classic workflow on every shared dataset.

For each dataset in ``../shared/datasets``: ``modelworks run train.csv --time-budget 60`` as a real
process (wall time measured), ``modelworks predict --proba`` on test.csv, and the score of the metric
in meta.json. The classic workflow — logistic/linear regression, a decision tree and a random forest on
textbook preprocessing (median imputation, scaling, one-hot), best chosen by 5-fold CV — runs on the
same split. Results go to ``docs/benchmarks.md`` (between markers) and ``benchmarks/results/``.

Run: ``python benchmarks/shared_datasets.py [--budget 60] [--only adult,titanic]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from _doc import replace_section

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- shared-datasets:begin -->", "<!-- shared-datasets:end -->"
LOWER_IS_BETTER = {"rmse", "log_loss"}


def score(metric: str, y: pd.Series, pred: pd.DataFrame, labels: list, positive) -> float:
    """Score predictions read from ``modelworks predict`` output (or the classic workflow)."""
    if metric == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y, pred["prediction"])))
    if metric == "roc_auc":
        return float(metrics.roc_auc_score(y.astype(str) == str(positive), pred[str(positive)]))
    if metric == "log_loss":
        return float(
            metrics.log_loss(
                y.astype(str),
                pred[[str(c) for c in labels]].to_numpy(),
                labels=[str(c) for c in labels],
            )
        )
    raise ValueError(metric)


def classic(train: pd.DataFrame, test: pd.DataFrame, target: str, task: str, metric: str, seed=0):
    """Logistic/linear regression, decision tree, random forest; best by 5-fold CV."""
    X, y = train.drop(columns=[target]), train[target]
    X_test = test.drop(columns=[target])
    numeric = make_column_selector(dtype_include="number")
    other = make_column_selector(dtype_exclude="number")

    def prep(scale: bool):
        num = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
        return ColumnTransformer(
            [
                ("num", make_pipeline(*num), numeric),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    other,
                ),
            ]
        )

    X = X.apply(lambda c: c.astype(object) if c.dtype == bool else c)
    X_test = X_test.apply(lambda c: c.astype(object) if c.dtype == bool else c)
    if task == "regression":
        models = {
            "linear": LinearRegression(),
            "decision_tree": DecisionTreeRegressor(random_state=seed),
            "random_forest": RandomForestRegressor(random_state=seed, n_jobs=2),
        }
        cv, scoring = KFold(5, shuffle=True, random_state=seed), "neg_root_mean_squared_error"
    else:
        models = {
            "linear": LogisticRegression(max_iter=2000),
            "decision_tree": DecisionTreeClassifier(random_state=seed),
            "random_forest": RandomForestClassifier(random_state=seed, n_jobs=2),
        }
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
        scoring = "roc_auc" if metric == "roc_auc" else "neg_log_loss"
    cv_scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in models.items():
            pipe = make_pipeline(prep(name == "linear"), model)
            cv_scores[name] = cross_val_score(pipe, X, y, cv=cv, scoring=scoring).mean()
        best = max(cv_scores, key=cv_scores.get)
        pipe = make_pipeline(prep(best == "linear"), models[best]).fit(X, y)
        if task == "regression":
            pred = pd.DataFrame({"prediction": pipe.predict(X_test)})
        else:
            pred = pd.DataFrame(pipe.predict_proba(X_test), columns=[str(c) for c in pipe.classes_])
    return best, pred


def run_one(name: str, budget: float, work: Path) -> dict:
    meta = json.loads((SHARED / name / "meta.json").read_text())
    target, task, metric = meta["target"], meta["task"], meta["metric"]
    out = work / name
    exe = [sys.executable, "-m", "modelworks"]
    start = time.perf_counter()
    run = subprocess.run(
        [
            *exe,
            "run",
            str(SHARED / name / "train.csv"),
            "--target",
            target,
            "--task",
            task,
            "--time-budget",
            str(budget),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{name}: run failed\n{run.stderr}")
    pred_file = work / f"{name}-pred.csv"
    args = [*exe, "predict", str(out), str(SHARED / name / "test.csv"), "--out", str(pred_file)]
    predict = subprocess.run(
        args + ([] if task == "regression" else ["--proba"]), capture_output=True, text=True
    )
    if predict.returncode != 0:
        raise SystemExit(f"{name}: predict failed\n{predict.stderr}")
    schema = json.loads((out / "schema.json").read_text())
    summary = json.loads((out / "metrics.json").read_text())
    labels, positive = schema["target"]["labels"], schema["target"]["positive_label"]
    train = pd.read_csv(SHARED / name / "train.csv")
    test = pd.read_csv(SHARED / name / "test.csv")
    mw_score = score(metric, test[target], pd.read_csv(pred_file), labels, positive)
    classic_best, classic_pred = classic(train, test, target, task, metric)
    classic_score = score(metric, test[target], classic_pred, labels, positive)
    better = (mw_score <= classic_score) if metric in LOWER_IS_BETTER else (mw_score >= classic_score)
    return {
        "dataset": name,
        "task": task,
        "metric": metric,
        "rows": meta["rows"],
        "modelworks": round(mw_score, 4),
        "best_model": summary["best_model"],
        "classic": round(classic_score, 4),
        "classic_best": classic_best,
        "at_least_as_good": bool(better),
        "wall_s": round(wall, 1),
        "budget_s": budget,
        "models_compared": len(summary["leaderboard"]),
        "skipped": len(summary["skipped"]),
    }


def write_doc(rows: list[dict], budget: float) -> None:
    lines = [
        BEGIN,
        "",
        f"`python benchmarks/shared_datasets.py --budget {budget:g}` "
        f"({time.strftime('%Y-%m-%d')}, 2-core machine, OMP_NUM_THREADS=1). "
        "Score on each dataset's test.csv (never seen by the run); classic = best of "
        "logistic/linear regression, decision tree, random forest by 5-fold CV.",
        "",
        "| dataset | task | rows | metric | modelworks | best model | classic | classic best "
        "| ≥ classic | wall s / budget | compared / skipped |",
        "|---|---|---:|---|---:|---|---:|---|:-:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['task']} | {r['rows']:,} | {r['metric']} | {r['modelworks']} "
            f"| {r['best_model']} | {r['classic']} | {r['classic_best']} "
            f"| {'yes' if r['at_least_as_good'] else 'no'} | {r['wall_s']} / {r['budget_s']:g} "
            f"| {r['models_compared']} / {r['skipped']} |"
        )
    lines.append("")
    replace_section(DOC, BEGIN, END, "\n".join(lines[1:]), "Shared datasets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} not found: the shared datasets are needed")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    names = [n for n in args.only.split(",") if n] or sorted(p.name for p in SHARED.iterdir())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = run_one(name, args.budget, Path(tmp))
            print(json.dumps(row), flush=True)
            rows.append(row)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "shared_datasets.json").write_text(json.dumps(rows, indent=2) + "\n")
    if not args.only:
        write_doc(rows, args.budget)


if __name__ == "__main__":
    main()
