"""A tracked run's bundle, downloaded into a temporary directory for the ordinary loading checks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from modelworks.errors import BundleError
from modelworks.track import _mlflow, _uri


def download(uri: str, tracking_uri: str | None = None) -> tuple[tempfile.TemporaryDirectory, Path]:
    """Download the bundle of ``runs:/RUN_ID/bundle`` from the tracking store.

    Parameters
    ----------
    uri : str
        ``runs:/RUN_ID/bundle`` (``runs:/RUN_ID`` means the same).
    tracking_uri : str, optional
        The store; ``None``: ``$MLFLOW_TRACKING_URI``, else :data:`~modelworks.track.DEFAULT_URI`.

    Returns
    -------
    (TemporaryDirectory, Path)
        The directory (removed when it is cleaned up or collected) and the bundle inside it, not yet
        verified: the caller loads it as any local bundle.

    Raises
    ------
    BundleError
        When the URI is malformed, the store does not exist or cannot be reached, or holds no such run
        or no bundle in it.
    ConfigError
        When MLflow is not installed.
    """
    run_id, folder = _uri.parse_run_uri(uri)
    mlflow = _mlflow.require()
    store_uri = _uri.resolve(tracking_uri)
    where = f"in the MLflow tracking store {store_uri}"
    local = _uri.local_store(store_uri)
    if local is not None and not local.exists():  # opening would create an empty store
        raise BundleError(
            f"cannot load {uri}: no tracking store {local} exists; give tracking_uri= (or set "
            "MLFLOW_TRACKING_URI) to the store the run was logged to"
        )
    keep = tempfile.TemporaryDirectory(prefix="modelworks-run-")
    try:
        with _mlflow.quiet():
            client = mlflow.tracking.MlflowClient(tracking_uri=store_uri)
            with _mlflow.fail_fast():
                client.get_run(run_id)
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=folder, dst_path=keep.name, tracking_uri=store_uri
            )
    except Exception as exc:
        keep.cleanup()
        if _mlflow.not_found(exc):
            raise BundleError(
                f"cannot load {uri}: no run {run_id} {where}; check the run id that 'modelworks run "
                "--track' printed and the tracking URI (tracking_uri= or MLFLOW_TRACKING_URI)"
            ) from None
        raise BundleError(f"cannot load {uri} {where}: {_mlflow.reason(exc)}") from None
    root = Path(path)
    if not root.is_dir() or not os.listdir(root):
        keep.cleanup()
        raise BundleError(
            f"run {run_id} {where} holds no bundle under {folder}/; give runs:/{run_id}/"
            f"{_uri.BUNDLE_FOLDER}, the folder 'modelworks run --track' logs"
        )
    return keep, root
