"""Bundles saved before the neural networks moved under :mod:`modelworks.models` name their classes by
the old path, ``modelworks.neural.…``: such bundles still load and predict, and the old names still
import.

An old bundle is made faithfully from a new one: the only places a bundle names a class are the nodes
of ``model.skops``'s ``schema.json`` (``__module__``) and the manifest's ``trusted_types``; the
networks' files (safetensors, JSON, ``.keras``) name formats, never modules. So the new bundle's
``__module__`` values are set back to the old path, the zip rewritten member by member as it was, and
the manifest's hash and ``trusted_types`` made to match, as the old code wrote them.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelworks import load_model
from modelworks.bundle import MANIFEST, MODEL_FILE, TRUSTED_TYPES, save_bundle
from modelworks.bundle._sign import seal
from modelworks.bundle._skops import skops_io
from modelworks.bundle._trust import RENAMED_TYPES, SKLEARN_CLASSES
from modelworks.data.kinds import infer_kinds

NEW, OLD = "modelworks.models.neural.", "modelworks.neural."


def _renamed(node: object) -> int:
    """Set every skops node's ``__module__`` under the new path back to the old one; how many."""
    count = 0
    if isinstance(node, dict):
        module = node.get("__module__")
        if isinstance(module, str) and module.startswith(NEW):
            node["__module__"] = OLD + module.removeprefix(NEW)
            count += 1
        nodes = node.values()
    elif isinstance(node, list):
        nodes = node
    else:
        return 0
    return count + sum(_renamed(child) for child in nodes)


def as_saved_before_the_move(bundle: Path) -> list[str]:
    """Rewrite ``bundle`` (saved by this code) as the code before the move saved it; return the
    neural classes it now names."""
    with zipfile.ZipFile(io.BytesIO((bundle / MODEL_FILE).read_bytes())) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for info, data in members:
            if info.filename == "schema.json":
                schema = json.loads(data)
                assert _renamed(schema) >= 1
                data = json.dumps(schema).encode()
            zf.writestr(info, data)  # same name, order and compression
    data = buffer.getvalue()
    assert NEW.encode() not in data
    (bundle / MODEL_FILE).write_bytes(data)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][MODEL_FILE] = hashlib.sha256(data).hexdigest()
    old = {new: old for old, new in RENAMED_TYPES.items()}
    manifest["trusted_types"] = sorted(old.get(name, name) for name in manifest["trusted_types"])
    (bundle / MANIFEST).write_text(json.dumps(seal(manifest), indent=2))
    asked = set(skops_io().get_untrusted_types(data=data))
    assert set(manifest["trusted_types"]) == asked - SKLEARN_CLASSES  # as the old code listed them
    return sorted(name for name in asked if name.startswith(OLD))


def _table(task: str, n: int = 120) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=n), "plan": rng.choice(["basic", "plus", "pro"], n)})
    signal = X["x"] + (X["plan"] == "pro") + rng.normal(0, 0.5, n)
    return X, (pd.Series(np.where(signal > 0.5, "yes", "no")) if task == "binary" else signal)


@pytest.mark.parametrize(("task", "cls"), [("binary", "MLPClassifier"), ("regression", "MLPRegressor")])
def test_tabular_bundle_naming_the_old_path_loads_and_predicts(task, cls, tmp_path, cli):
    from modelworks.experiment import build_pipeline
    from modelworks.models.neural import tabular
    from modelworks.models.registry import REGISTRY

    X, y = _table(task)
    columns = [c.to_dict() for c in infer_kinds(X).values()]
    pipe = build_pipeline(REGISTRY["mlp"], columns, task, seed=0, n_jobs=1)
    pipe.set_params(model__max_epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    target = {"name": "y", "task": task, **({"labels": ["no", "yes"]} if task == "binary" else {})}
    path = save_bundle(tmp_path / "old", pipe, {"columns": columns, "target": target}, {})
    assert as_saved_before_the_move(path) == [f"{OLD}tabular.{cls}"]

    model = load_model(path)
    assert type(model[-1]) is getattr(tabular, cls)  # built from the old name, the one class
    predict = pipe.predict_proba if task == "binary" else pipe.predict
    np.testing.assert_allclose(
        model.predict_proba(X) if task == "binary" else model.predict(X), predict(X), rtol=1e-6
    )
    X.head(10).to_csv(tmp_path / "rows.csv", index=False)
    out = cli("predict", path, "rows.csv", "--out", "p.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == 10


@pytest.mark.parametrize("backend", ["torch", "keras"])
def test_image_bundle_naming_the_old_path_loads_and_predicts(backend, tmp_path, cli):
    from sklearn.datasets import load_digits

    from modelworks.workflows.images import ImageExperiment

    digits = load_digits()
    X, y = (digits.images[:120] * 15).astype("uint8"), digits.target[:120] % 3
    exp = ImageExperiment(X, y, models=["cnn"], max_epochs=1, n_jobs=1, device="cpu", backend=backend)
    path = exp.save(tmp_path / "old", report=False)
    module = "images.ImageClassifier" if backend == "torch" else "keras_images.KerasImageClassifier"
    assert as_saved_before_the_move(path) == [OLD + module]

    model = load_model(path)
    assert type(model) is type(exp.best_model)
    np.testing.assert_allclose(model.predict_proba(X[:8]), exp.best_model.predict_proba(X[:8]), rtol=1e-5)
    np.savez(tmp_path / "x.npz", X=X[:5])
    out = cli("predict", path, "x.npz", "--out", "p.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == 5


def test_every_old_name_is_its_new_class_and_trusted_as_it_is():
    for old, new in RENAMED_TYPES.items():
        assert old.startswith(OLD) and new == NEW + old.removeprefix(OLD)
        (old_module, name), (new_module, _) = old.rsplit(".", 1), new.rsplit(".", 1)
        assert getattr(importlib.import_module(old_module), name) is getattr(
            importlib.import_module(new_module), name
        )
        assert TRUSTED_TYPES[old] == TRUSTED_TYPES[new]


def test_old_public_names_still_import():
    from modelworks.models.neural import ImageClassifier, MLPClassifier, MLPRegressor
    from modelworks.neural import ImageClassifier as OldImage
    from modelworks.neural import ImageExperiment
    from modelworks.neural import MLPClassifier as OldClassifier
    from modelworks.neural import MLPRegressor as OldRegressor
    from modelworks.workflows.images import ImageExperiment as Workflow

    assert (OldImage, OldClassifier, OldRegressor) == (ImageClassifier, MLPClassifier, MLPRegressor)
    assert ImageExperiment is Workflow
