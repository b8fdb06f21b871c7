"""Client errors of the prediction service, answered as ``{"detail": ...}`` with an HTTP status.

Validation errors (422) carry a list of items in FastAPI's shape, ``{"loc": [...], "msg": ...,
"type": ...}``, where ``loc`` names the field and, for a list of records, the row index; every other
problem carries one sentence naming the problem and the fix.
"""

from __future__ import annotations

from typing import Any

#: At most this many validation items are returned; a last item says how many more there were.
MAX_ERRORS = 50


class Problem(Exception):
    """A request the service refuses.

    Parameters
    ----------
    status : int
        HTTP status code (4xx).
    detail : str or list of dict
        One sentence, or validation items (see :func:`error_item`).
    headers : dict, optional
        Extra response headers (``WWW-Authenticate`` for 401).
    """

    def __init__(
        self, status: int, detail: str | list[dict[str, Any]], headers: dict[str, str] | None = None
    ):
        super().__init__(detail if isinstance(detail, str) else f"{len(detail)} validation error(s)")
        self.status = status
        self.detail = detail
        self.headers = headers


def error_item(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    """One validation item: where (``["body", row, field]``), what, and a machine-readable type."""
    return {"loc": loc, "msg": msg, "type": kind}


def invalid(errors: list[dict[str, Any]]) -> Problem:
    """A 422 problem for ``errors``, capped at :data:`MAX_ERRORS` items."""
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        errors = [
            *errors[:MAX_ERRORS],
            error_item(
                ["body"], f"{more} more error(s) not shown; fix the ones above first", "too_many_errors"
            ),
        ]
    return Problem(422, errors)
