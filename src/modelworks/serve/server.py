"""Run the prediction service with uvicorn (``modelworks serve``).

Every option is checked before the server starts, and a bad one raises a
:class:`~modelworks.errors.ModelworksError` with one line naming the problem and the fix: the bundle
(verified and loaded), the API-key variable, the port (free?), the worker count and the limits.

One worker serves the app object made here; several workers are started by uvicorn from the import
string ``modelworks.serve.app:app_from_env`` with ``factory=True``, the settings passed through
environment variables. SIGTERM and SIGINT shut the server down gracefully (in-flight requests finish)
and the process exits with status 0.
"""

from __future__ import annotations

import errno
import logging
import logging.config
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from modelworks.bundle import verify
from modelworks.errors import ConfigError
from modelworks.serve.logs import SERVICE_LOGGER, log_config
from modelworks.serve.settings import ServeSettings, limit_threads

log = logging.getLogger(SERVICE_LOGGER)
#: Seconds in-flight requests get to finish after SIGTERM.
GRACEFUL_SHUTDOWN_S = 10
FACTORY = "modelworks.serve.app:app_from_env"


def check_port(host: str, port: int) -> None:
    """Refuse a host or port the server could not listen on.

    Raises
    ------
    ConfigError
        When the port is out of range, the host does not resolve, or the address is in use.
    """
    listening_socket(host, port).close()


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind a TCP socket the way the server will listen on it, with its protocol number set.

    uvicorn (0.54) binds a multi-worker server's socket as ``socket.socket(family)``, whose protocol
    number is 0; asyncio sets ``TCP_NODELAY`` on an accepted connection only when that number is
    ``IPPROTO_TCP``, so every keep-alive answer then waited for the client's delayed ACK (about 40 ms).
    The socket made here carries the protocol from ``getaddrinfo`` and is handed to uvicorn's workers.

    Raises
    ------
    ConfigError
        When the port is out of range, the host does not resolve, or the address is in use.
    """
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535 (got {port})")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(
            f"cannot listen on host {host!r} ({exc}); give an address such as 127.0.0.1"
        ) from None
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use; choose another --port or stop the "
                "process listening there"
            ) from None
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --host or --port"
        ) from None
    sock.set_inheritable(True)
    return sock


@contextmanager
def _graceful_signals() -> Iterator[list[int]]:
    """Handle SIGTERM and SIGINT in Python for the duration.

    uvicorn shuts down on these signals and then raises the signal again for the previous handler;
    with the default SIGTERM handler that would kill the process (status -15) after a clean shutdown.
    Yields the list of signals received.
    """
    received: list[int] = []

    def note(sig: int, frame: FrameType | None) -> None:
        received.append(sig)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_bundle(
    bundle: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    api_key_env: str | None = None,
    runtime: str = "auto",
    max_rows: int = 10_000,
    max_body_bytes: int = 10_000_000,
    verify_key_env: str | None = None,
) -> None:
    """Serve a bundle over HTTP until SIGTERM or SIGINT.

    Parameters
    ----------
    bundle : path-like
        The bundle directory.
    host, port : str, int
        Address to listen on.
    workers : int
        Worker processes (each loads the bundle).
    api_key_env : str, optional
        Name of the environment variable holding the API key clients must send.
    runtime : {"auto", "onnx", "sklearn"}
        Prediction runtime (see :func:`modelworks.bundle.load_bundle`).
    max_rows : int
        Most records per request (413 beyond).
    max_body_bytes : int
        Largest request body in bytes (413 beyond).
    verify_key_env : str, optional
        Name of the environment variable holding the secret the bundle must be signed with: an
        unsigned or wrongly signed bundle is refused before the server starts (and by each worker).

    Raises
    ------
    ConfigError
        For a bad option: no API key in the named variable, a port in use, fewer than one worker.
    BundleError
        When the bundle is missing, modified or cannot be loaded (a Keras network is built here, before
        the port is listened on).
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    settings = ServeSettings(
        bundle=Path(bundle).resolve(),
        runtime=runtime,
        max_rows=max_rows,
        max_body_bytes=max_body_bytes,
        api_key_env=api_key_env,
        verify_key_env=verify_key_env,
    )
    key = settings.verify_key()
    verify(settings.bundle, key=key)  # cheap (hashes only): a wrong path fails first, before other options
    api_key = settings.api_key()
    check_port(host, port)
    threads = limit_threads()
    from modelworks.models.neural.predict_images import is_image_bundle
    from modelworks.serve.app import create_app

    # loaded here even with several workers: a bad bundle fails now, with one line, not in each worker
    app = create_app(
        settings.bundle,
        api_key=api_key,
        runtime=runtime,
        max_rows=max_rows,
        max_body_bytes=max_body_bytes,
        key=key,
    )

    service = app.state.service
    if is_image_bundle(service.bundle.schema):
        from modelworks.models.neural.keras_images import build_networks

        # a Keras network is otherwise built from its archive at the first request: a bundle Keras
        # refuses would start, answer /health, and fail every prediction
        build_networks(service.bundle.model)

    import uvicorn

    config = log_config()
    logging.config.dictConfig(config)
    log.info(
        "modelworks serve: %s (%s, runtime %s) on http://%s:%d, %d worker(s), %d thread(s) each, API key %s",
        settings.bundle,
        service.bundle.task,
        service.runtime,
        host,
        port,
        workers,
        threads,
        "required" if api_key is not None else "off",
    )
    if key is not None:
        log.info("bundle signature verified with the secret in $%s", verify_key_env)
    options = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_config": config,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "server_header": False,
    }
    with _graceful_signals() as received:
        if workers == 1:
            uvicorn.run(app, **options)  # type: ignore[arg-type]
        else:
            del app, service
            os.environ.update(settings.to_env())
            _run_workers(workers, listening_socket(host, port), options)
    cause = f" after {signal.Signals(received[0]).name}" if received else ""
    log.info("modelworks serve: shut down cleanly%s", cause)


def _run_workers(workers: int, sock: socket.socket, options: dict) -> None:
    """What ``uvicorn.run(..., workers=N)`` does, on a socket bound by :func:`listening_socket`."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(FACTORY, factory=True, workers=workers, **options)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # as uvicorn.run: the supervisor's own shutdown already ran
        pass
    finally:
        sock.close()
