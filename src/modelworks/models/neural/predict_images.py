"""Predictions of an image bundle for a folder of images, one image file, or a ``.npz`` file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from modelworks.errors import DataError
from modelworks.models.neural._image_data import SUFFIXES, read_files, read_npz, unreadable_notice


def image_files(path: str | Path) -> tuple[list[Path], int]:
    """The image files under ``path`` (a folder, searched recursively, in sorted order, or one file),
    and how many other files were passed over."""
    p = Path(path)
    if p.is_file():
        return [p], 0
    if not p.is_dir():
        raise DataError(f"{p} does not exist; give a folder of images, an image file or a .npz file")
    found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
    images = [f for f in found if f.suffix.lower() in SUFFIXES]
    if not images:
        raise DataError(f"{p} holds no image files ({', '.join(sorted(SUFFIXES))})")
    return images, len(found) - len(images)


def predict_images(
    model, schema: dict, path: str | Path, proba: bool = False
) -> tuple[pd.DataFrame, list[str]]:
    """A frame with ``path`` and ``prediction`` (or one probability column per class) for every image,
    and notices. Images are converted and resized as the model's training images were; a file that
    does not decode is skipped and named in a notice (an error when none decodes)."""
    size = (schema["input"]["height"], schema["input"]["width"])
    channels = schema["input"]["channels"]
    notices: list[str] = []
    if str(path).lower().endswith(".npz"):
        data = read_npz(path, need_labels=False)
        X = data.X
        if X.shape[-1] != channels or X.shape[1:3] != size:
            raise DataError(
                f"{path}: images of {X.shape[1]}x{X.shape[2]}x{X.shape[3]}, but the model takes "
                f"{size[0]}x{size[1]}x{channels}; resize them or give image files (resized automatically)"
            )
        names = [f"X[{i}]" for i in range(len(X))]
    else:
        files, others = image_files(path)
        if others:
            notices.append(f"passed over {others} file(s) that are not images (by suffix)")
        X, kept, bad = read_files(files, size, channels)
        if bad:  # as ``run`` does: skipped and named, never the whole folder refused for one file
            notices.append(unreadable_notice(bad))
        names = [str(f) for f in kept]
    frame = pd.DataFrame({"path": names})
    if proba:
        p = model.predict_proba(X)
        for j, label in enumerate(model.classes_):
            frame[str(label)] = p[:, j]
    else:
        frame["prediction"] = model.predict(X)
    return frame, notices


def is_image_bundle(schema: dict) -> bool:
    return isinstance(schema.get("input"), dict) and schema["input"].get("kind") == "images"


__all__ = ["image_files", "is_image_bundle", "predict_images"]
