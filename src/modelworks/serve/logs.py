"""Structured access log (one JSON line per request on stderr) and the service's logging setup.

uvicorn's own access log is switched off (``access_log=False``), so each request is logged once, by
:class:`AccessLog`, with ``time``, ``method``, ``path``, ``status``, ``duration_ms``, ``rows`` (records
in a prediction request, else null) and ``client``.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "modelworks.serve.access"
SERVICE_LOGGER = "modelworks.serve"
access_log = logging.getLogger(ACCESS_LOGGER)


class AccessLog:
    """Pure ASGI middleware writing one JSON line per HTTP request to :data:`ACCESS_LOGGER`.

    Endpoints report how many rows they handled by setting ``request.state.rows``.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info(
                    json.dumps(
                        {
                            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "method": scope.get("method"),
                            "path": scope.get("path"),
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                            "rows": state.get("rows"),
                            "client": f"{client[0]}:{client[1]}" if client else None,
                        },
                        ensure_ascii=False,
                    )
                )


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration plus the access and service loggers of modelworks.

    The access logger writes bare JSON lines to stderr; the service logger (startup, shutdown,
    server-side errors) uses uvicorn's default format.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["modelworks_json"] = {"format": "%(message)s"}
    config["handlers"]["modelworks_access"] = {
        "formatter": "modelworks_json",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"][ACCESS_LOGGER] = {
        "handlers": ["modelworks_access"],
        "level": "INFO",
        "propagate": False,
    }
    config["loggers"][SERVICE_LOGGER] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
