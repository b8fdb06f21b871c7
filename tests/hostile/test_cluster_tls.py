"""Dask's trust boundary: a scheduler runs code in this process (tasks travel pickled).

``--cluster tls://HOST:PORT`` authenticates both ends with certificates (``MODELWORKS_TLS_*`` or Dask's
own configuration), refused before anything is sent when they are missing or unusable; a plain address
off this machine is warned about, loopback is not. The real-scheduler tests listen on 127.0.0.1 only,
and no test sends a packet to any other address (names are resolved by a stand-in ``getaddrinfo``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from net_support import free_port

pytest.importorskip("distributed")
pytest.importorskip("cryptography")

import dask  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from modelworks.distributed import _connect  # noqa: E402
from modelworks.distributed._connect import (  # noqa: E402
    TLS_DASK_CONFIG,
    TLS_ENV,
    ClusterWarning,
    check_cluster,
    cluster_warning,
    connect,
    tls_security,
)
from modelworks.errors import ConfigError, ModelworksError  # noqa: E402

pytestmark = pytest.mark.timeout(300)

DASK = str(Path(sys.executable).parent / "dask")
NO_DASK_TLS = dict.fromkeys(TLS_DASK_CONFIG.values())


# --------------------------------------------------------------------------- throwaway certificates


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> tuple[Path, Path]:
    key_path = path.with_suffix(".key")
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key_path


def make_pki(folder: Path, label: str) -> dict[str, Path]:
    """A CA and one certificate it signed (for the scheduler, its worker and the client alike)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} test CA"))
        .issuer_name(_name(f"{label} test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} dask"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca, _ = _write(folder / "ca.pem", ca_key, ca_cert)
    cert_path, key_path = _write(folder / "dask.pem", key, cert)
    return {"ca": ca, "cert": cert_path, "key": key_path}


def tls_env(pki: dict[str, Path]) -> dict[str, str]:
    return {TLS_ENV[role]: str(path) for role, path in pki.items()}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"), "good")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory) -> dict[str, Path]:
    """A second CA, unknown to the scheduler, and a certificate it signed."""
    return make_pki(tmp_path_factory.mktemp("other-pki"), "other")


@pytest.fixture
def no_tls(monkeypatch):
    """Neither MODELWORKS_TLS_* nor Dask's TLS configuration, and no client may be made."""
    for variable in TLS_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    with dask.config.set(NO_DASK_TLS):
        yield


@pytest.fixture
def no_client(monkeypatch):
    """``distributed.Client`` replaced: it records its calls and refuses as a dead address would."""
    import distributed

    calls: list[tuple[str, object]] = []

    def refuse(address, **kwargs):
        calls.append((address, kwargs.get("security")))
        raise OSError("Timed out trying to connect (stand-in)")

    monkeypatch.setattr(distributed, "Client", refuse)
    return calls


# --------------------------------------------------------------------------- the warning (no traffic)


@pytest.mark.parametrize(
    "spec",
    [
        "tcp://10.0.0.5:8786",
        "10.0.0.5:8786",
        "tcp://192.168.1.20:8786/",
        "tcp://[2001:db8::1]:8786",
        "ws://172.16.0.1:8786",
        "tcp://0.0.0.0:8786",
        "tcp://[::ffff:10.0.0.5]:8786",
    ],
)
def test_a_plain_address_off_this_machine_is_one_warning_naming_it(spec):
    note = cluster_warning(spec)
    assert note is not None and "\n" not in note
    assert note.startswith(check_cluster(spec))
    assert "not encrypted" in note and "runs code in this process" in note
    assert "tls://" in note and "MODELWORKS_TLS_" in note


@pytest.mark.parametrize(
    "spec",
    [
        "tcp://127.0.0.1:8786",
        "127.0.0.1:8786",
        "tcp://127.8.9.10:8786",
        "tcp://localhost:8786",
        "localhost:8786",
        "tcp://LOCALHOST.:8786",
        "tcp://[::1]:8786",
        "[::1]:8786",
        "tcp://[::ffff:127.0.0.1]:8786",
        "local",
        "local:2",
        "tls://10.0.0.5:8786",
        "wss://10.0.0.5:8786",
    ],
)
def test_loopback_local_and_encrypted_addresses_are_not_warned(spec, monkeypatch):
    def no_lookup(*args, **kwargs):
        raise AssertionError(f"{spec} needs no name lookup")

    monkeypatch.setattr(_connect.socket, "getaddrinfo", no_lookup)
    assert cluster_warning(spec) is None


def _resolver(monkeypatch, answer):
    def getaddrinfo(host, *args, **kwargs):
        assert host == "scheduler.invalid"
        if isinstance(answer, BaseException):
            raise answer
        if answer == "hang":
            time.sleep(5)
            return []
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in answer]

    monkeypatch.setattr(_connect.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(_connect, "RESOLVE_SECONDS", 0.5)


def test_a_name_that_resolves_only_to_loopback_is_not_warned(monkeypatch):
    _resolver(monkeypatch, ["127.0.1.1", "::1"])
    assert cluster_warning("tcp://scheduler.invalid:8786") is None


@pytest.mark.parametrize(
    "answer", [["127.0.0.1", "10.0.0.5"], ["10.0.0.5"], socket.gaierror("no such name"), [], "hang"]
)
def test_a_name_not_only_loopback_or_unresolved_is_warned_without_waiting_long(monkeypatch, answer):
    _resolver(monkeypatch, answer)
    started = time.monotonic()
    note = cluster_warning("scheduler.invalid:8786")
    assert note is not None and note.startswith("tcp://scheduler.invalid:8786 is not encrypted")
    assert time.monotonic() - started < 3


def test_an_ipv6_address_needs_brackets():
    with pytest.raises(ConfigError, match=r"brackets"):
        check_cluster("tcp://::1:8786")
    assert check_cluster("[::1]:8786") == "tcp://[::1]:8786"


def test_connect_warns_python_callers_once_before_connecting(no_client):
    address = "tcp://10.0.0.5:8786"  # the stand-in client: nothing is sent
    warned = pytest.warns(ClusterWarning, match=r"tcp://10\.0\.0\.5:8786 is not encrypted")
    with (
        warned,
        pytest.raises(ModelworksError, match=r"cannot reach the Dask scheduler at tcp://10\.0\.0\.5"),
    ):
        connect(address)
    assert no_client == [(address, None)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelworksError):
            connect(address, warn=False)  # the command line prints the line itself
        with pytest.raises(ModelworksError):
            connect("tcp://127.0.0.1:9")


# --------------------------------------------------------------------------- certificates, refused early


def test_a_tls_address_without_certificates_is_refused_before_connecting(no_tls, no_client):
    with pytest.raises(ConfigError) as caught:
        connect("tls://127.0.0.1:9")
    message = str(caught.value)
    assert "\n" not in message and message.count(". ") == 0
    for variable in TLS_ENV.values():
        assert variable in message
    assert no_client == []


def test_only_the_missing_file_is_named(no_tls, no_client, monkeypatch, pki):
    monkeypatch.setenv(TLS_ENV["ca"], str(pki["ca"]))
    monkeypatch.setenv(TLS_ENV["cert"], str(pki["cert"]))
    with pytest.raises(
        ConfigError, match=r"^a tls:// scheduler needs this client's private key: set MODELWORKS_TLS_KEY "
    ):
        connect("tls://127.0.0.1:9")
    assert no_client == []


def test_a_key_inside_the_certificate_file_is_enough(no_tls, monkeypatch, pki, tmp_path):
    both = tmp_path / "both.pem"
    both.write_bytes(pki["cert"].read_bytes() + pki["key"].read_bytes())
    monkeypatch.setenv(TLS_ENV["ca"], str(pki["ca"]))
    monkeypatch.setenv(TLS_ENV["cert"], str(both))
    security = tls_security()
    assert security.tls_client_cert == str(both) and security.tls_client_key is None


@pytest.mark.parametrize("role", ["ca", "cert", "key"])
def test_a_missing_file_is_named(no_tls, no_client, monkeypatch, pki, tmp_path, role):
    for name, path in tls_env(pki).items():
        monkeypatch.setenv(name, path)
    gone = tmp_path / "nowhere" / f"{role}.pem"
    monkeypatch.setenv(TLS_ENV[role], str(gone))
    with pytest.raises(ConfigError) as caught:
        connect("tls://127.0.0.1:9")
    assert str(gone) in str(caught.value) and TLS_ENV[role] in str(caught.value)
    assert no_client == []


def test_a_folder_is_not_a_certificate_file(no_tls, monkeypatch, pki, tmp_path):
    for name, path in tls_env(pki).items():
        monkeypatch.setenv(name, path)
    monkeypatch.setenv(TLS_ENV["ca"], str(tmp_path))
    with pytest.raises(
        ConfigError, match=f"MODELWORKS_TLS_CA_FILE names {tmp_path}, which is not a readable file"
    ):
        tls_security()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_named(no_tls, monkeypatch, pki, tmp_path):
    locked = tmp_path / "locked.key"
    locked.write_bytes(pki["key"].read_bytes())
    locked.chmod(0)
    for name, path in tls_env(pki).items():
        monkeypatch.setenv(name, path)
    monkeypatch.setenv(TLS_ENV["key"], str(locked))
    with pytest.raises(ConfigError, match="cannot read .*locked.key"):
        tls_security()


def test_files_that_are_not_a_certificate_and_its_key_are_refused(
    no_tls, monkeypatch, pki, other_pki, tmp_path
):
    for name, path in tls_env(pki).items():
        monkeypatch.setenv(name, path)
    text = tmp_path / "notes.txt"
    text.write_text("just some words\n")
    monkeypatch.setenv(TLS_ENV["cert"], str(text))
    with pytest.raises(ConfigError, match=r"notes\.txt .*is not a PEM file"):
        tls_security()
    monkeypatch.setenv(TLS_ENV["cert"], str(pki["cert"]))
    monkeypatch.setenv(TLS_ENV["key"], str(other_pki["key"]))  # not this certificate's key
    with pytest.raises(ConfigError, match=r"do not make a client certificate") as caught:
        tls_security()
    assert "\n" not in str(caught.value)


def test_the_environment_wins_over_dask_configuration(no_tls, monkeypatch, pki, other_pki, tmp_path):
    config = {
        TLS_DASK_CONFIG["ca"]: str(other_pki["ca"]),
        TLS_DASK_CONFIG["cert"]: str(other_pki["cert"]),
        TLS_DASK_CONFIG["key"]: str(other_pki["key"]),
    }
    with dask.config.set(config):
        security = tls_security()  # Dask's configuration alone is enough
        assert security.tls_ca_file == str(other_pki["ca"])
        assert security.require_encryption is True
        monkeypatch.setenv(TLS_ENV["ca"], str(pki["ca"]))
        monkeypatch.setenv(TLS_ENV["cert"], str(pki["cert"]))
        monkeypatch.setenv(TLS_ENV["key"], str(pki["key"]))
        security = tls_security()
        assert (security.tls_ca_file, security.tls_client_cert) == (str(pki["ca"]), str(pki["cert"]))
        monkeypatch.setenv(TLS_ENV["key"], str(tmp_path / "absent.key"))
        with pytest.raises(ConfigError, match="absent.key"):
            tls_security()


def test_dask_requiring_encryption_refuses_a_plain_address_before_connecting(no_client):
    required = dask.config.set({"distributed.comm.require-encryption": True})
    with required, pytest.raises(ConfigError, match="requires encryption"):
        connect("tcp://127.0.0.1:9")
    assert no_client == []


# --------------------------------------------------------------------------- a real TLS scheduler


def _flags(pki: dict[str, Path]) -> list[str]:
    return ["--tls-ca-file", str(pki["ca"]), "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def tls_scheduler(pki):
    """``dask scheduler --protocol tls`` on 127.0.0.1 with one ``dask worker`` (both with ``pki``)."""
    port = free_port()
    address = f"tls://127.0.0.1:{port}"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONWARNINGS", None)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port)]
            + ["--no-dashboard", "--no-show", *_flags(pki)],
            **quiet,
        )
    ]
    try:
        processes.append(
            subprocess.Popen(
                [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
                + ["--no-dashboard", *_flags(pki)],
                **quiet,
            )
        )
        from distributed import Client
        from distributed.security import Security

        security = Security(
            require_encryption=True,
            tls_ca_file=str(pki["ca"]),
            tls_client_cert=str(pki["cert"]),
            tls_client_key=str(pki["key"]),
        )
        with Client(address, security=security, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(1, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.fixture
def closed():
    """Every connection this test opened is closed after it (the ``_OPEN`` cache emptied)."""
    yield
    for connection in list(_connect._OPEN.values()):
        connection.close()


def test_tls_with_the_environment_runs_a_task(tls_scheduler, pki, no_tls, monkeypatch, closed):
    for name, path in tls_env(pki).items():
        monkeypatch.setenv(name, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusterWarning)
        connection = connect(tls_scheduler)
    assert connection.address == tls_scheduler
    assert connection.threads() == 1
    assert connection.client.submit(sum, [1, 2]).result(timeout=60) == 3


def test_tls_with_dask_configuration_runs_a_task(tls_scheduler, pki, no_tls, closed):
    config = {TLS_DASK_CONFIG[role]: str(path) for role, path in pki.items()}
    with dask.config.set(config):
        connection = connect(tls_scheduler)
        assert connection.client.submit(sum, [1, 2]).result(timeout=60) == 3


@pytest.mark.parametrize("which", ["wrong CA", "unknown client"])
def test_a_failed_handshake_is_one_line_naming_the_address_in_bounded_time(
    tls_scheduler, pki, other_pki, no_tls, monkeypatch, closed, which
):
    if which == "wrong CA":  # the scheduler's certificate is not signed by the CA given here
        chosen = other_pki
    else:  # the scheduler does not know the CA that signed this client's certificate
        chosen = {"ca": pki["ca"], "cert": other_pki["cert"], "key": other_pki["key"]}
    for name, path in tls_env(chosen).items():
        monkeypatch.setenv(name, path)
    started = time.monotonic()
    with pytest.raises(ModelworksError) as caught:
        connect(tls_scheduler)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the Dask scheduler at {tls_scheduler} (")
    assert "MODELWORKS_TLS_CA_FILE" in message
    assert time.monotonic() - started < _connect.CONNECT_SECONDS + 20
    assert _connect._OPEN == {}


def test_the_command_line_runs_on_a_tls_scheduler(cli, tls_scheduler, pki, tmp_path):
    import pandas as pd

    pd.DataFrame(
        {"x": range(60), "z": [i % 7 for i in range(60)], "y": [2 * i + 1 for i in range(60)]}
    ).to_csv(tmp_path / "small.csv", index=False)
    args = ["run", tmp_path / "small.csv", "--target", "y", "--cluster", tls_scheduler]
    args += ["--time-budget", "20", "--models", "linear", "--no-report", "--out", tmp_path / "bundle"]
    done = cli(*args, cwd=tmp_path, env=tls_env(pki), timeout=180)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert f"Dask cluster at {tls_scheduler}" in done.stdout
    assert "not encrypted" not in done.stderr
    assert (tmp_path / "bundle").is_dir()


def test_the_command_line_refuses_tls_without_certificates_in_one_line(cli, tmp_path):
    pd = pytest.importorskip("pandas")
    pd.DataFrame({"x": range(20), "y": range(20)}).to_csv(tmp_path / "t.csv", index=False)
    env = {name: "" for name in TLS_ENV.values()}
    env.update({"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": "", "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": ""})
    address = f"tls://127.0.0.1:{free_port()}"
    done = cli("run", tmp_path / "t.csv", "--target", "y", "--cluster", address, cwd=tmp_path, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "MODELWORKS_TLS_CA_FILE" in errors[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["run", "t.csv", "--target", "y"], ["cluster", "t.csv"]])
def test_the_command_line_prints_the_warning_once_before_connecting(
    monkeypatch, no_client, tmp_path, command
):
    import pandas as pd
    from typer.testing import CliRunner

    from modelworks import cli

    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": range(20), "y": range(20)}).to_csv("t.csv", index=False)
    address = "tcp://10.0.0.5:8786"  # the stand-in client: nothing is sent
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusterWarning)  # a Python warning as well would say it twice
        result = CliRunner().invoke(cli.app, [*command, "--cluster", address])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    said = [i for i, line in enumerate(lines) if "not encrypted" in line]
    assert len(said) == 1 and lines[said[0]] == f"warning: {cluster_warning(address)}", result.output
    assert said[0] < next(i for i, line in enumerate(lines) if line.startswith("error: cannot reach"))
    assert no_client == [(address, None)]
