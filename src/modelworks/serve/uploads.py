"""The files of a ``multipart/form-data`` upload, read with python-multipart within fixed limits.

The body has already been read under the server's size limit (:func:`modelworks.serve.body.read_body`),
so it is parsed in one call of python-multipart's streaming :class:`~python_multipart.MultipartParser`
(the parser Starlette and FastAPI use), with callbacks that enforce the limits below as the parts go by.
Every malformed body is a :class:`~modelworks.serve.problems.Problem` (4xx), never a server error:
the parser is flat (no recursion), a part that is itself ``multipart/*`` is refused, and the parser's
own exceptions are mapped to 400 with one sentence naming the problem and the fix.
"""

from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from modelworks.serve.problems import Problem

log = logging.getLogger("modelworks.serve")
#: The parser's logger, outside the logging tree (a logging config cannot turn it back on): each warning
#: it writes repeats the error it raises, answered as a 400, and a hostile client would fill the log.
_parser_log = logging.Logger("modelworks.serve.multipart", logging.ERROR)
_parser_log.addHandler(logging.NullHandler())

#: Longest multipart boundary, in characters (RFC 2046, section 5.1.1).
MAX_BOUNDARY_CHARS = 70
#: Most parts that are not files (no filename and no content) in one upload.
MAX_FIELDS = 100
#: Most header lines in one part (Content-Disposition and Content-Type are all an upload needs).
MAX_PART_HEADERS = 8
#: Longest header line of a part, in bytes (its name, the colon and its value).
MAX_HEADER_LINE_BYTES = 4096

_MEDIA = "multipart/form-data"
_EXAMPLE = "for example curl -F 'file=@photo.png'"
#: The characters RFC 2046 allows in a boundary (``bchars``).
_BCHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ")


@dataclass
class _Part:
    """One part as it is read: its header lines and its content."""

    number: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    name: str = ""
    filename: str = ""
    encoding: bytes = b""


class _Collector:
    """The parser's callbacks: the file parts in upload order, every limit checked on the way."""

    def __init__(self, max_files: int | None):
        self.max_files = max_files
        self.files: list[tuple[str, bytes]] = []
        self.fields = 0
        self.parts = 0
        self.ended = False
        self.part = _Part(0)
        self._field = bytearray()
        self._value = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        self.part = _Part(self.parts)

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((bytes(self._field).strip().lower(), bytes(self._value).strip()))
        self._field.clear()
        self._value.clear()

    def on_headers_finished(self) -> None:
        part = self.part
        headers = dict(reversed(part.headers))  # the first of repeated headers counts
        n = part.number
        media, _ = parse_options_header(headers.get(b"content-type"))
        if media.startswith(b"multipart/"):
            raise Problem(
                415,
                f"part {n} is itself {media.decode('latin-1')}; nested multipart is not accepted, "
                "upload each image as its own part of one multipart/form-data body",
            )
        disposition = headers.get(b"content-disposition")
        if disposition is None:
            raise Problem(
                400,
                f"part {n} has no Content-Disposition header; give every part "
                'Content-Disposition: form-data; name="file"; filename="photo.png"',
            )
        kind, options = parse_options_header(disposition)
        if kind != b"form-data":
            raise Problem(
                400,
                f"part {n} has Content-Disposition {kind.decode('latin-1')!r}; give every part "
                'Content-Disposition: form-data; name="file"; filename="photo.png"',
            )
        if b"name" not in options and b"filename" not in options:
            raise Problem(
                400,
                f"part {n} has neither a name nor a filename in its Content-Disposition; "
                'name it (name="file"; filename="photo.png")',
            )
        part.name = _utf8(options.get(b"name", b""), n, "name")
        part.filename = _utf8(options.get(b"filename", b""), n, "filename")
        part.encoding = headers.get(b"content-transfer-encoding", b"").strip().lower()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.part.data += data[start:end]

    def on_part_end(self) -> None:
        part = self.part
        content = _decoded(part)
        if not (part.filename or content):
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise Problem(
                    400,
                    f"more than {MAX_FIELDS} form fields without a file; send only the image files",
                )
            return
        if self.max_files is not None and len(self.files) >= self.max_files:
            raise Problem(
                413, f"more than {self.max_files} images in one request; the limit is {self.max_files}"
            )
        self.files.append((part.filename or part.name, content))

    def on_end(self) -> None:
        self.ended = True


def _utf8(raw: bytes, number: int, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(
            400, f"the {what} of part {number} is not valid UTF-8; send file and field names in UTF-8"
        ) from None


def _decoded(part: _Part) -> bytes:
    """The content of ``part``, undone of a (deprecated, still accepted) Content-Transfer-Encoding."""
    data = bytes(part.data)
    if part.encoding in (b"", b"binary", b"8bit", b"7bit"):
        return data
    try:
        if part.encoding == b"base64":
            return binascii.a2b_base64(data)
        if part.encoding == b"quoted-printable":
            return binascii.a2b_qp(data)
    except (binascii.Error, ValueError):
        raise Problem(
            400,
            f"part {part.number} is not valid {part.encoding.decode('latin-1')}; "
            "send the file's bytes as they are, without a Content-Transfer-Encoding",
        ) from None
    raise Problem(
        400,
        f"part {part.number} has Content-Transfer-Encoding {part.encoding.decode('latin-1')!r}; "
        "send the file's bytes as they are, without a Content-Transfer-Encoding",
    )


def _boundary(content_type: str) -> bytes:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if boundary is None:
        raise Problem(
            400,
            f"the Content-Type {_MEDIA} has no boundary parameter; let the HTTP client build "
            f"the upload ({_EXAMPLE})",
        )
    if not 1 <= len(boundary) <= MAX_BOUNDARY_CHARS:
        raise Problem(
            400,
            f"the multipart boundary is {len(boundary)} characters long; RFC 2046 allows 1 to "
            f"{MAX_BOUNDARY_CHARS} (let the HTTP client choose it)",
        )
    if not set(boundary.decode("latin-1")) <= _BCHARS or boundary.endswith(b" "):
        raise Problem(
            400,
            "the multipart boundary holds characters RFC 2046 does not allow; use letters, digits "
            "and '()+_,-./:=? (let the HTTP client choose it)",
        )
    return boundary


def _parse_error(exc: Exception) -> Problem:
    text = " ".join(str(exc).split())
    if "header size" in text:
        return Problem(
            400,
            f"a part header line is longer than {MAX_HEADER_LINE_BYTES:,} bytes; send short part "
            "headers (a file name of a few hundred characters at most)",
        )
    if "header count" in text:
        return Problem(
            400,
            f"a part has more than {MAX_PART_HEADERS} header lines; send Content-Disposition and "
            "Content-Type only",
        )
    text = text if len(text) <= 200 else text[:197] + "..."
    return Problem(
        400,
        f"the multipart body is malformed ({text}); send a well-formed multipart/form-data body ({_EXAMPLE})",
    )


def uploaded_files(
    body: bytes, content_type: str | None, *, max_files: int | None = None
) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every file part of a ``multipart/form-data`` body, in upload order.

    A part is a file when it has a filename or any content; its name is the filename, or the field
    name when it has none (``curl -F 'file=<photo.png'``). Parts with neither are form fields and
    are skipped (at most :data:`MAX_FIELDS`).

    Parameters
    ----------
    body : bytes
        The whole request body, already read under the server's size limit (which bounds every part).
    content_type : str or None
        The request's Content-Type header, ``multipart/form-data; boundary=...``.
    max_files : int, optional
        Most file parts accepted; the parsing stops with 413 at the next one.

    Returns
    -------
    list of (str, bytes)
        The file parts, in upload order.

    Raises
    ------
    Problem
        415 for another media type or a part that is itself ``multipart/*``; 413 for more than
        ``max_files`` files; 400 for a malformed body (boundary missing, empty, longer than
        :data:`MAX_BOUNDARY_CHARS` or not closed; a part without Content-Disposition or without a
        name; a header line longer than :data:`MAX_HEADER_LINE_BYTES` or more than
        :data:`MAX_PART_HEADERS` of them; a name that is not UTF-8; a Content-Transfer-Encoding
        other than base64 or quoted-printable that is not the identity; more than :data:`MAX_FIELDS`
        fields; anything else the parser refuses) or one without a file.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != _MEDIA:
        raise Problem(415, f"send images as {_MEDIA} ({_EXAMPLE})")
    boundary = _boundary(content_type or "")
    if not body.strip():
        raise Problem(400, f"empty request body; upload at least one image as {_MEDIA} ({_EXAMPLE})")
    first = body.find(b"--" + boundary)
    if first > 1 and body[first - 2 : first] == b"\r\n":
        body = body[first:]  # a preamble before the first delimiter line is ignored (RFC 2046)
    collector = _Collector(max_files)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": collector.on_part_begin,
                "on_part_data": collector.on_part_data,
                "on_part_end": collector.on_part_end,
                "on_header_field": collector.on_header_field,
                "on_header_value": collector.on_header_value,
                "on_header_end": collector.on_header_end,
                "on_headers_finished": collector.on_headers_finished,
                "on_end": collector.on_end,
            },
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_HEADER_LINE_BYTES,
        )
        parser.logger = _parser_log
        parser.write(body)
        parser.finalize()
    except Problem:
        raise
    except FormParserError as exc:
        raise _parse_error(exc) from None
    except Exception as exc:  # a body the parser trips on is the client's problem, never a 500
        log.warning("multipart body could not be read: %s: %s", type(exc).__name__, exc)
        raise _parse_error(exc) from None
    if not collector.ended:
        raise Problem(
            400,
            f"the multipart body ends before its closing delimiter --{boundary.decode('latin-1')}--; "
            "send the complete body",
        )
    if not collector.files:
        raise Problem(400, "the request holds no file; upload at least one image")
    return collector.files


__all__ = ["MAX_BOUNDARY_CHARS", "MAX_FIELDS", "MAX_HEADER_LINE_BYTES", "MAX_PART_HEADERS", "uploaded_files"]
