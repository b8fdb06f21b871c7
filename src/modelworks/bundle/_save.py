"""Saving a bundle: written beside its destination, swapped in atomically, signed on request."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelworks.bundle import _write
from modelworks.bundle._common import AGAIN, MANIFEST, MODEL_FILE, ONNX_FILE, RESERVED, json_bytes, versions
from modelworks.bundle._load import verify
from modelworks.bundle._sign import (
    FORMAT,
    FORMAT_VERSION,
    SIGNATURE_FILE,
    as_key,
    seal,
    signature,
)
from modelworks.bundle._skops import compacted, skops_io
from modelworks.bundle._trust import (
    Refusal,
    audit_model_file,
)
from modelworks.data.schema import json_safe
from modelworks.errors import BundleError

if TYPE_CHECKING:
    import pandas as pd


def _destination(path: str | os.PathLike) -> Path:
    """The absolute destination, its parent folder created, or a clean error."""
    dest = Path(path).expanduser().resolve()
    if not dest.name or dest.parent == dest:
        raise BundleError(f"cannot save a bundle as {dest}; choose another --out")
    ancestor = dest.parent
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise BundleError(
            f"cannot save a bundle in {dest.parent}: {ancestor} is a file; choose another --out"
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundleError(
            f"cannot create {dest.parent} ({exc.strerror or exc}); choose another --out"
        ) from None
    return dest


def _check_extra_names(extra_files: dict[str, str] | None) -> None:
    for name in extra_files or {}:
        if not _write.plain_name(name) or name in RESERVED or name.startswith("network-"):
            raise BundleError(
                f"extra file name {name!r} is not allowed in a bundle (it must be a plain, non-hidden "
                f"file name other than {', '.join(sorted(RESERVED))} and network-*); rename it"
            )


def save_bundle(
    path: str | os.PathLike,
    model,
    schema: dict,
    metrics: dict,
    extra_files: dict[str, str] | None = None,
    onnx_sample: pd.DataFrame | None = None,
    *,
    key: bytes | str | None = None,
) -> Path:
    """Write a bundle directory atomically.

    Parameters
    ----------
    path : path-like
        Destination directory. An existing modelworks bundle there (unchanged since it was saved, with
        nothing added) or an empty directory is replaced; anything else is refused, never deleted.
    model : Pipeline
        The fitted pipeline.
    schema, metrics : dict
        Contents of schema.json and metrics.json.
    extra_files : dict, optional
        More files to include, name to text content (for example ``profile.json``).
    onnx_sample : DataFrame, optional
        Raw rows (typically the training rows) to check an ONNX export against the model; when
        given, the bundle also holds ``model.onnx`` if the pipeline converts and its predictions
        match (see :func:`modelworks.export.onnx.export_onnx`). The outcome and its reason are
        recorded under ``runtime`` in the manifest; a pipeline that does not convert is saved
        without ``model.onnx``, never refused.
    key : bytes or str, optional
        Secret of at least 16 bytes: the bundle is signed (``manifest.sig``, see the module's threat
        model). :func:`sign_key_env` reads one from the environment.

    Returns
    -------
    Path
        The bundle directory.

    Raises
    ------
    BundleError
        When the destination is not replaceable, another save to it is in progress, its folder cannot
        be written, or the model holds a type modelworks would refuse to load.
    ConfigError
        When ``key`` is shorter than 16 bytes.
    """
    raw_key = None if key is None else as_key(key)
    _check_extra_names(extra_files)
    dest = _destination(path)
    with _write.destination_lock(dest):
        try:
            _write.clean_leftovers(dest.parent, dest.name)
            _write.existing_bundle(dest)  # refuse early, before the slow steps
            return _save_locked(dest, model, schema, metrics, extra_files, onnx_sample, raw_key)
        except OSError as exc:
            raise BundleError(
                f"cannot write the bundle in {dest.parent} ({exc.strerror or exc}); free space or "
                "choose another --out"
            ) from None


def _save_locked(dest, model, schema, metrics, extra_files, onnx_sample, key) -> Path:
    sio = skops_io()

    runtime: dict[str, Any] = {
        "default": "sklearn",
        "reason": "saved without an ONNX export",
        "max_abs_diff": None,
        "rows_checked": 0,
    }
    onnx_bytes = None
    if onnx_sample is not None:
        from modelworks.export.onnx import export_onnx

        exported = export_onnx(model, onnx_sample, schema["target"]["task"])
        runtime, onnx_bytes = exported.to_manifest(), exported.model_bytes
    from modelworks.models.neural import _persist

    with compacted(model), _persist.detached(model) as network_files:
        model_bytes = sio.dumps(model)
    try:
        needed = audit_model_file(model_bytes)
    except Refusal as refusal:
        raise BundleError(
            f"the model cannot be saved: its skops file {refusal}; remove that component"
        ) from None
    contents: dict[str, bytes] = {MODEL_FILE: model_bytes}
    if onnx_bytes is not None:
        contents[ONNX_FILE] = onnx_bytes
    contents.update(network_files)
    contents["schema.json"] = json_bytes(schema)
    contents["metrics.json"] = json_bytes(json_safe(metrics))
    for name, text in (extra_files or {}).items():
        contents[name] = text.encode()
    manifest = seal(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(contents.items())},
            "trusted_types": needed,
            "versions": versions(),
            "runtime": json_safe(runtime),
        }
    )
    contents[MANIFEST] = json_bytes(manifest)
    if key is not None:
        contents[SIGNATURE_FILE] = json_bytes(signature(manifest, key))

    new = Path(tempfile.mkdtemp(prefix=_write.temp_prefix(dest.name, "new"), dir=dest.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        new.chmod(0o777 & ~umask)  # mkdtemp makes it private; a bundle is an ordinary directory
        for name, data in contents.items():
            _write.write_file(new / name, data)
        _write.sync_dir(new)
        old_files = _write.existing_bundle(dest)  # again, just before the swap
        replaced = _write.put_in_place(new, dest, replace=old_files is not None)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if replaced is not None:
        _write.remove_replaced(replaced, old_files or [])
    _write.sync_dir(dest.parent)
    return dest


def sign_bundle(path: str | os.PathLike, key: bytes | str) -> Path:
    """Sign an existing bundle in place (writes ``manifest.sig``), after verifying it.

    For a bundle saved without a key (``Experiment.save``); :func:`save_bundle` signs as it saves.

    Parameters
    ----------
    path : path-like
        The bundle directory.
    key : bytes or str
        Secret of at least 16 bytes.

    Returns
    -------
    Path
        The bundle directory.
    """
    raw_key = as_key(key)
    root = Path(path).expanduser().resolve()
    with _write.destination_lock(root):
        manifest = verify(root)
        if "format" not in manifest:
            raise BundleError(
                f"bundle {root} was saved by an older modelworks whose manifest cannot be signed; {AGAIN}"
            )
        tmp = root.parent / f"{_write.temp_prefix(root.name, 'sig')}{os.urandom(4).hex()}"
        try:
            _write.write_file(tmp, json_bytes(signature(manifest, raw_key)))
            os.replace(tmp, root / SIGNATURE_FILE)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _write.sync_dir(root)
    return root
