"""Ports for the real servers the tests start (HTTP, Dask, PostgreSQL).

The suite runs on two pytest workers at once. A port found free by binding port 0 is in the kernel's
ephemeral range, and in the seconds before the server binds it the kernel may hand the same number to
an outgoing connection of the other worker; the server then fails to start, or a client reaches the
wrong one. Ports are therefore drawn outside that range, at random, and checked free.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral() -> tuple[int, int]:
    try:
        low, high = map(int, _RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return low, high


def free_port() -> int:
    """A loopback TCP port nobody listens on, outside the ephemeral range."""
    low, high = _ephemeral()
    start, stop = (20000, low) if low > 21000 else (high + 1, 65536)
    draw = random.SystemRandom()
    for _ in range(200):
        port = draw.randrange(start, stop)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port between {start} and {stop}")
