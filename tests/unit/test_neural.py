"""The tabular network (modelworks.models.neural): training, early stopping, deadline, determinism, codes,
and its bundle files (safetensors and a JSON description, never a pickle)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from modelworks.bundle import MANIFEST, load_model
from modelworks.bundle._sign import seal
from modelworks.errors import BundleError
from modelworks.models.boosting import fit_early_stopped, set_rounds
from modelworks.models.neural import MLPClassifier, MLPRegressor, _persist
from modelworks.models.neural._describe import shapes
from modelworks.models.neural._train import thread_count

SMALL = dict(hidden=(32, 32), max_steps=200, batch_size=64)


def blobs(n=600, seed=0):
    """Two numbers and one categorical code (3 levels) deciding the class; 5% codes missing."""
    rng = np.random.default_rng(seed)
    code = rng.integers(0, 3, n).astype(float)
    x = rng.normal(size=(n, 2))
    y = np.where(x[:, 0] + np.array([-1.5, 0.0, 1.5])[code.astype(int)] > 0, "yes", "no")
    code[rng.random(n) < 0.05] = -1
    return np.column_stack([code, x]), y


def test_classifier_learns_and_keeps_its_labels():
    X, y = blobs()
    net = MLPClassifier(categorical=[0], **SMALL).fit(X[:450], y[:450])
    assert list(net.classes_) == ["no", "yes"]
    proba = net.predict_proba(X[450:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (net.predict(X[450:]) == y[450:]).mean() > 0.85
    assert net.cardinalities_ == [4]  # three levels and "missing or unseen"
    assert net.history_["stopped"] == "completed"
    assert len(net.history_["train_loss"]) == net.history_["epochs"]


def test_early_stopping_keeps_the_best_epoch_and_refit_trains_that_many():
    X, y = blobs()
    net = MLPClassifier(categorical=[0], **SMALL)
    rounds, late = fit_early_stopped(net, X[:450], y[:450], X[450:], y[450:], patience=20)
    history = net.history_
    assert not late and history["stopped"] == "early"
    assert rounds == int(np.argmin(history["val_loss"])) + 1 == history["best_epoch"]
    assert len(history["val_loss"]) == len(history["train_loss"]) >= rounds
    set_rounds(net, rounds)
    assert net.get_params()["epochs"] == rounds
    net.fit(X, y)
    assert len(net.history_["train_loss"]) == rounds == net.history_["epochs"]


def test_deadline_ends_the_fit_and_says_so():
    X, y = blobs()
    rounds, late = MLPClassifier(categorical=[0], **SMALL).fit_stopping(
        X[:450], y[:450], X[450:], y[450:], 20, time.perf_counter()
    )
    assert late


def test_same_seed_same_weights_and_global_random_state_untouched():
    X, y = blobs()
    before = torch.random.get_rng_state()
    a = MLPClassifier(categorical=[0], random_state=3, **SMALL).fit(X, y)
    b = MLPClassifier(categorical=[0], random_state=3, **SMALL).fit(X, y)
    c = MLPClassifier(categorical=[0], random_state=4, **SMALL).fit(X, y)
    assert torch.equal(before, torch.random.get_rng_state())
    for name in a.weights_:
        np.testing.assert_array_equal(a.weights_[name], b.weights_[name])
    assert any(not np.array_equal(a.weights_[k], c.weights_[k]) for k in a.weights_)


def test_unseen_code_reads_as_missing():
    X, y = blobs()
    net = MLPClassifier(categorical=[0], **SMALL).fit(X, y)
    rows = X[:20].copy()
    unseen, missing, nan = rows.copy(), rows.copy(), rows.copy()
    unseen[:, 0], missing[:, 0], nan[:, 0] = 7, -1, np.nan
    np.testing.assert_array_equal(net.predict_proba(unseen), net.predict_proba(missing))
    np.testing.assert_array_equal(net.predict_proba(nan), net.predict_proba(missing))
    with pytest.raises(ValueError, match="fitted on 3"):
        net.predict(np.zeros((2, 4)))


def test_regressor_predicts_in_the_target_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = 1000 + 50 * X[:, 0] - 20 * X[:, 1] ** 2 + rng.normal(0, 2, 500)
    net = MLPRegressor(hidden=(64, 64), max_steps=400, learning_rate=3e-3).fit(X[:400], y[:400])
    pred = net.predict(X[400:])
    r2 = 1 - ((pred - y[400:]) ** 2).sum() / ((y[400:] - y[400:].mean()) ** 2).sum()
    assert r2 > 0.95


def test_threads_are_capped_by_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert thread_count(4) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert thread_count(2) == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_count(None) == (os.cpu_count() or 1)


def test_description_shapes_match_the_module():
    X, y = blobs()
    net = MLPClassifier(categorical=[0], **SMALL).fit(X, y)
    assert {k: v.shape for k, v in net.weights_.items()} == shapes(net.config_)


# -- the bundle -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp_bundle(tmp_path_factory):
    from modelworks import Experiment

    rng = np.random.default_rng(0)
    n = 240
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "z": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        }
    )
    df["buys"] = np.where(df["x"] + (df["plan"] == "pro") + rng.normal(0, 0.5, n) > 0.5, "yes", "no")
    exp = Experiment(df, target="buys", models=["mlp"], cv=3, seed=0, n_jobs=1)
    exp.compare()
    exp.evaluate()
    path = exp.save(tmp_path_factory.mktemp("mlp") / "bundle")
    return path, exp, df


def test_bundle_holds_weights_as_safetensors_and_loads_them_back(mlp_bundle):
    path, exp, df = mlp_bundle
    manifest = json.loads((path / MANIFEST).read_text())
    assert {"network-0.safetensors", "network-0.json"} <= set(manifest["files"])
    assert "modelworks.models.neural.tabular.MLPClassifier" in manifest["trusted_types"]
    description = json.loads((path / "network-0.json").read_text())
    assert description["format"] == "modelworks.tabular_mlp" and description["cardinalities"]
    X = df.drop(columns="buys").head(50)
    np.testing.assert_array_equal(load_model(path).predict_proba(X), exp.best_model.predict_proba(X))
    # the fitted model in memory was left as it was by the save
    assert all(isinstance(net.weights_, dict) for net in _persist.networks(exp.best_model))


def test_bundle_loads_in_a_fresh_process_without_unpickling(mlp_bundle, tmp_path):
    path, exp, df = mlp_bundle
    rows = tmp_path / "rows.csv"
    df.drop(columns="buys").head(30).to_csv(rows, index=False)
    script = f"""
import pickle, pandas as pd
def refuse(*a, **k):
    raise AssertionError("unpickled")
pickle.loads = pickle.load = refuse
import modelworks as mw
model = mw.load_model({str(path)!r})
print(",".join(f"{{p:.9f}}" for p in model.predict_proba(pd.read_csv({str(rows)!r}))[:, 1]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    want = exp.best_model.predict_proba(df.drop(columns="buys").head(30))[:, 1]
    np.testing.assert_allclose([float(v) for v in out.stdout.strip().split(",")], want, atol=1e-9)


def _reseal(bundle):
    import hashlib

    manifest = json.loads((bundle / MANIFEST).read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / MANIFEST).write_text(json.dumps(seal(manifest)))


def test_edited_network_files_are_refused(mlp_bundle, tmp_path):
    path, _, _ = mlp_bundle
    wider = tmp_path / "wider"
    shutil.copytree(path, wider)
    description = json.loads((wider / "network-0.json").read_text())
    description["hidden"] = [h * 2 for h in description["hidden"]]
    (wider / "network-0.json").write_text(json.dumps(description))
    _reseal(wider)
    with pytest.raises(BundleError, match="do not match network-0.json"):
        load_model(wider)

    garbage = tmp_path / "garbage"
    shutil.copytree(path, garbage)
    (garbage / "network-0.safetensors").write_bytes(b"\x80\x04N." * 10)
    _reseal(garbage)
    with pytest.raises(BundleError, match="unreadable network-0.safetensors"):
        load_model(garbage)

    unsealed = tmp_path / "unsealed"
    shutil.copytree(path, unsealed)
    (unsealed / "network-0.json").write_text("{}")
    with pytest.raises(BundleError, match="network-0.json"):
        load_model(unsealed)


def test_attach_refuses_what_is_not_a_bundle_file():
    X, y = blobs()
    net = MLPClassifier(categorical=[0], **SMALL).fit(X, y)
    with _persist.detached(net) as files:
        assert set(files) == {"network-0.safetensors", "network-0.json"}
        assert net.weights_ == net.config_ == "network-0"
    assert isinstance(net.weights_, dict)  # put back
    net.weights_ = net.config_ = "../../etc/passwd"
    with pytest.raises(_persist.Refused, match="not a file of the bundle"):
        _persist.attach(net, files.__getitem__)
    net.weights_ = net.config_ = "network-0"
    bad = dict(files)
    bad["network-0.json"] = json.dumps(
        {**json.loads(files["network-0.json"]), "activation": "os.system"}
    ).encode()
    with pytest.raises(_persist.Refused, match="unknown activation"):
        _persist.attach(net, bad.__getitem__)
    _persist.attach(net, files.__getitem__)
    assert net.predict(X[:5]).shape == (5,)


def test_training_curve_of_a_chosen_network(mlp_bundle):
    _, exp, _ = mlp_bundle
    histories = exp.training_histories()
    assert list(histories) == ["mlp"]
    display = exp.plot.training_curve()
    train, val = display.lines_
    assert len(train.get_xdata()) == len(histories["mlp"]["train_loss"])
    assert len(val.get_xdata()) == len(histories["mlp"]["val_loss"])
    assert display.best_epoch == histories["mlp"]["best_epoch"]
    html = (mlp_bundle[0] / "report.html").read_text()
    assert 'id="fig-training_curve"' in html
