"""Read and decode a prediction request body: size limit, content type, JSON or CSV.

The size limit is enforced twice: on the declared ``Content-Length`` before reading anything, and on
the bytes actually received (a chunked body declares no length). CSV bodies are read by
:func:`modelworks.data.load.load`, the reader ``modelworks predict`` uses, so both see the same table.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.requests import ClientDisconnect, Request

from modelworks.errors import ModelworksError
from modelworks.serve.problems import Problem

JSON = "json"
CSV = "csv"
log = logging.getLogger("modelworks.serve")


def body_format(content_type: str | None) -> str:
    """``"json"`` or ``"csv"`` for a request's Content-Type (none means JSON).

    Raises
    ------
    Problem
        415 for any other media type.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("", "application/json") or (media.startswith("application/") and media.endswith("+json")):
        return JSON
    if media in ("text/csv", "application/csv"):
        return CSV
    raise Problem(
        415,
        f"unsupported Content-Type {media!r}; send application/json (an object or a list of "
        "objects) or text/csv (a header row, then one row per record)",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes.

    Raises
    ------
    Problem
        413 when the declared or the received size exceeds ``limit``; 400 for a malformed
        Content-Length.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise Problem(
                400, f"Content-Length {declared!r} is not a number; send the body size in bytes"
            ) from None
        if size > limit:
            raise _too_large(limit)
    chunks = []
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:  # the client went away (or sent a malformed chunk): not a server error
        raise Problem(400, "the connection closed before the body was complete; send it again") from None
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        f"request body larger than {limit:,} bytes; split the rows into smaller requests "
        "(or start the server with a larger --max-body-mb)",
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send null for a missing value")


def parse_json(body: bytes) -> tuple[list[Any], bool]:
    """Decode a JSON body into records.

    Returns
    -------
    records : list
        The records (one element for a single object).
    single : bool
        Whether the body was one object (answered with one object).

    Raises
    ------
    Problem
        400 for an empty or malformed body (NaN and Infinity included), 422 for an empty list or a
        value that is neither an object nor a list.
    """
    if not body.strip():
        raise Problem(400, "empty request body; send a JSON object or a list of objects")
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise Problem(400, "JSON nested too deeply; send flat records") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise Problem(
            400, f"malformed JSON ({_one_line(exc)}); send an object or a list of objects"
        ) from None
    if _SURROGATE_ESCAPE.search(body):
        try:  # an escape of half a UTF-16 pair decodes to a character no string can encode
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Problem(
                400, "the JSON holds an unpaired UTF-16 surrogate escape (\\udXXX); send valid Unicode"
            ) from None
    if isinstance(data, dict):
        return [data], True
    if isinstance(data, list):
        if not data:
            raise Problem(
                422,
                [{"loc": ["body"], "msg": "empty list; send at least one record", "type": "too_short"}],
            )
        return data, False
    raise Problem(
        422,
        [
            {
                "loc": ["body"],
                "msg": f"expected an object or a list of objects, got {type(data).__name__}",
                "type": "model_type",
            }
        ],
    )


#: A JSON escape of a UTF-16 surrogate (half of a pair, or a lone one).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_csv(body: bytes) -> pd.DataFrame:
    """Read a CSV body as ``modelworks predict`` reads a CSV file.

    Raises
    ------
    Problem
        400 when the body is empty or not a readable table.
    """
    from modelworks.data.load import load

    if not body.strip():
        raise Problem(400, "empty request body; send a header row, then one row per record")
    with tempfile.TemporaryDirectory(prefix="modelworks-serve-") as tmp:
        path = Path(tmp) / "body.csv"
        path.write_bytes(body)
        try:
            return load(path)
        except ModelworksError as exc:
            message = str(exc).replace(f"file '{path}'", "the CSV body").replace(str(path), "the CSV body")
            raise Problem(400, message) from None
        except Exception as exc:  # an unreadable upload is the client's problem, never a 500
            log.warning("CSV body could not be read: %s: %s", type(exc).__name__, exc)
            raise Problem(
                400, f"the CSV body could not be read ({_one_line(exc)}); send a valid CSV table"
            ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
