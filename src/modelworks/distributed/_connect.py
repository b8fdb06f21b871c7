"""Reach a Dask cluster from ``--cluster local:N | tcp://HOST:PORT`` (and ``Experiment(cluster=...)``).

``local:N`` starts a :class:`distributed.LocalCluster` of ``N`` single-threaded worker processes on this
machine, owned by this process and closed with it; an address connects a :class:`distributed.Client` to
a scheduler someone else started (``dask scheduler``, a Kubernetes or HPC deployment). One connection per
spelling is kept for the process, so that ``modelworks run`` can connect before it reads the data (an
unreachable scheduler costs seconds, not the budget) and the experiment reuses it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from modelworks.errors import ConfigError, ModelworksError

#: Seconds to wait for a scheduler to answer before the address is declared unreachable.
CONNECT_SECONDS = 10
#: Seconds a remote cluster may take to offer at least one worker.
WORKER_WAIT_SECONDS = 30
#: The spellings ``--cluster`` accepts.
SPELLING = "local:N (N worker processes here) or tcp://HOST:PORT (a running dask scheduler)"

_LOCAL = re.compile(r"^local(?::(\d+))?$")
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://[^\s/]+(:\d+)?/?$")


def check_cluster(spec: str) -> str:
    """The normalised spelling of ``spec``.

    Raises
    ------
    ConfigError
        If ``spec`` is neither ``local:N`` (N ≥ 1) nor a scheduler address.
    """
    text = spec.strip()
    local = _LOCAL.match(text)
    if local:
        if local.group(1) is not None and int(local.group(1)) < 1:
            raise ConfigError(
                f"--cluster local:N needs at least one worker (got {spec!r}); for example local:2"
            )
        return text
    if "://" not in text and re.match(r"^[^\s:/]+:\d+$", text):
        return f"tcp://{text}"
    if _ADDRESS.match(text):
        return text
    raise ConfigError(f"--cluster {spec!r} is not understood; use {SPELLING}")


@dataclass
class Connection:
    """A client of a Dask cluster, and the cluster itself when this process started it."""

    spec: str
    client: Any
    cluster: Any = None
    _data: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """The scheduler's address."""
        return str(self.client.scheduler.address)

    def threads(self) -> int:
        """Worker threads the cluster has now (tasks it can run at once)."""
        return int(sum(self.client.nthreads().values()))

    def scatter(self, obj: Any, timeout: float | None = None) -> Any:
        """A future of ``obj`` on the cluster, sent once: to every worker, so that a lost worker
        does not lose the data (later calls with the same object reuse the first future).

        Dask waits ``timeout`` seconds (its default: the connect timeout) for a worker to send
        it to, then raises ``TimeoutError``."""
        kept = self._data.get(id(obj))
        if kept is not None and kept[0] is obj:
            return kept[1]
        future = self.client.scatter(obj, broadcast=True, hash=False, timeout=timeout)
        self._data[id(obj)] = (obj, future)
        return future

    def forget_data(self) -> None:
        """Scatter the data again on next use (a copy was lost with a worker)."""
        self._data.clear()

    def close(self) -> None:
        """Release the data; close the client, and the cluster when it is ours."""
        _OPEN.pop(self.spec, None)
        self._data.clear()
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


_OPEN: dict[str, Connection] = {}


def connect(spec: str) -> Connection:
    """The connection for ``spec`` (see the module's docstring), opened on first use.

    Raises
    ------
    ConfigError
        If the spelling is wrong, or Dask is not installed.
    ModelworksError
        If the scheduler cannot be reached (the message names the address), or it has no worker.
    """
    spec = check_cluster(spec)
    if spec in _OPEN:
        return _OPEN[spec]
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "--cluster needs Dask: pip install 'modelworks[dask]' (dask and distributed)"
        ) from None
    # the client's own log lines (reconnecting, lost workers) would break the one-line errors
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    local = _LOCAL.match(spec)
    if local:
        from modelworks.search.workers import ONE_THREAD

        n = int(local.group(1)) if local.group(1) else None
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
            env=ONE_THREAD,
        )
        connection = Connection(spec, Client(cluster, set_as_default=False), cluster)
    else:
        try:
            client = Client(spec, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ModelworksError(
                f"cannot reach the Dask scheduler at {spec} ({_first_line(exc)}); start one there with "
                "'dask scheduler' and 'dask worker ADDRESS', or use --cluster local:N"
            ) from None
        connection = Connection(spec, client)
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except (OSError, TimeoutError):
            connection.close()
            raise ModelworksError(
                f"the Dask scheduler at {spec} has no worker after {WORKER_WAIT_SECONDS} s; start one with "
                f"'dask worker {spec}'"
            ) from None
    _OPEN[spec] = connection
    return connection


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
