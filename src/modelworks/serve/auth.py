"""API-key check: every path but ``/health`` needs the key when the service has one.

The key is accepted as ``X-API-Key: KEY`` or ``Authorization: Bearer KEY`` and compared in constant
time (:func:`hmac.compare_digest`). The OpenAPI document and the docs pages are protected too: they
show the schema and a training row, which ``/schema`` protects.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

#: Paths answered without a key.
OPEN_PATHS = frozenset({"/health"})


def presented_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The key a request carries (``X-API-Key`` first, then ``Authorization: Bearer``), if any."""
    bearer = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-api-key":
            return value.strip()
        if lowered == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer":
                bearer = token.strip()
    return bearer


class APIKeyGuard:
    """Pure ASGI middleware answering 401 to requests without the right key.

    Parameters
    ----------
    app : ASGI app
        The wrapped application.
    api_key : str
        The key clients must send.
    """

    def __init__(self, app: ASGIApp, api_key: str):
        self.app = app
        self.key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        key = presented_key(scope.get("headers", []))
        if key is not None and hmac.compare_digest(key, self.key):
            await self.app(scope, receive, send)
            return
        reason = "missing API key" if key is None else "wrong API key"
        body = json.dumps(
            {"detail": f"{reason}; send it as 'X-API-Key: KEY' or 'Authorization: Bearer KEY'"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="modelworks"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
