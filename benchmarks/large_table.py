"""A table larger than the comparison's memory: a folder of Parquet files, profiled over every row,
compared on a sample, and with ``--full-data`` its booster refitted on all rows, streamed file by file.

The tables (generated here, never committed), one per entry of ``--rows``, in Parquet files of 100,000
rows. An entry is ``ROWS[:EXTRA[:BUDGET]]``: EXTRA more numeric columns (a wider table; noisy copies of
four numbers and pure noise, in turn), and the runs' ``--time-budget`` (``--time-budget`` by default).
By default: 1,000,000 rows, 5,000,000 rows, and 5,000,000 rows with 30 more columns. The columns: ten
numeric (two with 3% missing, one
log-normal), three categorical columns (8, 4 and 30 levels, some rare) and a binary target ``y``
("yes"/"no", about 40% "yes") whose log-odds depend on four of the numbers (one product, one sine)
and two of the categories. They go to ``--dir`` (reused when it already holds the same table) or to a
temporary folder removed at the end.

Measured for each size, each as a whole ``modelworks`` process started from here: wall time, and the
peak memory of the process and all its descendants (fold workers, Dask), sampled with psutil every
0.2 s: their proportional set size (PSS, shared pages divided among the processes sharing them) and
their resident sizes summed (RSS, shared pages counted in each), also per phase of the run (the
output's lines are timed as they come). Beside them: the table's size on disk, and its size in memory
as pandas holds it (``memory_usage(deep=True)`` of the first file read with pandas, times the number
of files).

1. ``modelworks profile DIR --target y``: the profile alone.
2. ``modelworks run DIR --target y --full-data --time-budget B``: profile, sample, comparison,
   test, the fit on all rows, report and bundle. Its metrics.json gives the sample, the chosen model,
   the test metrics (on the sample's held-out rows) and what the fit on all rows did.
3. (``--sample-only``) the same run without ``--full-data``.

Run alone, on a quiet machine: ``OMP_NUM_THREADS=1 python benchmarks/large_table.py`` (about half
an hour on 2 cores); ``--no-doc`` leaves docs/benchmarks.md as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _doc import replace_section  # noqa: E402  (benchmarks/ is the script folder)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- large-table:begin -->", "<!-- large-table:end -->"
HEADING = "Larger-than-memory tables"
REGIONS = ["north_east", "north_west", "south_east", "south_west", "midlands", "scotland", "wales", "london"]
PLANS = ["basic", "standard", "premium", "enterprise"]
CHANNELS = [f"partner_{i:02d}" for i in range(30)]
#: Seconds between two samples of the process tree's memory.
EVERY = 0.2
#: Rows of each Parquet file.
ROWS_PER_FILE = 100_000


def part(index: int, rows: int, seed: int = 0, extra: int = 0) -> pd.DataFrame:
    """One file's rows (its own seed: the files differ, the table is the same on every run). ``extra``
    more numeric columns make the table wider: noisy copies of the first four numbers (correlated,
    as measurements of the same thing are) and pure noise, in turn; the target does not change."""
    rng = np.random.default_rng([seed, index])
    x = rng.normal(size=(rows, 10))
    x[:, 5] = np.exp(x[:, 5])
    df = pd.DataFrame(x, columns=[f"x{j}" for j in range(10)])
    region = rng.choice(REGIONS, size=rows)
    plan = rng.choice(PLANS, size=rows, p=[0.5, 0.3, 0.15, 0.05])
    channel = rng.choice(CHANNELS, size=rows, p=np.r_[np.full(10, 0.07), np.full(20, 0.015)])
    logit = (
        0.9 * x[:, 0]
        - 0.6 * x[:, 1]
        + 0.5 * x[:, 2] * x[:, 3]
        + 0.3 * np.sin(2 * x[:, 4])
        + np.select([plan == "premium", plan == "enterprise"], [0.6, 1.0], 0.0)
        + np.where(np.isin(region, ["london", "scotland"]), 0.4, 0.0)
        - 0.8
    )
    y = rng.random(rows) < 1 / (1 + np.exp(-logit))
    for j in (1, 6):
        df.loc[rng.random(rows) < 0.03, f"x{j}"] = np.nan
    df["region"], df["plan"], df["channel"] = region, plan, channel
    df["y"] = np.where(y, "yes", "no")
    if extra:
        noise = rng.normal(size=(rows, extra))
        for k in range(extra):
            df[f"z{k}"] = noise[:, k] + (x[:, k % 4] if k % 2 == 0 else 0.0)
    return df


def generate(folder: Path, rows: int, files: int, extra: int = 0) -> float:
    """Write the table into ``folder`` (kept when it already holds it); seconds taken."""
    marker = folder / "_table.json"
    wanted = {"rows": rows, "files": files, "version": 1, **({"extra": extra} if extra else {})}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return 0.0
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    per_file = [rows // files + (1 if i < rows % files else 0) for i in range(files)]
    for i, n in enumerate(per_file):
        part(i, n, extra=extra).to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    marker.write_text(json.dumps(wanted))  # "_" files are not table files
    return time.perf_counter() - start


def table_sizes(folder: Path) -> dict:
    """Bytes on disk, and in pandas' memory estimated from the first file (pandas' default strings,
    and Python-object strings as pandas before 3.0 held them)."""
    files = sorted(folder.glob("part-*.parquet"))
    first = pd.read_parquet(files[0])
    text = [c for c in first.columns if not pd.api.types.is_numeric_dtype(first[c])]
    return {
        "columns": len(first.columns),
        "on_disk": sum(f.stat().st_size for f in files),
        "in_memory": int(first.memory_usage(deep=True).sum() * len(files)),
        "in_memory_objects": int(
            first.astype(dict.fromkeys(text, object)).memory_usage(deep=True).sum() * len(files)
        ),
    }


def tree_rss(pid: int) -> tuple[int, int, int]:
    """Resident bytes of process ``pid`` and of all its descendants together (each process's RSS,
    so pages they share, the libraries' code for one, are counted once per process), and the
    proportional set size of the whole tree (shared pages divided among the processes sharing them:
    the memory the tree takes from the machine)."""
    import psutil

    try:
        root = psutil.Process(pid)
        main, children = root.memory_info().rss, root.children(recursive=True)
        pss = root.memory_full_info().pss
    except psutil.NoSuchProcess:
        return 0, 0, 0
    total = 0
    for p in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
            pss += p.memory_full_info().pss
    return main, total, pss


#: Lines of a run's output that end its phases: (the line's start, the phase it ends).
PHASES = (
    ("Sample for the comparison", "reading, profiling, sampling"),
    ("Test set (", "comparison on the sample"),
    ("Full data:", "test, fit on all rows"),
)


def measure(args: list[str], log: Path) -> dict:
    """Run ``python -m modelworks ARGS``: its wall time, exit status, the tree's peak memory, and the
    peak in each phase (the output's lines are timed as they come)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="160")
    samples: list[tuple[float, int, int, int]] = []  # (seconds, main RSS, descendants' RSS, tree PSS)
    lines: list[tuple[float, str]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelworks", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )

    def watch() -> None:
        while proc.poll() is None:
            samples.append((time.perf_counter() - start, *tree_rss(proc.pid)))
            time.sleep(EVERY)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert proc.stdout is not None
    with log.open("w") as fh:
        for line in proc.stdout:
            lines.append((time.perf_counter() - start, line))
            fh.write(f"[{lines[-1][0]:6.1f}s] {line}")
    proc.wait()
    watcher.join()
    ends = [(next((t for t, text in lines if text.startswith(mark)), None), name) for mark, name in PHASES]
    phases, begin = [], 0.0
    for end, name in [*[(t, n) for t, n in ends if t is not None], (math.inf, "report and bundle")]:
        inside = [(m + c, p) for t, m, c, p in samples if begin <= t < end]
        if inside:
            phases.append(
                {
                    "phase": name,
                    "until": None if end == math.inf else round(end, 1),
                    "peak": max(r for r, _ in inside),
                    "peak_pss": max(p for _, p in inside),
                }
            )
        begin = end
    peak = max(samples, key=lambda s: s[1] + s[2], default=(0.0, 0, 0, 0))
    return {
        "seconds": time.perf_counter() - start,
        "peak": peak[1] + peak[2],
        "peak_main": max((s[1] for s in samples), default=0),
        "peak_descendants": peak[2],
        "peak_pss": max((s[3] for s in samples), default=0),
        "phases": phases,
        "rc": proc.returncode,
        "log": str(log),
    }


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


NAMES = {
    "profile": "`profile DIR --target y`",
    "full": "`run DIR --target y --full-data`",
    "sample": "`run DIR --target y` (no --full-data)",
}


def describe(size: dict) -> str:
    """One size's details: the phases of its runs, the sample, the model, the fit on all rows."""
    lines = []
    for key in ("full", "sample"):
        run = size["runs"].get(key, {})
        if run.get("phases"):
            said = "; ".join(
                f"{p['phase']} {gib(p['peak_pss'])} ({gib(p['peak'])} summed RSS)" for p in run["phases"]
            )
            lines.append(f"- Peak of the tree by phase, {NAMES[key]}: {said}.")
    full = size["runs"].get("full", {}).get("metrics")
    if full:
        large = full["large_table"]
        sample, fit = large["sample"], large["full_data"]
        metric = full["metric"]
        lines.append(
            f"- `--full-data`: profile pass {large['profile_seconds']:.1f} s; sample of {sample['rows']:,} "
            f"rows, stratified, in {sample['seconds']:.1f} s; models compared on "
            f"{full['row_plan']['compare_rows']:,} of its {full['rows']['train']:,} training rows; chosen "
            f"{full['chosen_model']}; test {metric} **{full['test']['metrics'][metric]:.4f}** on the "
            f"sample's {full['rows']['test']:,} held-out rows. Fit on all rows: "
            + (fit["reason"] if fit.get("done") else f"not done: {fit.get('reason')}")
            + "."
        )
    other = size["runs"].get("sample", {}).get("metrics")
    if other:
        m = other["metric"]
        score = other["test"]["metrics"][m]
        lines.append(f"- Without `--full-data`: chosen {other['chosen_model']}, test {m} {score:.4f}.")
    return "\n".join(lines)


def body(sizes: list[dict]) -> str:
    """The section of docs/benchmarks.md."""
    lines = [
        "`benchmarks/large_table.py`: generated tables of 14 columns (ten numbers, three categories, a "
        "binary target with signal), or 44 (30 more numbers: noisy copies of four of them, and noise), in "
        'Parquet files of 100,000 rows, read as a folder. "In memory": the '
        "table as pandas 3 holds it (`memory_usage(deep=True)` of one file × files; Python-object strings, "
        "as pandas before 3.0 held them, in brackets). Each row is one whole `modelworks` process on the "
        "2-core machine, alone under the CPU lock; `run` with the `--time-budget` given. Memory, sampled "
        "every 0.2 s over the process and all its descendants (fold workers, Dask): the peak of their "
        "proportional set size (PSS: a page shared by several processes, such as the libraries' code, "
        "divided among them; what the tree takes from the machine), and the peak of their resident "
        "sizes summed (RSS: shared pages counted once per process, an overcount). `--full-data` "
        "streams the rows file by file (no `--cluster`).",
        "",
        "| rows × columns | on disk | in memory | command | wall | peak PSS of the tree | ÷ in memory | "
        "peak RSS summed | of which main |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        f = size["facts"]
        for key, run in size["runs"].items():
            memory = f"{gib(f['in_memory'])} ({gib(f['in_memory_objects'])})"
            command = NAMES[key] + (f" `--time-budget {f['budget']:g}`" if key != "profile" else "")
            lines.append(
                f"| {f['rows']:,} × {f['columns']} | {gib(f['on_disk'])} | {memory} | {command} | "
                f"{run['seconds']:.0f} s | "
                f"{gib(run['peak_pss'])} | {run['peak_pss'] / f['in_memory']:.2f} | {gib(run['peak'])} | "
                f"{gib(run['peak_main'])} |"
            )
    for size in sizes:
        f = size["facts"]
        lines += ["", f"{f['rows']:,} rows × {f['columns']} columns:", "", describe(size)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", type=Path, default=None, help="Folder for the tables (kept); a temporary one by default."
    )
    parser.add_argument(
        "--rows",
        default="1000000:0:240,5000000,5000000:30:900",
        help="Tables, comma-separated: ROWS[:EXTRA_COLUMNS[:TIME_BUDGET]].",
    )
    parser.add_argument("--time-budget", type=float, default=480.0, help="For entries that give none.")
    parser.add_argument("--sample-only", action="store_true", help="Also run without --full-data.")
    parser.add_argument("--no-doc", action="store_true", help="Leave docs/benchmarks.md as it is.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mw-large-"))
    base = args.dir or tmp
    sizes: list[dict] = []
    failed = False
    try:
        for entry in args.rows.split(","):
            rows_, extra_, budget_ = (entry.split(":") + ["", ""])[:3]
            rows, wider = int(rows_), int(extra_ or 0)
            seconds = float(budget_) if budget_ else args.time_budget
            folder = base / (f"table-{rows}" + (f"-wide{wider}" if wider else ""))
            files = max(rows // ROWS_PER_FILE, 1)
            made = generate(folder, rows, files, wider)
            facts = {"rows": rows, "files": files, "budget": seconds, **table_sizes(folder)}
            print(json.dumps({**facts, "generated_seconds": round(made, 1)}), flush=True)
            runs: dict[str, dict] = {}
            runs["profile"] = measure(["profile", str(folder), "--target", "y"], tmp / f"profile-{entry}.log")
            budget = ["--time-budget", f"{seconds:g}"]
            plans = {"full": ["--full-data"], **({"sample": []} if args.sample_only else {})}
            for key, extra in plans.items():
                out = tmp / f"bundle-{key}-{entry}"
                command = ["run", str(folder), "--target", "y", *extra, *budget, "--out", str(out)]
                runs[key] = measure(command, tmp / f"{key}-{entry}.log")
                if (out / "metrics.json").exists():
                    runs[key]["metrics"] = json.loads((out / "metrics.json").read_text())
                print(Path(runs[key]["log"]).read_text()[-3000:], flush=True)
            for key, run in runs.items():
                print(json.dumps({key: {k: v for k, v in run.items() if k != "metrics"}}), flush=True)
                failed = failed or run["rc"] != 0
            sizes.append({"facts": facts, "runs": runs})
        text = body(sizes)
        if not args.no_doc:
            replace_section(DOC, BEGIN, END, text, HEADING)
        print(text)
        if failed:
            sys.exit("a modelworks process failed; see its output above")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
