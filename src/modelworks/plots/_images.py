"""A grid of images with their captions (misclassified test images: "true → predicted")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

import numpy as np

from modelworks.plots import _style


class ImageGridDisplay:
    """Images in a grid, each with a caption.

    Parameters
    ----------
    images : array of shape (n, height, width[, channels])
        ``uint8`` pixels.
    captions : sequence of str
    title : str, default=""

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : list of Axes
        One per image shown.
    """

    def __init__(self, *, images: np.ndarray, captions: Sequence[str], title: str = "") -> None:
        self.images = np.asarray(images)
        self.captions = list(captions)
        if len(self.images) != len(self.captions):
            raise ValueError("images and captions need the same length")
        if not len(self.images):
            raise ValueError("no image to show")
        self.title = title

    @classmethod
    def from_predictions(cls, images, y_true, y_pred, *, most: int = 24, title: str = "") -> ImageGridDisplay:
        """The first ``most`` images whose prediction is wrong, captioned "true → predicted"."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        wrong = np.flatnonzero(y_true != y_pred)[:most]
        if not len(wrong):
            raise ValueError("every image is predicted right")
        captions = [f"{y_true[i]} → {y_pred[i]}" for i in wrong]
        return cls(images=np.asarray(images)[wrong], captions=captions, title=title).plot()

    def plot(self) -> Self:
        """Draw the grid; return self."""
        import matplotlib.pyplot as plt

        n = len(self.images)
        cols = min(8, n)
        rows = math.ceil(n / cols)
        with _style.style():
            fig, grid = plt.subplots(
                rows, cols, figsize=(1.25 * cols, 1.45 * rows + 0.4), layout="constrained", squeeze=False
            )
            self.axes_ = []
            for k, ax in enumerate(grid.ravel()):
                ax.set_axis_off()
                if k >= n:
                    continue
                img = self.images[k]
                grey = img.ndim == 2 or img.shape[-1] == 1
                ax.imshow(img.squeeze(-1) if grey and img.ndim == 3 else img, cmap="gray" if grey else None)
                ax.set_title(self.captions[k], fontsize=8)
                self.axes_.append(ax)
            if self.title:
                fig.suptitle(self.title)
        self.figure_ = fig
        return self
