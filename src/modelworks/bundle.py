"""Save and load a trained bundle: a directory holding the model and what describes it.

::

    model.skops     the fitted Pipeline, saved with skops (never plain pickle)
    model.onnx      the same pipeline after its cleaning step, for ONNX Runtime (when it converts and
                    passes the parity check; see :mod:`modelworks.export.onnx`)
    schema.json     input columns, target, task, labels
    metrics.json    test metrics, CV leaderboard and per-fold scores, cleaning, seed, data hash
    profile.json    the data profile (when given)
    manifest.json   sha256 of every other file, library versions, the types the model needs, and
                    the default runtime with the reason for it

The bundle is written to a temporary directory beside the destination and renamed into place, so a
failure never leaves a half-written bundle. Loading verifies every hash, then loads the model with
skops, trusting only the types recorded in the manifest and only if each of them belongs to a library
modelworks itself uses. The skops model is always loaded (it holds the cleaning step and the metadata);
``model.onnx``, when present and asked for, is run by ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelworks.data.schema import json_safe
from modelworks.errors import BundleError

if TYPE_CHECKING:
    import pandas as pd

    from modelworks.export.runtime import OnnxPredictor

MODEL_FILE = "model.skops"
ONNX_FILE = "model.onnx"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1
#: Modules whose types a bundle may contain. A type outside these is refused at load time.
TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "modelworks.",
    "lightgbm.",
    "xgboost.",
    "catboost.",
    "builtins.",
    "collections.",
    "pandas.",
)
#: Exact names trusted beyond the prefixes. HistGradientBoosting with native categories holds a
#: ``partial(sklearn.utils.validation.check_array)``; skops checks the wrapped function's type separately.
TRUSTED_NAMES = frozenset({"functools.partial"})
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
    "onnx",
    "onnxruntime",
    "skl2onnx",
    "onnxmltools",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries a bundle depends on."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")


def _untrusted(types: list[str]) -> list[str]:
    return [t for t in types if not t.startswith(TRUSTED_PREFIXES) and t not in TRUSTED_NAMES]


def save_bundle(
    path: str | os.PathLike,
    model,
    schema: dict,
    metrics: dict,
    extra_files: dict[str, str] | None = None,
    onnx_sample: pd.DataFrame | None = None,
) -> Path:
    """Write a bundle directory atomically.

    Parameters
    ----------
    path : path-like
        Destination directory. An existing bundle there is replaced; any other existing, non-empty
        directory is refused.
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

    Returns
    -------
    Path
        The bundle directory.
    """
    dest = Path(path).resolve()
    if dest.exists() and not (dest / MANIFEST).exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BundleError(f"{dest} exists and is not a modelworks bundle; choose another --out")
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
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a bundle is an ordinary directory
    try:
        import skops.io as sio  # imported here: it pulls in torch, slow to import

        sio.dump(model, tmp / MODEL_FILE)
        needed = sorted(sio.get_untrusted_types(file=tmp / MODEL_FILE))
        refused = _untrusted(needed)
        if refused:
            raise BundleError(
                f"the model holds types modelworks does not trust ({refused}); remove that component"
            )
        if onnx_bytes is not None:
            (tmp / ONNX_FILE).write_bytes(onnx_bytes)
        _write_json(tmp / "schema.json", schema)
        _write_json(tmp / "metrics.json", json_safe(metrics))
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        files = sorted(p.name for p in tmp.iterdir())
        manifest = {
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {name: _sha256(tmp / name) for name in files},
            "trusted_types": needed,
            "versions": versions(),
            "runtime": json_safe(runtime),
        }
        _write_json(tmp / MANIFEST, manifest)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


@dataclass
class Bundle:
    """A loaded, verified bundle.

    Attributes
    ----------
    path : Path
        The bundle directory.
    model : Pipeline
        The fitted scikit-learn pipeline (always loaded: it holds the cleaning step).
    schema, metrics, manifest : dict
        Contents of schema.json, metrics.json and manifest.json.
    runtime : {"sklearn", "onnx"}
        The runtime :func:`modelworks.predict.predict_frame` uses.
    onnx : OnnxPredictor or None
        The ONNX Runtime session over ``model.onnx`` when ``runtime == "onnx"``.
    """

    path: Path
    model: Any
    schema: dict
    metrics: dict
    manifest: dict
    runtime: str = "sklearn"
    onnx: OnnxPredictor | None = None

    @property
    def task(self) -> str:
        return self.schema["target"]["task"]

    @property
    def labels(self) -> list | None:
        return self.schema["target"]["labels"]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"{path.name} in bundle {path.parent} is unreadable ({exc}); save the bundle again"
        ) from None


def verify(path: str | os.PathLike) -> dict:
    """Check every file of a bundle against its manifest; return the manifest."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"bundle {root} not found; give the directory written by 'modelworks run --out'")
    if not (root / MANIFEST).is_file():
        raise BundleError(
            f"{root} has no {MANIFEST}, so it is not a modelworks bundle; "
            "give the directory written by 'modelworks run'"
        )
    manifest = _read_json(root / MANIFEST)
    files = manifest.get("files", {})
    for name in (MODEL_FILE, "schema.json", "metrics.json"):
        if name not in files:
            raise BundleError(f"manifest of {root} does not list {name}; save the bundle again")
    for name, digest in files.items():
        file = root / name
        if not file.is_file():
            raise BundleError(f"bundle {root} lacks {name}; save the bundle again")
        if _sha256(file) != digest:
            raise BundleError(
                f"{name} in bundle {root} was modified after saving (sha256 "
                "mismatch); refusing to load it; save the bundle again"
            )
    extra = sorted(p.name for p in root.iterdir() if p.name not in files and p.name != MANIFEST)
    if extra:
        raise BundleError(
            f"bundle {root} holds files not in its manifest ({', '.join(extra)}); "
            "remove them or save the bundle again"
        )
    return manifest


RUNTIMES = ("auto", "onnx", "sklearn")


def load_bundle(path: str | os.PathLike, runtime: str = "auto") -> Bundle:
    """Verify and load a bundle.

    Parameters
    ----------
    path : path-like
        The bundle directory.
    runtime : {"auto", "onnx", "sklearn"}
        Which runtime predicts: ONNX Runtime when the bundle holds ``model.onnx`` ("auto"), always
        ONNX (an error if the bundle has none), or always scikit-learn. The session runs on one
        thread (intra- and inter-operator).

    Raises
    ------
    BundleError
        When the directory is not a bundle, a file is missing or modified, the model needs a type
        that is not trusted, or ONNX is asked for and the bundle has no usable ``model.onnx``.
    """
    if runtime not in RUNTIMES:
        raise BundleError(f"runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    root = Path(path)
    manifest = verify(root)
    has_onnx = ONNX_FILE in manifest.get("files", {})
    if runtime == "onnx" and not has_onnx:
        why = (manifest.get("runtime") or {}).get("reason")
        raise BundleError(
            f"bundle {root} holds no {ONNX_FILE}"
            + (f" ({why})" if why else "")
            + "; use --runtime sklearn or auto"
        )
    trusted = list(manifest.get("trusted_types", []))
    refused = _untrusted(trusted)
    if refused:
        raise BundleError(
            f"bundle {root} asks to trust {refused}, which modelworks does not allow; refusing to load it"
        )
    import skops.io as sio  # imported here: it pulls in torch, slow to import

    needed = sio.get_untrusted_types(file=root / MODEL_FILE)
    unexpected = sorted(set(needed) - set(trusted))
    if unexpected:
        raise BundleError(
            f"model.skops in {root} needs types its manifest does not list "
            f"({unexpected}); refusing to load it"
        )
    try:
        model = sio.load(root / MODEL_FILE, trusted=trusted)
    except Exception as exc:
        raise BundleError(
            f"model.skops in {root} could not be loaded ({type(exc).__name__}: "
            f"{exc}); check the library versions in manifest.json"
        ) from None
    onnx = None
    if has_onnx and runtime != "sklearn":
        onnx = _load_onnx(root, manifest, required=runtime == "onnx")
    return Bundle(
        root,
        model,
        _read_json(root / "schema.json"),
        _read_json(root / "metrics.json"),
        manifest,
        runtime="onnx" if onnx is not None else "sklearn",
        onnx=onnx,
    )


def _load_onnx(root: Path, manifest: dict, required: bool) -> OnnxPredictor | None:
    """An ONNX Runtime session over the bundle's model.onnx, from bytes checked against the manifest;
    ``None`` when ONNX Runtime cannot load it and ONNX is not ``required``."""
    from modelworks.export.runtime import OnnxPredictor

    data = (root / ONNX_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["files"][ONNX_FILE]:  # changed since verify()
        raise BundleError(
            f"{ONNX_FILE} in bundle {root} was modified after saving (sha256 mismatch); "
            "refusing to load it; save the bundle again"
        )
    try:
        return OnnxPredictor(data)
    except Exception as exc:
        if not required:  # "auto": scikit-learn predicts the same
            return None
        raise BundleError(
            f"{ONNX_FILE} in {root} could not be loaded by ONNX Runtime ({type(exc).__name__}); "
            "use --runtime sklearn or save the bundle again"
        ) from None


def load_model(path: str | os.PathLike):
    """Load the fitted pipeline of a bundle, after verifying it (see :func:`load_bundle`)."""
    return load_bundle(path).model
