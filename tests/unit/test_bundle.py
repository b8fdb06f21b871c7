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
from modelworks.bundle import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SIGNATURE_FILE,
    TRUSTED_TYPES,
    load_bundle,
    save_bundle,
    sign_bundle,
    sign_key_env,
    verify,
    verify_key_env,
)
from modelworks.bundle._sign import manifest_digest, seal
from modelworks.errors import BundleError, ConfigError, ModelworksError

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
    assert set(manifest["trusted_types"]) <= set(TRUSTED_TYPES)
    assert manifest["versions"]["scikit-learn"]
    assert manifest["format"] == FORMAT and manifest["format_version"] == FORMAT_VERSION
    assert manifest["manifest_sha256"] == manifest_digest(manifest)


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
    path.write_text(json.dumps(seal(manifest)))  # resealed, as whoever edits it on purpose would
    with pytest.raises(BundleError, match="os.system"):
        load_model(bundle_copy)


def test_type_missing_from_manifest_refused(bundle_copy):
    path = bundle_copy / MANIFEST
    manifest = json.loads(path.read_text())
    dropped = manifest["trusted_types"].pop()
    path.write_text(json.dumps(seal(manifest)))
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

    monkeypatch.setattr("skops.io.dumps", boom)
    parent = tmp_path / "outs"
    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(parent / "b", tiny_model, SCHEMA, {})
    assert list(parent.iterdir()) == []


def test_failure_during_save_keeps_the_old_bundle(tiny_model, tmp_path, monkeypatch):
    dest = tmp_path / "b"
    save_bundle(dest, tiny_model, SCHEMA, {"run": 1})

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("skops.io.dumps", boom)
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


# -- the manifest's own hash -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(created="2001-01-01T00:00:00+00:00"),
        lambda m: m["versions"].update({"scikit-learn": "0.1"}),
        lambda m: m["runtime"].update(reason="edited"),
        lambda m: m["trusted_types"].pop(),
        lambda m: m.update(extra_field=1),
        lambda m: m.pop("versions"),
    ],
    ids=["created", "versions", "runtime", "trusted_types", "added field", "removed field"],
)
def test_any_manifest_edit_is_detected(bundle_copy, edit):
    path = bundle_copy / MANIFEST
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(BundleError, match="manifest.json.*modified after saving"):
        verify(bundle_copy)


def test_reformatting_the_manifest_is_not_an_edit(bundle_copy):
    path = bundle_copy / MANIFEST
    path.write_text(json.dumps(json.loads(path.read_text()), indent=None, sort_keys=False))
    load_model(bundle_copy)


def test_manifest_of_another_tool_or_a_newer_version(bundle_copy):
    path = bundle_copy / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(seal({**manifest, "format_version": FORMAT_VERSION + 1})))
    with pytest.raises(BundleError, match="newer modelworks"):
        verify(bundle_copy)
    path.write_text(json.dumps({"files": manifest["files"], "tool": "other"}))
    with pytest.raises(BundleError, match="not a modelworks bundle"):
        verify(bundle_copy)


def test_manifest_naming_files_outside_the_bundle_is_refused(bundle_copy, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    path = bundle_copy / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"]["../secret.txt"] = hashlib.sha256(b"secret").hexdigest()
    path.write_text(json.dumps(seal(manifest)))
    with pytest.raises(BundleError, match="invalid file names"):
        verify(bundle_copy)


def test_linked_file_in_a_bundle_is_refused(bundle_copy, tmp_path):
    real = tmp_path / "elsewhere.json"
    shutil.move(bundle_copy / "metrics.json", real)
    (bundle_copy / "metrics.json").symlink_to(real)
    with pytest.raises(BundleError, match="metrics.json.*is a link"):
        load_model(bundle_copy)


# -- signatures --------------------------------------------------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def signed(tiny_model, tmp_path) -> Path:
    return save_bundle(tmp_path / "signed", tiny_model, SCHEMA, {"run": 1}, key=KEY)


def test_signed_bundle_loads_with_its_key(signed):
    assert (signed / SIGNATURE_FILE).exists()
    assert load_bundle(signed, key=KEY).signed
    assert load_bundle(signed, key=KEY.encode()).signed
    assert not load_bundle(signed).signed  # without a key: verified by hashes only
    sig = json.loads((signed / SIGNATURE_FILE).read_text())
    assert sig["algorithm"] == "hmac-sha256" and len(sig["hmac"]) == 64


def test_unsigned_bundle_refused_when_a_key_is_given(tiny_model, tmp_path):
    plain = save_bundle(tmp_path / "plain", tiny_model, SCHEMA, {})
    with pytest.raises(BundleError, match="not signed"):
        load_model(plain, key=KEY)


def test_wrong_key_refused(signed):
    with pytest.raises(BundleError, match="signature .* does not match"):
        load_model(signed, key=KEY[::-1])


def test_resealed_manifest_passes_hashes_but_not_the_signature(signed):
    """The self-hash can be recomputed by anyone; the signature cannot."""
    path = signed / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["versions"]["scikit-learn"] = "9.9"
    path.write_text(json.dumps(seal(manifest)))
    load_model(signed)
    with pytest.raises(BundleError, match="does not match"):
        load_model(signed, key=KEY)


def test_signed_bundle_with_a_replaced_file_refused(signed):
    (signed / "metrics.json").write_text('{"run": 99}\n')
    with pytest.raises(BundleError, match="metrics.json.*modified"):
        load_model(signed, key=KEY)


def test_tampered_signature_file_refused(signed):
    (signed / SIGNATURE_FILE).write_text("not json")
    with pytest.raises(BundleError, match="manifest.sig.*unreadable"):
        load_model(signed, key=KEY)
    (signed / SIGNATURE_FILE).unlink()
    with pytest.raises(BundleError, match="not signed"):
        load_model(signed, key=KEY)


def test_sign_bundle_signs_an_existing_bundle(tiny_model, tmp_path):
    dest = save_bundle(tmp_path / "b", tiny_model, SCHEMA, {})
    sign_bundle(dest, KEY)
    assert load_bundle(dest, key=KEY).signed
    (dest / "schema.json").write_text("{}")
    with pytest.raises(BundleError, match="schema.json.*modified"):
        sign_bundle(dest, KEY)  # never signs what does not verify


def test_short_keys_are_refused(tiny_model, tmp_path):
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        save_bundle(tmp_path / "b", tiny_model, SCHEMA, {}, key="short")
    assert list(tmp_path.iterdir()) == []


def test_keys_from_the_environment(monkeypatch):
    monkeypatch.setenv("MW_KEY", f"  {KEY}\n")
    assert sign_key_env("MW_KEY") == verify_key_env("MW_KEY") == KEY.encode()
    monkeypatch.delenv("MW_KEY")
    with pytest.raises(ConfigError, match="MW_KEY .*--sign-key-env.* unset or empty"):
        sign_key_env("MW_KEY")
    monkeypatch.setenv("MW_KEY", "   ")
    with pytest.raises(ConfigError, match="MW_KEY .*--verify-key-env.* unset or empty"):
        verify_key_env("MW_KEY")
    monkeypatch.setenv("MW_KEY", "hunter2")
    with pytest.raises(ConfigError, match="at least 16 bytes") as info:
        verify_key_env("MW_KEY")
    assert "hunter2" not in str(info.value)  # the key itself is never shown
    with pytest.raises(ConfigError, match="name of an environment variable"):
        sign_key_env("")
    assert issubclass(ConfigError, ModelworksError)


def test_a_wide_pipeline_saves_its_column_lists_as_arrays_and_loads_them_back(tmp_path):
    """A ColumnTransformer on 1,200 columns holds three lists of one item per column; they are written
    as arrays (not a skops node per item) and loaded back as scikit-learn fitted them."""
    import zipfile

    from modelworks.data.kinds import infer_kinds
    from modelworks.experiment import build_pipeline
    from modelworks.models.registry import REGISTRY
    from modelworks.prepare.columns import POSITIONS_ABOVE

    rng = np.random.default_rng(0)
    n_cols = POSITIONS_ABOVE + 200
    X = pd.DataFrame(rng.normal(size=(60, n_cols)), columns=[f"c{i}" for i in range(n_cols)])
    X.iloc[::7, 3] = np.nan
    y = pd.Series(np.where(X["c0"] > 0, "yes", "no"))
    columns = [c.to_dict() for c in infer_kinds(X).values()]
    pipe = build_pipeline(REGISTRY["knn"], columns, "binary", 0, 1).fit(X, y)
    prepare = pipe.named_steps["prepare"]
    names, where = prepare.feature_names_in_, prepare._transformer_to_input_indices
    schema = {"columns": columns, "target": {"name": "y", "task": "binary", "labels": ["no", "yes"]}}
    path = save_bundle(tmp_path / "wide", pipe, schema, {})
    # the fitted model is left as it was
    assert prepare.feature_names_in_ is names and prepare._transformer_to_input_indices is where
    text = zipfile.ZipFile(path / "model.skops").read("schema.json")
    assert text.count(b'"__class__"') < 300
    loaded = load_model(path).named_steps["prepare"]
    assert loaded.feature_names_in_.dtype == object and loaded.feature_names_in_.tolist() == names.tolist()
    assert all(type(n) is str for n in loaded.feature_names_in_)
    assert loaded._transformer_to_input_indices == where
    assert all(type(v) is list for v in loaded._transformer_to_input_indices.values())
    np.testing.assert_allclose(load_model(path).predict_proba(X), pipe.predict_proba(X))


def test_names_that_fixed_width_text_would_change_are_saved_as_they_are():
    from modelworks.bundle._skops import compacted

    scaler = StandardScaler().fit(pd.DataFrame({"a\x00": [1.0, 2.0], "b": [3.0, 4.0]}))
    with compacted(scaler):
        assert scaler.feature_names_in_.dtype == object  # "a\x00" would lose its NUL
    scaler = StandardScaler().fit(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    with compacted(scaler):
        assert scaler.feature_names_in_.dtype.kind == "U"
    assert scaler.feature_names_in_.dtype == object


def test_allow_list_names_no_module_prefix_and_nothing_that_runs_code():
    for name, loaders in TRUSTED_TYPES.items():
        assert not name.endswith(".") and name.count(".") >= 1
        assert loaders and "ConstructorFromReduceNode" not in loaders and "MethodNode" not in loaders
        assert not name.startswith(
            ("builtins.", "os.", "posix.", "subprocess.", "pickle.", "pandas.", "operator.")
        )
