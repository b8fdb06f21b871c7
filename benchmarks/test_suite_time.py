"""How long the inner loop takes: the wall time of ``make test-fast`` (the unit tests on two workers).

The target lives in the Makefile; this runs it as a real process, ``--repeat`` times, and keeps each
run's wall time, the pytest summary line and the machine's core count. Run it on a quiet machine with
``.venv`` already built (the first ``make`` builds it, which is not what is being timed).

Run: ``python benchmarks/test_suite_time.py [--target test-fast] [--repeat 1]``. Results go to
``benchmarks/results/test_suite_time.json`` and ``docs/benchmarks.md`` (between markers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import time
from pathlib import Path

from _doc import replace_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results" / "test_suite_time.json"
BEGIN, END = "<!-- test-suite-time:begin -->", "<!-- test-suite-time:end -->"


def time_target(target: str) -> dict:
    """Run ``make TARGET`` once; its wall time, exit code and pytest's last summary line."""
    start = time.perf_counter()
    done = subprocess.run(["make", target], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = [ln for ln in done.stdout.splitlines() if re.search(r"\d+ passed", ln)]
    return {
        "seconds": round(seconds, 1),
        "returncode": done.returncode,
        "summary": summary[-1].strip("= ") if summary else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="test-fast")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    runs = [time_target(args.target) for _ in range(args.repeat)]
    result = {
        "date": dt.date.today().isoformat(),
        "target": args.target,
        "cores": os.cpu_count(),
        "runs": runs,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    seconds = sorted(r["seconds"] for r in runs)
    body = (
        f"`make {args.target}` on this machine ({result['cores']} cores), measured {result['date']} "
        f"by `benchmarks/test_suite_time.py --repeat {args.repeat}`: "
        f"{', '.join(f'{s:.0f} s' for s in seconds)} wall "
        f"(median {seconds[len(seconds) // 2]:.0f} s; pytest: {runs[0]['summary']}). "
        "The goal is under three minutes; `make test` on a fresh clone is quoted at each stop's CI."
    )
    replace_section(DOC, BEGIN, END, body, "The inner loop: `make test-fast`")
    print(body)
    if any(r["returncode"] for r in runs):
        raise SystemExit(f"make {args.target} failed: see {RESULTS}")


if __name__ == "__main__":
    main()
