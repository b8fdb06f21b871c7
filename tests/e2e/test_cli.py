"""The command line end to end: real files, real subprocesses (``python -m modelworks``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelworks as mw

FAST_MODELS = ["linear", "decision_tree"]
FAST_CV = 3
MODELS = ",".join(FAST_MODELS)
BUNDLE_FILES = {"model.skops", "schema.json", "metrics.json", "profile.json", "manifest.json", "report.html"}
TIME_COLUMNS = {"fit_seconds", "predict_ms_per_1000"}


def run_args(data: Path | str, target: str, out: Path, *extra: object) -> list[object]:
    return ["run", data, "--target", target, "--models", MODELS, "--cv", FAST_CV, "--out", out, *extra]


@pytest.fixture(scope="module")
def churn_run(cli, churn_df, tmp_path_factory):
    """One ``modelworks run`` on the churn CSV, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("cli_run")
    csv = root / "churn.csv"
    churn_df.to_csv(csv, index=False)
    bundle = root / "out" / "churn"
    result = cli(*run_args(csv, "will_churn", bundle, "--seed", 3), cwd=root)
    return result, bundle, csv, root


def test_run_prints_leaderboard_and_writes_bundle(churn_run):
    result, bundle, _, _ = churn_run
    assert result.returncode == 0, result.stderr
    assert "Leaderboard" in result.stdout
    assert "Test set" in result.stdout
    assert f"Report: {bundle / 'report.html'}" in result.stdout
    for model in FAST_MODELS:
        assert model in result.stdout
    assert "Traceback" not in result.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    onnx = {"model.onnx"} if manifest["runtime"]["default"] == "onnx" else set()
    assert {p.name for p in bundle.iterdir()} == BUNDLE_FILES | onnx, manifest["runtime"]
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["seed"] == 3
    assert metrics["cv_folds"] == FAST_CV
    # refitted, unless the fold models' average won the bagging check (then saved as tested)
    assert metrics["test"]["refit"] is (not metrics["bagging"]["chosen"])
    assert metrics["bagging"]["reason"] in result.stdout
    assert {row["model"] for row in metrics["leaderboard"]} == set(FAST_MODELS)
    # nothing but the bundle in its parent: no temporary directory left behind
    assert [p.name for p in bundle.parent.iterdir()] == ["churn"]


def test_predict_proba_columns_rows_and_order(cli, churn_run, tmp_path):
    _, bundle, csv, _ = churn_run
    # shuffled rows: the output must follow the input order, not the training order
    rows = pd.read_csv(csv).sample(frac=1.0, random_state=1).reset_index(drop=True)
    data = tmp_path / "rows.csv"
    rows.to_csv(data, index=False)
    out = tmp_path / "pred" / "p.csv"
    result = cli("predict", bundle, data, "--proba", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    proba = pd.read_csv(out)
    assert list(proba.columns) == ["no", "yes"]
    assert len(proba) == len(rows)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    model = mw.load_model(bundle)
    expected = model.predict_proba(rows.drop(columns=["will_churn"]))
    order = [list(model.classes_).index(c) for c in ["no", "yes"]]
    np.testing.assert_allclose(proba.to_numpy(), expected[:, order], rtol=1e-9, atol=1e-12)
    assert [p.name for p in out.parent.iterdir()] == ["p.csv"]


def test_predict_labels(cli, churn_run, tmp_path):
    _, bundle, csv, _ = churn_run
    out = tmp_path / "labels.csv"
    result = cli("predict", bundle, csv, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["prediction"]
    assert len(pred) == len(pd.read_csv(csv))
    assert set(pred["prediction"]) <= {"no", "yes"}
    rows = pd.read_csv(csv).drop(columns=["will_churn"])
    expected = mw.load_model(bundle).predict(rows)
    assert pred["prediction"].tolist() == list(expected)


def test_regression_run_no_refit_and_predict(cli, regression_df, tmp_path):
    df = regression_df
    csv = tmp_path / "houses.csv"
    df.to_csv(csv, index=False)
    bundle = tmp_path / "reg"
    result = cli(*run_args(csv, "price", bundle, "--no-refit", "--no-report", "--no-bag"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "regression" in result.stdout
    assert "--no-refit" in result.stdout
    assert "Bagging: a single model (--no-bag)" in result.stdout
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    assert metrics["test"]["refit"] is False
    assert metrics["bagging"] == {"chosen": False, "reason": "a single model (--no-bag)"}
    assert "residuals" in metrics["test"]
    out = tmp_path / "pred.csv"
    result = cli("predict", bundle, csv, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["prediction"]
    assert pred["prediction"].dtype == np.float64
    assert len(pred) == len(df)
    # the signal is strong and linear: predictions follow the target
    assert np.corrcoef(pred["prediction"], df["price"])[0, 1] > 0.95
    # --proba makes no sense for regression: a one-line refusal
    result = cli("predict", bundle, csv, "--proba", "--out", tmp_path / "proba.csv", cwd=tmp_path)
    assert_user_error(result)
    assert not (tmp_path / "proba.csv").exists()


def _without_times(metrics: dict) -> dict:
    return {
        "leaderboard": [
            {k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in metrics["leaderboard"]
        ],
        **{k: metrics[k] for k in ("fold_scores", "test", "best_model", "rows", "data_sha256")},
    }


def test_same_seed_same_results(cli, churn_run, tmp_path):
    first_result, first, csv, _ = churn_run
    assert first_result.returncode == 0, first_result.stderr
    second = tmp_path / "again"
    result = cli(*run_args(csv, "will_churn", second, "--seed", 3, "--no-report"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (second / "report.html").exists() and "Report:" not in result.stdout
    refused = cli("report", second, cwd=tmp_path)
    assert refused.returncode == 2 and "--no-report" in refused.stderr
    # the ONNX export is deterministic too
    assert (first / "model.onnx").exists() == (second / "model.onnx").exists()
    if (first / "model.onnx").exists():
        assert (first / "model.onnx").read_bytes() == (second / "model.onnx").read_bytes()
    a = json.loads((first / "metrics.json").read_text())
    b = json.loads((second / "metrics.json").read_text())
    assert _without_times(a) == _without_times(b)
    assert (first / "schema.json").read_text() == (second / "schema.json").read_text()
    rows = pd.read_csv(csv).drop(columns=["will_churn"])
    np.testing.assert_array_equal(
        mw.load_model(first).predict_proba(rows), mw.load_model(second).predict_proba(rows)
    )


def test_extra_columns_and_unseen_categories(cli, churn_run, tmp_path):
    _, bundle, csv, _ = churn_run
    rows = pd.read_csv(csv).head(25).drop(columns=["will_churn"])
    rows["favourite_colour"] = "teal"
    rows.loc[0, "plan"] = "platinum"  # never seen in training
    data = tmp_path / "new.csv"
    rows.to_csv(data, index=False)
    out = tmp_path / "p.csv"
    result = cli("predict", bundle, data, "--proba", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "favourite_colour" in result.stderr
    assert "platinum" in result.stderr
    proba = pd.read_csv(out)
    assert len(proba) == 25
    assert proba.notna().all().all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


# ------------------------------------------------------------------------------ bad input


def assert_user_error(result) -> str:
    """Exit code 2, one non-empty line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    message = result.stderr.strip()
    assert message
    assert len(message.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return message


def _churn(tmp: Path, df: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp / name
    df.to_csv(path, index=False)
    return path


def _missing_file(tmp, df):
    return run_args(tmp / "nope.csv", "will_churn", tmp / "outs" / "b"), ["nope.csv"]


def _unsupported_extension(tmp, df):
    path = tmp / "data.foo"
    df.to_csv(path, index=False)
    return run_args(path, "will_churn", tmp / "outs" / "b"), [".foo"]


def _binary_garbage(tmp, df):
    path = tmp / "data.csv"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return run_args(path, "will_churn", tmp / "outs" / "b"), ["binary"]


def _empty_file(tmp, df):
    path = tmp / "data.csv"
    path.write_bytes(b"")
    return run_args(path, "will_churn", tmp / "outs" / "b"), ["empty"]


def _header_only(tmp, df):
    path = tmp / "data.csv"
    path.write_text(",".join(df.columns) + "\n")
    return run_args(path, "will_churn", tmp / "outs" / "b"), ["no rows"]


def _target_not_found(tmp, df):
    return run_args(_churn(tmp, df), "will_chrun", tmp / "outs" / "b"), ["will_chrun", "'will_churn'"]


def _target_all_missing(tmp, df):
    return run_args(_churn(tmp, df.assign(will_churn=np.nan)), "will_churn", tmp / "outs" / "b"), [
        "entirely missing"
    ]


def _target_single_class(tmp, df):
    return run_args(_churn(tmp, df.assign(will_churn="no")), "will_churn", tmp / "outs" / "b"), [
        "single value"
    ]


def _feature_all_missing(tmp, df):
    return run_args(_churn(tmp, df.assign(age=np.nan)), "will_churn", tmp / "outs" / "b"), [
        "'age'",
        "missing",
    ]


def _infinite_values(tmp, df):
    bad = df.copy()
    bad["income"] = bad["income"].astype(object)
    bad.loc[7, "income"] = "inf"
    return run_args(_churn(tmp, bad), "will_churn", tmp / "outs" / "b"), ["'income'", "infinite"]


def _too_many_classes(tmp, df):
    small = pd.DataFrame({"x": np.arange(12.0), "z": np.arange(12.0)[::-1] * 2.5, "y": list("aabbccddeeff")})
    return run_args(_churn(tmp, small), "y", tmp / "outs" / "b"), ["6 classes", "12 rows"]


def _unknown_model(tmp, df):
    args = run_args(_churn(tmp, df), "will_churn", tmp / "outs" / "b")
    args[args.index("--models") + 1] = "linear,deep_magic"
    return args, ["deep_magic"]


def _bad_test_size(tmp, df):
    return run_args(_churn(tmp, df), "will_churn", tmp / "outs" / "b", "--test-size", "1.5"), ["--test-size"]


def _copy_bundle(bundle: Path, tmp: Path) -> Path:
    copy = tmp / "bundle"
    shutil.copytree(bundle, copy)
    return copy


def _predict_missing_column(tmp, df, bundle):
    data = _churn(tmp, df.drop(columns=["plan"]))
    return ["predict", bundle, data, "--out", tmp / "outs" / "p.csv"], ["'plan'"]


def _append_byte(name):
    def case(tmp, df, bundle):
        copy = _copy_bundle(bundle, tmp)
        with (copy / name).open("ab") as fh:
            fh.write(b" ")
        return ["predict", copy, _churn(tmp, df), "--out", tmp / "outs" / "p.csv"], [name, "modified"]

    return case


def _predict_not_a_bundle(tmp, df, bundle):
    folder = tmp / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a model\n")
    return ["predict", folder, _churn(tmp, df), "--out", tmp / "outs" / "p.csv"], ["not a"]


RUN_CASES = {
    "missing file": _missing_file,
    "unsupported extension": _unsupported_extension,
    "binary garbage": _binary_garbage,
    "empty file": _empty_file,
    "header only": _header_only,
    "target not found": _target_not_found,
    "target entirely missing": _target_all_missing,
    "target single class": _target_single_class,
    "feature entirely missing": _feature_all_missing,
    "infinite values": _infinite_values,
    "too many classes for the rows": _too_many_classes,
    "unknown model": _unknown_model,
    "bad test size": _bad_test_size,
}
PREDICT_CASES = {
    "missing required column": _predict_missing_column,
    "modified schema.json": _append_byte("schema.json"),
    "modified model.skops": _append_byte("model.skops"),
    "not a bundle": _predict_not_a_bundle,
}


@pytest.mark.parametrize("case", RUN_CASES.values(), ids=RUN_CASES.keys())
def test_run_refuses_bad_input(cli, churn_df, tmp_path, case):
    (tmp_path / "outs").mkdir()
    args, words = case(tmp_path, churn_df)
    message = assert_user_error(cli(*args, cwd=tmp_path))
    for word in words:
        assert word in message
    assert not (tmp_path / "outs" / "b").exists()
    assert list((tmp_path / "outs").iterdir()) == []  # no temporary directory left behind
    assert not (tmp_path / "modelworks-out").exists()


@pytest.mark.parametrize("case", PREDICT_CASES.values(), ids=PREDICT_CASES.keys())
def test_predict_refuses_bad_input(cli, churn_df, trained_bundle, tmp_path, case):
    (tmp_path / "outs").mkdir()
    args, words = case(tmp_path, churn_df, trained_bundle)
    message = assert_user_error(cli(*args, cwd=tmp_path))
    for word in words:
        assert word in message
    assert list((tmp_path / "outs").iterdir()) == []


def test_report_command_prints_the_path_and_opens_it(cli, churn_run, tmp_path):
    _, bundle, _, root = churn_run
    result = cli("report", bundle, cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((bundle / "report.html").resolve())

    # --open hands the file's URL to the browser named by $BROWSER (Python's webbrowser module)
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    result = cli("report", bundle, "--open", cwd=root, env={"BROWSER": str(browser)})
    assert result.returncode == 0, result.stderr
    assert opened.read_text().strip() == (bundle / "report.html").resolve().as_uri()


def test_report_command_refuses_what_is_not_a_bundle(cli, tmp_path):
    result = cli("report", tmp_path, cwd=tmp_path)
    assert result.returncode == 2
    assert "not a modelworks bundle" in result.stderr and "Traceback" not in result.stderr


def test_table_without_target_names_the_option(cli, churn_csv, tmp_path):
    done = cli("run", churn_csv, cwd=tmp_path)
    assert done.returncode == 2
    assert "--target is required for a table" in done.stderr and "Traceback" not in done.stderr
