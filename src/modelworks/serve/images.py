"""The prediction service of an image bundle: images uploaded as ``multipart/form-data``.

``POST /predict`` and ``/predict_proba`` take one or more files (any field name); each is decoded with
Pillow, converted and resized as the model's training images were, and answered in upload order with
its file name. The body is parsed by :func:`modelworks.serve.uploads.uploaded_files` (python-multipart,
with limits: a malformed upload gets a 4xx, never a 5xx). A part that is not an image gets 422 naming
it; the body limit and the API key are today's server's (:mod:`modelworks.serve.body`,
:mod:`modelworks.serve.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelworks import __version__
from modelworks.bundle import Bundle
from modelworks.errors import DataError
from modelworks.serve.body import read_body
from modelworks.serve.encode import dumps
from modelworks.serve.problems import Problem
from modelworks.serve.uploads import uploaded_files

_JSON = "application/json"


@dataclass
class ImageService:
    """The loaded image bundle behind the endpoints (``app.state.service``)."""

    bundle: Bundle
    runtime: str = "sklearn"


def create_image_app(bundle: Bundle, *, max_rows: int, max_body_bytes: int) -> FastAPI:
    """Endpoints of an image bundle (the middlewares are added by the caller).

    Parameters
    ----------
    bundle : Bundle
        A loaded image bundle.
    max_rows : int
        Most images per request (413 beyond).
    max_body_bytes : int
        Largest request body (413 beyond).

    Returns
    -------
    FastAPI
        The app; ``app.state.service`` holds the :class:`ImageService`.
    """
    from modelworks.models.neural._image_data import decode

    schema, model = bundle.schema, bundle.model
    size = (schema["input"]["height"], schema["input"]["width"])
    channels = schema["input"]["channels"]
    labels = [str(c) for c in model.classes_]

    def answer(body: bytes, content_type: str | None, proba: bool) -> Response:
        files = uploaded_files(body, content_type, max_files=max_rows)
        if len(files) > max_rows:
            raise Problem(413, f"{len(files)} images in one request; the limit is {max_rows}")
        images = []
        for name, data in files:
            try:
                images.append(decode(data, size, channels, name=repr(name or "an upload")))
            except DataError as exc:
                raise Problem(422, str(exc)) from None
        X = np.stack(images)
        if proba:
            p = model.predict_proba(X)
            rows: list[dict[str, Any]] = [
                {"file": name, **{label: float(v) for label, v in zip(labels, row, strict=True)}}
                for (name, _), row in zip(files, p, strict=True)
            ]
        else:
            predicted = model.predict(X).tolist()
            rows = [
                {"file": name, "prediction": pred} for (name, _), pred in zip(files, predicted, strict=True)
            ]
        return Response(dumps(rows), media_type=_JSON)

    async def handle(request: Request, proba: bool) -> Response:
        body = await read_body(request, max_body_bytes)
        return await run_in_threadpool(answer, body, request.headers.get("content-type"), proba)

    app = FastAPI(
        title=f"modelworks: images ({bundle.task})",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.service = ImageService(bundle)
    schema_bytes = dumps(schema)
    health_bytes = dumps({"status": "ok", "task": bundle.task, "input": "images", "runtime": "sklearn"})
    metrics = bundle.metrics
    chosen = metrics.get("chosen")
    metadata_bytes = dumps(
        {
            "task": bundle.task,
            "input": schema["input"],
            "labels": labels,
            "model": chosen,
            "test_metrics": (metrics.get("test") or {}).get(chosen),
            "created": bundle.manifest.get("created"),
            "versions": bundle.manifest.get("versions"),
            "runtime": "sklearn",
            "limits": {"max_rows": max_rows, "max_body_bytes": max_body_bytes},
            "server_version": __version__,
        }
    )

    @app.post("/predict", summary="Predict the class of uploaded images", response_class=Response)
    async def predict(request: Request) -> Response:
        """The predicted class of each uploaded image (multipart/form-data), in upload order."""
        return await handle(request, proba=False)

    @app.post("/predict_proba", summary="Class probabilities of uploaded images", response_class=Response)
    async def predict_proba(request: Request) -> Response:
        """The probability of each class for each uploaded image, in upload order."""
        return await handle(request, proba=True)

    @app.get("/schema", summary="Input schema", response_class=Response)
    async def get_schema() -> Response:
        return Response(schema_bytes, media_type=_JSON)

    @app.get("/metadata", summary="Model metadata", response_class=Response)
    async def get_metadata() -> Response:
        return Response(metadata_bytes, media_type=_JSON)

    @app.get("/health", summary="Health check", response_class=Response)
    async def health() -> Response:
        return Response(health_bytes, media_type=_JSON)

    return app


__all__ = ["ImageService", "create_image_app", "uploaded_files"]
