"""What a ``.keras`` archive read from a bundle may hold, checked before Keras reads it.

Keras' safe mode refuses serialised Python code, but releases before 3.13.2 had published bypasses
(CVE-2025-1550, CVE-2025-8747, CVE-2025-9905, CVE-2026-1462), and an archive may name any class Keras
can import. So the archive is checked here without Keras: a zip (not an HDF5 ``.h5`` file) of exactly
Keras' three members, ``metadata.json`` as Keras writes it, and every object in ``config.json`` one of
the classes :class:`~modelworks.models.neural.keras_images.KerasImageClassifier` writes, from the module Keras
writes for it. The Keras that loads an archive must be 3.13.2 or later (:func:`keras_version_problem`).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from typing import Any

#: What the ``.keras`` archive holds (Keras 3's format): anything else is refused before loading.
ARCHIVE_MEMBERS = frozenset({"metadata.json", "config.json", "model.weights.h5"})

#: Every class a saved :class:`KerasImageClassifier` names in ``config.json`` (all its augmentations,
#: with and without pooling; read from archives Keras 3.15 wrote), and the module Keras names for it.
ALLOWED_CLASSES: dict[str, str] = {
    "Sequential": "keras",
    "DTypePolicy": "keras",
    **dict.fromkeys(
        (
            "InputLayer",
            "Rescaling",
            "Normalization",
            "RandomTranslation",
            "RandomFlip",
            "Conv2D",
            "BatchNormalization",
            "ReLU",
            "MaxPooling2D",
            "Flatten",
            "Dense",
            "Dropout",
        ),
        "keras.layers",
    ),
    **dict.fromkeys(("GlorotUniform", "Zeros", "Ones"), "keras.initializers"),
    # the optimizer of compile_config (not built: the archive is loaded with compile=False)
    "CosineDecay": "keras.optimizers.schedules",
    "AdamW": "keras.src.backend.torch.optimizers.torch_adamw",
}

#: The activations the network's layers name (strings that Keras looks up among its own).
ALLOWED_ACTIVATIONS = frozenset({"linear", "relu", "softmax"})

#: Keys of ``metadata.json`` as Keras writes it.
METADATA_KEYS = frozenset({"keras_version", "date_saved"})

#: The first Keras without the published safe-mode bypasses.
SAFE_KERAS = (3, 13, 2)

#: Most bytes ``config.json`` and ``metadata.json`` may unpack to (a saved network's are ~11 KB).
_MAX_JSON_BYTES = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_OBJECT_KEYS = ("class_name", "module", "registered_name")


def _shown(text: object) -> str:
    """Text from the archive, safe to put in a one-line message."""
    return ascii(str(text))[1:-1][:80]


def check_archive(data: bytes) -> str | None:
    """What is wrong with a ``.keras`` archive read from a bundle, or ``None``.

    Parameters
    ----------
    data : bytes
        The archive as stored in the bundle.

    Returns
    -------
    str or None
        The problem, worded to follow "the archive" (for example "holds a layer modelworks never
        writes (Lambda)"), or ``None`` when the archive may be handed to Keras.
    """
    if not isinstance(data, bytes):
        return "is not a .keras archive"
    if not data.startswith(_ZIP_MAGIC):  # zipfile would also accept a zip appended to an HDF5 file
        if data.startswith(_HDF5_MAGIC):
            return "is an HDF5 (.h5) file, which Keras loads without safe mode, not a .keras archive"
        return "is not a .keras archive"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            problem = _members_problem(infos, len(data))
            if problem:
                return problem
            metadata = archive.read("metadata.json")
            config = archive.read("config.json")
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError, zlib.error):
        return "is not a readable .keras archive"
    return _metadata_problem(metadata) or config_problem(config)


def _members_problem(infos: list[zipfile.ZipInfo], size: int) -> str | None:
    names = [info.filename for info in infos]
    extra = set(names) - ARCHIVE_MEMBERS
    if extra:
        return f"holds unexpected members ({', '.join(_shown(n) for n in sorted(extra))})"
    missing = ARCHIVE_MEMBERS - set(names)
    if missing:
        return f"lacks the members Keras writes ({', '.join(sorted(missing))})"
    if len(names) != len(set(names)):
        return "holds a member twice"
    for info in infos:
        if info.filename.endswith(".json") and info.file_size > _MAX_JSON_BYTES:
            return f"holds a {info.filename} of {info.file_size:,} bytes, far more than Keras writes"
    unpacked = sum(info.file_size for info in infos)
    if unpacked > 8 * size + _MAX_JSON_BYTES:  # Keras stores its members uncompressed
        return f"would unpack to {unpacked:,} bytes from {size:,}"
    return None


def _metadata_problem(raw: bytes) -> str | None:
    try:
        metadata = json.loads(raw)
    except (ValueError, RecursionError):
        return "holds a metadata.json that is not JSON"
    if not (
        isinstance(metadata, dict)
        and set(metadata) <= METADATA_KEYS
        and isinstance(metadata.get("keras_version"), str)
    ):
        return "holds a metadata.json that Keras did not write"
    return None


def config_problem(raw: bytes) -> str | None:
    """What is wrong with the ``config.json`` of an archive, or ``None``: every object in it (at any
    depth) must be one of :data:`ALLOWED_CLASSES` with Keras' module for it and no registered name
    other than its class, and every activation one of :data:`ALLOWED_ACTIVATIONS`."""
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError):
        return "holds a config.json that is not JSON"
    if not (isinstance(config, dict) and config.get("class_name") == "Sequential"):
        return "holds a config.json whose model is not the Sequential network modelworks writes"
    stack: list[Any] = [config]
    while stack:  # no recursion: the nesting depth is the archive's choice
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            problem = _object_problem(node)
            if problem:
                return problem
            stack.extend(node.values())
    return None


def _object_problem(node: dict) -> str | None:
    if "activation" in node:
        activation = node["activation"]
        if not (isinstance(activation, str) and activation in ALLOWED_ACTIVATIONS):
            if isinstance(activation, dict):  # a serialised function: name what it is
                shown = _shown(activation.get("class_name"))
                return _object_problem(activation) or f"holds an activation modelworks never writes ({shown})"
            return f"holds an activation modelworks never writes ({_shown(activation)})"
    if not any(key in node for key in _OBJECT_KEYS):
        return None  # plain settings (a layer's config, a build_config)
    name, module, registered = (node.get(key) for key in _OBJECT_KEYS)
    if not isinstance(name, str):
        return "holds a Keras object without a class name"
    if name.startswith("__") or name == "function":
        return f"holds serialised Python code or data ({_shown(name)})"
    if not isinstance(module, str):
        return f"holds a Keras object without a module ({_shown(name)})"
    if not (module == "keras" or module.startswith("keras.")):
        return f"holds an object from a module other than Keras ({_shown(module)}.{_shown(name)})"
    if registered is not None and registered != name:
        return f"holds a custom object modelworks never writes ({_shown(registered)})"
    if ALLOWED_CLASSES.get(name) != module:
        if module == "keras.layers":
            return f"holds a layer modelworks never writes ({_shown(name)})"
        return f"holds a Keras object modelworks never writes ({_shown(module)}.{_shown(name)})"
    return None


def keras_version_problem(version: str) -> str | None:
    """Why the Keras of this version must not load an archive, or ``None`` (3.13.2 or later)."""
    found = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    parts = tuple(int(p or 0) for p in found.groups()) if found else ()
    if parts >= SAFE_KERAS:
        return None
    return (
        f"Keras {_shown(version)} has published safe-mode bypasses and must not load a bundle's "
        "network; upgrade it: pip install 'keras>=3.13.2'"
    )
