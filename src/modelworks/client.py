"""Python client of a modelworks prediction server (``modelworks serve``).

>>> import modelworks as mw
>>> client = mw.Client("http://127.0.0.1:8000")           # doctest: +SKIP
>>> client.predict(df)                                     # doctest: +SKIP
>>> client.predict_proba(df)                               # doctest: +SKIP

Rows are sent as JSON records (missing values as ``null``) in batches, and the answers come back as
DataFrames in the input order: ``prediction``, or one column per class label, as ``modelworks
predict`` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pandas as pd

from modelworks.data.schema import json_safe
from modelworks.errors import ModelworksError

__all__ = ["Client", "ServiceError"]


class ServiceError(ModelworksError):
    """The server refused a request (4xx), failed (5xx) or could not be reached.

    Attributes
    ----------
    status : int or None
        HTTP status, ``None`` when no answer came.
    detail : object
        The server's ``detail`` (a sentence, or a list of validation items).
    """

    def __init__(self, message: str, status: int | None = None, detail: Any = None):
        super().__init__(message)
        self.status = status
        self.detail = detail


def _detail_text(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail[:5]:
            if isinstance(item, Mapping):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body") or "body"
                parts.append(f"{where}: {item.get('msg')}")
            else:
                parts.append(str(item))
        more = f" (and {len(detail) - 5} more)" if len(detail) > 5 else ""
        return "; ".join(parts) + more
    return str(detail)


def _records(rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(rows, pd.DataFrame):
        return [json_safe(r) for r in rows.to_dict(orient="records")]
    if isinstance(rows, Mapping):
        return [json_safe(rows)]
    return [json_safe(r) for r in rows]


class Client:
    """Talk to a modelworks prediction server.

    Parameters
    ----------
    url : str
        Base URL of the server, such as ``"http://127.0.0.1:8000"``.
    api_key : str, optional
        Sent as ``X-API-Key`` when the server requires a key.
    timeout : float
        Seconds to wait for each answer.
    batch_size : int
        Rows per request; larger frames are sent in several requests.
    """

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0, batch_size: int = 1000):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
        self.url = url.rstrip("/")
        self.batch_size = batch_size
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"cannot reach the modelworks server at {self.url} ({type(exc).__name__}: {exc}); "
                "check the URL and that 'modelworks serve' is running"
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except (ValueError, AttributeError):
                detail = response.text
            raise ServiceError(
                f"server answered {response.status_code} on {path}: {_detail_text(detail)}",
                status=response.status_code,
                detail=detail,
            )
        try:
            return response.json()
        except ValueError:
            raise ServiceError(
                f"server answered {path} with something that is not JSON; check that {self.url} is a "
                "modelworks server",
                status=response.status_code,
            ) from None

    def _predict(self, path: str, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        records = _records(rows)
        answers: list[dict[str, Any]] = []
        for start in range(0, len(records), self.batch_size):
            batch = records[start : start + self.batch_size]
            answer = self._request("POST", path, json=batch)
            if not isinstance(answer, list) or len(answer) != len(batch):
                raise ServiceError(
                    f"server answered {path} with {type(answer).__name__}, not one row per record"
                )
            answers.extend(answer)
        return answers

    def predict(self, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Predicted value of each row.

        Parameters
        ----------
        rows : DataFrame or list of dict
            Rows with the columns the model needs (extra columns are ignored; NaN is sent as null).

        Returns
        -------
        DataFrame
            One column ``prediction``, one row per input row, in input order.

        Raises
        ------
        ServiceError
            With the server's message, when a row is refused or the server cannot be reached.
        """
        answers = self._predict("/predict", rows)
        return pd.DataFrame({"prediction": [a.get("prediction") for a in answers]})

    def predict_proba(self, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Probability of each class for each row (classification models).

        Returns
        -------
        DataFrame
            One column per class label (as text), in the model's label order; one row per input row.

        Raises
        ------
        ServiceError
            With the server's message (400 for a regression model).
        """
        answers = self._predict("/predict_proba", rows)
        if not answers:
            labels = self.schema()["target"].get("labels") or []
            return pd.DataFrame({str(label): pd.Series(dtype="float64") for label in labels})
        return pd.DataFrame(answers, columns=list(answers[0]))

    def schema(self) -> dict[str, Any]:
        """The model's input schema (schema.json of the bundle)."""
        return self._request("GET", "/schema")

    def metadata(self) -> dict[str, Any]:
        """Task, target, model, test metrics with intervals, versions and runtime."""
        return self._request("GET", "/metadata")

    def health(self) -> dict[str, Any]:
        """The server's health answer (``{"status": "ok", ...}``)."""
        return self._request("GET", "/health")
