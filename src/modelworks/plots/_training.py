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
    train_accuracy, val_accuracy : sequence of float, optional
        Accuracy per epoch (image networks): drawn in a second panel beside the loss.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    lines_ : list of Line2D
        Training, then validation when given (loss; accuracy follows in ``accuracy_lines_``).
    accuracy_lines_ : list of Line2D
    """

    def __init__(
        self,
        *,
        train_loss: Sequence[float],
        val_loss: Sequence[float] | None = None,
        best_epoch: int | None = None,
        name: str = "",
        loss_name: str = "loss",
        train_accuracy: Sequence[float] | None = None,
        val_accuracy: Sequence[float] | None = None,
    ) -> None:
        self.train_loss = np.asarray(train_loss, dtype=float)
        self.val_loss = None if val_loss is None or not len(val_loss) else np.asarray(val_loss, dtype=float)
        if not len(self.train_loss):
            raise ValueError("train_loss holds no epoch")
        self.best_epoch = best_epoch
        self.name = name
        self.loss_name = loss_name
        self.train_accuracy = None if not train_accuracy else np.asarray(train_accuracy, dtype=float)
        self.val_accuracy = None if not val_accuracy else np.asarray(val_accuracy, dtype=float)

    @classmethod
    def from_history(
        cls, history: dict, *, name: str = "", classification: bool = True, ax: Axes | None = None
    ):
        """Draw from a fitted network's ``history_`` (see
        :class:`~modelworks.models.neural.MLPClassifier`)."""
        return cls(
            train_loss=history["train_loss"],
            val_loss=history.get("val_loss"),
            best_epoch=history.get("best_epoch"),
            name=name,
            loss_name="log loss" if classification else "MSE (standardised target)",
            train_accuracy=history.get("train_accuracy"),
            val_accuracy=history.get("val_accuracy"),
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the loss (and, when known, the accuracy in a second panel); return self. With
        accuracy, ``ax`` may be a pair of axes."""
        self.lines_, self.accuracy_lines_ = [], []
        with _style.style():
            if self.train_accuracy is None:
                fig, ax = _style.new_axes(ax)
                axes = [ax]
            elif ax is None:
                import matplotlib.pyplot as plt

                fig, pair = plt.subplots(1, 2, figsize=(9.6, 3.6), layout="constrained")
                axes = list(pair)
            else:
                axes = list(ax)  # type: ignore[call-overload]  # a pair of axes
                fig = axes[0].figure
            self.lines_ = self._draw(
                axes[0], self.train_loss, self.val_loss, f"{self.loss_name} (lower is better)"
            )
            if self.train_accuracy is not None:
                self.accuracy_lines_ = self._draw(
                    axes[1], self.train_accuracy, self.val_accuracy, "accuracy (higher is better)"
                )
            axes[0].set_title(f"Training curve{f' of {self.name}' if self.name else ''}")
        self.figure_, self.ax_ = fig, axes[0] if len(axes) == 1 else axes
        return self

    def _draw(self, ax: Axes, train: np.ndarray, val: np.ndarray | None, ylabel: str) -> list:
        lines = []
        (line,) = ax.plot(np.arange(1, len(train) + 1), train, color=_style.color(0), label="training")
        lines.append(line)
        if val is not None:
            (line,) = ax.plot(np.arange(1, len(val) + 1), val, color=_style.color(1), label="validation")
            lines.append(line)
        if self.best_epoch:
            ax.axvline(
                self.best_epoch,
                color="0.4",
                linestyle="--",
                linewidth=1,
                label=f"kept: epoch {self.best_epoch}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend(loc="best")
        return lines
