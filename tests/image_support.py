"""Small image sets shared by the image tests: scikit-learn's digits as arrays or PNG folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PER_CLASS = 40


def digits(per_class: int = PER_CLASS):
    from sklearn.datasets import load_digits

    d = load_digits()
    rows = np.concatenate([np.flatnonzero(d.target == k)[:per_class] for k in range(10)])
    return (d.images[rows] * (255 / 16)).round().astype(np.uint8), d.target[rows]


def write_folder(root: Path, X: np.ndarray, y: np.ndarray) -> Path:
    for i, (img, label) in enumerate(zip(X, y, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, mode="L").save(folder / f"{i:04d}.png")
    return root
