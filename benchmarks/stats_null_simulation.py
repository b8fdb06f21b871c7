"""Type I error and power of the corrected vs the naive paired t-test on 10-fold CV scores.

Null (equal true accuracy): on every simulated dataset, two logistic regressions are cross-validated
on the same 10 folds. Both see the informative features plus their *own* block of independent noise
columns (same number, same distribution), so the two models are exchangeable: their expected accuracy
over datasets is equal, yet on any one dataset the noise columns favour one of them. The naive paired
t-test treats the 10 overlapping folds as independent and rejects this true null too often; the
Nadeau-Bengio corrected test should stay near (or below) the nominal 5%.

Power: a random forest against a depth-1 stump, where the forest is clearly better; the corrected
test should reject most of the time.

The null is run on plain 10-fold CV and on 5x repeated 10-fold CV: repeating the folds reuses the
same rows, which is where the naive test's error rate explodes.

Run: ``OMP_NUM_THREADS=1 python benchmarks/stats_null_simulation.py [N_NULL] [N_POWER] [N_REPEATED]``;
prints
``corrected: X/N = r1, naive: Y/N = r2`` and writes ``benchmarks/results/stats_null.json``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.tree import DecisionTreeClassifier

from modelworks.evaluate.stats import corrected_ttest, naive_ttest

ALPHA = 0.05
K = 10
TEST_FRACTION = 1 / (K - 1)
RESULTS = Path(__file__).resolve().parent / "results" / "stats_null.json"


def cv_scores(X_a, X_b, y, model_a, model_b, seed, repeats=1):
    """Per-fold accuracy of two models on the same stratified 10 folds (repeated ``repeats`` times)."""
    folds = RepeatedStratifiedKFold(n_splits=K, n_repeats=repeats, random_state=seed)
    a, b = [], []
    for train, test in folds.split(X_a, y):
        a.append(model_a.fit(X_a[train], y[train]).score(X_a[test], y[test]))
        b.append(model_b.fit(X_b[train], y[train]).score(X_b[test], y[test]))
    return a, b


def rejected(res) -> bool:
    return bool(res.applicable and res.p_value < ALPHA)


def null_dataset(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(300, 601))
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=3,
        n_redundant=1,
        flip_y=0.1,
        class_sep=0.8,
        random_state=seed,
    )
    noise_a = rng.normal(size=(n, 15))
    noise_b = rng.normal(size=(n, 15))
    return np.hstack([X, noise_a]), np.hstack([X, noise_b]), y


def power_dataset(seed: int):
    rng = np.random.default_rng(10_000 + seed)
    n = int(rng.integers(300, 601))
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=6, n_redundant=0, class_sep=1.0, random_state=10_000 + seed
    )
    return X, X, y


def run(kind: str, n_sets: int, repeats: int = 1) -> dict:
    counts = {"corrected": 0, "naive": 0, "not_applicable": 0}
    start = time.perf_counter()
    for s in range(n_sets):
        if kind == "null":
            X_a, X_b, y = null_dataset(s)
            model_a = LogisticRegression(C=10.0, max_iter=500)
            model_b = LogisticRegression(C=10.0, max_iter=500)
        else:
            X_a, X_b, y = power_dataset(s)
            model_a = RandomForestClassifier(n_estimators=30, random_state=s, n_jobs=1)
            model_b = DecisionTreeClassifier(max_depth=1, random_state=s)
        a, b = cv_scores(X_a, X_b, y, model_a, model_b, seed=s, repeats=repeats)
        corrected = corrected_ttest(a, b, test_fraction=TEST_FRACTION, alpha=ALPHA)
        naive = naive_ttest(a, b, alpha=ALPHA)
        counts["corrected"] += rejected(corrected)
        counts["naive"] += rejected(naive)
        counts["not_applicable"] += not corrected.applicable
    return {
        "cv": f"{repeats}x{K}-fold" if repeats > 1 else f"{K}-fold",
        "n_datasets": n_sets,
        "rejections_corrected": counts["corrected"],
        "rejections_naive": counts["naive"],
        "rate_corrected": counts["corrected"] / n_sets,
        "rate_naive": counts["naive"] / n_sets,
        "not_applicable": counts["not_applicable"],
        "seconds": round(time.perf_counter() - start, 1),
    }


def line(r: dict) -> str:
    n = r["n_datasets"]
    return (
        f"corrected: {r['rejections_corrected']}/{n} = {r['rate_corrected']:.3f}, "
        f"naive: {r['rejections_naive']}/{n} = {r['rate_naive']:.3f}"
    )


def main() -> None:
    n_null = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    n_power = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    n_repeated = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    warnings.simplefilter("ignore")
    null = run("null", n_null)
    print(f"NULL, equal true accuracy, {K}-fold CV, alpha={ALPHA} ({null['seconds']} s)")
    print(line(null))
    repeated = run("null", n_repeated, repeats=5)
    print(f"NULL, equal true accuracy, 5x{K}-fold repeated CV, alpha={ALPHA} ({repeated['seconds']} s)")
    print(line(repeated))
    power = run("power", n_power)
    print(f"POWER, random forest vs depth-1 stump, {K}-fold CV ({power['seconds']} s)")
    print(line(power))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    null_design = (
        "LogisticRegression on 5 make_classification features + 15 independent noise columns, "
        "a different noise block per model (exchangeable models, equal expected accuracy); "
        "300-600 rows, flip_y=0.1"
    )
    payload = {
        "alpha": ALPHA,
        "k_folds": K,
        "test_fraction": TEST_FRACTION,
        "null": {"design": null_design, **null},
        "null_repeated": {"design": null_design, **repeated},
        "power": {"design": "RandomForest(30 trees) vs DecisionTree(max_depth=1), 300-600 rows", **power},
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
