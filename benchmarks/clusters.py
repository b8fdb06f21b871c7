"""Clustering and anomaly detection against known answers.

Anomalies. On each of wine_red, abalone, concrete, pima and adult (first 5,000 rows) from
``../shared/datasets/<name>/train.csv``, target column (``meta.json``) dropped: 1% of the rows (at
least 10), drawn with a fixed seed, get 1 to 3 of their numeric columns set to
``max + U(1, 3) × (max − min)`` of that column, far outside its range; a column ``injected`` (1/0)
marks them and is passed as ``label=`` (never used for fitting). :class:`modelworks.cluster.Anomalies`
runs with the automatic threshold (Tukey's far-out fence of each detector's scores, passed by most
detectors) and with ``contamination=``
equal to the true injected share. Reported: rows flagged, the share of injected rows caught (recall),
the share of flagged rows that are injected (precision), seconds. A harder variant puts "subtle"
outliers at ``max + U(0.1, 0.5) × (max − min)`` in one column only (automatic threshold).

Clustering. :class:`modelworks.cluster.Clustering` with ``method="auto"`` and ``method="all"``,
``k="auto"``, seed 0, the default 60 s budget, on tables whose classes are known (used only to score):
penguins (shared; the four body measurements, train.csv + test.csv, rows missing one of them dropped;
species), scikit-learn's wine, iris and breast cancer, and ``make_blobs(600, 6 features, 4 centres,
cluster_std=1.5, random_state=0)``. Reported: the clustering chosen, the k the gap statistic picked,
clusters, ARI and NMI against the classes, seconds and the reason given. Penguins and wine are fitted
twice per method: "deterministic" says whether the two runs gave identical labels.

Budget. ``modelworks cluster --method all`` and ``modelworks anomalies`` as real processes on generated
tables (``make_blobs``, 10 numeric features, 5 centres, plus a categorical column) of 50,000 and 200,000
rows, with ``--time-budget`` 30 and 60 s: the wall time of the whole process, measured from outside.

Run: ``OMP_NUM_THREADS=1 python benchmarks/clusters.py [--only anomalies|clustering|budget]`` (about ten
minutes on 2 cores). The tables go to ``docs/benchmarks.md`` (between markers) on a full run; the script exits
with status 1 when a repeated run gave different labels.
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

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- clusters:begin -->", "<!-- clusters:end -->"
HEADING = "Clustering and anomaly detection"
COMMAND = "OMP_NUM_THREADS=1 python benchmarks/clusters.py"

ANOMALY_SETS = ["wine_red", "abalone", "concrete", "pima", "adult"]
#: adult is cut to its first rows to keep the run short.
FIRST_ROWS = {"adult": 5000}
#: Share of rows injected, and the least number.
SHARE, AT_LEAST = 0.01, 10
#: (low, high, most columns) of the injected values: max + U(low, high) × range in 1..most columns.
FAR, SUBTLE = (1.0, 3.0, 3), (0.1, 0.5, 1)
INJECT_SEED = 0
PENGUIN_COLUMNS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
REPEATED = {"penguins", "wine"}


# ---------------------------------------------------------------------------------------------- anomalies
def shared_table(name: str) -> pd.DataFrame | None:
    """``train.csv`` of a shared dataset without its target; ``None`` when absent."""
    folder = SHARED / name
    if not (folder / "train.csv").exists() or not (folder / "meta.json").exists():
        print(f"skipped {name}: {folder / 'train.csv'} or meta.json not found", flush=True)
        return None
    target = json.loads((folder / "meta.json").read_text())["target"]
    df = pd.read_csv(folder / "train.csv").drop(columns=[target])
    if name in FIRST_ROWS:
        df = df.head(FIRST_ROWS[name]).copy()
    return df


def inject(df: pd.DataFrame, low: float, high: float, most: int) -> tuple[pd.DataFrame, int]:
    """A copy of ``df`` in which 1% of the rows (at least 10) have 1 to ``most`` numeric columns set to
    ``max + U(low, high) × (max − min)`` of the column, marked in a new column ``injected``."""
    rng = np.random.default_rng(INJECT_SEED)
    out = df.copy()
    numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])]
    spans = {c: (float(out[c].min()), float(out[c].max())) for c in numeric}
    count = max(AT_LEAST, int(round(SHARE * len(out))))
    rows = np.sort(rng.choice(len(out), count, replace=False))
    for c in numeric:
        out[c] = out[c].astype(np.float64)
    for r in rows:
        k = int(rng.integers(1, most + 1))
        for c in rng.choice(numeric, min(k, len(numeric)), replace=False):
            lo, hi = spans[c]
            out.iloc[r, out.columns.get_loc(c)] = hi + rng.uniform(low, high) * (hi - lo)
    out["injected"] = 0
    out.iloc[rows, out.columns.get_loc("injected")] = 1
    return out, count


def detect(df: pd.DataFrame, variant: str, contamination: float | None) -> dict:
    from modelworks.cluster import Anomalies

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        an = Anomalies(df, contamination=contamination, label="injected", seed=0).fit()
    ext = an.external
    return {
        "variant": variant,
        "columns_used": len(an.data.columns),
        "flagged": ext["flagged"],
        "caught": ext["caught"],
        "recall": float(ext["recall"]),
        "precision": float(ext["precision"]),
        "threshold": an.threshold,
        "threshold_rule": an.threshold_rule,
        "seconds": an.seconds,
    }


def run_anomalies(name: str) -> list[dict]:
    df = shared_table(name)
    if df is None:
        return []
    far, count = inject(df, *FAR)
    subtle, _ = inject(df, *SUBTLE)
    base = {"dataset": name, "rows": len(df), "columns": df.shape[1], "injected": count}
    runs = [
        detect(far, "far, automatic", None),
        detect(far, "far, contamination", count / len(df)),
        detect(subtle, "subtle, automatic", None),
    ]
    return [{**base, **r} for r in runs]


def anomaly_table(rows: list[dict], subtle: bool) -> str:
    lines = [
        "| dataset | rows | columns (used) | injected | threshold rule | flagged | caught (recall) "
        "| precision | s |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["variant"].startswith("subtle") != subtle:
            continue
        prec = "–" if r["precision"] != r["precision"] else f"{r['precision']:.2f}"
        lines.append(
            f"| {r['dataset']} | {r['rows']:,} | {r['columns']} ({r['columns_used']}) | {r['injected']} | "
            f"{r['threshold_rule']} | {r['flagged']} | {r['caught']} ({r['recall']:.2f}) | {prec} | "
            f"{r['seconds']:.1f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- clustering
def clustering_tables() -> dict[str, tuple[pd.DataFrame, str]]:
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_blobs

    tables: dict[str, tuple[pd.DataFrame, str]] = {}
    folder = SHARED / "penguins"
    if (folder / "train.csv").exists() and (folder / "test.csv").exists():
        both = pd.concat([pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv")])
        penguins = both[[*PENGUIN_COLUMNS, "species"]].dropna(subset=PENGUIN_COLUMNS)
        tables["penguins"] = (penguins.reset_index(drop=True), "species")
    else:
        print(f"skipped penguins: {folder} has no train.csv and test.csv", flush=True)
    tables["wine"] = (load_wine(as_frame=True).frame, "target")
    tables["iris"] = (load_iris(as_frame=True).frame, "target")
    tables["breast cancer"] = (load_breast_cancer(as_frame=True).frame, "target")
    X, y = make_blobs(n_samples=600, n_features=6, centers=4, cluster_std=1.5, random_state=0)
    blobs = pd.DataFrame(X, columns=[f"x{i + 1}" for i in range(X.shape[1])]).assign(blob=y)
    tables["blobs"] = (blobs, "blob")
    return tables


def cluster(name: str, df: pd.DataFrame, label: str, method: str) -> dict:
    from modelworks.cluster import Clustering

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Clustering(df, method=method, k="auto", label=label, seed=0).fit()

    cl = fit()
    deterministic = None
    if name in REPEATED:
        deterministic = bool(np.array_equal(cl.labels_, fit().labels_))
    return {
        "dataset": name,
        "rows": len(df),
        "columns": df.shape[1] - 1,
        "classes": int(df[label].nunique()),
        "method": method,
        "chosen": cl.chosen.label,
        "k_star": int(cl.k_star),
        "n_clusters": int(cl.chosen.n_clusters),
        "ari": cl.external["ari"],
        "nmi": cl.external["nmi"],
        "seconds": cl.seconds,
        "deterministic": deterministic,
        "reason": cl.reason,
        "k_reason": cl.k_reason,
        "stability_note": cl.stability_note,
    }


def clustering_table(rows: list[dict]) -> str:
    lines = [
        "| dataset | rows × columns | classes | method | chosen | k (gap) | clusters | ARI | NMI | s "
        "| deterministic | reason |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|:-:|---|",
    ]
    for r in rows:
        det = "–" if r["deterministic"] is None else ("yes" if r["deterministic"] else "**no**")
        reason = r["reason"] + (f" ({r['stability_note']})" if r["stability_note"] else "")
        lines.append(
            f"| {r['dataset']} | {r['rows']:,} × {r['columns']} | {r['classes']} | {r['method']} | "
            f"{r['chosen']} | {r['k_star']} | {r['n_clusters']} | {r['ari']:.3f} | {r['nmi']:.3f} | "
            f"{r['seconds']:.1f} | {det} | {reason} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- report
def run_budget() -> list[dict]:
    """Wall time of whole ``modelworks cluster`` / ``anomalies`` processes on large generated tables."""
    import os
    import subprocess
    import tempfile

    from sklearn.datasets import make_blobs

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (50_000, 200_000):
            X, y = make_blobs(n_samples=n, n_features=10, centers=5, cluster_std=2.0, random_state=0)
            df = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
            df["shop"] = np.array(list("abcde"))[y]
            df["y"] = y
            csv = Path(tmp) / f"blobs{n}.csv"
            df.to_csv(csv, index=False)
            runs = [
                ("cluster", b, ["--method", "all", "--label", "y", "--time-budget", str(b)]) for b in (30, 60)
            ]
            runs.append(("anomalies", None, ["--exclude", "y"]))
            for command, budget, extra in runs:
                out = Path(tmp) / f"{command}-{n}-{budget}"
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "modelworks", command, str(csv), *extra, "--out", str(out)],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "OMP_NUM_THREADS": "1"},
                )
                wall = time.perf_counter() - started
                metrics = json.loads((out / "metrics.json").read_text()) if done.returncode == 0 else {}
                rows.append(
                    {
                        "command": command,
                        "rows": n,
                        "budget": budget,
                        "wall": wall,
                        "exit": done.returncode,
                        "chosen": (metrics.get("chosen") or {}).get("label", ""),
                        "ari": (metrics.get("external") or {}).get("ari"),
                        "note": metrics.get("stability_note") or "",
                    }
                )
    return rows


def budget_table(rows: list[dict]) -> str:
    lines = [
        "| command | rows | --time-budget | wall s (whole process) | exit | chosen | ARI | note |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        ari = "" if r["ari"] is None else f"{r['ari']:.3f}"
        budget = "–" if r["budget"] is None else str(r["budget"])
        lines.append(
            f"| {r['command']} | {r['rows']:,} | {budget} | {r['wall']:.1f} | {r['exit']} | {r['chosen']} "
            f"| {ari} | {r['note']} |"
        )
    return "\n".join(lines)


def body(anomalies: list[dict], clusters: list[dict], budget: list[dict] | None = None) -> str:
    parts = [
        f"`{COMMAND}` (one thread; see the script's docstring). Known answers are passed as `label=` and "
        "never used for fitting.",
    ]
    if anomalies:
        parts += [
            "**Anomalies, far outliers.** 1% of the rows (at least 10, fixed seed) get 1 to 3 numeric "
            "columns set to `max + U(1, 3) × (max − min)`; target dropped, adult cut to its first 5,000 "
            "rows. Each dataset twice: the automatic threshold, and `contamination=` equal to the true "
            "injected share. Recall: injected rows caught; precision: flagged rows that were injected.",
            anomaly_table(anomalies, subtle=False),
            "**Anomalies, subtle outliers.** The same rows, one column set to `max + U(0.1, 0.5) × "
            "(max − min)`, automatic threshold.",
            anomaly_table(anomalies, subtle=True),
        ]
    if clusters:
        parts += [
            '**Clustering against known classes.** `Clustering(df, method=..., k="auto", label=..., '
            "seed=0)`, default 60 s budget; ARI and NMI of the chosen clustering against the classes. "
            '"k (gap)": the k the gap statistic picked. Penguins and wine are fitted twice per method; '
            '"deterministic": the two runs gave identical labels.',
            clustering_table(clusters),
        ]
    if budget:
        parts += [
            "**The time budget on large tables.** Whole `modelworks` processes on generated tables "
            "(`make_blobs`, 10 numeric features, 5 centres, a categorical column), wall time measured "
            "from outside the process: loading, comparing on a 5,000-row sample, the bootstrap (as many "
            "resamples as the budget affords), assigning every row, the profiles, the report and the "
            "bundle. `anomalies` has no budget option (it fits three detectors once).",
            budget_table(budget),
        ]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["anomalies", "clustering", "budget"], default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    anomalies: list[dict] = []
    clusters: list[dict] = []
    if args.only in (None, "anomalies"):
        for name in ANOMALY_SETS:
            for row in run_anomalies(name):
                anomalies.append(row)
                print(json.dumps(row), flush=True)
    if args.only in (None, "clustering"):
        for name, (df, label) in clustering_tables().items():
            for method in ("auto", "all"):
                row = cluster(name, df, label, method)
                clusters.append(row)
                print(json.dumps(row), flush=True)
    budget: list[dict] = []
    if args.only in (None, "budget"):
        for row in run_budget():
            budget.append(row)
            print(json.dumps(row), flush=True)
    text = body(anomalies, clusters, budget)
    if args.only is None:
        replace_section(DOC, BEGIN, END, text, HEADING)
    print(text)
    print(f"\n{time.perf_counter() - start:.0f} s in all", flush=True)
    if any(r["deterministic"] is False for r in clusters):
        sys.exit("a repeated clustering gave different labels (deterministic: no)")


if __name__ == "__main__":
    main()
