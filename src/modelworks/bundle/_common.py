"""The bundle format's names and constants, and the keys of signed bundles."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from typing import TYPE_CHECKING

from modelworks.bundle._sign import (
    SIGNATURE_FILE,
    key_from_env,
)

if TYPE_CHECKING:
    pass

MODEL_FILE = "model.skops"
ONNX_FILE = "model.onnx"
MANIFEST = "manifest.json"
#: Names the bundle itself writes; ``extra_files`` may not use them.
RESERVED = frozenset({MODEL_FILE, ONNX_FILE, MANIFEST, SIGNATURE_FILE, "schema.json", "metrics.json"})
_VERSIONED = (
    "modelworks",
    "scikit-learn",
    "numpy",
    "pandas",
    "scipy",
    "skops",
    "lightgbm",
    "xgboost-cpu",
    "catboost",
    "torch",
    "safetensors",
    "onnx",
    "onnxruntime",
    "skl2onnx",
    "onnxmltools",
)
AGAIN = "save the bundle again with modelworks"


def versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries a bundle depends on."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def sign_key_env(name: str) -> bytes:
    """The signing key held by environment variable ``name`` (for ``--sign-key-env``).

    Parameters
    ----------
    name : str
        Name of the environment variable (the key itself never travels on a command line).

    Returns
    -------
    bytes
        The key, UTF-8 encoded, surrounding whitespace removed.

    Raises
    ------
    ConfigError
        When the variable is unset or empty, or the key is shorter than 16 bytes.
    """
    return key_from_env(name, "--sign-key-env")


def verify_key_env(name: str) -> bytes:
    """The key that loading checks signatures with, held by environment variable ``name`` (for
    ``--verify-key-env``); see :func:`sign_key_env`."""
    return key_from_env(name, "--verify-key-env")


def json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, default=str, allow_nan=False) + "\n").encode()
