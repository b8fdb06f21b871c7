"""A bundle's Keras archive rewritten by an attacker (the manifest resealed, as anyone can for an
unsigned bundle): a Lambda or TFSMLayer layer, a custom or foreign class, serialised code, an HDF5 file,
extra members or a config that is not JSON. Each is refused with one line by ``load_model``,
``modelworks predict`` (exit 2) and ``modelworks serve`` (exit 2, the port never answering), before
Keras reads it; an archive Keras itself cannot build is refused by ``serve`` before it listens."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from net_support import free_port

os.environ.setdefault("KERAS_BACKEND", "torch")  # as modelworks runs Keras (TensorFlow is not needed)
keras = pytest.importorskip("keras")

import modelworks as mw  # noqa: E402
from modelworks.bundle._sign import seal  # noqa: E402
from modelworks.errors import BundleError  # noqa: E402
from modelworks.models.neural._keras_check import (  # noqa: E402
    ALLOWED_ACTIVATIONS,
    ALLOWED_CLASSES,
    check_archive,
    keras_version_problem,
)

ARCHIVE = "network-0.keras"
N_IMAGES = 120


@pytest.fixture(scope="module")
def keras_bundle(tmp_path_factory) -> tuple[Path, np.ndarray, Path]:
    """A Keras image bundle (one epoch on 120 digits, three classes), six images, and them as .npz."""
    from sklearn.datasets import load_digits

    from modelworks.workflows.images import ImageExperiment

    d = load_digits()
    X = (d.images[:N_IMAGES] * (255 / 16)).round().astype(np.uint8)
    y = d.target[:N_IMAGES] % 3
    root = tmp_path_factory.mktemp("keras")
    exp = ImageExperiment(X, y, models=["cnn"], max_epochs=1, n_jobs=1, device="cpu", backend="keras")
    path = exp.save(root / "bundle", report=False)
    np.savez(root / "images.npz", X=X[:6])
    return Path(path), X[:6], root / "images.npz"


def _members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle / ARCHIVE) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tampered(bundle: Path, dest: Path, archive: bytes) -> Path:
    """A copy of ``bundle`` whose Keras archive is ``archive``, the manifest resealed to match."""
    shutil.copytree(bundle, dest)
    (dest / ARCHIVE).write_bytes(archive)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["files"][ARCHIVE] = hashlib.sha256(archive).hexdigest()
    (dest / "manifest.json").write_text(json.dumps(seal(manifest)))
    return dest


def _with_config(bundle: Path, change: Callable[[dict], None]) -> bytes:
    members = _members(bundle)
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    return _zip(members)


def _layer(config: dict, class_name: str) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == class_name)


_LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {
        "name": "evil",
        "trainable": True,
        "dtype": "float32",
        "function": {
            "class_name": "__lambda__",
            "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTACkBTg==", "defaults": None},
        },
        "output_shape": None,
        "arguments": {},
    },
    "registered_name": None,
}
_TFSM = {
    "module": "keras.layers",
    "class_name": "TFSMLayer",
    "config": {"name": "saved", "filepath": "/tmp/attacker_savedmodel", "call_endpoint": "serve"},
    "registered_name": None,
}


def _insert(layer: dict) -> Callable[[dict], None]:
    return lambda config: config["config"]["layers"].insert(2, copy.deepcopy(layer))


def _custom_registered(config: dict) -> None:
    _layer(config, "Dense")["registered_name"] = "attacker_pkg>Dense"


def _foreign_module(config: dict) -> None:
    _layer(config, "Flatten")["module"] = "attacker_pkg.layers"


def _function_activation(config: dict) -> None:
    _layer(config, "Dense")["config"]["activation"] = {
        "module": "builtins",
        "class_name": "function",
        "config": "eval",
        "registered_name": "function",
    }


def _h5(bundle: Path) -> bytes:
    """The bundle's own network saved by Keras as a legacy HDF5 file (loaded without safe mode)."""
    from modelworks.models.neural._persist import networks
    from modelworks.models.neural.keras_images import build_networks

    model = mw.load_model(bundle)
    build_networks(model)
    with tempfile.TemporaryDirectory() as tmp:
        networks(model)[0]._model.save(Path(tmp) / "model.h5")
        return (Path(tmp) / "model.h5").read_bytes()


def _extra_member(bundle: Path) -> bytes:
    return _zip({**_members(bundle), "payload.py": b"import os; os.system('id')"})


def _not_json(bundle: Path) -> bytes:
    return _zip({**_members(bundle), "config.json": b'{"module": "keras", "class_name": '})


#: case -> (archive from the bundle, words the refusal names)
CASES: dict[str, tuple[Callable[[Path], bytes], tuple[str, ...]]] = {
    "lambda": (lambda b: _with_config(b, _insert(_LAMBDA)), ("layer", "(Lambda)")),
    "tfsmlayer": (lambda b: _with_config(b, _insert(_TFSM)), ("layer", "(TFSMLayer)")),
    "custom_registered_name": (lambda b: _with_config(b, _custom_registered), ("custom", "attacker_pkg>")),
    "module_outside_keras": (
        lambda b: _with_config(b, _foreign_module),
        ("other than Keras", "attacker_pkg"),
    ),
    "function_activation": (lambda b: _with_config(b, _function_activation), ("Python code", "(function)")),
    "hdf5_file": (_h5, ("HDF5",)),
    "extra_member": (_extra_member, ("unexpected members", "payload.py")),
    "config_not_json": (_not_json, ("config.json", "not JSON")),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def hostile(request, keras_bundle, tmp_path_factory) -> tuple[str, Path]:
    bundle = keras_bundle[0]
    make, _ = CASES[request.param]
    dest = tmp_path_factory.mktemp(request.param) / "bundle"
    return request.param, _tampered(bundle, dest, make(bundle))


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def test_load_model_refuses_the_archive_with_one_line(hostile):
    case, path = hostile
    with pytest.raises(BundleError) as info:
        mw.load_model(path)
    message = _one_line(str(info.value))
    assert f"bundle {path} has a {ARCHIVE}" in message and "refusing to load it" in message
    for word in CASES[case][1]:
        assert word in message, message


def test_predict_command_refuses_the_archive_with_exit_2(hostile, keras_bundle, cli, tmp_path):
    case, path = hostile
    done = cli("predict", path, keras_bundle[2], cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = _one_line(done.stderr)
    assert "refusing to load it" in line and CASES[case][1][0] in line
    assert done.stdout == ""


# -- modelworks serve ----------------------------------------------------------------------------------


def _serve_refuses(bundle: Path, cwd: Path, timeout: float = 120) -> str:
    """Run ``modelworks serve``; assert it exits 2 without ever accepting a connection; its stderr."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLCONFIGDIR": str(cwd)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelworks", "serve", str(bundle), "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answered = False
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                answered = True
            except OSError:
                time.sleep(0.1)
        assert proc.poll() is not None, f"modelworks serve was still running after {timeout} s"
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 2, stderr
    assert not answered, "the server listened on its port"
    return _one_line(stderr)


def test_serve_refuses_a_lambda_layer_before_listening(keras_bundle, tmp_path):
    bundle = keras_bundle[0]
    path = _tampered(bundle, tmp_path / "lambda", CASES["lambda"][0](bundle))
    line = _serve_refuses(path, tmp_path)
    assert "(Lambda)" in line and "refusing to load it" in line


@pytest.fixture(scope="module")
def unreadable_weights(keras_bundle, tmp_path_factory) -> Path:
    """A bundle whose archive passes every check but holds weights Keras cannot read."""
    bundle = keras_bundle[0]
    archive = _zip({**_members(bundle), "model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 512})
    assert check_archive(archive) is None
    return _tampered(bundle, tmp_path_factory.mktemp("weights") / "bundle", archive)


def test_an_archive_keras_cannot_build_is_a_bundle_error_not_an_internal_one(unreadable_weights):
    model = mw.load_model(unreadable_weights)  # built at the first prediction
    with pytest.raises(BundleError, match="Keras could not build the network") as info:
        model.predict(np.zeros((2, 8, 8), np.uint8))
    _one_line(str(info.value))


def test_serve_builds_the_keras_network_before_listening(unreadable_weights, tmp_path):
    line = _serve_refuses(unreadable_weights, tmp_path)
    assert "Keras could not build the network" in line


# -- what is allowed -----------------------------------------------------------------------------------


def test_an_unmodified_keras_bundle_loads_and_predicts(keras_bundle, cli, tmp_path):
    bundle, X, npz = keras_bundle
    model = mw.load_model(bundle)
    proba = model.predict_proba(X)
    assert proba.shape == (6, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(model.predict(X)) <= {0, 1, 2}
    done = cli("predict", bundle, npz, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "path,prediction" and len(done.stdout.splitlines()) == 7


def test_allow_list_is_exactly_what_the_keras_network_writes():
    """Complete (every class of a saved network with every augmentation and pooling is allowed) and
    minimal (nothing else is)."""
    from modelworks.models.neural.keras_images import KerasImageClassifier

    X = np.random.default_rng(0).integers(0, 256, (32, 8, 8, 3), dtype=np.uint8)
    net = KerasImageClassifier(max_epochs=1, augment="shift+flip").fit(X, np.arange(32) % 2)
    assert check_archive(net.model_bytes_) is None
    with zipfile.ZipFile(io.BytesIO(net.model_bytes_)) as archive:
        config = json.loads(archive.read("config.json"))
    classes, activations, stack = set(), set(), [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node:
                classes.add((node["class_name"], node["module"]))
            if "activation" in node:
                activations.add(node["activation"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert classes == set(ALLOWED_CLASSES.items())
    assert activations == ALLOWED_ACTIVATIONS


@pytest.mark.parametrize(
    ("version", "refused"),
    [("3.13.2", False), ("3.15.1", False), ("4.0.0", False), ("3.13.1", True), ("3.6.0", True), ("x", True)],
)
def test_keras_before_3_13_2_is_refused(version, refused):
    problem = keras_version_problem(version)
    assert (problem is not None) == refused
    if refused:
        assert "pip install 'keras>=3.13.2'" in problem


def test_an_old_keras_does_not_load_the_network(keras_bundle, monkeypatch):
    bundle, X, _ = keras_bundle
    model = mw.load_model(bundle)
    monkeypatch.setattr(keras, "__version__", "3.13.1")
    with pytest.raises(BundleError, match=r"pip install 'keras>=3\.13\.2'"):
        model.predict(X)
