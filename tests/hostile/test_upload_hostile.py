"""Hostile image uploads: every malformed ``multipart/form-data`` body gets a 4xx problem, never a 5xx.

One real ``python -m modelworks serve`` process serves the session's small image bundle
(``image_bundle`` in ``tests/conftest.py``) for the whole module, with ``--max-rows`` and
``--max-body-mb`` small enough to reach the 413s. The server helpers (:class:`RealServer`, the raw
socket exchange, the problem-body and health checks) are those of ``test_server_hostile.py``.

Each case of :data:`CASES` is sent twice:

- to :func:`modelworks.serve.images.uploaded_files` directly (fast, no server), which must raise the
  :class:`~modelworks.serve.problems.Problem` stated (or return the files of a valid body);
- to the server, which must answer the status stated with a JSON problem body, then answer
  ``GET /health`` with 200 and log no server error.

The last test reads the whole server log: no traceback, no "Exception in ASGI application", no
access-log line with a 5xx status.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
from PIL import Image
from test_server_hostile import (
    RealServer,
    check_problem,
    check_still_healthy,
    parse_reply,
    raw_exchange,
    raw_request,
    server_env,  # noqa: F401  (a fixture the server below uses)
    with_key,
)

from modelworks.serve.images import uploaded_files
from modelworks.serve.problems import Problem
from modelworks.serve.uploads import MAX_FIELDS, MAX_HEADER_LINE_BYTES, MAX_PART_HEADERS

#: Limits of the module's server.
MAX_ROWS = 20
MAX_BODY_MB = 1
B = "mw-upload-boundary-0123"
CT = f"multipart/form-data; boundary={B}"


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img, mode="L").save(buf, format="PNG")
    return buf.getvalue()


#: An 8x8 grey gradient: an image any image bundle decodes (it is resized to the model's size).
PNG = _png((np.arange(64).reshape(8, 8) * 4).astype(np.uint8))


def part(headers: str | bytes, content: bytes = b"x", boundary: str = B) -> bytes:
    """One part: its delimiter line, its header lines (CRLF-separated), a blank line, its content."""
    head = headers.encode() if isinstance(headers, str) else headers
    return f"--{boundary}\r\n".encode() + head + b"\r\n\r\n" + content + b"\r\n"


def form(*parts: bytes, boundary: str = B) -> bytes:
    """The parts, then the closing delimiter."""
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def file_part(filename: str = "a.png", content: bytes = PNG, name: str = "file") -> bytes:
    return part(
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: image/png',
        content,
    )


def nested(depth: int) -> tuple[bytes, str]:
    """A form whose only part is a multipart holding a multipart ... ``depth`` levels deep."""
    body = form(file_part())
    inner = B
    for level in range(depth):
        outer = f"nest{level}"
        body = form(
            part(
                f'Content-Disposition: form-data; name="file"\r\n'
                f"Content-Type: multipart/mixed; boundary={inner}",
                body,
                boundary=outer,
            ),
            boundary=outer,
        )
        inner = outer
    return body, f"multipart/form-data; boundary={inner}"


NESTED, NESTED_CT = nested(2000)
VALID = form(file_part("0.png"), file_part("1.png"))


@dataclass(frozen=True)
class Upload:
    """A request body, its Content-Type, the server's answer and :func:`uploaded_files`' outcome.

    ``unit`` is the status of the :class:`Problem` ``uploaded_files`` raises, ``0`` where it returns
    the files (the server refuses them later, or answers 200), ``None`` where it is not reached (the
    body limit of :func:`~modelworks.serve.body.read_body` refuses the body first).
    """

    body: bytes
    status: int
    unit: int | None
    content_type: str = CT


def _cd(extra: str = "") -> str:
    return f'Content-Disposition: form-data; name="file"; filename="a.png"{extra}'


CASES = {
    "valid": Upload(VALID, 200, 0),
    "nested-2000-deep": Upload(NESTED, 415, 415, NESTED_CT),
    "nested-one-level": Upload(
        form(part('Content-Disposition: form-data; name="f"\r\nContent-Type: multipart/mixed; boundary=z')),
        415,
        415,
    ),
    "truncated": Upload(VALID[: len(VALID) // 2], 400, 400),
    "truncated-before-closing": Upload(VALID[: -len(f"--{B}--\r\n")], 400, 400),
    "no-closing-dashes": Upload(VALID[: -len("--\r\n")] + b"\r\n", 400, 400),
    "missing-boundary": Upload(VALID, 400, 400, "multipart/form-data"),
    "empty-boundary": Upload(VALID, 400, 400, "multipart/form-data; boundary="),
    "empty-quoted-boundary": Upload(VALID, 400, 400, 'multipart/form-data; boundary=""'),
    "boundary-200-chars": Upload(
        form(file_part(), boundary="b" * 200), 400, 400, f"multipart/form-data; boundary={'b' * 200}"
    ),
    "boundary-71-chars": Upload(
        form(file_part(), boundary="b" * 71), 400, 400, f"multipart/form-data; boundary={'b' * 71}"
    ),
    "boundary-bad-chars": Upload(VALID, 400, 400, "multipart/form-data; boundary=a\x01b"),
    "wrong-boundary": Upload(VALID, 400, 400, "multipart/form-data; boundary=other"),
    "header-line-100kb": Upload(form(part(_cd(f'; x="{"h" * 100_000}"'), PNG)), 400, 400),
    "filename-100kb": Upload(form(file_part("f" * 100_000 + ".png")), 400, 400),
    "too-many-header-lines": Upload(
        form(part(_cd() + "".join(f"\r\nX-{i}: 1" for i in range(MAX_PART_HEADERS)), PNG)), 400, 400
    ),
    "10000-tiny-fields": Upload(
        form(*[part(f'Content-Disposition: form-data; name="f{i}"', b"v") for i in range(10_000)]), 413, 413
    ),
    "10000-empty-fields": Upload(
        form(*[part(f'Content-Disposition: form-data; name="f{i}"', b"") for i in range(10_000)]), 400, 400
    ),
    "too-many-files": Upload(form(*[file_part(f"{i}.png") for i in range(MAX_ROWS + 1)]), 413, 413),
    "oversized-body": Upload(form(file_part(content=b"\0" * (MAX_BODY_MB * 1_000_000 + 1))), 413, None),
    "no-filename-no-name": Upload(form(part("Content-Disposition: form-data", PNG)), 400, 400),
    "no-content-disposition": Upload(form(part("Content-Type: image/png", PNG)), 400, 400),
    "attachment-disposition": Upload(
        form(part('Content-Disposition: attachment; filename="a.png"', PNG)), 400, 400
    ),
    "non-utf8-filename": Upload(
        form(part(b'Content-Disposition: form-data; name="file"; filename="caf\xe9.png"', PNG)), 400, 400
    ),
    "non-utf8-name": Upload(form(part(b'Content-Disposition: form-data; name="\xff"', PNG)), 400, 400),
    "bad-header-name": Upload(form(part(_cd() + "\r\nBad Header: 1", PNG)), 400, 400),
    "bad-base64": Upload(form(part(_cd() + "\r\nContent-Transfer-Encoding: base64", b"abc")), 400, 400),
    "unknown-transfer-encoding": Upload(
        form(part(_cd() + "\r\nContent-Transfer-Encoding: x-uue", PNG)), 400, 400
    ),
    "no-file-part": Upload(form(part('Content-Disposition: form-data; name="note"', b"")), 400, 400),
    "only-closing-delimiter": Upload(form(), 400, 400),
    "garbage": Upload(b"\x00\xff garbage \x89PNG\r\n\r\n" * 50, 400, 400),
    "preamble-ignored": Upload(b"a preamble, ignored\r\n" + VALID, 200, 0),
    "preamble-without-line-break": Upload(b"garbage" + VALID, 400, 400),
    "empty-body": Upload(b"", 400, 400),
    "whitespace-body": Upload(b"\r\n\r\n", 400, 400),
    "non-image-file": Upload(form(file_part("notes.txt", b"hello")), 422, 0),
    "wrong-content-type": Upload(b'{"file": "a.png"}', 415, 415, "application/json"),
    "no-content-type": Upload(VALID, 415, 415, ""),
    "urlencoded": Upload(b"file=a.png", 415, 415, "application/x-www-form-urlencoded"),
}


# --- unit: uploaded_files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.unit is not None])
def test_uploaded_files_refuses_or_reads(name: str) -> None:
    case = CASES[name]
    if case.unit == 0:
        files = uploaded_files(case.body, case.content_type or None, max_files=MAX_ROWS)
        assert files and all(isinstance(n, str) and isinstance(b, bytes) for n, b in files)
        return
    with pytest.raises(Problem) as info:
        uploaded_files(case.body, case.content_type or None, max_files=MAX_ROWS)
    problem = info.value
    assert problem.status == case.unit, problem.detail
    assert isinstance(problem.detail, str) and problem.detail.strip(), problem.detail
    assert "\n" not in problem.detail, problem.detail


def test_limits_are_named_in_the_problems() -> None:
    def detail(name: str) -> str:
        with pytest.raises(Problem) as info:
            uploaded_files(CASES[name].body, CASES[name].content_type, max_files=MAX_ROWS)
        return str(info.value.detail)

    assert f"{MAX_HEADER_LINE_BYTES:,} bytes" in detail("header-line-100kb")
    assert str(MAX_PART_HEADERS) in detail("too-many-header-lines")
    assert str(MAX_FIELDS) in detail("10000-empty-fields")
    assert "200 characters" in detail("boundary-200-chars")
    assert f"limit is {MAX_ROWS}" in detail("too-many-files")
    assert "nested multipart" in detail("nested-2000-deep")
    assert f"closing delimiter --{B}--" in detail("truncated")
    assert "UTF-8" in detail("non-utf8-filename")


def test_files_come_back_in_upload_order_with_their_names() -> None:
    """The behaviour of the email parser it replaces: every part with a filename or content is a file,
    named by its filename or else its field name; other parts are skipped."""
    req = httpx.Request(
        "POST",
        "http://127.0.0.1/predict",
        data={"note": "hi", "empty": ""},
        files=[("file", ("b.png", PNG, "image/png")), ("other", ("é ü.png", b"\r\n--x\r\n", "image/png"))],
    )
    files = uploaded_files(req.read(), req.headers["content-type"])
    assert files == [("note", b"hi"), ("b.png", PNG), ("é ü.png", b"\r\n--x\r\n")]
    body = form(
        part('Content-Disposition: form-data; name="by-name"', PNG),  # curl -F 'by-name=<a.png'
        part('Content-Disposition: form-data; name="f"; filename=""', b"data"),
        part('Content-Disposition: form-data; name="skipped"; filename=""', b""),
        part('Content-Disposition: form-data; filename="no-name.png"', PNG),
        part(_cd() + "\r\nContent-Transfer-Encoding: base64", b"aGVs\r\nbG8="),
        part(_cd() + "\r\ncontent-transfer-encoding: BINARY", f"--{B}-not-a-delimiter".encode()),
    )
    assert uploaded_files(b"\r\n" + body + b"epilogue\r\n", f'Multipart/Form-Data; boundary="{B}"') == [
        ("by-name", PNG),
        ("f", b"data"),
        ("no-name.png", PNG),
        ("a.png", b"hello"),
        ("a.png", f"--{B}-not-a-delimiter".encode()),
    ]


def test_exactly_max_files_is_accepted() -> None:
    body = form(*[file_part(f"{i}.png") for i in range(MAX_ROWS)])
    assert [n for n, _ in uploaded_files(body, CT, max_files=MAX_ROWS)] == [
        f"{i}.png" for i in range(MAX_ROWS)
    ]


# --- the real server -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upload_server(image_bundle, server_env, tmp_path_factory):  # noqa: F811  (the imported fixture)
    path, _ = image_bundle
    server = RealServer(
        path,
        "--max-rows",
        MAX_ROWS,
        "--max-body-mb",
        MAX_BODY_MB,
        log_path=tmp_path_factory.mktemp("uploads") / "server.log",
        env=server_env,
    )
    yield server
    server.stop()


def post(server: RealServer, body: bytes, content_type: str, path: str = "/predict"):
    """Write the request byte by byte on a socket (the server may answer 413 before reading it all)."""
    headers = [f"Content-Length: {len(body)}"] + ([f"Content-Type: {content_type}"] if content_type else [])
    return parse_reply(raw_exchange(server, with_key(raw_request("POST", path, *headers, body=body), False)))


@pytest.mark.parametrize("name", list(CASES))
def test_server_answers_every_upload_with_a_4xx_problem(upload_server: RealServer, name: str) -> None:
    case = CASES[name]
    offset = upload_server.log_size()
    reply = post(upload_server, case.body, case.content_type)
    assert reply.status == case.status, reply
    if case.status == 200:
        rows = json.loads(reply.body)
        assert [r["file"] for r in rows] == ["0.png", "1.png"] and all("prediction" in r for r in rows)
    else:
        check_problem(reply)
    check_still_healthy(upload_server, offset)


def test_valid_upload_through_httpx_and_proba(upload_server: RealServer, image_bundle) -> None:
    _, X = image_bundle
    files = [("file", (f"{i}.png", _png(img), "image/png")) for i, img in enumerate(X)]
    labels = httpx.post(f"{upload_server.url}/predict", files=files, timeout=60)
    assert labels.status_code == 200, labels.text
    assert [r["file"] for r in labels.json()] == [f"{i}.png" for i in range(len(X))]
    proba = httpx.post(f"{upload_server.url}/predict_proba", files=files[:2], timeout=60)
    assert proba.status_code == 200, proba.text
    assert all(abs(sum(v for k, v in row.items() if k != "file") - 1) < 1e-6 for row in proba.json())


def test_server_log_records_no_server_error(upload_server: RealServer) -> None:
    """Last: the whole log of the module's server holds no traceback and no 5xx access line."""
    text = upload_server.log()
    assert "Traceback" not in text, text
    assert "Exception in ASGI application" not in text, text
    assert "server error" not in text, text
    access = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(a.get("path") == "/predict" for a in access), text
    assert not [a for a in access if int(a.get("status") or 0) >= 500], text
    assert upload_server.process.poll() is None, text
