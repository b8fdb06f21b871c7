"""Hostile requests against a real ``modelworks serve`` process: a 4xx with a problem body, never a 5xx.

Two servers run for the whole module, each a ``python -m modelworks serve`` subprocess on a free
loopback port, serving one small churn bundle (a linear model trained here in seconds, saved twice):

- ``plain``: the ``reject`` policy (unseen levels are refused), no API key, ``--max-rows`` and
  ``--max-body-mb`` small enough to reach the 413s;
- ``keyed``: the ``allow`` policy (unseen levels reach the model), an API key read from
  ``--api-key-env``, the same limits.

Every case of the corpus (:data:`CASES`) checks that the answer is the 4xx stated, with a JSON problem
body (``{"detail": "one sentence"}`` or ``{"detail": [{"loc", "msg", "type"}, ...]}``, see
:mod:`modelworks.serve.problems`), that ``GET /health`` answers 200 right after, that the process is
alive, and that the server log records no server error for it (no access-log line with a 5xx status,
no "server error" and no "Exception in ASGI application"). Requests that HTTP clients would normalise
(``..`` in paths, malformed headers, bad chunk sizes) are written byte by byte on a socket.

Cases that reveal a server bug are marked ``xfail(strict=True)`` with the bug in ``reason``: they
start failing (XPASS) once the bug is fixed, and the mark goes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
from serve_support import API_KEY, API_KEY_ENV, MAX_BODY_MB, MAX_ROWS, free_port  # noqa: E402

#: A valid record of the churn schema (levels and date as in ``make_churn(400, seed=0)``).
EX: dict[str, Any] = {
    "age": 29.0,
    "income": 60000.0,
    "purchases": 16,
    "plan": "standard",
    "region": "north",
    "signup_date": "2022-11-20",
}
FIELDS = list(EX)
CSV_HEADER = ",".join(FIELDS) + "\n"
CSV_ROW = "29,60000,16,standard,north,2022-11-20\n"
LIMIT_BYTES = int(MAX_BODY_MB * 1_000_000)
JSON_TYPE = "application/json"
#: Where :func:`raw_request` leaves room for the API-key header line (see :func:`with_key`).
KEY_SLOT = b"<api-key-header>"


# --- servers -------------------------------------------------------------------------------------


class RealServer:
    """A ``modelworks serve`` subprocess on a free loopback port, with its log file."""

    def __init__(self, bundle: Path, *args: object, log_path: Path, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "modelworks", "serve", str(bundle), "--port", str(self.port)]
                + [str(a) for a in args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=log_path.parent,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not answer /health within 90 s:\n{self.log()}")

    def log(self, offset: int = 0) -> str:
        """The log from ``offset``, whole lines only: the server may be half-way through the last."""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
        return data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(20)


@pytest.fixture(scope="module")
def hostile_bundles(tmp_path_factory) -> dict[str, Path]:
    """One quick experiment (linear model, 400 customers) saved under both unseen-category policies.

    The policy is only written into schema.json at save time, so the second bundle needs no new fit.
    """
    from modelworks import Experiment
    from modelworks.data.demo import make_churn

    exp = Experiment(
        make_churn(n_customers=400, seed=0),
        target="will_churn",
        models=["linear"],
        cv=3,
        time_budget=20,
        seed=0,
        n_jobs=1,
    )
    exp.compare()
    exp.evaluate()
    root = tmp_path_factory.mktemp("hostile_bundles")
    reject = exp.save(root / "reject")
    exp.unseen_categories = "allow"
    allow = exp.save(root / "allow")
    return {"reject": Path(reject), "allow": Path(allow)}


@pytest.fixture(scope="module")
def server_env(tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWORKS_SERVE_")}
    for name in ("FORCE_COLOR", "PYTHONWARNINGS", API_KEY_ENV):
        env.pop(name, None)
    cache = tmp_path_factory.mktemp("hostile_cache")
    env.update(
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
        MPLCONFIGDIR=str(cache / "mpl"),
        XDG_CACHE_HOME=str(cache),
    )
    return env


@pytest.fixture(scope="module")
def servers(hostile_bundles, server_env, tmp_path_factory) -> dict[str, RealServer]:
    limits = ("--max-rows", MAX_ROWS, "--max-body-mb", MAX_BODY_MB)
    started: dict[str, RealServer] = {}
    try:
        started["plain"] = RealServer(
            hostile_bundles["reject"],
            *limits,
            log_path=tmp_path_factory.mktemp("plain") / "server.log",
            env=server_env,
        )
        started["keyed"] = RealServer(
            hostile_bundles["allow"],
            *limits,
            "--api-key-env",
            API_KEY_ENV,
            log_path=tmp_path_factory.mktemp("keyed") / "server.log",
            env={**server_env, API_KEY_ENV: API_KEY},
        )
        yield started
    finally:
        for server in started.values():
            server.stop()


# --- requests and replies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Hostile:
    """One hostile request and the answer it must get.

    ``raw`` is a whole HTTP request written as is on a socket (its :data:`KEY_SLOT` is replaced by the
    API-key header line, or by nothing unless the case sends the key). ``problem=False`` where the answer
    carries no JSON problem body: HEAD, and malformed HTTP that uvicorn refuses before the app.
    """

    status: int | tuple[int, ...]
    body: bytes | None = None
    method: str = "POST"
    path: str = "/predict"
    content_type: str | bytes | None = JSON_TYPE
    headers: tuple[tuple[str, str | bytes], ...] = ()
    raw: bytes | None = None
    server: str = "plain"
    key: bool = True
    problem: bool = True


def js(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def rec(**changes: Any) -> dict[str, Any]:
    return {**EX, **changes}


def without(*names: str, **extra: Any) -> dict[str, Any]:
    return {**{k: v for k, v in EX.items() if k not in names}, **extra}


def raw_request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n").encode() + KEY_SLOT + b"\r\n" + body


def with_key(raw: bytes, send_key: bool) -> bytes:
    """``raw`` with its :data:`KEY_SLOT` replaced by the API-key header line, or by nothing."""
    line = f"X-API-Key: {API_KEY}\r\n".encode() if send_key else b""
    return raw.replace(KEY_SLOT, line, 1)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def parse_reply(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or len(lines[0].split()) < 2:
        raise AssertionError(f"no HTTP answer: {data[:200]!r}")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return Reply(status, headers, body)


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        return body.endswith(b"0\r\n\r\n")
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def raw_exchange(server: RealServer, data: bytes, *, half_close: bool = False, timeout: float = 10) -> bytes:
    """Write ``data`` on a fresh connection and read the answer (until complete, closed or timeout)."""
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not _complete(received):
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
    return received


def send(server: RealServer, case: Hostile) -> Reply:
    key_header = case.server == "keyed" and case.key
    if case.raw is not None:
        return parse_reply(raw_exchange(server, with_key(case.raw, key_header)))
    headers: list[tuple[str, str | bytes]] = list(case.headers)
    if case.content_type is not None:
        headers.append(("Content-Type", case.content_type))
    if key_header:
        headers.append(("X-API-Key", API_KEY))
    with httpx.Client(timeout=30) as client:
        response = client.request(case.method, server.url + case.path, content=case.body, headers=headers)
    return Reply(response.status_code, dict(response.headers), response.content)


def check_problem(reply: Reply) -> None:
    """A JSON problem body: ``{"detail": str}`` or ``{"detail": [{"loc", "msg", "type"}, ...]}``."""
    assert reply.headers.get("content-type", "").startswith(JSON_TYPE), reply.headers
    body = json.loads(reply.body)
    assert isinstance(body, dict) and set(body) == {"detail"}, body
    detail = body["detail"]
    if isinstance(detail, str):
        assert detail.strip(), body
    else:
        assert isinstance(detail, list) and detail, body
        for item in detail:
            assert set(item) == {"loc", "msg", "type"}, item
            assert item["loc"][0] == "body" and item["msg"] and item["type"], item


def check_still_healthy(server: RealServer, log_offset: int) -> None:
    """``/health`` answers 200, the process lives, and the log holds no server error since the offset."""
    started = time.monotonic()
    health = httpx.get(server.url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    assert server.process.poll() is None, server.log()
    # access-log lines are written once the answer is sent: wait for the /health one, and briefly for
    # the hostile request's own line (malformed HTTP refused by uvicorn itself has none)
    while True:
        text = server.log(log_offset)
        access = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        health_seen = any(a.get("path") == "/health" for a in access)
        other_seen = any(a.get("path") != "/health" for a in access)
        waited = time.monotonic() - started
        if (health_seen and other_seen) or (health_seen and waited > 0.5) or waited > 5:
            break
        time.sleep(0.02)
    assert health_seen, text
    server_errors = [a for a in access if int(a.get("status") or 0) >= 500]
    assert not server_errors, text
    assert "server error" not in text and "Exception in ASGI application" not in text, text


# --- the corpus ----------------------------------------------------------------------------------


def _surrogate_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=True).encode()  # lone surrogates become \udXXX escapes


#: A lone surrogate may be refused as malformed JSON (400) or as a bad field value (422).
SURROGATE_STATUS = (400, 422)


def _csv_rows(n: int) -> bytes:
    return (CSV_HEADER + CSV_ROW * n).encode()


def _big_json() -> bytes:
    return js([rec(note="x" * (LIMIT_BYTES // 4))] * 5)


def csv(status: int, text: str | bytes) -> Hostile:
    return Hostile(status, text.encode() if isinstance(text, str) else text, content_type="text/csv")


CATEGORIES: Counter[str] = Counter()


def _p(category: str, name: str, case: Hostile, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    CATEGORIES[category] += 1
    return pytest.param(case, id=f"{category}-{name}", marks=marks)


H = Hostile
CASES = [
    # malformed and truncated JSON: 400
    _p("malformed", "garbage", H(400, b"{not json")),
    _p("malformed", "truncated-object", H(400, js(EX)[:-5])),
    _p("malformed", "truncated-list", H(400, b"[" + js(EX) + b",")),
    _p("malformed", "truncated-proba", H(400, js(EX)[:-1], path="/predict_proba")),
    _p("malformed", "trailing-garbage", H(400, js(EX) + b" trailing")),
    _p("malformed", "single-quotes", H(400, b"{'age': 1}")),
    _p("malformed", "unquoted-key", H(400, b"{age: 1}")),
    _p("malformed", "trailing-comma", H(400, b'{"age": 1,}')),
    _p("malformed", "js-comment", H(400, b'{"age": 1 /* c */}')),
    _p("malformed", "lone-minus", H(400, b'{"age": -}')),
    _p("malformed", "latin1-bytes", H(400, js(rec(plan="caf\xe9")).replace("é".encode(), b"\xe9"))),
    _p("malformed", "nested-30000-deep", H(400, b'{"age": ' + b"[" * 30000 + b"]" * 30000 + b"}")),
    _p("malformed", "int-5000-digits", H(400, js(EX).replace(b"29.0", b"9" * 5000))),
    _p("malformed", "bom-only", H(400, b"\xef\xbb\xbf")),
    # empty bodies: 400
    _p("empty", "json", H(400, b"")),
    _p("empty", "whitespace", H(400, b"  \n\t \r\n")),
    _p("empty", "csv", H(400, b"", content_type="text/csv")),
    _p("empty", "no-content-type", H(400, b"", content_type=None)),
    # non-finite literals (not JSON): 400
    _p("nonfinite", "NaN", H(400, js(EX).replace(b"29.0", b"NaN"))),
    _p("nonfinite", "Infinity", H(400, js(EX).replace(b"29.0", b"Infinity"))),
    _p("nonfinite", "-Infinity", H(400, js(EX).replace(b"60000.0", b"-Infinity"))),
    _p("nonfinite", "nan-lowercase", H(400, js(EX).replace(b"29.0", b"nan"))),
    _p("nonfinite", "NaN-second-row", H(400, b"[" + js(EX) + b"," + js(EX).replace(b"29.0", b"NaN") + b"]")),
    _p("nonfinite", "Infinity-proba", H(400, js(EX).replace(b"16", b"Infinity"), path="/predict_proba")),
    # magnitudes beyond float32: 422 out_of_range
    _p("extreme", "1e308", H(422, js(EX).replace(b"29.0", b"1e308"))),
    _p("extreme", "-1e308", H(422, js(EX).replace(b"60000.0", b"-1e308"))),
    _p("extreme", "1e400", H(422, js(EX).replace(b"29.0", b"1e400"))),
    _p("extreme", "-1e400", H(422, js(EX).replace(b"29.0", b"-1e400"))),
    _p("extreme", "3.5e38", H(422, js(rec(purchases=3.5e38)))),
    _p("extreme", "int-400-digits", H(422, js(EX).replace(b"29.0", b"9" * 400))),
    _p("extreme", "string-1e308", H(422, js(rec(income="1e308")))),
    _p("extreme", "string-60000-digits", H(422, js(rec(income="1" * 60_000)))),
    # wrong types in fields: 422
    _p("types", "word-in-number", H(422, js(rec(age="forty")))),
    _p("types", "hex-string", H(422, js(rec(income="0x10")))),
    _p("types", "underscore-number", H(422, js(rec(income="1_000")))),
    _p("types", "Infinity-string", H(422, js(rec(age="Infinity")))),
    _p("types", "formula-string", H(422, js(rec(age="=1+1")))),
    _p("types", "bool-in-number", H(422, js(rec(purchases=True)))),
    _p("types", "bool-in-category", H(422, js(rec(plan=True)))),
    _p("types", "number-in-category", H(422, js(rec(plan=3)))),
    _p("types", "number-in-date", H(422, js(rec(signup_date=20221120)))),
    _p("types", "bool-in-date", H(422, js(rec(signup_date=False)))),
    _p("types", "date-not-a-date", H(422, js(rec(signup_date="99999-99-99")))),
    # fields: missing, unknown only, wrong names
    _p("fields", "one-missing", H(422, js(without("income")))),
    _p("fields", "empty-object", H(422, b"{}")),
    _p("fields", "unknown-only", H(422, js({"customer_id": "C1", "unknown": [1, 2]}))),
    _p("fields", "missing-in-row-3", H(422, js([EX, EX, without("plan")]))),
    _p("fields", "wrong-case", H(422, js(without("age", Age=29)))),
    _p("fields", "trailing-space", H(422, js(without("age", **{"age ": 29})))),
    _p("fields", "homoglyph-name", H(422, js(without("age", **{"\u0430ge": 29})))),
    _p("fields", "nul-in-name", H(422, js(without("age", **{"a\u0000ge": 29})))),
    _p("fields", "emoji-name", H(422, js(without("plan", **{"🔥plan": "standard"})))),
    _p("fields", "rtl-name", H(422, js(without("region", **{"\u202enoiger": "north"})))),
    _p("fields", "20000-char-name", H(422, js(without("age", **{"a" * 20_000: 29})))),
    # nulls where records belong: 422
    _p("nulls", "null-body", H(422, b"null")),
    _p("nulls", "null-row", H(422, js([EX, None]))),
    _p("nulls", "all-null-rows", H(422, b"[null, null]")),
    # nested values: 422
    _p("nested", "object-in-number", H(422, js(rec(age={"value": 29})))),
    _p("nested", "list-in-number", H(422, js(rec(income=[60000])))),
    _p("nested", "object-in-category", H(422, js(rec(plan={"name": "standard"})))),
    _p("nested", "list-in-category", H(422, js(rec(region=["north"])))),
    _p("nested", "object-in-date", H(422, js(rec(signup_date={"y": 2022})))),
    _p("nested", "list-in-date", H(422, js(rec(signup_date=[[2022, 11, 20]])))),
    _p("nested", "50-deep-object", H(422, js(rec(age=json.loads('{"a":' * 50 + "1" + "}" * 50))))),
    # unicode, control characters and long strings in values: 422 (levels never seen in training)
    _p("unicode", "emoji-category", H(422, js(rec(plan="🔥💀")))),
    _p("unicode", "rtl-override-category", H(422, js(rec(region="\u202ehtron")))),
    _p("unicode", "arabic-category", H(422, js(rec(region="الشمال")))),
    _p("unicode", "control-chars-category", H(422, js(rec(region="nor\u0000th\x07\x1b[31m")))),
    _p("unicode", "zero-width-space", H(422, js(rec(region="north\u200b")))),
    _p("unicode", "combining-accent", H(422, js(rec(region="no\u0301rth")))),
    _p("unicode", "fullwidth-letters", H(422, js(rec(region="ｎｏｒｔｈ")))),
    _p("unicode", "lone-surrogate-category", H(SURROGATE_STATUS, _surrogate_json(rec(plan="\ud800")))),
    _p(
        "unicode",
        "lone-surrogate-date",
        H(SURROGATE_STATUS, _surrogate_json(rec(signup_date="\udfff"))),
    ),
    _p("unicode", "emoji-date", H(422, js(rec(signup_date="📅")))),
    _p("unicode", "rtl-date", H(422, js(rec(signup_date="\u202e02-11-2202")))),
    _p("long", "60000-char-category", H(422, js(rec(plan="x" * 60_000)))),
    _p("long", "60000-char-date", H(422, js(rec(signup_date="2022-" + "1" * 60_000)))),
    # duplicate keys: the last one counts (here the bad one): 422
    _p("duplicates", "bad-last-number", H(422, js(EX).replace(b'"age": 29.0', b'"age": 29.0, "age": "x"'))),
    _p(
        "duplicates",
        "bad-last-category",
        H(422, js(EX).replace(b'"plan": "standard"', b'"plan": "standard", "plan": "gold"')),
    ),
    # top-level shapes: 422
    _p("shape", "scalar-number", H(422, b"42")),
    _p("shape", "scalar-string", H(422, b'"text"')),
    _p("shape", "scalar-bool", H(422, b"true")),
    _p("shape", "empty-list", H(422, b"[]")),
    _p("shape", "list-of-numbers", H(422, b"[1, 2]")),
    _p("shape", "list-of-lists", H(422, js([[EX]]))),
    _p("shape", "object-then-number", H(422, js([EX, 42]))),
    _p("shape", "scalar-proba", H(422, b"42", path="/predict_proba")),
    # content types: 415 (400 for JSON sent as CSV)
    _p("content-type", "text-plain", H(415, js(EX), content_type="text/plain")),
    _p("content-type", "xml", H(415, js(EX), content_type="application/xml")),
    _p("content-type", "multipart", H(415, js(EX), content_type="multipart/form-data; boundary=x")),
    _p("content-type", "form", H(415, b"age=29", content_type="application/x-www-form-urlencoded")),
    _p("content-type", "octet-stream", H(415, js(EX), content_type="application/octet-stream")),
    _p("content-type", "wildcard", H(415, js(EX), content_type="*/*")),
    _p("content-type", "image", H(415, b"\x89PNG\r\n\x1a\n", content_type="image/png")),
    _p("content-type", "non-ascii", H(415, js(EX), content_type="application/json\xe9".encode("latin-1"))),
    _p("content-type", "json-sent-as-csv", H(400, js(EX), content_type="text/csv")),
    # CSV bodies
    _p("csv", "nul-bytes", csv(400, CSV_HEADER + "29,60000,16,stan\x00dard,north,2022-11-20\n")),
    _p("csv", "binary", csv(400, bytes(range(256)) * 4)),
    _p("csv", "unterminated-quote", csv(400, CSV_HEADER + '29,60000,16,"standard,north,2022-11-20\n')),
    _p("csv", "extra-cells", csv(400, CSV_HEADER + CSV_ROW.strip() + ",x,y,z\n")),
    _p("csv", "duplicate-columns", csv(400, "age," + CSV_HEADER + "1," + CSV_ROW)),
    _p("csv", "missing-column", csv(422, "age,income\n29,60000\n")),
    _p("csv", "formula-cell", csv(422, CSV_HEADER + "=1+1,60000,16,standard,north,2022-11-20\n")),
    _p("csv", "inf-cells", csv(422, CSV_HEADER + "inf,-inf,16,standard,north,2022-11-20\n")),
    _p("csv", "emoji-level", csv(422, CSV_HEADER + "29,60000,16,🔥,north,2022-11-20\n")),
    # limits: 413
    _p("limits", "body-over-limit", H(413, _big_json())),
    _p(
        "limits",
        "csv-over-limit",
        H(413, _csv_rows(LIMIT_BYTES // len(CSV_ROW) + 10), content_type="text/csv"),
    ),
    _p("limits", "rows-over-limit", H(413, js([EX] * (MAX_ROWS + 1)))),
    _p("limits", "rows-over-limit-proba", H(413, js([EX] * (MAX_ROWS + 1)), path="/predict_proba")),
    _p("limits", "csv-rows-over-limit", H(413, _csv_rows(MAX_ROWS + 1), content_type="text/csv")),
    _p(
        "limits",
        "huge-content-length-small-body",
        H(413, raw=raw_request("POST", "/predict", "Content-Length: 50000000", body=b"{}")),
    ),
    _p(
        "limits",
        "content-length-over-int64",
        H(413, raw=raw_request("POST", "/predict", "Content-Length: 99999999999999999999", body=b"{}")),
    ),
    # wrong methods: 405
    _p("method", "GET-predict", H(405, method="GET", content_type=None)),
    _p("method", "PUT-predict", H(405, js(EX), method="PUT")),
    _p("method", "DELETE-predict", H(405, method="DELETE", content_type=None)),
    _p("method", "PATCH-predict", H(405, js(EX), method="PATCH")),
    _p("method", "OPTIONS-predict", H(405, method="OPTIONS", content_type=None)),
    _p("method", "TRACE-predict", H(405, method="TRACE", content_type=None)),
    _p("method", "made-up-method", H(405, method="FROB", content_type=None)),
    _p("method", "HEAD-predict", H(405, method="HEAD", content_type=None, problem=False)),
    _p("method", "GET-predict-proba", H(405, method="GET", path="/predict_proba", content_type=None)),
    _p("method", "POST-health", H(405, js(EX), path="/health")),
    _p("method", "POST-schema", H(405, js(EX), path="/schema")),
    _p("method", "DELETE-metadata", H(405, method="DELETE", path="/metadata", content_type=None)),
    _p("method", "PUT-openapi", H(405, js({}), method="PUT", path="/openapi.json")),
    # unknown paths: 404
    _p("path", "unknown", H(404, js(EX), path="/nope")),
    _p("path", "upper-case", H(404, js(EX), path="/PREDICT")),
    _p("path", "versioned", H(404, js(EX), path="/v1/predict")),
    _p("path", "nul-suffix", H(404, js(EX), path="/predict%00")),
    _p("path", "semicolon-suffix", H(404, js(EX), path="/predict;x")),
    _p("path", "json-suffix", H(404, js(EX), path="/predict.json")),
    _p("path", "5000-char", H(404, method="GET", path="/" + "a" * 5000, content_type=None)),
    _p("path", "invalid-utf8-escapes", H(404, method="GET", path="/%ff%fe", content_type=None)),
    _p("path", "redoc-off", H(404, method="GET", path="/redoc", content_type=None)),
    # path traversal (raw: HTTP clients would normalise the dots): 404, nothing read from disk
    _p("traversal", "dotdot-etc-passwd", H(404, raw=raw_request("GET", "/../../etc/passwd"))),
    _p("traversal", "docs-dotdot", H(404, raw=raw_request("GET", "/docs/../../../etc/passwd"))),
    _p("traversal", "encoded-dots", H(404, raw=raw_request("GET", "/%2e%2e/%2e%2e/etc/passwd"))),
    _p("traversal", "encoded-slashes", H(404, raw=raw_request("GET", "/..%2f..%2fetc%2fpasswd"))),
    _p("traversal", "bundle-file", H(404, raw=raw_request("GET", "/static/../model.skops"))),
    _p("traversal", "openapi-dotdot", H(404, raw=raw_request("GET", "/openapi.json/../schema.json"))),
    _p("traversal", "absolute-form", H(404, raw=raw_request("GET", "http://127.0.0.1/../../etc/passwd"))),
    _p("traversal", "double-slash-host", H(404, raw=raw_request("GET", "//evil.example/predict/"))),
    _p(
        "traversal",
        "post-dotdot",
        H(404, raw=raw_request("POST", "/predict/../../etc/passwd", "Content-Length: 2", body=b"{}")),
    ),
    # malformed HTTP, refused by uvicorn before the app (text/plain 400) or by the app
    _p(
        "protocol",
        "negative-length",
        H(400, raw=raw_request("POST", "/predict", "Content-Length: -1"), problem=False),
    ),
    _p(
        "protocol",
        "word-length",
        H(400, raw=raw_request("POST", "/predict", "Content-Length: abc", body=b"{}"), problem=False),
    ),
    _p(
        "protocol",
        "conflicting-lengths",
        H(
            400,
            raw=raw_request("POST", "/predict", "Content-Length: 2", "Content-Length: 3", body=b"{}"),
            problem=False,
        ),
    ),
    _p("protocol", "garbage-request-line", H(400, raw=b"\x00\x01\x02 garbage\r\n\r\n", problem=False)),
    _p(
        "protocol",
        "header-without-colon",
        H(400, raw=raw_request("GET", "/health", "Bad Header"), problem=False),
    ),
    _p(
        "protocol",
        "bad-chunk-size",
        H(
            400,
            raw=raw_request("POST", "/predict", "Transfer-Encoding: chunked", body=b"zz\r\n{}\r\n0\r\n\r\n"),
            problem=False,
        ),
    ),
    _p(
        "protocol",
        "length-and-chunked",
        H(
            400,
            raw=raw_request(
                "POST", "/predict", "Content-Length: 2", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"
            ),
        ),
    ),
    # API key (the keyed server): 401, checked before anything else
    _p("auth", "missing", H(401, js(EX), server="keyed", key=False)),
    _p("auth", "wrong", H(401, js(EX), server="keyed", key=False, headers=(("X-API-Key", "wrong"),))),
    _p("auth", "prefix", H(401, js(EX), server="keyed", key=False, headers=(("X-API-Key", API_KEY[:-1]),))),
    _p("auth", "suffix", H(401, js(EX), server="keyed", key=False, headers=(("X-API-Key", API_KEY + "x"),))),
    _p(
        "auth",
        "10000-chars",
        H(401, js(EX), server="keyed", key=False, headers=(("X-API-Key", "k" * 10_000),)),
    ),
    _p(
        "auth",
        "non-ascii",
        H(401, js(EX), server="keyed", key=False, headers=(("X-API-Key", "clé".encode()),)),
    ),
    _p(
        "auth", "wrong-header", H(401, js(EX), server="keyed", key=False, headers=(("X-Api-Token", API_KEY),))
    ),
    _p(
        "auth",
        "in-cookie",
        H(401, js(EX), server="keyed", key=False, headers=(("Cookie", f"X-API-Key={API_KEY}"),)),
    ),
    _p("auth", "in-query", H(401, js(EX), path=f"/predict?api_key={API_KEY}", server="keyed", key=False)),
    _p(
        "auth",
        "no-bearer-scheme",
        H(401, js(EX), server="keyed", key=False, headers=(("Authorization", API_KEY),)),
    ),
    _p(
        "auth",
        "basic-scheme",
        H(401, js(EX), server="keyed", key=False, headers=(("Authorization", f"Basic {API_KEY}"),)),
    ),
    _p(
        "auth",
        "token-scheme",
        H(401, js(EX), server="keyed", key=False, headers=(("Authorization", f"Token {API_KEY}"),)),
    ),
    _p(
        "auth",
        "wrong-key-beats-bearer",
        H(
            401,
            js(EX),
            server="keyed",
            key=False,
            headers=(("X-API-Key", "wrong"), ("Authorization", f"Bearer {API_KEY}")),
        ),
    ),
    _p("auth", "missing-proba", H(401, js(EX), path="/predict_proba", server="keyed", key=False)),
    _p(
        "auth",
        "missing-schema",
        H(401, method="GET", path="/schema", content_type=None, server="keyed", key=False),
    ),
    _p(
        "auth",
        "missing-openapi",
        H(401, method="GET", path="/openapi.json", content_type=None, server="keyed", key=False),
    ),
    _p(
        "auth",
        "missing-docs",
        H(401, method="GET", path="/docs", content_type=None, server="keyed", key=False),
    ),
    _p("auth", "missing-with-NaN-body", H(401, b'{"age": NaN}', server="keyed", key=False)),
    _p(
        "auth",
        "missing-with-huge-length",
        H(
            401,
            raw=raw_request("POST", "/predict", "Content-Length: 50000000", body=b"{}"),
            server="keyed",
            key=False,
        ),
    ),
    # with the key, on the 'allow' server, hostile values reach the model's input
    _p(
        "allow",
        "lone-surrogate-category",
        H(SURROGATE_STATUS, _surrogate_json(rec(plan="\ud800")), server="keyed"),
    ),
    _p(
        "allow",
        "lone-surrogate-in-row-2",
        H(
            SURROGATE_STATUS,
            b"[" + js(EX) + b"," + _surrogate_json(rec(region="\udc80")) + b"]",
            server="keyed",
        ),
    ),
    _p("allow", "word-in-number", H(422, js(rec(age="old")), server="keyed")),
    _p("allow", "rows-over-limit", H(413, js([EX] * (MAX_ROWS + 1)), server="keyed")),
    _p("allow", "NaN", H(400, js(EX).replace(b"29.0", b"NaN"), server="keyed")),
]


def test_corpus_is_large_enough():
    assert len(CASES) >= 40 and len(CATEGORIES) >= 15, CATEGORIES
    assert len({p.id for p in CASES}) == len(CASES)


def test_valid_record_is_answered_on_both_servers(servers):
    plain = httpx.post(servers["plain"].url + "/predict", json=EX)
    assert plain.status_code == 200 and plain.json()["prediction"] in ("no", "yes"), plain.text
    keyed = httpx.post(servers["keyed"].url + "/predict_proba", json=EX, headers={"X-API-Key": API_KEY})
    assert keyed.status_code == 200 and sum(keyed.json().values()) == pytest.approx(1.0), keyed.text


@pytest.mark.parametrize("case", CASES)
def test_hostile_request_gets_a_4xx_problem(servers, case: Hostile):
    server = servers[case.server]
    offset = server.log_size()
    reply = send(server, case)
    assert 400 <= reply.status < 500, (reply.status, reply.body[:300])
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert reply.status in expected, (reply.status, reply.body[:300])
    if case.problem:
        check_problem(reply)
    assert b"root:" not in reply.body  # nothing read from /etc/passwd
    if case.status == 401:
        assert reply.headers.get("www-authenticate", "").startswith("Bearer"), reply.headers
    check_still_healthy(server, offset)


# --- hostile but valid: answered 200 ---------------------------------------------------------------


ACCEPTED = [
    pytest.param("plain", js(rec(age="29", income=" $60,000 ")), id="numbers-as-strings"),
    pytest.param("plain", js(dict.fromkeys(FIELDS)), id="all-null"),
    pytest.param(
        "plain", js(rec(**{"🔥": 1, "\u202ex": [1, {"a": None}], "k" * 20_000: "v"})), id="odd-extra-fields"
    ),
    pytest.param(
        "plain", js(EX).replace(b'"age": 29.0', b'"age": "x", "age": 29.0'), id="duplicate-key-good-last"
    ),
    pytest.param("plain", b"\xef\xbb\xbf" + js(EX), id="utf8-bom"),
    pytest.param("plain", js(rec(age=3.4e38, income=-3.4e38, purchases=5e-324)), id="float32-edges"),
    pytest.param("plain", js(rec(age=-0.0, plan="  standard  ", region="NA")), id="spaces-and-markers"),
    pytest.param("plain", js([rec(age=i * 1e37) for i in range(10)]), id="large-magnitudes-list"),
    pytest.param("plain", _surrogate_json(rec(note="🔥 \u202e")), id="escaped-surrogate-pair-extra-field"),
    pytest.param("keyed", js(rec(plan="🔥💀", region="\u202ehtron")), id="allow-emoji-rtl"),
    pytest.param("keyed", _surrogate_json(rec(plan="🔥💀")), id="allow-escaped-surrogate-pairs"),
    pytest.param("keyed", js(rec(plan="nor\u0000th\x07\x1b[31m", region="👨‍👩‍👧")), id="allow-control-zwj"),
    pytest.param("keyed", js(rec(plan="x" * 50_000)), id="allow-50000-char-level"),
    pytest.param("keyed", js(rec(plan=1.5e300, region=10**300)), id="allow-numbers-as-levels"),
    pytest.param(
        "keyed", js([rec(plan=v) for v in ("🔥", "\u202e", "\t", "\u00a0", "e\u0301" * 500)]), id="allow-list"
    ),
]


@pytest.mark.parametrize(("which", "body"), ACCEPTED)
def test_hostile_but_valid_is_answered(servers, which: str, body: bytes):
    server = servers[which]
    offset = server.log_size()
    headers = {"Content-Type": JSON_TYPE, **({"X-API-Key": API_KEY} if which == "keyed" else {})}
    response = httpx.post(server.url + "/predict_proba", content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text[:300]
    answers = response.json()
    for answer in answers if isinstance(answers, list) else [answers]:
        assert set(answer) == {"no", "yes"} and sum(answer.values()) == pytest.approx(1.0), answer
    check_still_healthy(server, offset)


def test_dates_with_different_offsets_in_one_request(servers):
    """Rows valid one by one are valid together (once: pandas' 'Mixed timezones detected', a 422)."""
    url = servers["plain"].url
    dates = ["2022-01-01T00:00:00+14:00", "2022-01-01T00:00:00Z", "2022-01-01"]
    for date in dates:  # each alone is fine
        assert httpx.post(url + "/predict", json=rec(signup_date=date)).status_code == 200
    response = httpx.post(url + "/predict", json=[rec(signup_date=d) for d in dates])
    if response.status_code == 422:  # refusing is acceptable only when it names the row and field
        assert all(len(i["loc"]) == 3 for i in response.json()["detail"]), response.text
    else:
        assert response.status_code == 200, response.text


def test_client_gone_mid_body_is_not_a_server_error(servers):
    """Content-Length promises 5000 bytes, 2 come, then the client closes its side.

    Once: starlette's ClientDisconnect reached the server-error handler (a traceback and a logged 500).
    """
    server = servers["plain"]
    offset = server.log_size()
    data = raw_request(
        "POST", "/predict", "Content-Type: application/json", "Content-Length: 5000", body=b"{}"
    )
    reply = raw_exchange(server, with_key(data, False), half_close=True)
    assert not reply.startswith(b"HTTP/1.1 5"), reply[:200]
    check_still_healthy(server, offset)


def test_trailing_slash_does_not_redirect_to_the_client_host(servers):
    """Once: a 307 to a Location built from the Host header (Starlette's redirect_slashes)."""
    server = servers["plain"]
    data = raw_request("GET", "/predict/").replace(b"Host: 127.0.0.1", b"Host: evil.example")
    reply = parse_reply(raw_exchange(server, with_key(data, False)))
    assert "evil.example" not in reply.headers.get("location", ""), reply


# --- schemathesis over real HTTP ---------------------------------------------------------------------


def test_schemathesis_finds_no_server_error_over_http(servers):
    """About 200 requests generated from the running server's /openapi.json: none answered 5xx."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    url = servers["plain"].url
    offset = servers["plain"].log_size()
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    session = requests.Session()
    quiet = settings(
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "POST":
            plans = [(mode, media) for mode in GenerationMode for media in (JSON_TYPE, "text/csv")]
            examples = 26
        else:
            plans, examples = [(GenerationMode.POSITIVE, None)], 3
        for mode, media in plans:

            @settings(quiet, max_examples=examples)
            @given(case=operation.as_strategy(generation_mode=mode, media_type=media))
            def run(case) -> None:
                if time.monotonic() - started > 50:
                    return
                response = case.call(base_url=url, session=session, timeout=30)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(case.as_curl_command())

            run()
    session.close()
    total = sum(statuses.values())
    print(f"schemathesis over HTTP: {total} requests, statuses {dict(sorted(statuses.items()))}")
    assert total >= 150, statuses
    assert not failures, failures[:5]
    assert statuses[200] > 10 and statuses[400] + statuses[422] > 20, statuses  # both sides reached
    check_still_healthy(servers["plain"], offset)
