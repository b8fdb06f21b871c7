"""The issue's bar on a shared table: the penguins' four body measurements, clustered with
``--method auto --k auto``, match the species (never fitted on) with an ARI of at least 0.7, and two
runs with the same seed give the same clusters."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]

pytestmark = pytest.mark.skipif(
    not (SHARED / "penguins").is_dir(), reason="the shared datasets (../shared/datasets) are absent"
)


def test_penguin_species_are_found_and_the_run_repeats(cli, tmp_path):
    penguins = pd.concat(pd.read_csv(SHARED / "penguins" / f"{part}.csv") for part in ("train", "test"))
    penguins[[*MEASUREMENTS, "species"]].to_csv(tmp_path / "penguins.csv", index=False)
    runs = []
    for name in ("first", "second"):
        run = cli(
            "cluster", "penguins.csv", "--method", "auto", "--k", "auto", "--label", "species",
            "--no-report", "--out", name, cwd=tmp_path, timeout=180,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        runs.append(tmp_path / name)
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["external"]["ari"] >= 0.7, metrics["chosen"]
    assert metrics["chosen"]["n_clusters"] == 3
    first, second = (pd.read_csv(r / "assignments.csv") for r in runs)
    pd.testing.assert_frame_equal(first, second)
    again = json.loads((runs[1] / "metrics.json").read_text())
    assert [r["silhouette"] for r in again["comparison"]] == [r["silhouette"] for r in metrics["comparison"]]
