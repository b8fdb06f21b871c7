"""Bundles: save/load round trip, the manifest, and every refusal, on real directories."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelworks import load_model
from modelworks.bundle import MANIFEST, load_bundle, save_bundle, verify
from modelworks.errors import BundleError

SCHEMA = {
    "columns": [{"name": "a", "kind": "numeric"}],
    "target": {"name": "y", "task": "binary", "labels": [0, 1], "positive_label": 1},
}


@pytest.fixture(scope="module")
def tiny_model() -> Pipeline:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X["a"] + 0.3 * rng.normal(size=60) > 0).astype(int)
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(X, y)


@pytest.fixture
def bundle_copy(trained_bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(trained_bundle, copy)
    return copy


def test_round_trip_gives_identical_predictions(churn_experiment, trained_bundle):
    model = load_model(trained_bundle)
    X = churn_experiment.X_test
    np.testing.assert_array_equal(model.predict_proba(X), churn_experiment.best_model.predict_proba(X))
    assert list(model.predict(X)) == list(churn_experiment.best_model.predict(X))
    loaded = load_bundle(trained_bundle)
    assert loaded.task == "binary"
    assert loaded.labels == ["no", "yes"]
    assert loaded.metrics["best_model"] == churn_experiment.best_name


def test_manifest_lists_sha256_of_every_file(trained_bundle):
    manifest = json.loads((trained_bundle / MANIFEST).read_text())
    on_disk = {p.name for p in trained_bundle.iterdir()} - {MANIFEST}
    assert set(manifest["files"]) == on_disk
    assert {"model.skops", "schema.json", "metrics.json"} <= on_disk
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((trained_bundle / name).read_bytes()).hexdigest() == digest
    assert all(
        t.startswith(("sklearn.", "numpy.", "modelworks.", "builtins.", "scipy."))
        for t in manifest["trusted_types"]
    )
    assert manifest["versions"]["scikit-learn"]


@pytest.mark.parametrize("name", ["model.skops", "schema.json", "metrics.json"])
def test_modified_file_refused(bundle_copy, name):
    with (bundle_copy / name).open("ab") as fh:
        fh.write(b"\n")
    with pytest.raises(BundleError, match=f"{name}.*modified"):
        load_model(bundle_copy)


def test_missing_file_refused(bundle_copy):
    (bundle_copy / "metrics.json").unlink()
    with pytest.raises(BundleError, match="lacks metrics.json"):
        load_model(bundle_copy)


def test_extra_unlisted_file_refused(bundle_copy):
    (bundle_copy / "payload.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(BundleError, match="payload.pkl"):
        verify(bundle_copy)


def test_untrusted_type_in_manifest_refused(bundle_copy):
    path = bundle_copy / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["trusted_types"].append("os.system")
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="os.system"):
        load_model(bundle_copy)


def test_type_missing_from_manifest_refused(bundle_copy):
    path = bundle_copy / MANIFEST
    manifest = json.loads(path.read_text())
    dropped = manifest["trusted_types"].pop()
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="does not list") as info:
        load_model(bundle_copy)
    assert dropped in str(info.value)


def test_not_a_bundle_refused(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_model(tmp_path / "absent")
    (tmp_path / "plain").mkdir()
    with pytest.raises(BundleError, match="not a modelworks bundle"):
        load_model(tmp_path / "plain")


def test_saving_over_a_bundle_replaces_it(tiny_model, tmp_path):
    dest = tmp_path / "out"
    save_bundle(dest, tiny_model, SCHEMA, {"run": 1}, {"old.txt": "first"})
    save_bundle(dest, tiny_model, SCHEMA, {"run": 2})
    assert not (dest / "old.txt").exists()
    assert json.loads((dest / "metrics.json").read_text()) == {"run": 2}
    verify(dest)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_saving_into_a_non_bundle_directory_refused(tiny_model, tmp_path):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "thesis.txt").write_text("do not lose me")
    with pytest.raises(BundleError, match="not a modelworks bundle"):
        save_bundle(dest, tiny_model, SCHEMA, {})
    assert [p.name for p in dest.iterdir()] == ["thesis.txt"]
    assert (dest / "thesis.txt").read_text() == "do not lose me"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_saving_into_an_empty_directory_is_allowed(tiny_model, tmp_path):
    dest = tmp_path / "empty"
    dest.mkdir()
    save_bundle(dest, tiny_model, SCHEMA, {})
    verify(dest)


def test_failure_during_save_leaves_nothing(tiny_model, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("skops.io.dump", boom)
    parent = tmp_path / "outs"
    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(parent / "b", tiny_model, SCHEMA, {})
    assert list(parent.iterdir()) == []


def test_failure_during_save_keeps_the_old_bundle(tiny_model, tmp_path, monkeypatch):
    dest = tmp_path / "b"
    save_bundle(dest, tiny_model, SCHEMA, {"run": 1})

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("skops.io.dump", boom)
    with pytest.raises(RuntimeError):
        save_bundle(dest, tiny_model, SCHEMA, {"run": 2})
    verify(dest)
    assert json.loads((dest / "metrics.json").read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_metrics_with_non_finite_values_are_valid_json(tiny_model, tmp_path):
    dest = save_bundle(
        tmp_path / "b",
        tiny_model,
        SCHEMA,
        {"auc": float("nan"), "n": np.int64(3), "scores": (np.float32(0.5),)},
    )
    assert json.loads((dest / "metrics.json").read_text()) == {"auc": None, "n": 3, "scores": [0.5]}
