"""What the serving benchmarks share: a free port, library versions, stopping a server process."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import signal
import socket
import subprocess
from collections.abc import Iterable


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def library_versions(libraries: Iterable[str]) -> dict[str, str | None]:
    """Versions of Python and of ``libraries`` (``None`` for one not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in libraries:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def stop_server(process: subprocess.Popen) -> int | None:
    """SIGTERM to a server (it stops its workers), SIGKILL to its process group if it lingers."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    return process.returncode
