"""The Typer app, its two consoles, and what every command shares: one line for every way a command
can end badly, the checks of output paths and keys, and the options several commands take."""

from __future__ import annotations

import errno
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from modelworks.errors import ModelworksError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="From a raw table to a compared, tested, saved model.",
)
out = Console(highlight=False)
if not out.is_terminal:  # files and pipes get full-width tables instead of 80 columns
    out = Console(highlight=False, width=160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable)


#: OS errors that mean the user's paths or disk, not a bug: exit 2 with the path named.
_USER_OS_ERRORS = (PermissionError, FileExistsError, NotADirectoryError, IsADirectoryError)


def user_errors(fn: F) -> F:
    """One line on stderr for every way a command can end badly, never a traceback.

    A :class:`ModelworksError` (or a file-system refusal) exits 2; Ctrl-C exits 130; anything else is
    a bug in modelworks: one line, the traceback in a log file whose path is printed, exit 1.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except ModelworksError as exc:
            _fail(str(exc), 2)
        except KeyboardInterrupt:
            _fail("interrupted; no partial output was left (outputs are renamed in when complete)", 130)
        except OSError as exc:
            if isinstance(exc, _USER_OS_ERRORS) or exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
                where = f" {exc.filename}" if exc.filename else ""
                _fail(f"cannot write{where}: {exc.strerror or exc}; choose another path or free it", 2)
            _internal(exc)
        except Exception as exc:
            _internal(exc)

    return wrapper  # type: ignore[return-value]


#: Whether a command already said why it ended (see ``modelworks.__main__``).
reported = False


def _fail(message: str, code: int) -> NoReturn:
    global reported
    reported = True
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code) from None


def _internal(exc: BaseException) -> NoReturn:
    """A bug: one line naming the log file that holds the traceback."""
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        folder = Path(tempfile.gettempdir()) / "modelworks-logs"
        folder.mkdir(parents=True, exist_ok=True)
        fd, log = tempfile.mkstemp(prefix=time.strftime("crash-%Y%m%d-%H%M%S-"), suffix=".log", dir=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"modelworks {' '.join(sys.argv[1:])}\n\n{text}")
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be saved"
    message = str(exc).splitlines()[0] if str(exc) else ""
    _fail(f"internal error ({type(exc).__name__}: {message[:200]}); {where}; please report it", 1)


def check_writable(path: Path, *, file: bool = False) -> None:
    """Refuse an output path that cannot be written, before any work is done.

    The nearest existing folder above ``path`` must be a folder in which a file can be created (a real
    probe: permission bits do not tell for root or read-only mounts); a file ``--out`` must not name a
    folder.
    """
    from modelworks.errors import ConfigError

    path = Path(path)
    if file and path.is_dir():
        raise ConfigError(f"--out {path} is a folder; name a file, for example {path / 'predictions.csv'}")
    parent = path.parent if file or not path.exists() else path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--out {path}: {parent} is a file, not a folder; choose another --out")
    try:
        with tempfile.TemporaryFile(dir=parent, prefix=".modelworks-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"--out {path}: cannot write in {parent} ({exc.strerror or exc}); choose another --out"
        ) from None


def check_bundle_out(path: Path) -> None:
    """Refuse a bundle ``--out`` before any work: unwritable, or a folder modelworks may not replace
    (another tool's, a modified bundle, a file), so that no fit is wasted on a refusal at the end."""
    from modelworks.bundle._write import existing_bundle

    check_writable(path)
    existing_bundle(Path(path))


def key_of(env: str | None, *, sign: bool) -> bytes | None:
    """The signing or verifying key held in environment variable ``env`` (read before any work)."""
    if env is None:
        return None
    from modelworks.bundle import sign_key_env, verify_key_env

    return (sign_key_env if sign else verify_key_env)(env)


SignKey = Annotated[
    str | None,
    typer.Option(help="Environment variable holding a secret: sign the bundle (HMAC-SHA256)."),
]
VerifyKey = Annotated[
    str | None,
    typer.Option(
        help="Environment variable holding the secret: refuse an unsigned or wrongly signed bundle."
    ),
]


def names_of(text: str | None) -> tuple[str, ...]:
    """The names of a comma-separated option (``--exclude a,b``, ``--models x,y``)."""
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else ()


def default_out(data: str, out_dir: Path | None, suffix: str = "") -> Path:
    path = Path(data)
    if "://" not in data and any(c in path.name for c in "*?["):  # a glob: named after its folder
        path = path.parent
    stem = path.name.split(".")[0] if "://" not in data else "sql"
    return out_dir or Path("modelworks-out") / f"{stem}{suffix}"


Budget = Annotated[float | None, typer.Option("--time-budget", help="Seconds for the whole run.")]
DaskCluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Fit on a Dask cluster: local:N (N worker processes here), tcp://HOST:PORT or "
        "tls://HOST:PORT (a running dask scheduler, which must be trusted; tls:// takes certificates "
        "from MODELWORKS_TLS_CA_FILE, MODELWORKS_TLS_CERT, MODELWORKS_TLS_KEY); run: folds and tuning "
        "trials, cluster: the stability resamples. Needs modelworks\\[dask].",
    ),
]


Exclude = Annotated[str | None, typer.Option(help="Comma-separated columns to leave out.")]
Seed = Annotated[int, typer.Option(help="Seed of every random choice.")]
NoReport = Annotated[bool, typer.Option(help="Write report.html with every figure and table.")]


def connect_cluster(spec: str, out: Console, err: Console):
    """Connect to the Dask cluster of ``--cluster`` before any data is read (an unreachable scheduler
    costs seconds, not the budget), after one warning line when the link is plain and leaves this
    machine; print what it offers."""
    from modelworks.distributed import cluster_warning, connect

    note = cluster_warning(spec)
    if note is not None:
        err.print(f"warning: {escape(note)}")
    connection = connect(spec, warn=False)
    out.print(f"Dask cluster at {connection.address}: {connection.threads()} worker thread(s)")
    return connection
