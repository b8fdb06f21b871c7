"""Images read into one array: a folder with one subfolder per class, a ``.npz`` file with arrays ``X``
and ``y``, or arrays given in Python.

Every image is decoded with Pillow (EXIF orientation applied), converted to one mode (grey when every
image is grey, otherwise RGB; transparency is dropped) and resized to one size (the most common one,
its longer side at most :data:`MAX_SIDE`). The result is ``uint8`` of shape ``(n, height, width,
channels)``. Files without an image suffix are skipped and counted; files that do not decode are
skipped and named, in notices.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelworks.errors import DataError

#: File suffixes read as images (Pillow decodes each).
SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
#: Longest side of the working size: larger images are scaled down (aspect ratio kept).
MAX_SIDE = 128
#: Pillow's limit of pixels per image (a decompression bomb beyond it is refused).
MAX_PIXELS = 40_000_000
#: Files named in one notice, at most.
NAMED = 5


@dataclass
class ImageSet:
    """Images as one array and, when known, their labels and file paths."""

    X: np.ndarray
    y: np.ndarray | None = None
    paths: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list:
        return [] if self.y is None else sorted(set(self.y.tolist()))


def is_image_source(path: str | Path) -> bool:
    """Whether ``path`` names images (a folder, or a ``.npz`` file) rather than a table."""
    text = str(path)
    if "://" in text:
        return False
    p = Path(text)
    return p.is_dir() or p.suffix.lower() == ".npz"


def _open(source, name: str):
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(source) as opened:
            opened.load()
            return ImageOps.exif_transpose(opened).copy()
    except Exception as exc:  # Pillow raises many kinds for a bad file
        raise DataError(
            f"{name} is not a readable image ({type(exc).__name__}); remove or replace it"
        ) from None


def _grey(img) -> bool:
    """Whether an image holds no colour: a grey mode, or equal red, green and blue everywhere."""
    if img.mode in ("1", "L", "LA", "I", "I;16", "F"):
        return True
    rgb = np.asarray(img.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _as_array(img, size: tuple[int, int], channels: int) -> np.ndarray:
    from PIL import Image

    if img.mode in ("I", "I;16", "F"):  # 16-bit or float grey: scale to 8 bits
        values = np.asarray(img, dtype=np.float64)
        top = values.max() or 1.0
        img = Image.fromarray((values / top * 255).astype(np.uint8))
    img = img.convert("L" if channels == 1 else "RGB")
    if img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def working_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The most common (height, width), scaled down so its longer side is at most :data:`MAX_SIDE`."""
    height, width = Counter(sizes).most_common(1)[0][0]
    scale = min(1.0, MAX_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def read_folder(root: str | Path) -> ImageSet:
    """Images of a folder with one subfolder per class (the subfolder's name is the label)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give a folder with one subfolder of images per class")
    files: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(p for p in sub.rglob("*") if p.is_file() and not p.name.startswith(".")):
            (files.append((f, sub.name)) if f.suffix.lower() in SUFFIXES else skipped.append(str(f)))
    loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES]
    if not files:
        raise DataError(
            f"{root} holds no class subfolders with images ({', '.join(sorted(SUFFIXES))}); put each "
            "class's images in a subfolder named after the class"
        )
    labels = sorted({label for _, label in files})
    if len(labels) < 2:
        raise DataError(
            f"{root} holds images of one class only ({labels[0]!r}); image classification needs at "
            "least two class subfolders"
        )
    images, kept, bad = [], [], []
    for f, label in files:
        try:
            images.append(_open(f, str(f)))
            kept.append((f, label))
        except DataError:
            bad.append(str(f.relative_to(root)))
    notices = []
    if loose:
        notices.append(f"ignored {len(loose)} image(s) directly in {root}, outside the class subfolders")
    if skipped:
        notices.append(f"skipped {len(skipped)} file(s) that are not images (by suffix)")
    if bad:
        notices.append(unreadable_notice(bad))
    if len({label for _, label in kept}) < 2:
        raise DataError(f"{root} has readable images of fewer than two classes; check the files")
    X, more = stack(images)
    y = np.array([label for _, label in kept], dtype=object)
    return ImageSet(X, y, [str(f) for f, _ in kept], notices + more)


def stack(images: list) -> tuple[np.ndarray, list[str]]:
    """Decoded images as one ``uint8`` array in one mode and size, with notices of what changed."""
    size = working_size([(img.height, img.width) for img in images])
    grey = all(_grey(img) for img in images)
    channels = 1 if grey else 3
    X = np.stack([_as_array(img, size, channels) for img in images])
    notices = []
    resized = sum((img.height, img.width) != size for img in images)
    if resized:
        notices.append(f"resized {resized} of {len(images)} image(s) to {size[0]}x{size[1]} pixels")
    modes = Counter(img.mode for img in images)
    if len(modes) > 1:
        notices.append(f"converted images of modes {', '.join(sorted(modes))} to {'grey' if grey else 'RGB'}")
    return X, notices


def read_npz(path: str | Path, need_labels: bool = True) -> ImageSet:
    """Arrays ``X`` (n, h, w) or (n, h, w, c) and ``y`` (n,) of a ``.npz`` file (never unpickled)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            if "X" not in names:
                raise DataError(f"{path} has no array named X (it has {', '.join(sorted(names)) or 'none'})")
            if need_labels and "y" not in names:
                raise DataError(f"{path} has no array named y: add the labels as y (one per image)")
            X = data["X"]
            y = data["y"] if "y" in names else None
    except DataError:
        raise
    except ValueError as exc:
        raise DataError(
            f"{path} holds an array stored as Python objects ({exc}); save plain arrays"
        ) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({type(exc).__name__})") from None
    return from_arrays(X, y, source=str(path))


def from_arrays(X, y=None, *, source: str = "the arrays") -> ImageSet:
    """Images given as arrays: ``X`` (n, h, w) or (n, h, w, c) with c 1 or 3, values 0–255 (or
    floats in [0, 1]); ``y`` one label per image."""
    X = np.asarray(X)
    if X.ndim == 3:
        X = X[..., None]
    if X.ndim != 4 or X.shape[-1] not in (1, 3) or 0 in X.shape:
        raise DataError(
            f"{source}: X has shape {X.shape}; expected (images, height, width) or (images, height, width, "
            "1 or 3)"
        )
    if X.dtype.kind == "f":
        finite = np.isfinite(X)
        if not finite.all():
            raise DataError(f"{source}: X holds NaN or infinite values")
        X = X * 255 if X.max() <= 1.0 else X
    elif X.dtype.kind not in "iub":
        raise DataError(f"{source}: X has dtype {X.dtype}; give numbers")
    X = np.clip(X, 0, 255).astype(np.uint8)
    labels = None
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(X):
            raise DataError(f"{source}: y has shape {labels.shape}; expected one label per image ({len(X)})")
        labels = labels.astype(str).astype(object) if labels.dtype.kind in "USO" else labels
        if len(set(labels.tolist())) < 2:
            raise DataError(f"{source}: y holds one class only; image classification needs at least two")
    return ImageSet(X, labels)


def read_images(path: str | Path, need_labels: bool = True) -> ImageSet:
    """A folder of class subfolders or a ``.npz`` file (see the module docstring)."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        if not p.is_file():
            raise DataError(f"{p} does not exist")
        return read_npz(p, need_labels)
    return read_folder(p)


def decode(data: bytes, size: tuple[int, int], channels: int, name: str = "the upload") -> np.ndarray:
    """One image file's bytes as a ``uint8`` array of ``size`` and ``channels`` (what a model was
    trained on)."""
    return _as_array(_open(io.BytesIO(data), name), size, channels)


def unreadable_notice(names: list[str]) -> str:
    """The one notice of files skipped because they do not decode (``run`` and ``predict`` alike)."""
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return f"skipped {len(names)} unreadable image(s): {', '.join(names[:NAMED])}{more}"


def read_files(
    paths: list[Path], size: tuple[int, int], channels: int
) -> tuple[np.ndarray, list[Path], list[str]]:
    """Image files as one array for a model of ``size`` and ``channels``.

    Returns
    -------
    X : ndarray
        The images that decode, in the order given.
    kept : list of Path
        Their files.
    bad : list of str
        The files that do not decode (skipped, as :func:`read_folder` skips them).

    Raises
    ------
    DataError
        When no file decodes (the message names the first).
    """
    arrays, kept, bad = [], [], []
    first_error: DataError | None = None
    for p in paths:
        try:
            arrays.append(_as_array(_open(p, str(p)), size, channels))
            kept.append(p)
        except DataError as exc:
            first_error = first_error or exc
            bad.append(str(p))
    if not arrays:
        assert first_error is not None
        raise first_error
    return np.stack(arrays), kept, bad
