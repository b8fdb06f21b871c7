"""Images: reading folders and arrays, the image networks, the image experiment, its bundle and the
command line (scikit-learn's digits written as PNG files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from image_support import PER_CLASS, digits, write_folder
from modelworks.errors import ConfigError, DataError
from modelworks.models.neural._image_data import from_arrays, read_folder, read_images, read_npz
from modelworks.models.neural.images import ImageClassifier


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory) -> Path:
    X, y = digits()
    return write_folder(tmp_path_factory.mktemp("digits") / "digits", X, y)


def test_folder_reads_classes_from_subfolders(digits_dir):
    data = read_folder(digits_dir)
    assert data.X.shape == (10 * PER_CLASS, 8, 8, 1) and data.X.dtype == np.uint8
    assert data.classes == [str(k) for k in range(10)]
    assert len(data.paths) == len(data.y) and data.notices == []


def test_mixed_sizes_modes_stray_and_corrupt_files_are_handled(tmp_path):
    X, y = digits(6)
    root = write_folder(tmp_path / "mixed", X, y)
    Image.fromarray(np.full((12, 16, 3), [200, 30, 30], dtype=np.uint8)).save(root / "3" / "red.jpg")
    (root / "4" / "notes.txt").write_text("not an image")
    (root / "5" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "stray.png").write_bytes((root / "1" / "0006.png").read_bytes())
    data = read_folder(root)
    assert data.X.shape == (61, 8, 8, 3)  # 60 digits and the red one, all RGB, all 8x8
    text = " ".join(data.notices)
    assert "resized 1 of 61" in text and "converted" in text
    assert "1 file(s) that are not images" in text and "5/broken.png" in text
    assert "outside the class subfolders" in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: None, "holds no class subfolders"),
        (
            lambda root: (
                write_folder(root, *digits(3))
                and [p.unlink() for p in root.rglob("*.png") if p.parent.name != "7"]
            ),
            "one class only",
        ),
    ],
)
def test_folder_errors_name_the_fix(tmp_path, setup, message):
    root = tmp_path / "images"
    root.mkdir()
    setup(root)
    with pytest.raises(DataError, match=message):
        read_folder(root)


def test_npz_arrays(tmp_path):
    X, y = digits(5)
    np.savez(tmp_path / "ok.npz", X=X, y=y)
    data = read_npz(tmp_path / "ok.npz")
    assert data.X.shape == (50, 8, 8, 1) and len(data.y) == 50
    np.savez(tmp_path / "no_y.npz", X=X)
    with pytest.raises(DataError, match="no array named y"):
        read_images(tmp_path / "no_y.npz")
    np.savez(tmp_path / "objects.npz", X=X, y=np.array([{"a": 1}] * 50, dtype=object))
    with pytest.raises(DataError, match="Python objects"):
        read_npz(tmp_path / "objects.npz")
    with pytest.raises(DataError, match="one label per image"):
        from_arrays(X, y[:-1])
    assert from_arrays(X.astype(float) / 255, y).X.max() == X.max()


@pytest.mark.parametrize("architecture", ["cnn", "resnet"])
def test_networks_learn_digits_and_record_each_epoch(architecture):
    X, y = digits()
    seen = []
    model = ImageClassifier(architecture=architecture, max_epochs=4, n_jobs=1, random_state=0)
    model.fit(X[::2], y[::2], X[1::2], y[1::2], on_epoch=lambda i, r: seen.append(i))
    history = model.history_
    assert seen == list(range(len(history["train_loss"])))
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "images_per_second"):
        assert len(history[key]) == len(seen)
    assert history["stopped"] in ("completed", "early") and history["device"] == "cpu"
    assert (model.predict(X[1::2]) == y[1::2]).mean() > 0.5  # ten classes: chance is 0.1
    np.testing.assert_allclose(model.predict_proba(X[:5]).sum(axis=1), 1.0, rtol=1e-6)


def test_same_seed_same_weights_and_a_passed_deadline_trains_nothing():
    X, y = digits(10)
    a = ImageClassifier(max_epochs=2, n_jobs=1).fit(X, y)
    b = ImageClassifier(max_epochs=2, n_jobs=1).fit(X, y)
    for name in a.weights_:
        np.testing.assert_array_equal(a.weights_[name], b.weights_[name])
    with pytest.raises(TimeoutError):
        ImageClassifier(max_epochs=2, n_jobs=1).fit(X, y, deadline=0.0)
    with pytest.raises(ValueError, match="trained on"):
        a.predict(np.zeros((2, 9, 9, 1), dtype=np.uint8))


@pytest.fixture(scope="module")
def image_run(digits_dir, tmp_path_factory):
    from modelworks.workflows.images import ImageExperiment

    exp = ImageExperiment(read_folder(digits_dir), max_epochs=3, seed=0, n_jobs=1, device="cpu")
    exp.compare()
    exp.evaluate()
    path = exp.save(tmp_path_factory.mktemp("images") / "bundle")
    return exp, path


def test_experiment_splits_stratified_and_tests_once(image_run):
    exp, _ = image_run
    y = exp.data.y
    assert len(set(exp.test_rows) | set(exp.fit_rows) | set(exp.val_rows)) == len(y)
    assert len(exp.test_rows) == round(0.25 * len(y))
    counts = {c: int((y[exp.test_rows] == c).sum()) for c in exp.classes}
    assert max(counts.values()) - min(counts.values()) <= 1  # stratified
    ev = exp.evaluate()
    assert set(ev.metrics) == {"cnn", "resnet"}
    low, high = ev.metrics[ev.chosen]["accuracy_ci"]
    assert low <= ev.metrics[ev.chosen]["accuracy"] <= high
    [comparison] = ev.comparisons
    assert comparison["models"][0] == ev.chosen
    assert comparison["mcnemar"]["test"].startswith("McNemar")


def test_image_bundle_loads_and_predicts_like_the_experiment(image_run):
    import modelworks as mw

    exp, path = image_run
    manifest = json.loads((path / "manifest.json").read_text())
    assert {"network-0.safetensors", "network-0.json", "report.html"} <= set(manifest["files"])
    assert "modelworks.models.neural.images.ImageClassifier" in manifest["trusted_types"]
    schema = json.loads((path / "schema.json").read_text())
    assert schema["input"] == {"kind": "images", "height": 8, "width": 8, "channels": 1}
    model = mw.load_model(path)
    X = exp.data.X[exp.test_rows]
    np.testing.assert_array_equal(model.predict_proba(X), exp.best_model.predict_proba(X))
    html = (path / "report.html").read_text()
    for figure in ("training_cnn", "training_resnet", "confusion_matrix", "samples"):
        assert f'id="fig-{figure}"' in html
    # a fresh process loads it with pickle disabled
    import subprocess
    import sys

    np.save(path.parent / "x.npy", X[:5])
    script = f"""
import pickle, numpy as np
def refuse(*a, **k):
    raise AssertionError("unpickled")
pickle.loads = pickle.load = refuse
import modelworks as mw
print(mw.load_model({str(path)!r}).predict(np.load({str(path.parent / "x.npy")!r})).tolist())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(exp.best_model.predict(X[:5]).tolist())


def test_image_run_tells_each_step_in_order_and_saves_the_chosen_network(digits_dir, tmp_path):
    from modelworks.workflows.images import ImageEvents, run_images

    class Told(ImageEvents):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def notice(self, text: str) -> None:
            self.seen.append("notice")

        def read(self, images) -> None:
            self.seen.append(f"read {len(images.X)}")

        def epoch(self, name: str, epoch: int, record: dict) -> None:
            self.seen.append(f"{name} epoch {epoch}")

        def split(self, experiment) -> None:
            self.seen.append("split")

        def compared(self, experiment) -> None:
            assert experiment.chosen.name == "cnn"
            self.seen.append("compared")

        def evaluated(self, experiment, evaluation) -> None:
            assert evaluation is experiment.evaluate()
            self.seen.append("evaluated")

    told = Told()
    run = run_images(
        str(digits_dir),
        tmp_path / "bundle",
        models=("cnn",),
        max_epochs=2,
        device="cpu",
        report=False,
        events=told,
    )
    epochs = [e for e in told.seen if "epoch" in e]
    assert told.seen == [f"read {10 * PER_CLASS}", "split", *epochs, "compared", "evaluated"]
    assert epochs[0] == "cnn epoch 0" and len(epochs) == run.experiment.chosen.epochs
    assert run.path == tmp_path / "bundle" and (run.path / "network-0.safetensors").is_file()
    assert not (run.path / "report.html").exists()


def test_experiment_refuses_classes_too_small_to_split():
    X, y = digits(5)
    y = y.copy()
    y[0] = 99  # one image of its own class
    from modelworks.workflows.images import ImageExperiment

    with pytest.raises(ConfigError, match=r"class\(es\) 99 \(1\) have fewer than the 3 images"):
        ImageExperiment(X, y)


@pytest.mark.slow
def test_keras_backend_trains_saves_and_loads_the_articles_network(tmp_path):
    import zipfile

    import modelworks as mw
    from modelworks.errors import BundleError
    from modelworks.workflows.images import ImageExperiment

    X, y = digits(60)
    exp = ImageExperiment(X, y, backend="keras", max_epochs=4, n_jobs=1, device="cpu")
    exp.compare()
    ev = exp.evaluate()
    assert [r.name for r in exp.results] == ["cnn"]
    assert type(exp.best_model).__name__ == "KerasImageClassifier"
    assert ev.metrics["cnn"]["accuracy"] > 0.6
    history = exp.best_model.history_
    assert len(history["val_accuracy"]) == len(history["train_loss"]) >= history["best_epoch"]
    path = exp.save(tmp_path / "keras")
    manifest = json.loads((path / "manifest.json").read_text())
    assert "network-0.keras" in manifest["files"] and "network-0.safetensors" not in manifest["files"]
    assert json.loads((path / "metrics.json").read_text())["backend"] == "keras"
    test_images = X[exp.test_rows]
    np.testing.assert_allclose(
        mw.load_model(path).predict_proba(test_images), exp.best_model.predict_proba(test_images), atol=1e-6
    )
    # an archive with a member Keras' format does not have is refused before Keras reads it
    import hashlib
    import shutil

    from modelworks.bundle._sign import seal

    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    with zipfile.ZipFile(bad / "network-0.keras", "a") as archive:
        archive.writestr("payload.py", "import os")
    manifest["files"]["network-0.keras"] = hashlib.sha256((bad / "network-0.keras").read_bytes()).hexdigest()
    (bad / "manifest.json").write_text(json.dumps(seal(manifest)))
    with pytest.raises(BundleError, match="unexpected members"):
        mw.load_model(bad)


def test_a_network_the_budget_cannot_afford_is_skipped_and_the_schedule_fits_the_deadline(monkeypatch):
    from modelworks.workflows import images as image_experiment
    from modelworks.workflows.images import ImageExperiment

    X, y = digits(20)
    costs = {"cnn": 0.05, "resnet": 50.0}  # seconds per epoch, as the probe would say
    monkeypatch.setattr(
        ImageClassifier, "epoch_seconds", lambda self, n, shape, k, steps=3: costs[self.architecture]
    )
    exp = ImageExperiment(X, y, time_budget=12, max_epochs=500, n_jobs=1, device="cpu")
    monkeypatch.setattr(image_experiment, "LEAST_EPOCHS", 5)
    results = {r.name: r for r in exp.compare()}
    assert results["resnet"].model is None and "fewer than 5 epochs" in results["resnet"].skipped
    history = results["cnn"].model.history_
    assert history["planned_epochs"] < 500  # the cosine schedule was fitted to the time left
    assert [r.name for r in exp.results] == ["cnn", "resnet"]
