"""Loading a bundle: verified against its manifest (and signature), audited, then built."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelworks.bundle import _write
from modelworks.bundle._common import AGAIN, MANIFEST, MODEL_FILE, ONNX_FILE
from modelworks.bundle._sign import (
    SIGNATURE_FILE,
    as_key,
    check_signature,
    classify,
)
from modelworks.bundle._skops import expand, skops_io
from modelworks.bundle._trust import (
    SKLEARN_CLASSES,
    TRUSTED_TYPES,
    Refusal,
    audit_model_file,
    check_trees,
    shown_list,
)
from modelworks.errors import BundleError
from modelworks.options import RUNTIMES

if TYPE_CHECKING:
    from modelworks.export.runtime import OnnxPredictor


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
        raise BundleError(f"{MANIFEST} in bundle {root} is unreadable ({detail}); {AGAIN}") from None
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
            f"match its content); refusing to load it; {AGAIN}"
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
        raise BundleError(f"manifest of {root} lists invalid file names or hashes; {AGAIN}")
    for name in (MODEL_FILE, "schema.json", "metrics.json"):
        if name not in files:
            raise BundleError(f"manifest of {root} does not list {name}; {AGAIN}")
    if raw_key is not None:
        check_signature(root, manifest, raw_key)
    for name, digest in files.items():
        file = root / name
        if file.is_symlink():
            raise BundleError(f"{name} in bundle {root} is a link; refusing to load it; {AGAIN}")
        if not file.is_file():
            raise BundleError(f"bundle {root} lacks {name}; {AGAIN}")
        if _write.sha256_file(file) != digest:
            raise BundleError(
                f"{name} in bundle {root} was modified after saving (sha256 mismatch); refusing to "
                f"load it; {AGAIN}"
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
            f"{AGAIN}"
        )
    return data


def _json_file(root: Path, manifest: dict, name: str) -> dict:
    try:
        return json.loads(_read_verified(root, manifest, name))
    except (OSError, ValueError, RecursionError) as exc:
        raise BundleError(f"{name} in bundle {root} is unreadable ({type(exc).__name__}); {AGAIN}") from None


def _load_model_file(root: Path, manifest: dict) -> Any:
    """Audit ``model.skops`` (see :mod:`modelworks.bundle._trust`), then build it with skops."""
    data = _read_verified(root, manifest, MODEL_FILE)
    listed = manifest.get("trusted_types", [])
    if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
        raise BundleError(f"manifest of {root} has an invalid trusted_types list; {AGAIN}")
    where = f"{MODEL_FILE} in {root}"
    try:
        needed = audit_model_file(data)
    except Refusal as refusal:
        raise BundleError(f"{where} {refusal}; refusing to load it; {AGAIN}") from None
    refused = sorted(set(listed) - set(TRUSTED_TYPES))
    if refused:
        raise BundleError(
            f"bundle {root} asks to trust {shown_list(refused)}, which modelworks does not allow; "
            f"refusing to load it; {AGAIN}"
        )
    unexpected = sorted(set(needed) - set(listed))
    if unexpected:
        raise BundleError(
            f"{where} needs types its manifest does not list ({shown_list(unexpected)}); "
            f"refusing to load it; {AGAIN}"
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
        raise BundleError(f"{where} {refusal}; refusing to load it; {AGAIN}") from None
    from modelworks.models.neural import _persist

    def read(name: str) -> bytes:
        if name not in manifest["files"]:
            raise _persist.Refused(f"lacks {name}")
        return _read_verified(root, manifest, name)

    try:
        _persist.attach(model, read)
    except _persist.Refused as refusal:
        raise BundleError(f"bundle {root} {refusal}; refusing to load it; {AGAIN}") from None
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
