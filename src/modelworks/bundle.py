"""Save and load a trained bundle: a directory holding the model and what describes it.

::

    model.skops     the fitted Pipeline, saved with skops (never plain pickle)
    model.onnx      the same pipeline after its cleaning step, for ONNX Runtime (when it converts and
                    passes the parity check; see :mod:`modelworks.export.onnx`)
    schema.json     input columns, target, task, labels
    metrics.json    test metrics, CV leaderboard and per-fold scores, cleaning, seed, data hash
    profile.json    the data profile (when given)
    manifest.json   our format marker, sha256 of every other file, library versions, the types the
                    model needs, the default runtime with the reason for it, and its own sha256
    manifest.sig    only in a signed bundle: HMAC-SHA256 of the manifest under a secret key

Threat model
------------
- **The hashes catch corruption, not forgery.** ``manifest.json`` holds the sha256 of every file and
  of its own other fields (``manifest_sha256``), so a truncated copy, a flipped bit or an edit to any
  file or manifest field (versions and creation time included) is refused. Anyone can recompute them,
  so they prove nothing about who wrote the bundle.
- **Only the signature proves origin.** Saved with a key, the bundle holds ``manifest.sig``: an
  HMAC-SHA256 of the canonical manifest, which lists every file's hash. ``load_bundle(path, key=...)``
  refuses an unsigned bundle or one whose signature does not match; without the key nobody can sign.
- **The trusted-type list keeps a hostile file from running code.** A bundle from anywhere may be
  crafted: its manifest rewritten to match. skops builds only the types the caller trusts, and ours
  are exact names (:data:`TRUSTED_TYPES`) of the classes registry pipelines hold, each tied to the
  skops loader that saves it; loaders that call what the file names are refused, trees are checked
  node by node, and a file that is not an uncompressed skops zip (a pickle) is refused unread. The
  manifest's ``trusted_types`` can only narrow that list. What remains trusted is the native model
  parsers of LightGBM, XGBoost and CatBoost (they read bytes from the file): for bundles from
  untrusted sources, require a signature.

Saving writes a new directory beside the destination and swaps it into place atomically (see
:mod:`modelworks._bundle_write`): an interrupted save leaves the old bundle or the new one, a second
save to the same destination at the same time is refused, and an existing destination is replaced only
when it is verifiably a modelworks bundle, unchanged; anything else is refused, never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelworks import _bundle_write as _write
from modelworks._bundle_sign import (
    FORMAT,
    FORMAT_VERSION,
    SIGNATURE_FILE,
    as_key,
    check_signature,
    classify,
    key_from_env,
    seal,
    signature,
)
from modelworks._bundle_trust import (
    SKLEARN_CLASSES,
    TRUSTED_TYPES,
    Refusal,
    audit_model_file,
    check_trees,
    shown_list,
)
from modelworks._skops import compacted, expand, skops_io
from modelworks.data.schema import json_safe
from modelworks.errors import BundleError
from modelworks.options import RUNTIMES

if TYPE_CHECKING:
    import pandas as pd

    from modelworks.export.runtime import OnnxPredictor

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
_AGAIN = "save the bundle again with modelworks"

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MODEL_FILE",
    "ONNX_FILE",
    "RUNTIMES",
    "SIGNATURE_FILE",
    "TRUSTED_TYPES",
    "Bundle",
    "load_bundle",
    "load_model",
    "save_bundle",
    "sign_bundle",
    "sign_key_env",
    "verify",
    "verify_key_env",
    "versions",
]


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


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, default=str, allow_nan=False) + "\n").encode()


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
    from modelworks.neural import _persist

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
    contents["schema.json"] = _json_bytes(schema)
    contents["metrics.json"] = _json_bytes(json_safe(metrics))
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
    contents[MANIFEST] = _json_bytes(manifest)
    if key is not None:
        contents[SIGNATURE_FILE] = _json_bytes(signature(manifest, key))

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
                f"bundle {root} was saved by an older modelworks whose manifest cannot be signed; {_AGAIN}"
            )
        tmp = root.parent / f"{_write.temp_prefix(root.name, 'sig')}{os.urandom(4).hex()}"
        try:
            _write.write_file(tmp, _json_bytes(signature(manifest, raw_key)))
            os.replace(tmp, root / SIGNATURE_FILE)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _write.sync_dir(root)
    return root


@dataclass
class Bundle:
    """A loaded, verified bundle.

    Attributes
    ----------
    path : Path
        The bundle directory.
    model : Pipeline
        The fitted scikit-learn pipeline. It is audited and built on first use: a bundle whose
        ``model.onnx`` carries the cleaner and the decision rule predicts with ONNX Runtime without
        it (and without importing scikit-learn); other bundles build it when loaded.
    schema, metrics, manifest : dict
        Contents of schema.json, metrics.json and manifest.json.
    runtime : {"sklearn", "onnx"}
        The runtime :func:`modelworks.predict.predict_frame` uses.
    onnx : OnnxPredictor or None
        The ONNX Runtime session over ``model.onnx`` when ``runtime == "onnx"``.
    signed : bool
        Whether the bundle's signature was checked against a key when it was loaded.
    """

    path: Path
    schema: dict
    metrics: dict
    manifest: dict
    runtime: str = "sklearn"
    onnx: OnnxPredictor | None = None
    signed: bool = False
    _model: Any = field(default=None, repr=False)
    _build: Callable[[], Any] | None = field(default=None, repr=False)

    @property
    def model(self) -> Any:
        if self._model is None and self._build is not None:
            self._model = self._build()
        return self._model

    @property
    def task(self) -> str:
        return self.schema["target"]["task"]

    @property
    def labels(self) -> list | None:
        return self.schema["target"]["labels"]


def _read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise BundleError(f"{MANIFEST} in bundle {root} is unreadable ({detail}); {_AGAIN}") from None
    kind = classify(manifest)
    if kind == "foreign":
        raise BundleError(
            f"{root} holds a {MANIFEST} that modelworks did not write, so it is not a modelworks "
            "bundle; give the directory written by 'modelworks run'"
        )
    if kind == "newer":
        raise BundleError(
            f"bundle {root} was saved by a newer modelworks (format version "
            f"{manifest.get('format_version')!r}); upgrade modelworks to load it"
        )
    if kind == "modified":
        raise BundleError(
            f"{MANIFEST} in bundle {root} was modified after saving (its manifest_sha256 does not "
            f"match its content); refusing to load it; {_AGAIN}"
        )
    return manifest


def verify(path: str | os.PathLike, key: bytes | str | None = None) -> dict:
    """Check a bundle's manifest and every file against it; return the manifest.

    Parameters
    ----------
    path : path-like
        The bundle directory.
    key : bytes or str, optional
        When given, the bundle must be signed with it (``manifest.sig``).

    Raises
    ------
    BundleError
        When the directory is not a bundle, its manifest or a file is missing or modified, it holds a
        file its manifest does not list, or (with ``key``) it is unsigned or signed with another key.
    """
    raw_key = None if key is None else as_key(key)
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"bundle {root} not found; give the directory written by 'modelworks run --out'")
    if not (root / MANIFEST).is_file():
        raise BundleError(
            f"{root} has no {MANIFEST}, so it is not a modelworks bundle; "
            "give the directory written by 'modelworks run'"
        )
    manifest = _read_manifest(root)
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        _write.plain_name(n) and isinstance(d, str) for n, d in files.items()
    ):
        raise BundleError(f"manifest of {root} lists invalid file names or hashes; {_AGAIN}")
    for name in (MODEL_FILE, "schema.json", "metrics.json"):
        if name not in files:
            raise BundleError(f"manifest of {root} does not list {name}; {_AGAIN}")
    if raw_key is not None:
        check_signature(root, manifest, raw_key)
    for name, digest in files.items():
        file = root / name
        if file.is_symlink():
            raise BundleError(f"{name} in bundle {root} is a link; refusing to load it; {_AGAIN}")
        if not file.is_file():
            raise BundleError(f"bundle {root} lacks {name}; {_AGAIN}")
        if _write.sha256_file(file) != digest:
            raise BundleError(
                f"{name} in bundle {root} was modified after saving (sha256 mismatch); refusing to "
                f"load it; {_AGAIN}"
            )
    known = {*files, MANIFEST, SIGNATURE_FILE}
    extra = sorted(p.name for p in root.iterdir() if p.name not in known)
    if extra:
        raise BundleError(
            f"bundle {root} holds files not in its manifest ({shown_list(extra)}); "
            "remove them or save the bundle again"
        )
    return manifest


def _read_verified(root: Path, manifest: dict, name: str) -> bytes:
    """The bytes of a bundle file, checked against the manifest as read (not as verified earlier)."""
    data = (root / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["files"][name]:
        raise BundleError(
            f"{name} in bundle {root} was modified after saving (sha256 mismatch); refusing to load it; "
            f"{_AGAIN}"
        )
    return data


def _json_file(root: Path, manifest: dict, name: str) -> dict:
    try:
        return json.loads(_read_verified(root, manifest, name))
    except (OSError, ValueError, RecursionError) as exc:
        raise BundleError(f"{name} in bundle {root} is unreadable ({type(exc).__name__}); {_AGAIN}") from None


def _load_model_file(root: Path, manifest: dict) -> Any:
    """Audit ``model.skops`` (see :mod:`modelworks._bundle_trust`), then build it with skops."""
    data = _read_verified(root, manifest, MODEL_FILE)
    listed = manifest.get("trusted_types", [])
    if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
        raise BundleError(f"manifest of {root} has an invalid trusted_types list; {_AGAIN}")
    where = f"{MODEL_FILE} in {root}"
    try:
        needed = audit_model_file(data)
    except Refusal as refusal:
        raise BundleError(f"{where} {refusal}; refusing to load it; {_AGAIN}") from None
    refused = sorted(set(listed) - set(TRUSTED_TYPES))
    if refused:
        raise BundleError(
            f"bundle {root} asks to trust {shown_list(refused)}, which modelworks does not allow; "
            f"refusing to load it; {_AGAIN}"
        )
    unexpected = sorted(set(needed) - set(listed))
    if unexpected:
        raise BundleError(
            f"{where} needs types its manifest does not list ({shown_list(unexpected)}); "
            f"refusing to load it; {_AGAIN}"
        )
    sio = skops_io()

    try:
        model = sio.loads(data, trusted=needed + sorted(SKLEARN_CLASSES))
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        raise BundleError(
            f"{where} could not be loaded ({type(exc).__name__}: {ascii(text)[1:-1]}); check the "
            "library versions in manifest.json"
        ) from None
    try:
        check_trees(model)
    except Refusal as refusal:
        raise BundleError(f"{where} {refusal}; refusing to load it; {_AGAIN}") from None
    from modelworks.neural import _persist

    def read(name: str) -> bytes:
        if name not in manifest["files"]:
            raise _persist.Refused(f"lacks {name}")
        return _read_verified(root, manifest, name)

    try:
        _persist.attach(model, read)
    except _persist.Refused as refusal:
        raise BundleError(f"bundle {root} {refusal}; refusing to load it; {_AGAIN}") from None
    return expand(model)


def load_bundle(
    path: str | os.PathLike,
    runtime: str = "auto",
    *,
    key: bytes | str | None = None,
    tracking_uri: str | None = None,
) -> Bundle:
    """Verify and load a bundle.

    Parameters
    ----------
    path : path-like or str
        The bundle directory, or ``runs:/RUN_ID/bundle``: the bundle a run tracked with MLflow
        holds (``modelworks run --track``), downloaded into a temporary directory, checked exactly
        as a local one, built, and the directory removed (``pip install 'modelworks[track]'``).
    runtime : {"auto", "onnx", "sklearn"}
        Which runtime predicts: ONNX Runtime when the bundle holds ``model.onnx`` ("auto"), always
        ONNX (an error if the bundle has none), or always scikit-learn. The session runs on one
        thread (intra- and inter-operator).
    key : bytes or str, optional
        When given, the bundle must carry a signature made with this key (see the module's threat
        model); :func:`verify_key_env` reads one from the environment.
    tracking_uri : str, optional
        For ``runs:/`` paths: the MLflow tracking store; ``None``: ``$MLFLOW_TRACKING_URI``, else
        ``sqlite:///mlruns.db`` in the working directory.

    Raises
    ------
    BundleError
        When a run or its store cannot be found (``runs:/`` paths), the directory is not a bundle,
        a file or the manifest is missing or modified, the model file is not a skops file or needs
        a type (or loader) that is not trusted, a tree in it is malformed, the signature is missing
        or wrong (with ``key``), or ONNX is asked for and the bundle has no usable ``model.onnx``.
        The model file is audited and built here unless ONNX Runtime predicts alone
        (``model.onnx`` holding the cleaner and the decision rule): then on the first use of
        :attr:`Bundle.model`, if any, which raises the same errors.
    """
    if runtime not in RUNTIMES:
        raise BundleError(f"runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    if str(path).startswith("runs:/"):
        return _load_run(str(path), runtime, key, tracking_uri)
    root = Path(path)
    manifest = verify(root, key=key)
    has_onnx = ONNX_FILE in manifest["files"]
    if runtime == "onnx" and not has_onnx:
        why = (manifest.get("runtime") or {}).get("reason")
        raise BundleError(
            f"bundle {root} holds no {ONNX_FILE}"
            + (f" ({why})" if why else "")
            + "; use --runtime sklearn or auto"
        )
    onnx = None
    if has_onnx and runtime != "sklearn":
        onnx = _load_onnx(root, manifest, required=runtime == "onnx")
    bundle = Bundle(
        root,
        _json_file(root, manifest, "schema.json"),
        _json_file(root, manifest, "metrics.json"),
        manifest,
        runtime="onnx" if onnx is not None else "sklearn",
        onnx=onnx,
        signed=key is not None,
        _build=lambda: _load_model_file(root, manifest),
    )
    if onnx is None or not onnx.self_contained:
        bundle.model  # noqa: B018  (built now: a bad model file fails at loading, not mid-prediction)
    return bundle


def _load_run(uri: str, runtime: str, key: bytes | str | None, tracking_uri: str | None) -> Bundle:
    """A tracked run's bundle: downloaded, loaded as a local one (model built), the download removed;
    errors name the run's URI instead of the temporary directory."""
    from modelworks._wiring import provided

    keep, root = provided("bundle:runs")(uri, tracking_uri)
    try:
        bundle = load_bundle(root, runtime, key=key)
        bundle.model  # noqa: B018  (built while its files exist)
    except BundleError as exc:
        raise BundleError(str(exc).replace(str(root), uri)) from None
    finally:
        keep.cleanup()
    bundle.path = Path(uri)
    bundle._build = None
    return bundle


def _load_onnx(root: Path, manifest: dict, required: bool) -> OnnxPredictor | None:
    """An ONNX Runtime session over the bundle's model.onnx, from bytes checked against the manifest;
    ``None`` when ONNX Runtime cannot load it and ONNX is not ``required``."""
    from modelworks.export.runtime import OnnxPredictor

    data = _read_verified(root, manifest, ONNX_FILE)
    try:
        return OnnxPredictor(data)
    except Exception as exc:
        if not required:  # "auto": scikit-learn predicts the same
            return None
        raise BundleError(
            f"{ONNX_FILE} in {root} could not be loaded by ONNX Runtime ({type(exc).__name__}); "
            "use --runtime sklearn or save the bundle again"
        ) from None


def load_model(path: str | os.PathLike, *, key: bytes | str | None = None, tracking_uri: str | None = None):
    """Load the fitted pipeline of a bundle, after verifying it (see :func:`load_bundle`).

    Parameters
    ----------
    path : path-like or str
        The bundle directory, or ``runs:/RUN_ID/bundle`` for a run tracked with MLflow.
    key : bytes or str, optional
        The bundle must be signed with this key.
    tracking_uri : str, optional
        The MLflow store of a ``runs:/`` path; ``None``: ``$MLFLOW_TRACKING_URI``, else
        ``sqlite:///mlruns.db``.

    Returns
    -------
    Pipeline
        The fitted scikit-learn pipeline.
    """
    return load_bundle(path, key=key, tracking_uri=tracking_uri).model
