"""Reach a Dask cluster from ``--cluster local:N | tcp://HOST:PORT | tls://HOST:PORT``
(and ``Experiment(cluster=...)``).

``local:N`` starts a :class:`distributed.LocalCluster` of ``N`` single-threaded worker processes on this
machine, owned by this process and closed with it; an address connects a :class:`distributed.Client` to
a scheduler someone else started (``dask scheduler``, a Kubernetes or HPC deployment). One connection per
spelling is kept for the process, so that ``modelworks run`` can connect before it reads the data (an
unreachable scheduler costs seconds, not the budget) and the experiment reuses it.

Trust: tasks and results travel pickled, so whoever controls the scheduler (or can rewrite the traffic
to it) runs code in this process. ``tls://HOST:PORT`` encrypts and authenticates both ends with
certificates (:func:`tls_security`); a plain ``tcp://`` address off this machine is warned about
(:func:`cluster_warning`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelworks.errors import ConfigError, ModelworksError
from modelworks.options import LOCAL_SPEC, check_cluster, cluster_host

#: Seconds to wait for a scheduler to answer before the address is declared unreachable.
CONNECT_SECONDS = 10
#: Seconds a remote cluster may take to offer at least one worker.
WORKER_WAIT_SECONDS = 30
#: Seconds :func:`cluster_warning` waits for a host name to resolve (then: not loopback, warned).
RESOLVE_SECONDS = 2.0
#: The environment variables naming the PEM files of a ``tls://`` connection; they win over Dask's
#: configuration (:data:`TLS_DASK_CONFIG`).
TLS_ENV = {"ca": "MODELWORKS_TLS_CA_FILE", "cert": "MODELWORKS_TLS_CERT", "key": "MODELWORKS_TLS_KEY"}
#: Dask's own configuration keys for the same files (``DASK_DISTRIBUTED__COMM__TLS__CA_FILE`` ...).
TLS_DASK_CONFIG = {
    "ca": "distributed.comm.tls.ca-file",
    "cert": "distributed.comm.tls.client.cert",
    "key": "distributed.comm.tls.client.key",
}
_TLS_WHAT = {
    "ca": "the CA certificate",
    "cert": "this client's certificate",
    "key": "this client's private key",
}
#: Schemes whose traffic Dask encrypts (they need certificates), and those in the clear.
_ENCRYPTED = frozenset({"tls", "wss"})
_PLAIN = frozenset({"tcp", "ws", "ucx"})


class ClusterWarning(UserWarning):
    """A scheduler address that carries pickled tasks in the clear beyond this machine."""


def cluster_warning(spec: str) -> str | None:
    """The warning to show before connecting to ``spec``, or ``None`` when there is nothing to say.

    A scheduler sends this process pickled tasks: whoever controls it, or the network between, runs
    code here. An unencrypted address (``tcp://``, a bare ``HOST:PORT``, ``ws://``, ``ucx://``) whose
    host is not this machine's loopback (127.0.0.0/8, ``::1``, ``localhost``, or a name that resolves
    only to those within :data:`RESOLVE_SECONDS`) is worth one warning; ``local:N``, ``tls://``,
    ``wss://`` and ``inproc://`` are not.

    Parameters
    ----------
    spec : str
        A ``--cluster`` spelling (see :func:`check_cluster`).

    Returns
    -------
    str or None
        One line naming the address, without a ``warning:`` prefix.

    Raises
    ------
    ConfigError
        If ``spec`` is not a ``--cluster`` spelling.
    """
    spec = check_cluster(spec)
    if _scheme(spec) not in _PLAIN or _is_loopback(cluster_host(spec)):
        return None
    return (
        f"{spec} is not encrypted and the scheduler runs code in this process: use it only on a "
        "network you trust, or tls:// with certificates (MODELWORKS_TLS_*)"
    )


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback: an address in 127.0.0.0/8 or ``::1`` (also
    IPv4-mapped), ``localhost``, or a name all of whose addresses are loopback. A name that does not
    resolve within :data:`RESOLVE_SECONDS` is not."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return _loopback_ip(name)
    except ValueError:
        pass
    if not name or any(c.isspace() for c in name):
        return False
    return _resolves_to_loopback(name)


def _loopback_ip(text: str) -> bool:
    ip = ipaddress.ip_address(text)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _resolves_to_loopback(name: str) -> bool:
    found: list[str] = []

    def resolve() -> None:
        with contextlib.suppress(OSError, UnicodeError):
            found.extend(str(info[4][0]) for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM))

    # a daemon thread: a resolver that hangs neither holds the warning up nor the process at exit
    thread = threading.Thread(target=resolve, name="modelworks-resolve", daemon=True)
    thread.start()
    thread.join(RESOLVE_SECONDS)
    if thread.is_alive() or not found:
        return False
    try:
        return all(_loopback_ip(address) for address in list(found))
    except ValueError:
        return False


def _scheme(spec: str) -> str:
    return spec.split("://", 1)[0] if "://" in spec else "local"


def tls_security() -> Any:
    """The :class:`distributed.security.Security` of a ``tls://`` connection, its files checked now.

    Each PEM file comes from its environment variable (:data:`TLS_ENV`: ``MODELWORKS_TLS_CA_FILE``,
    ``MODELWORKS_TLS_CERT``, ``MODELWORKS_TLS_KEY``) or else from Dask's configuration
    (:data:`TLS_DASK_CONFIG`, which Dask also reads from ``DASK_DISTRIBUTED__COMM__TLS__*`` variables
    and its YAML files). The key may be left out when the certificate file holds it too. Encryption is
    required, and both ends are authenticated: the scheduler's certificate must be signed by the CA,
    and the scheduler checks this client's. Ciphers and TLS versions are Dask's configuration.

    Returns
    -------
    distributed.security.Security
        For the ``client`` role, with ``require_encryption=True``.

    Raises
    ------
    ConfigError
        If a file is not given (the message says which variable to set), cannot be read, or the
        three do not make a usable TLS context (a key that is not the certificate's, say).
    """
    import dask
    from distributed.security import Security

    given: dict[str, tuple[str, str]] = {}
    for role, variable in TLS_ENV.items():
        value = os.environ.get(variable, "").strip()
        source = variable
        if not value:
            value = str(dask.config.get(TLS_DASK_CONFIG[role], None) or "").strip()
            source = TLS_DASK_CONFIG[role]
        if value:
            given[role] = (value, source)
    texts = {role: _pem(value, source) for role, (value, source) in given.items()}
    missing = [role for role in TLS_ENV if role not in given]
    if missing == ["key"] and "PRIVATE KEY-----" in texts["cert"][1]:
        missing = []  # Dask reads a key appended to the certificate
    if missing:
        whats = [_TLS_WHAT[role] for role in missing]
        what = whats[0] if len(whats) == 1 else ", ".join(whats[:-1]) + " and " + whats[-1]
        names = ", ".join(TLS_ENV[role] for role in missing)
        raise ConfigError(
            f"a tls:// scheduler needs {what}: set {names} to the PEM file(s) "
            "(or Dask's distributed.comm.tls.* configuration)"
        )
    files = {role: value for role, (value, _) in texts.items()}
    sources = {role: source for role, (_, source) in given.items()}
    try:
        security = Security(
            require_encryption=True,
            tls_ca_file=files["ca"],
            tls_client_cert=files["cert"],
            tls_client_key=files.get("key"),
        )
        security.get_connection_args("client")  # builds the context now: a bad file is named here
    except (ssl.SSLError, OSError, ValueError) as exc:
        named = ", ".join(f"{sources[role]}={_shown(value)}" for role, value in files.items())
        raise ConfigError(
            f"the TLS files ({named}) do not make a client certificate and CA ({_first_line(exc)}); "
            "the key must be the certificate's and all three PEM"
        ) from None
    return security


def _pem(value: str, source: str) -> tuple[str, str]:
    """``(value, text)``: a path made absolute with its first bytes read, or PEM text Dask was given."""
    if "\n" in value:  # Dask's configuration may hold the PEM text itself
        return value, value
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(f"{source} names {path}, which is not a readable file; give the PEM file's path")
    try:
        with path.open("rb") as f:
            text = f.read(1 << 20).decode("ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read {path} (from {source}): {exc.strerror or exc}") from None
    if "-----BEGIN " not in text:
        raise ConfigError(f"{path} (from {source}) is not a PEM file (no -----BEGIN line)")
    return str(path), text


def _shown(value: str) -> str:
    return "<PEM text>" if "\n" in value else value


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


def connect(spec: str, *, warn: bool = True) -> Connection:
    """The connection for ``spec`` (see the module's docstring), opened on first use.

    Parameters
    ----------
    spec : str
        A ``--cluster`` spelling (see :func:`check_cluster`).
    warn : bool, default True
        Issue :func:`cluster_warning`'s line, if any, as a :class:`ClusterWarning` before connecting
        the first time (the command line prints it itself and passes False).

    Returns
    -------
    Connection

    Raises
    ------
    ConfigError
        If the spelling is wrong, Dask is not installed, or a ``tls://`` address lacks usable
        certificates (see :func:`tls_security`), before anything is sent.
    ModelworksError
        If the scheduler cannot be reached or the TLS handshake fails (the message names the address),
        or it has no worker.
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
    local = LOCAL_SPEC.match(spec)
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
        note = cluster_warning(spec) if warn else None
        if note is not None:
            warnings.warn(note, ClusterWarning, stacklevel=2)
        connection = Connection(spec, _client(Client, spec))
        try:
            connection.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except (OSError, TimeoutError):
            connection.close()
            raise ModelworksError(
                f"the Dask scheduler at {spec} has no worker after {WORKER_WAIT_SECONDS} s; start one with "
                f"'dask worker {spec}'"
            ) from None
    _OPEN[spec] = connection
    return connection


def _client(client_class: Any, spec: str) -> Any:
    """A client of the scheduler at ``spec``, with certificates for an encrypted scheme."""
    import dask

    encrypted = _scheme(spec) in _ENCRYPTED
    if not encrypted and dask.config.get("distributed.comm.require-encryption", None):
        raise ConfigError(
            f"Dask's configuration requires encryption (distributed.comm.require-encryption) and {spec} "
            "is not encrypted; use tls://HOST:PORT with MODELWORKS_TLS_* certificates"
        )
    security = tls_security() if encrypted else None
    try:
        return client_class(spec, security=security, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        if encrypted:
            fix = (
                "check that a TLS scheduler listens there (dask scheduler --protocol tls), that "
                "MODELWORKS_TLS_CA_FILE is the CA that signed its certificate, and that it trusts the CA "
                "that signed MODELWORKS_TLS_CERT"
            )
        else:
            fix = "start one there with 'dask scheduler' and 'dask worker ADDRESS', or use --cluster local:N"
        raise ModelworksError(f"cannot reach the Dask scheduler at {spec} ({_reason(exc)}); {fix}") from None


def _reason(exc: BaseException) -> str:
    """The first line of ``exc``, or of the TLS error under it (Dask's own may be empty)."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chain, not a cycle
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            detail = getattr(seen, "verify_message", None) or seen.reason or _first_line(seen)
            return f"TLS handshake failed: {detail}"
        seen = seen.__cause__ or seen.__context__
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
