"""``modelworks run``, ``predict`` and ``demo --images`` on images, each as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from image_support import digits, write_folder


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory) -> Path:
    X, y = digits()
    return write_folder(tmp_path_factory.mktemp("digits") / "digits", X, y)


def test_cli_runs_and_predicts_a_folder(digits_dir, cli, tmp_path):
    bundle = tmp_path / "bundle"
    done = cli(
        "run",
        digits_dir,
        "--models",
        "cnn",
        "--max-epochs",
        "2",
        "--time-budget",
        "120",
        "--out",
        bundle,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "epoch 1:" in done.stderr and "Test set" in done.stdout
    new = tmp_path / "new"
    new.mkdir()
    for f in sorted((digits_dir / "3").glob("*.png"))[:4]:
        (new / f.name).write_bytes(f.read_bytes())
    (new / "readme.txt").write_text("hello")
    out = tmp_path / "p.csv"
    done = cli("predict", bundle, new, "--proba", "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "passed over 1 file" in done.stderr
    import pandas as pd

    frame = pd.read_csv(out)
    assert list(frame.columns) == ["path"] + [str(k) for k in range(10)] and len(frame) == 4
    np.testing.assert_allclose(frame.iloc[:, 1:].sum(axis=1), 1.0, rtol=1e-6)
    # an unreadable file is skipped and named, as ``run`` does, not the whole folder refused
    (new / "bad.png").write_bytes(b"not really a png")
    done = cli("predict", bundle, new, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "skipped 1 unreadable image(s):" in done.stderr and "bad.png" in done.stderr
    assert "bad.png" not in done.stdout and len(done.stdout.strip().splitlines()) == 1 + 4
    # one file that does not decode, given alone, leaves nothing to predict: refused in one line
    done = cli("predict", bundle, new / "bad.png", cwd=tmp_path)
    assert done.returncode == 2 and "bad.png is not a readable image" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_refuses_bad_image_input(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli("run", empty, cwd=tmp_path)
    assert done.returncode == 2 and "holds no class subfolders" in done.stderr
    X, y = digits(5)
    np.savez(tmp_path / "a.npz", X=X)
    done = cli("run", tmp_path / "a.npz", cwd=tmp_path)
    assert done.returncode == 2 and "no array named y" in done.stderr
    done = cli("run", tmp_path / "a.npz", "--target", "y", cwd=tmp_path)
    assert done.returncode == 2 and "--target applies to tables" in done.stderr


def test_image_demo_runs_the_whole_workflow_on_digits(cli, tmp_path):
    out = tmp_path / "demo"
    done = cli("demo", "--images", "--time-budget", "25", "--out", out, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1,797 PNG files" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"]["total"] == 1797 and metrics["images"]["test"] == 450
    assert metrics["test"][metrics["chosen"]]["accuracy"] > 0.9
    assert (out / "report.html").is_file() and (out / "network-0.safetensors").is_file()
