"""Every command refuses bad options and unusable input as ``run`` does: exit 2, one line, before work.

The option matrix runs in process (Typer's ``CliRunner``: the real command functions, exit codes and
messages, a fraction of a second each); the inputs that need reading (images, tables with infinite
values, a foreign ``--out``, a column copying the target) run the real ``modelworks`` executable.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli_options import assert_one_line_error, run_cli, snapshot
from typer.testing import CliRunner

from modelworks import cli
from modelworks.errors import ConfigError


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with a small table, a table holding infinities, and image folders (digits as PNG)."""
    from modelworks.data.demo import write_digits

    root = tmp_path_factory.mktemp("everywhere")
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(list("pq"), n)})
    df.to_csv(root / "rows.csv", index=False)
    inf = df.copy()
    inf.loc[[3, 7], "b"] = [np.inf, -np.inf]
    inf.to_csv(root / "inf.csv", index=False)
    digits = write_digits(root / "digits")
    few = root / "few"  # three images per class: too few for a test and a validation part of 10 classes
    for folder in sorted(p for p in digits.iterdir() if p.is_dir()):
        (few / folder.name).mkdir(parents=True)
        for image in sorted(folder.glob("*.png"))[:3]:
            shutil.copy(image, few / folder.name / image.name)
    lonely = root / "lonely"  # class "b" has one image only
    for label, count in (("a", 20), ("b", 1)):
        (lonely / label).mkdir(parents=True)
        for image in sorted((digits / "0").glob("*.png"))[:count]:
            shutil.copy(image, lonely / label / image.name)
    (root / "a_file").write_text("not a folder\n")
    return root


def invoke(args: list[str], cwd: Path) -> tuple[int, str]:
    """Exit code and output of ``modelworks ARGS`` run in process from ``cwd``."""
    import os

    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli.app, args)
    finally:
        os.chdir(before)
    return result.exit_code, result.output


BUDGET = "--time-budget must be a positive"
#: Commands that write a bundle take ``--out`` (given, so that nothing lands in the test's folder).
WRITERS = ("run", "demo", "cluster", "anomalies")
# (arguments, words the one error line must hold); names of the module's inputs become their paths
OPTION_MISTAKES: dict[str, tuple[list[str], str]] = {
    # images: the same budget rule as a table run, before any image is read ("few" would be refused)
    "images-budget-zero": (["run", "few", "--time-budget", "0"], BUDGET),
    "images-budget-negative": (["run", "few", "--time-budget", "-1"], BUDGET),
    "images-budget-nan": (["run", "few", "--time-budget", "nan"], BUDGET),
    "images-budget-inf": (["run", "few", "--time-budget", "inf"], BUDGET),
    "images-epochs-zero": (["run", "few", "--max-epochs", "0"], "--max-epochs must be at least 1"),
    "images-epochs-negative": (["run", "few", "--max-epochs", "-3"], "--max-epochs must be at least 1"),
    "images-test-size": (["run", "few", "--test-size", "1.5"], "--test-size must be above 0"),
    "images-seed": (["run", "few", "--seed", "-1"], "--seed must be between 0"),
    "images-augment": (["run", "few", "--augment", "rotate"], "--augment must be one of"),
    "images-backend": (["run", "few", "--backend", "jax"], "--backend must be one of"),
    "images-device": (["run", "few", "--device", "tpu"], "--device must be one of"),
    "demo-images-budget": (["demo", "--images", "--time-budget", "nan"], BUDGET),
    # cluster: the infinite table would be refused on reading; the options come first
    "cluster-budget-nan": (
        ["cluster", "inf.csv", "--time-budget", "nan"],
        BUDGET,
    ),
    "cluster-budget-inf": (
        ["cluster", "inf.csv", "--time-budget", "inf"],
        BUDGET,
    ),
    "cluster-budget-zero": (["cluster", "inf.csv", "--time-budget", "0"], BUDGET),
    "cluster-k-one": (["cluster", "inf.csv", "--k", "1"], "--k must be at least 2"),
    "cluster-k-word": (["cluster", "inf.csv", "--k", "two"], "--k must be 'auto' or a whole number"),
    "cluster-k-density": (["cluster", "inf.csv", "--method", "dbscan", "--k", "3"], "leave --k as auto"),
    "cluster-method": (["cluster", "inf.csv", "--method", "spectral"], "--method must be one of"),
    "cluster-scaling": (["cluster", "inf.csv", "--scaling", "minmax"], "--scaling must be one of"),
    "cluster-seed": (["cluster", "inf.csv", "--seed", str(2**32)], "--seed must be between 0"),
    "cluster-dask-spelling": (["cluster", "inf.csv", "--cluster", "local:0"], "--cluster"),
    "anomalies-contamination-zero": (["anomalies", "inf.csv", "--contamination", "0"], "--contamination"),
    "anomalies-contamination-big": (["anomalies", "inf.csv", "--contamination", "0.6"], "at most 0.5"),
    "anomalies-contamination-nan": (["anomalies", "inf.csv", "--contamination", "nan"], "--contamination"),
    "anomalies-scaling": (["anomalies", "inf.csv", "--scaling", "minmax"], "--scaling must be one of"),
    "anomalies-seed": (["anomalies", "inf.csv", "--seed", "-2"], "--seed must be between 0"),
    # serving and predicting: the options before the bundle is even looked for
    "serve-port-zero": (["serve", "nowhere", "--port", "0"], "--port must be between 1 and 65535"),
    "serve-port-high": (["serve", "nowhere", "--port", "70000"], "--port must be between 1 and 65535"),
    "serve-workers": (["serve", "nowhere", "--workers", "0"], "--workers must be at least 1"),
    "serve-max-rows": (["serve", "nowhere", "--max-rows", "0"], "--max-rows must be at least 1"),
    "serve-body-inf": (["serve", "nowhere", "--max-body-mb", "inf"], "--max-body-mb must be a positive"),
    "serve-body-nan": (["serve", "nowhere", "--max-body-mb", "nan"], "--max-body-mb must be a positive"),
    "serve-body-zero": (["serve", "nowhere", "--max-body-mb", "0"], "--max-body-mb must be a positive"),
    "serve-runtime": (["serve", "nowhere", "--runtime", "gpu"], "--runtime must be one of"),
    "predict-runtime": (["predict", "nowhere", "rows.csv", "--runtime", "gpu"], "--runtime must be one of"),
    "predict-chunk-rows": (["predict", "nowhere", "rows.csv", "--chunk-rows", "0"], "--chunk-rows"),
    "compare-alpha-one": (["compare", "nowhere", "nor_here", "--alpha", "1"], "--alpha must be above 0"),
    "compare-alpha-nan": (["compare", "nowhere", "nor_here", "--alpha", "nan"], "--alpha must be above 0"),
}


@pytest.mark.parametrize("case", sorted(OPTION_MISTAKES))
def test_every_command_refuses_a_bad_option_before_reading(case, work, tmp_path):
    args, words = OPTION_MISTAKES[case]
    args = [str(work / a) if (work / a).exists() and a != "nowhere" else a for a in args]
    before = snapshot(tmp_path)
    out = ["--out", str(tmp_path / "never")] if args[0] in WRITERS else []
    code, output = invoke([*args, *out], tmp_path)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], output
    assert "Reading" not in output and "Traceback" not in output
    assert snapshot(tmp_path) == before


def test_the_python_api_uses_the_same_words(work):
    from modelworks.cluster import Anomalies, Clustering
    from modelworks.settings import RunSettings
    from modelworks.workflows.images import ImageExperiment

    frame = pd.read_csv(work / "rows.csv")
    for make in (
        lambda: RunSettings(time_budget=math.nan),
        lambda: Clustering(frame, time_budget=math.nan),
        lambda: ImageExperiment(np.zeros((40, 8, 8, 1), np.uint8), np.arange(40) % 2, time_budget=math.nan),
    ):
        with pytest.raises(
            ConfigError, match=r"^--time-budget must be a positive number of seconds \(got nan\)"
        ):
            make()
    with pytest.raises(ConfigError, match="--max-epochs must be at least 1"):
        ImageExperiment(np.zeros((40, 8, 8, 1), np.uint8), np.arange(40) % 2, max_epochs=0)
    with pytest.raises(ConfigError, match=r"--contamination must be above 0 and at most 0.5 \(got 0.7\)"):
        Anomalies(frame, contamination=0.7)
    assert Anomalies(frame, contamination=0.5).contamination == 0.5  # the bound is included


@pytest.mark.parametrize("command", ["cluster", "anomalies"])
def test_infinite_values_are_refused_as_run_refuses_them(command, work, tmp_path):
    proc = run_cli([command, str(work / "inf.csv"), "--out", "never"], tmp_path)
    line = assert_one_line_error(proc, 2, "column 'b' holds 2 infinite value(s)", "leave the cells empty")
    ran = run_cli(["run", str(work / "inf.csv"), "--target", "a", "--out", "never"], tmp_path)
    assert assert_one_line_error(ran, 2) == line  # one rule, one sentence, for every command
    assert not (tmp_path / "never").exists()


FOREIGN = {
    "run-table": ["run", "rows.csv", "--target", "a"],
    "run-images": ["run", "digits"],
    "cluster": ["cluster", "rows.csv"],
    "anomalies": ["anomalies", "rows.csv"],
}


@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_a_foreign_out_folder_is_refused_before_any_work(case, work, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's own file\n")
    args = [str(work / a) if (work / a).exists() else a for a in FOREIGN[case]]
    started = time.perf_counter()
    proc = run_cli([*args, "--out", str(mine)], tmp_path)
    elapsed = time.perf_counter() - started
    assert_one_line_error(proc, 2, "is not a modelworks bundle", "choose another --out")
    assert "Reading" not in proc.stdout, proc.stdout  # refused before the data was read
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert elapsed < 60, elapsed  # a refusal, not a refusal after the fit


def test_images_too_few_per_class_for_the_split_say_how_many_are_needed(work, tmp_path):
    proc = run_cli(["run", str(work / "few"), "--out", "never"], tmp_path)
    assert_one_line_error(proc, 2, "30 images are too few", "at least 82 are needed")
    proc = run_cli(["run", str(work / "lonely"), "--out", "never"], tmp_path)
    assert_one_line_error(proc, 2, "class(es) b (1) have fewer than the 3 images each class needs")
    assert not (tmp_path / "never").exists()


def test_a_column_copying_the_target_is_named(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.choice(["yes", "no"], 120)
    pd.DataFrame({"answer": y, "y": y}).to_csv(tmp_path / "only.csv", index=False)
    proc = run_cli(["run", "only.csv", "--target", "y", "--out", "never"], tmp_path)
    assert_one_line_error(proc, 2, "column(s) 'answer' copy the target 'y' exactly", "remove them")
    assert not (tmp_path / "never").exists()


def test_a_copy_of_a_continuous_target_is_left_out_as_leakage():
    from modelworks.data.checks import target_copies

    rng = np.random.default_rng(2)
    y = pd.Series(rng.normal(size=200), name="y")
    X = pd.DataFrame({"same": y.to_numpy(), "id": np.arange(200), "noise": rng.normal(size=200)})
    X["as_text"] = y.astype(str)
    assert target_copies(X, y) == ["same", "as_text"]  # the target's values; an identifier is not one


def test_run_and_predict_skip_an_unreadable_image_in_the_same_words(work, image_bundle, tmp_path):
    images = tmp_path / "images"
    for label in ("0", "1"):
        shutil.copytree(work / "digits" / label, images / label)
    (images / "1" / "broken.png").write_bytes(b"not an image")
    from modelworks.models.neural._image_data import read_folder
    from modelworks.models.neural.predict_images import predict_images

    read = read_folder(images)
    from modelworks.bundle import load_bundle

    bundle = load_bundle(image_bundle[0])
    frame, notices = predict_images(bundle.model, bundle.schema, images / "1")
    assert [n.split(":")[0] for n in read.notices if "unreadable" in n] == ["skipped 1 unreadable image(s)"]
    assert [n.split(":")[0] for n in notices] == ["skipped 1 unreadable image(s)"]
    assert "broken.png" in notices[0] and len(frame) == len(list((images / "1").glob("*.png"))) - 1
    proc = run_cli(["predict", str(image_bundle[0]), str(images / "1" / "broken.png")], tmp_path)
    assert_one_line_error(proc, 2, "broken.png is not a readable image")
