"""The FastAPI app that serves one bundle.

::

    POST /predict         one object -> one object; a list -> a list; CSV -> CSV   {"prediction": ...}
    POST /predict_proba   the same shapes, one probability per class label (classification only)
    GET  /schema          schema.json
    GET  /metadata        task, target, model, test metrics with intervals, versions, runtime
    GET  /health          {"status": "ok", ...} (never needs the API key)
    GET  /docs, /openapi.json

The bundle is loaded once, when the app is made. Every request is checked against the schema before
the model sees it (:mod:`modelworks.serve.validate`), and predictions go through
:func:`modelworks.predict.predict_frame`, so they equal those of ``modelworks predict``. On ONNX
Runtime, JSON records skip the DataFrame: :class:`~modelworks.serve.fastpath.OnnxRecords` feeds their
checked values to the graph directly, with the same answers (any request it cannot take, such as one
holding an infinite number, goes the frame path). Both prediction routes are answered by
:class:`~modelworks.serve.shortcut.PredictShortcut` ahead of FastAPI's router; FastAPI declares and
documents them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from modelworks import __version__
from modelworks.bundle import Bundle, load_bundle
from modelworks.data.schema import json_safe
from modelworks.errors import ConfigError, ModelworksError, SchemaError
from modelworks.predict import predict_frame
from modelworks.serve import openapi
from modelworks.serve.auth import APIKeyGuard
from modelworks.serve.body import CSV, JSON, body_format, parse_csv, parse_json, read_body
from modelworks.serve.encode import dumps as _dumps
from modelworks.serve.encode import encode_rows
from modelworks.serve.fastpath import OnnxRecords
from modelworks.serve.logs import SERVICE_LOGGER, AccessLog
from modelworks.serve.problems import Problem
from modelworks.serve.settings import ServeSettings, limit_threads
from modelworks.serve.shortcut import PredictShortcut
from modelworks.serve.validate import (
    Column,
    check_records,
    compile_columns,
    frame_from_table,
    frame_from_values,
)

__all__ = ["Service", "app_from_env", "create_app", "describe", "encode_rows", "runtime_in_use"]

log = logging.getLogger(SERVICE_LOGGER)
#: Bodies up to this size are handled on the event loop; larger ones (and CSV) in a worker thread.
INLINE_BYTES = 16_384
_JSON_MEDIA = "application/json"


def runtime_in_use(bundle: Bundle, requested: str) -> str:
    """The runtime that predicts: what the loaded bundle reports, else what was asked for."""
    reported = getattr(bundle, "runtime", None)
    if isinstance(reported, str):
        return reported
    return "onnx" if requested == "onnx" else "sklearn"


def describe(bundle: Bundle, runtime: str, max_rows: int, max_body_bytes: int) -> dict[str, Any]:
    """The ``/metadata`` answer: what the model is, how well it tested, what it was built with."""
    metrics, manifest, schema = bundle.metrics, bundle.manifest, bundle.schema
    test = metrics.get("test") or {}
    intervals = test.get("intervals") or {}
    threshold = test.get("threshold") or {}
    return json_safe(
        {
            "task": bundle.task,
            "target": schema["target"]["name"],
            "labels": schema["target"].get("labels"),
            "positive_label": schema["target"].get("positive_label"),
            "model": metrics.get("chosen_model")
            or metrics.get("best_model")
            or (metrics.get("chosen") or {}).get("label"),
            "best_model": metrics.get("best_model"),
            "metric": metrics.get("metric"),
            "test_metrics": {
                name: {"value": value, "interval": intervals.get(name)}
                for name, value in (test.get("metrics") or {}).items()
            },
            "test_rows": test.get("n_test"),
            "intervals": metrics.get("test_intervals"),
            "decision_threshold": threshold.get("threshold"),
            "columns": [c["name"] for c in schema["columns"]],
            "unseen_categories": (schema.get("policy") or {}).get("unseen_categories", "reject"),
            "created": manifest.get("created"),
            "versions": manifest.get("versions"),
            "data_sha256": metrics.get("data_sha256"),
            "runtime": runtime,
            "limits": {"max_rows": max_rows, "max_body_bytes": max_body_bytes},
            "server_version": __version__,
        }
    )


@dataclass
class Service:
    """A loaded bundle and the checks derived from its schema: the state behind the endpoints.

    ``fast`` (:class:`~modelworks.serve.fastpath.OnnxRecords`) predicts JSON records on ONNX Runtime
    without a DataFrame; ``None`` when the bundle predicts with scikit-learn.
    """

    bundle: Bundle
    columns: list[Column]
    runtime: str
    max_rows: int
    max_body_bytes: int
    fast: OnnxRecords | None = None

    def answer(self, body: bytes, fmt: str, proba: bool, state: Any) -> Response:
        """Decode, check, predict and encode one prediction request (raises :class:`Problem`)."""
        if fmt == JSON:
            records, single = parse_json(body)
            state.rows = len(records)
            self._check_rows(len(records))
            rows = self.predict_values(check_records(records, self.columns, single=single), proba)
            return Response(_dumps(rows[0] if single else rows), media_type=_JSON_MEDIA)
        table = parse_csv(body)
        state.rows = len(table)
        self._check_rows(len(table))
        result = self.predict(frame_from_table(table, self.columns), proba)
        return Response(result.to_csv(index=False), media_type="text/csv")

    def predict_values(self, values: dict[str, list], proba: bool) -> list[dict[str, Any]]:
        """Answer rows for checked values (:func:`~modelworks.serve.validate.check_records`).

        The fast path when there is one and it takes these values, else :meth:`predict` on their frame.
        """
        if self.fast is not None:
            try:
                rows = self.fast.rows(values, proba)
            except Exception as exc:  # the frame path answers (or refuses) these values as it always has
                log.debug("fast path declined a request: %s: %s", type(exc).__name__, exc)
                rows = None
            if rows is not None:
                return rows
        return encode_rows(self.predict(frame_from_values(self.columns, values), proba))

    def _check_rows(self, n: int) -> None:
        if n > self.max_rows:
            raise Problem(
                413,
                f"{n:,} rows in one request; the server takes at most {self.max_rows:,}: "
                "split them into smaller requests (or start the server with a larger --max-rows)",
            )

    def predict(self, frame: pd.DataFrame, proba: bool) -> pd.DataFrame:
        """Predictions for checked rows, through :func:`modelworks.predict.predict_frame`."""
        try:
            result, _ = predict_frame(self.bundle, frame, proba=proba)
        except SchemaError as exc:
            raise Problem(422, [{"loc": ["body"], "msg": str(exc), "type": "schema"}]) from None
        except ModelworksError as exc:
            raise Problem(400, str(exc)) from None
        except (ValueError, OverflowError, FloatingPointError) as exc:
            # values that passed the checks but that the model cannot take: the client's rows
            log.warning("prediction refused: %s: %s", type(exc).__name__, exc, exc_info=True)
            raise Problem(
                422,
                [
                    {
                        "loc": ["body"],
                        "msg": f"the model cannot predict these rows ({type(exc).__name__}: {exc}); "
                        "check the values",
                        "type": "model_input",
                    }
                ],
            ) from None
        return result


def _problem_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return Response(
        _dumps({"detail": exc.detail}), status_code=exc.status, headers=exc.headers, media_type=_JSON_MEDIA
    )


def _server_error(request: Request, exc: Exception) -> Response:
    log.error("server error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error; the server log has the details"}, status_code=500)


def _warm_up(service: Service, example: dict[str, Any], proba: bool) -> None:
    """Predict the schema's example row once, so the first client does not pay for lazy set-up."""
    if not any(v is not None for v in example.values()):
        return
    try:
        values = check_records([example], service.columns, single=True)
        service.predict_values(values, proba=proba)
        service.predict(frame_from_values(service.columns, values), proba=proba)
    except Exception as exc:  # a warm-up failure is worth a line in the log, not a refusal to start
        log.warning("warm-up prediction on the schema example failed: %s", exc)


def create_app(
    bundle_path: str | os.PathLike,
    *,
    api_key: str | None = None,
    runtime: str = "auto",
    max_rows: int = 10_000,
    max_body_bytes: int = 10_000_000,
    key: bytes | str | None = None,
) -> FastAPI:
    """Build the prediction service of a bundle.

    Parameters
    ----------
    bundle_path : path-like
        The bundle directory (verified and loaded once, here).
    api_key : str, optional
        Key that every request but ``/health`` must carry (``X-API-Key`` or ``Authorization:
        Bearer``). ``None`` serves without a key.
    runtime : {"auto", "onnx", "sklearn"}
        Passed to :func:`modelworks.bundle.load_bundle`.
    max_rows : int
        Most records per prediction request (413 beyond).
    max_body_bytes : int
        Largest request body (413 beyond).
    key : bytes or str, optional
        The secret the bundle must be signed with (unsigned or wrongly signed: refused).

    Returns
    -------
    FastAPI
        The app; ``app.state.service`` holds the loaded :class:`Service`.

    Raises
    ------
    BundleError
        When the bundle is missing, modified or cannot be loaded with ``runtime``.
    ConfigError
        When a limit is not positive or the key is empty.
    """
    if max_rows < 1:
        raise ConfigError(f"--max-rows must be at least 1 (got {max_rows})")
    if max_body_bytes < 1:
        raise ConfigError(f"--max-body-mb must be positive (got {max_body_bytes} bytes)")
    if api_key is not None and not api_key.strip():
        raise ConfigError("the API key is empty; set a non-empty key or serve without one")
    bundle = load_bundle(bundle_path, runtime=runtime, key=key)
    from modelworks.models.neural.predict_images import is_image_bundle

    if is_image_bundle(bundle.schema):
        from modelworks.serve.images import create_image_app

        image_app = create_image_app(bundle, max_rows=max_rows, max_body_bytes=max_body_bytes)
        image_app.add_exception_handler(Problem, _problem_response)
        image_app.add_exception_handler(Exception, _server_error)
        if api_key is not None:
            image_app.add_middleware(APIKeyGuard, api_key=api_key)
        image_app.add_middleware(AccessLog)
        return image_app
    in_use = runtime_in_use(bundle, runtime)
    columns = compile_columns(bundle.schema)
    fast = OnnxRecords.for_bundle(bundle, [c.name for c in columns])
    service = Service(bundle, columns, in_use, max_rows, max_body_bytes, fast)
    schema = bundle.schema
    target, task = schema["target"]["name"], bundle.task

    async def handle(request: Request, proba: bool) -> Response:
        fmt = body_format(request.headers.get("content-type"))
        if proba and task in ("regression", "clustering", "anomaly"):
            raise Problem(
                400,
                f"predict_proba applies to classification models; this one is a {task} model, use /predict",
            )
        body = await read_body(request, max_body_bytes)
        if fmt == CSV or len(body) > INLINE_BYTES:
            return await run_in_threadpool(service.answer, body, fmt, proba, request.state)
        return service.answer(body, fmt, proba, request.state)

    app = FastAPI(
        title=f"modelworks: {target} ({task})",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
        # no redirect of '/predict/' to a Location built from the client's Host header
        redirect_slashes=False,
    )
    app.state.service = service
    app.add_exception_handler(Problem, _problem_response)
    app.add_exception_handler(Exception, _server_error)
    # innermost of ours: behind the key guard and the access log, ahead of FastAPI's router
    app.add_middleware(PredictShortcut, handle=handle, on_problem=_problem_response)
    if api_key is not None:
        app.add_middleware(APIKeyGuard, api_key=api_key)
    app.add_middleware(AccessLog)  # outermost of ours: logs refusals by the key guard too

    example = openapi.example_record(schema, columns)
    record = openapi.record_model(schema, columns)
    prediction = openapi.prediction_model(schema)
    probabilities = openapi.probabilities_model(schema)
    models = [record, prediction] + ([probabilities] if probabilities is not None else [])
    proba_answer = (
        openapi.ref(openapi.PROBABILITIES)
        if probabilities is not None
        else {"type": "object", "additionalProperties": {"type": "number"}}
    )
    schema_bytes = _dumps(schema)
    metadata_bytes = _dumps(describe(bundle, in_use, max_rows, max_body_bytes))
    health_bytes = _dumps({"status": "ok", "task": task, "target": target, "runtime": in_use})

    @app.post(
        "/predict",
        summary="Predict",
        response_class=Response,
        openapi_extra=openapi.predict_operation(
            example,
            openapi.ref(openapi.PREDICTION),
            max_rows,
            "Records to predict: one object, a list, or CSV",
        ),
    )
    async def predict(request: Request) -> Response:
        """Predicted value of each record, in input order."""
        return await handle(request, proba=False)

    @app.post(
        "/predict_proba",
        summary="Predict class probabilities",
        response_class=Response,
        openapi_extra=openapi.predict_operation(
            example, proba_answer, max_rows, "Records to predict: one object, a list, or CSV"
        ),
    )
    async def predict_proba(request: Request) -> Response:
        """Probability of each class label for each record (classification models only)."""
        return await handle(request, proba=True)

    @app.get("/schema", summary="Input schema", response_class=Response)
    async def get_schema() -> Response:
        """The bundle's schema.json: columns, kinds, levels, ranges, target, policy."""
        return Response(schema_bytes, media_type=_JSON_MEDIA)

    @app.get("/metadata", summary="Model metadata", response_class=Response)
    async def get_metadata() -> Response:
        """Task, target, chosen model, test metrics with 95% intervals, versions, runtime."""
        return Response(metadata_bytes, media_type=_JSON_MEDIA)

    @app.get("/health", summary="Health check", response_class=Response)
    async def health() -> Response:
        """Liveness: the model is loaded and the server answers."""
        return Response(health_bytes, media_type=_JSON_MEDIA)

    _warm_up(service, example, probabilities is not None)
    openapi.install_openapi(
        app,
        models,
        api_key=api_key is not None,
        description=f"Predicts **{target}** ({task}) with a modelworks bundle. Send one JSON object, "
        "a JSON list of objects, or CSV (Content-Type: text/csv); answers keep the input order.",
    )
    app.openapi()  # built now: a schema that cannot be described fails at start, not on first request
    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn workers: settings from the environment (see :mod:`.settings`)."""
    settings = ServeSettings.from_env()
    limit_threads()
    return create_app(
        settings.bundle,
        api_key=settings.api_key(),
        runtime=settings.runtime,
        max_rows=settings.max_rows,
        max_body_bytes=settings.max_body_bytes,
        key=settings.verify_key(),
    )
