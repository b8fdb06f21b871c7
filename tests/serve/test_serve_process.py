"""The ``modelworks serve`` process: several workers, graceful SIGTERM, one-line CLI errors."""

from __future__ import annotations

import json
import shutil
import socket
import threading

import httpx
import pytest
from serve_support import API_KEY_ENV, free_port

from modelworks.bundle import save_bundle


@pytest.fixture(scope="module")
def example(allow_bundle) -> dict:
    return json.loads((allow_bundle / "schema.json").read_text())["example"]


def test_two_workers_answer_and_stop_cleanly(start_server, allow_bundle, example):
    server = start_server(allow_bundle, "--workers", 2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        answers = [http.post("/predict", json=[example, {**example, "x1": 0.0}]).json() for _ in range(6)]
    assert all(a == answers[0] for a in answers)
    assert len(answers[0]) == 2 and all(isinstance(a["prediction"], float) for a in answers[0])
    assert server.stop() == 0
    log = server.log()
    assert log.count("Started server process") == 2, log
    assert "modelworks serve: shut down cleanly" in log
    assert "Traceback" not in log


def test_sigterm_during_requests_exits_zero(start_server, allow_bundle, example):
    server = start_server(allow_bundle)
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop.is_set():
                try:
                    statuses.append(http.post("/predict", json=[example] * 20).status_code)
                except httpx.HTTPError:
                    return  # the server has closed its socket

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        while len(statuses) < 5:
            stop.wait(0.05)
        assert server.stop() == 0
    finally:
        stop.set()
        thread.join(30)
    assert statuses and set(statuses) == {200}
    log = server.log()
    assert "Finished server process" in log
    assert "modelworks serve: shut down cleanly after SIGTERM" in log
    assert "Traceback" not in log


def _one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_bundle_exits_2(cli, tmp_path):
    line = _one_line_error(cli("serve", tmp_path / "nope", "--port", free_port(), cwd=tmp_path))
    assert "not found" in line


def test_unset_api_key_env_exits_2(cli, trained_bundle, tmp_path):
    line = _one_line_error(cli("serve", trained_bundle, "--api-key-env", API_KEY_ENV, cwd=tmp_path))
    assert API_KEY_ENV in line and "unset or empty" in line


def test_port_in_use_and_bad_options_exit_2(cli, trained_bundle, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_line_error(cli("serve", trained_bundle, "--port", port, cwd=tmp_path))
    assert f"port {port}" in line and "in use" in line
    assert "--workers" in _one_line_error(cli("serve", trained_bundle, "--workers", 0, cwd=tmp_path))


def test_modified_bundle_and_missing_onnx_exit_2(cli, trained_bundle, churn_experiment, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(trained_bundle, bundle)
    (bundle / "schema.json").write_text((bundle / "schema.json").read_text().replace("age", "agе"))
    assert "modified" in _one_line_error(cli("serve", bundle, "--port", free_port(), cwd=tmp_path))
    # a bundle saved without an ONNX export (save_bundle's onnx_sample left out)
    exp = churn_experiment
    plain = save_bundle(tmp_path / "plain", exp.best_model, exp.schema(), exp.summary())
    assert not (plain / "model.onnx").exists()
    line = _one_line_error(cli("serve", plain, "--runtime", "onnx", "--port", free_port(), cwd=tmp_path))
    assert "onnx" in line.lower()


SECRET_ENV = "MW_TEST_SIGNING_SECRET"


@pytest.fixture(scope="module")
def signed_bundle(allow_bundle, tmp_path_factory):
    from modelworks.bundle import sign_bundle

    dest = tmp_path_factory.mktemp("signed") / "price"
    shutil.copytree(allow_bundle, dest)
    return sign_bundle(dest, "s" * 32)


def test_verify_key_env_serves_a_bundle_signed_with_that_secret(start_server, signed_bundle, example):
    server = start_server(signed_bundle, "--verify-key-env", SECRET_ENV, env={SECRET_ENV: "s" * 32})
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/predict", json=example).status_code == 200
    assert server.stop() == 0
    assert f"bundle signature verified with the secret in ${SECRET_ENV}" in server.log()


@pytest.mark.parametrize("which", ["unsigned", "wrong secret", "unset"])
def test_verify_key_env_refuses_before_serving(cli, allow_bundle, signed_bundle, tmp_path, which):
    bundle = allow_bundle if which == "unsigned" else signed_bundle
    env = {} if which == "unset" else {SECRET_ENV: "s" * 32 if which == "unsigned" else "w" * 32}
    result = cli(
        "serve", bundle, "--port", free_port(), "--verify-key-env", SECRET_ENV, cwd=tmp_path, env=env
    )
    line = _one_line_error(result)
    assert ("signature" in line or "signed" in line) if which != "unset" else SECRET_ENV in line


def _nodelay_on_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY as asyncio leaves it on a connection accepted from ``listener``."""
    import asyncio

    async def accept_one() -> int:
        loop = asyncio.get_running_loop()
        seen: asyncio.Future[int] = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):  # type: ignore[override]
                conn = transport.get_extra_info("socket")
                seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await loop.create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(accept_one())


def test_worker_socket_sets_tcp_nodelay_on_connections():
    """The multi-worker socket: keep-alive answers are sent at once, not after a delayed ACK."""
    from modelworks.serve.server import listening_socket

    assert _nodelay_on_accepted(listening_socket("127.0.0.1", free_port())) != 0
    # uvicorn's own bind (protocol number 0): asyncio leaves Nagle on, the cause of the +40 ms
    plain = socket.socket(socket.AF_INET)
    plain.bind(("127.0.0.1", free_port()))
    assert _nodelay_on_accepted(plain) == 0
