"""Serve a bundle over HTTP: a FastAPI app built from the bundle's schema, run by uvicorn.

:func:`create_app` builds the app (load the bundle once, validate every request against its schema,
predict through :func:`modelworks.predict.predict_frame`); :func:`serve_bundle` checks the options and
runs it (``modelworks serve``). :class:`modelworks.Client` talks to it from Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app", "serve_bundle"]

if TYPE_CHECKING:
    from modelworks.serve.app import create_app
    from modelworks.serve.server import serve_bundle


def __getattr__(name: str) -> Any:
    # imported on first use: FastAPI and uvicorn are not needed to train or to predict in-process
    if name == "create_app":
        from modelworks.serve.app import create_app

        return create_app
    if name == "serve_bundle":
        from modelworks.serve.server import serve_bundle

        return serve_bundle
    raise AttributeError(f"module 'modelworks.serve' has no attribute {name!r}")
