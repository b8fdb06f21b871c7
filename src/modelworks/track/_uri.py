"""Tracking URIs, ``runs:/`` URIs and experiment names (no MLflow import)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from modelworks.errors import BundleError, ConfigError

DEFAULT_URI = "sqlite:///mlruns.db"
#: What a bare ``--track`` stands for (see :mod:`modelworks.cli._track`).
BARE = "default"
#: The artefact folder of a run that holds the bundle.
BUNDLE_FOLDER = "bundle"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def looks_like_uri(text: str) -> bool:
    """Whether ``text`` starts with a URI scheme of two letters or more (``C:`` is a drive)."""
    return bool(_SCHEME.match(text)) or text == "databricks"


def resolve(uri: str | None) -> str:
    """The tracking URI to use: ``uri``; else ``$MLFLOW_TRACKING_URI``; else :data:`DEFAULT_URI`.

    A relative ``sqlite:///`` or ``file:`` path (or a plain path) is made absolute against the working
    directory, so that the URI printed at the end works from anywhere.
    """
    if uri is None or uri.strip() in ("", BARE):
        uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
    uri = uri.strip()
    match = _SCHEME.match(uri)
    if match is None:  # a plain path: MLflow's file store
        return Path(uri).expanduser().resolve().as_uri()
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        return f"sqlite:///{sqlite_path(uri)}"
    if scheme == "file":
        return Path(unquote(urlsplit(uri).path) or ".").expanduser().resolve().as_uri()
    return uri


def sqlite_path(uri: str) -> Path:
    """The absolute database file of a ``sqlite:///PATH`` URI (relative paths: the working directory)."""
    rest = uri.split(":", 1)[1]
    if not rest.startswith("///") or rest[3:] in ("", ":memory:") or "?" in rest:
        raise ConfigError(
            f"--track {uri}: give a database file, for example {DEFAULT_URI} (relative to here) or "
            "sqlite:////absolute/path/mlruns.db"
        )
    return Path(unquote(rest[3:])).expanduser().resolve()


def local_store(uri: str) -> Path | None:
    """The file or folder of a local store (``sqlite:`` or ``file:`` URI), else ``None``."""
    if uri.startswith("sqlite:"):
        return sqlite_path(uri)
    if uri.startswith("file:"):
        return Path(unquote(urlsplit(uri).path))
    return None


def is_run_uri(path: object) -> bool:
    """Whether a bundle path is an MLflow ``runs:/RUN_ID/...`` URI."""
    return str(path).startswith("runs:/")


def parse_run_uri(uri: str) -> tuple[str, str]:
    """``runs:/RUN_ID/bundle`` as ``(RUN_ID, "bundle")``; ``runs:/RUN_ID`` means its bundle too."""
    parts = [p for p in str(uri).removeprefix("runs:/").split("/") if p]
    if not parts or not _RUN_ID.match(parts[0]) or any(p in (".", "..") for p in parts[1:]):
        raise BundleError(
            f"{uri} is not a run's bundle URI; give runs:/RUN_ID/{BUNDLE_FOLDER} (the run id that "
            "'modelworks run --track' printed)"
        )
    return parts[0], "/".join(parts[1:]) or BUNDLE_FOLDER


def experiment_name(data: str | None, suffix: str = "") -> str:
    """``$MLFLOW_EXPERIMENT_NAME``, else the name of the data (as the default bundle folder is named:
    ``churn`` for ``churn.csv``, the table of a SQL URL, ``sql`` for a query), else ``modelworks``."""
    named = os.environ.get("MLFLOW_EXPERIMENT_NAME", "").strip()
    if named:
        return named
    if not data:
        return "modelworks"
    text = str(data).rstrip("/")
    if "://" in text:
        table = re.search(r"[?&]table=([^&]+)", text)
        stem = unquote(table.group(1)) if table else "sql"
    else:
        stem = Path(text).name.split(".")[0]
    return f"{stem or 'modelworks'}{suffix}"


def shown_data(data: str) -> str:
    """The data source as a run parameter: a database URL without its password."""
    if "://" not in data or "@" not in data:
        return data
    try:
        from sqlalchemy.engine import make_url

        return make_url(data).render_as_string(hide_password=True)
    except Exception:  # not a database URL: hide whatever stands before the host
        return re.sub(r"//[^/@]*@", "//***@", data)
