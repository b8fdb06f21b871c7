"""An image bundle served by a real ``modelworks serve`` process: multipart uploads answered as the
bundle predicts them, a file that is not an image refused with 422, the key and body limit kept.

The image bundle is the session fixture ``image_bundle`` of ``tests/conftest.py``."""

from __future__ import annotations

import io

import httpx
import numpy as np
from PIL import Image
from serve_support import API_KEY, API_KEY_ENV

from modelworks.bundle import load_model


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def test_uploads_are_answered_as_the_bundle_predicts(start_server, image_bundle):
    path, X = image_bundle
    server = start_server(path)
    files = [("file", (f"{i}.png", _png(img), "image/png")) for i, img in enumerate(X)]
    labels = httpx.post(f"{server.url}/predict", files=files, timeout=60)
    assert labels.status_code == 200, labels.text
    model = load_model(path)
    assert [r["file"] for r in labels.json()] == [f"{i}.png" for i in range(6)]
    assert [r["prediction"] for r in labels.json()] == model.predict(X[..., None]).tolist()
    proba = httpx.post(f"{server.url}/predict_proba", files=files[:2], timeout=60).json()
    want = model.predict_proba(X[:2, ..., None])
    got = np.array([[row[str(c)] for c in model.classes_] for row in proba])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    bad = httpx.post(
        f"{server.url}/predict", files=[("file", ("notes.txt", b"hello", "text/plain"))], timeout=30
    )
    assert bad.status_code == 422 and "notes.txt" in bad.json()["detail"]
    wrong = httpx.post(f"{server.url}/predict", json=[{"a": 1}], timeout=30)
    assert wrong.status_code == 415
    assert httpx.get(f"{server.url}/metadata", timeout=10).json()["input"]["kind"] == "images"


def test_key_and_body_limit_hold_for_images(start_server, image_bundle):
    path, X = image_bundle
    server = start_server(
        path, "--api-key-env", API_KEY_ENV, "--max-body-mb", "0.001", env={API_KEY_ENV: API_KEY}
    )
    files = [("file", ("a.png", _png(X[0]), "image/png"))]
    assert httpx.post(f"{server.url}/predict", files=files, timeout=30).status_code == 401
    ok = httpx.post(f"{server.url}/predict", files=files, headers={"X-API-Key": API_KEY}, timeout=30)
    assert ok.status_code == 200, ok.text
    big = [
        (
            "file",
            (
                "big.png",
                _png(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)),
                "image/png",
            ),
        )
    ]
    assert (
        httpx.post(f"{server.url}/predict", files=big, headers={"X-API-Key": API_KEY}, timeout=30).status_code
        == 413
    )
