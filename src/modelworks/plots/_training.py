"""Per-epoch training curves of a neural network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from matplotlib.axes import Axes

from modelworks.plots import _style


class TrainingCurveDisplay:
    """Loss per epoch on the training and validation parts, with the epoch kept marked.

    Parameters
    ----------
    train_loss : sequence of float
        Mean training loss of each epoch (with label smoothing and dropout, as trained).
    val_loss : sequence of float, optional
        Validation loss after each epoch (plain log loss, or mean squared error on the
        standardised target).
    best_epoch : int, optional
        The epoch kept, 1-based.
    name : str, default=""
        The model, for the title.
    loss_name : str, default="loss"

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    lines_ : list of Line2D
        Training, then validation when given.
    """

    def __init__(
        self,
        *,
        train_loss: Sequence[float],
        val_loss: Sequence[float] | None = None,
        best_epoch: int | None = None,
        name: str = "",
        loss_name: str = "loss",
    ) -> None:
        self.train_loss = np.asarray(train_loss, dtype=float)
        self.val_loss = None if val_loss is None or not len(val_loss) else np.asarray(val_loss, dtype=float)
        if not len(self.train_loss):
            raise ValueError("train_loss holds no epoch")
        self.best_epoch = best_epoch
        self.name = name
        self.loss_name = loss_name

    @classmethod
    def from_history(
        cls, history: dict, *, name: str = "", classification: bool = True, ax: Axes | None = None
    ):
        """Draw from a fitted network's ``history_`` (see :class:`~modelworks.neural.MLPClassifier`)."""
        return cls(
            train_loss=history["train_loss"],
            val_loss=history.get("val_loss"),
            best_epoch=history.get("best_epoch"),
            name=name,
            loss_name="log loss" if classification else "MSE (standardised target)",
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the curves on ``ax``; return self."""
        self.lines_ = []
        with _style.style():
            fig, ax = _style.new_axes(ax)
            epochs = np.arange(1, len(self.train_loss) + 1)
            (line,) = ax.plot(epochs, self.train_loss, color=_style.color(0), label="training")
            self.lines_.append(line)
            if self.val_loss is not None:
                (line,) = ax.plot(
                    np.arange(1, len(self.val_loss) + 1),
                    self.val_loss,
                    color=_style.color(1),
                    label="validation",
                )
                self.lines_.append(line)
            if self.best_epoch:
                ax.axvline(
                    self.best_epoch,
                    color="0.4",
                    linestyle="--",
                    linewidth=1,
                    label=f"kept: epoch {self.best_epoch}",
                )
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"{self.loss_name} (lower is better)")
            ax.set_title(f"Training curve{f' of {self.name}' if self.name else ''}")
            ax.legend(loc="best")
        self.figure_, self.ax_ = fig, ax
        return self
