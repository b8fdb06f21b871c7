"""Signed bundles through the command line: sign on ``run``, verify on ``predict`` and ``report``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelworks.data.demo import make_churn

EXE = Path(sys.executable).with_name("modelworks")
KEY = "correct horse battery staple"


def cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args],
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("signed")
    make_churn(n_customers=300, seed=0).to_csv(root / "churn.csv", index=False)
    common = [
        "run",
        "churn.csv",
        "-t",
        "will_churn",
        "--models",
        "linear",
        "--no-report",
        "--time-budget",
        "30",
    ]
    signed = cli([*common, "--out", "signed", "--sign-key-env", "MW_KEY"], root, MW_KEY=KEY)
    assert signed.returncode == 0, signed.stderr
    assert "signed with $MW_KEY" in signed.stdout
    plain = cli([*common, "--out", "plain"], root)
    assert plain.returncode == 0, plain.stderr
    return root


def test_signed_bundle_predicts_with_the_right_key(bundles):
    proc = cli(["predict", "signed", "churn.csv", "--verify-key-env", "MW_KEY"], bundles, MW_KEY=KEY)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 301


def test_wrong_key_is_refused(bundles):
    proc = cli(["predict", "signed", "churn.csv", "--verify-key-env", "MW_KEY"], bundles, MW_KEY=KEY + "!")
    one_line(proc, "sign")


def test_unsigned_bundle_is_refused_when_a_key_is_required(bundles):
    one_line(
        cli(["predict", "plain", "churn.csv", "--verify-key-env", "MW_KEY"], bundles, MW_KEY=KEY), "sign"
    )
    one_line(cli(["report", "plain", "--verify-key-env", "MW_KEY"], bundles, MW_KEY=KEY), "sign")


def test_missing_or_empty_key_variable(bundles):
    env = {k: v for k, v in os.environ.items() if k != "MW_NOPE"}
    proc = subprocess.run(
        [str(EXE), "predict", "signed", "churn.csv", "--verify-key-env", "MW_NOPE"],
        cwd=bundles,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    one_line(proc, "MW_NOPE")
    one_line(
        cli(["run", "churn.csv", "-t", "will_churn", "--sign-key-env", "MW_KEY"], bundles, MW_KEY=""),
        "MW_KEY",
    )
    assert not (bundles / "modelworks-out").exists()  # refused before any work


def test_signed_bundle_loads_without_a_key_by_hash(bundles):
    proc = cli(["predict", "signed", "churn.csv"], bundles)
    assert proc.returncode == 0, proc.stderr
