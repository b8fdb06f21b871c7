"""MLflow itself: imported on demand, kept quiet, its failures turned into one-line errors."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from types import ModuleType

from modelworks.errors import ConfigError

INSTALL = "pip install 'modelworks[track]'"
#: Loggers that speak at INFO level while a store is opened (MLflow's schema migrations, Alembic).
_CHATTY = ("mlflow", "alembic")
#: An unreachable server fails at once instead of after MLflow's default of minutes of retries.
_FAIL_FAST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
_NO_PROGRESS_BAR = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def require() -> ModuleType:
    """The ``mlflow`` module, or a one-line :class:`ConfigError` naming the extra to install."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError(f"tracking runs needs MLflow, which is not installed: {INSTALL}") from None
    return mlflow


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables MLflow reads, for as long as this lasts, where the user set none."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No INFO lines (database migrations), progress bars or library warnings on the terminal."""
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(), _environment(_NO_PROGRESS_BAR):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def fail_fast() -> contextlib.AbstractContextManager[None]:
    """No retries of HTTP requests while this lasts (the first contact with a store)."""
    return _environment(_FAIL_FAST)


def reason(exc: BaseException) -> str:
    """The first line of an MLflow (or database, or network) error, short enough for one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "MLFLOW_ALLOW_FILE_STORE" in text:
        return (
            "this MLflow refuses file stores unless MLFLOW_ALLOW_FILE_STORE=true is set; "
            "use a sqlite:/// URI instead"
        )
    return text[:300] + ("…" if len(text) > 300 else "")


def not_found(exc: BaseException) -> bool:
    """Whether MLflow said the run (or experiment, or artefact) does not exist."""
    return getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"
