"""A tabular neural network as a scikit-learn estimator, on PyTorch.

The defaults follow RealMLP-TD-S (Holzmüller et al. 2024, "Better by default: strong pre-tuned MLPs
and boosted trees on tabular data", NeurIPS): numbers robustly scaled (:func:`robust_scale`) and
smoothly clipped, a learned scale
per feature, three hidden layers of 256 units (SELU for classes, Mish for values), dropout 0.15, label
smoothing 0.1, AdamW with the learning rate decayed along a cosine, batches of 256, and the epoch of
least validation loss.
Where RealMLP parametrises its layers for a learning rate of 0.04 (neural tangent parametrisation),
these layers are PyTorch's standard ones, which take Adam's usual 1e-3 (2e-3 for regression).
Categorical columns arrive as ordinal codes and are embedded (AutoGluon's sizes:
``1.6 * levels ** 0.56``, here at most 32).

A thin estimator of our own rather than skorch: the fitted state is plain NumPy arrays (weights) and
JSON-able settings, so the bundle saves it as safetensors plus a description without pickling a
module, an optimiser or callbacks; and the early stopping, deadline and final refit are the ones the
boosters use (:mod:`modelworks.models.boosting`). PyTorch is imported on the first fit or prediction.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from modelworks.models.neural._describe import FORMAT, VERSION

#: Most epochs of the ``"auto"`` schedule, and fewest.
MOST_EPOCHS, LEAST_EPOCHS = 256, 16


def robust_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RealMLP's robust scaling of each column: ``(x - median) * factor``, the factor ``1 / IQR``, or
    ``2 / (max - min)`` where the quartiles are equal (a mostly-zero column such as a capital gain, or
    a missing indicator), or 0 for a constant column. Returns ``(center, factor)``."""
    if not X.shape[1]:
        return np.zeros(0), np.zeros(0)
    q1, median, q3 = np.quantile(X, [0.25, 0.5, 0.75], axis=0)
    spread, width = q3 - q1, X.max(axis=0) - X.min(axis=0)
    with np.errstate(divide="ignore"):
        factor = np.where(spread > 0, 1 / spread, np.where(width > 0, 2 / width, 0.0))
    return median, factor


def embedding_size(levels: int) -> int:
    """Embedding width of a categorical input with ``levels`` codes (AutoGluon's rule, capped)."""
    return int(min(32, max(2, round(1.6 * levels**0.56))))


class _TabularNetwork(BaseEstimator):
    """Shared by :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _classification = False
    _net: Any = None  # the PyTorch module, built on first use (never saved)
    #: Defaults of ``activation`` and ``learning_rate`` (RealMLP: SELU for classes, Mish for values).
    _activation, _learning_rate = "mish", 2e-3

    def __init__(
        self,
        categorical: tuple[int, ...] | list[int] = (),
        hidden: tuple[int, ...] = (256, 256, 256),
        activation: str | None = None,
        dropout: float = 0.15,
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int | str = "auto",
        max_steps: int = 2000,
        epochs: int | None = None,
        label_smoothing: float = 0.1,
        n_jobs: int | None = 1,
        random_state: int = 0,
    ):
        self.categorical = categorical
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.epochs = epochs
        self.label_smoothing = label_smoothing
        self.n_jobs = n_jobs
        self.random_state = random_state

    # fitting

    def fit(self, X, y):
        """Train for ``epochs`` epochs when set (a final refit), else the whole schedule."""
        self._fit(X, y, None, None, 0, None)
        return self

    def fit_stopping(self, X, y, X_val, y_val, patience: int, deadline: float | None) -> tuple[int, bool]:
        """Train, keeping the epoch of least loss on ``(X_val, y_val)`` and stopping after ``patience``
        epochs at most without improvement, or at ``deadline`` (``time.perf_counter()``).

        Returns
        -------
        rounds : int
            Epochs up to the best one.
        late : bool
            Whether the deadline ended the fit.
        """
        return self._fit(X, y, X_val, y_val, patience, deadline)

    def _fit(self, X, y, X_val, y_val, patience: int, deadline: float | None) -> tuple[int, bool]:
        from modelworks.models.neural import _train

        data = self._data(X, fitting=True)
        data.target = self._fit_target(y)
        val = None
        if X_val is not None and patience:
            val = self._data(X_val)
            val.target = self._target(y_val)
        n = len(data.numeric)
        batch = int(min(self.batch_size, max(n, 1)))
        steps = max(1, math.ceil(n / batch))
        auto = int(min(MOST_EPOCHS, max(LEAST_EPOCHS, math.ceil(self.max_steps / steps))))
        schedule = self.epochs or (auto if self.max_epochs == "auto" else int(self.max_epochs))
        cards = self.cardinalities_
        self.config_ = {
            "format": FORMAT,
            "version": VERSION,
            "n_numeric": int(data.numeric.shape[1]),
            "cardinalities": cards,
            "embedding_dims": [embedding_size(c) for c in cards],
            "hidden": [int(h) for h in self.hidden],
            "activation": self.activation or self._activation,
            "dropout": float(self.dropout),
            "n_outputs": len(self.classes_) if self._classification else 1,
        }
        settings = _train.Settings(
            learning_rate=self.learning_rate or self._learning_rate,
            weight_decay=self.weight_decay,
            batch_size=batch,
            schedule_epochs=schedule,
            epochs=schedule,
            label_smoothing=self.label_smoothing if self._classification else 0.0,
            seed=int(self.random_state or 0),
            threads=_train.thread_count(self.n_jobs),
            patience=patience if val is not None else 0,
            deadline=deadline,
        )
        trained = _train.train(self.config_, data, val, settings)
        self.weights_ = trained.weights
        self.history_ = trained.history
        self.history_["epochs"] = schedule
        self.history_["stopped"] = (
            "deadline" if trained.late else ("early" if val is not None else "completed")
        )
        self._net = None
        return trained.rounds, trained.late

    def _data(self, X, fitting: bool = False):
        from modelworks.models.neural._train import Data

        if hasattr(X, "toarray"):
            X = X.toarray()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D table, got an array of shape {X.shape}")
        if fitting:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but the network was fitted on {self.n_features_in_}"
            )
        cat = np.zeros(X.shape[1], dtype=bool)
        cat[list(self.categorical)] = True
        raw = X[:, cat]
        codes = np.where(np.isfinite(raw) & (raw >= 0), raw + 1, 0).astype(np.int64)
        if fitting:
            self.cardinalities_ = [int(c.max(initial=0)) + 1 for c in codes.T]
        else:  # levels the fit never saw are "missing or unseen"
            codes[codes >= np.asarray(self.cardinalities_, dtype=np.int64)] = 0
        numeric = np.nan_to_num(X[:, ~cat], nan=0.0, posinf=0.0, neginf=0.0)
        if fitting:
            self.center_, self.scale_ = robust_scale(numeric)
        numeric = ((numeric - self.center_) * self.scale_).astype(np.float32)
        return Data(numeric, codes)

    # prediction

    def _outputs(self, X) -> np.ndarray:
        from modelworks.models.neural import _network, _train

        data = self._data(X)
        with _train.torch_threads(_train.thread_count(self.n_jobs)):
            net = getattr(self, "_net", None)
            if net is None:
                net = self._net = _network.build(self.config_, self.weights_)
            return _train.outputs(net, data).numpy().astype(np.float64)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_net", None)  # rebuilt from the description and the weights
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags


class MLPClassifier(ClassifierMixin, _TabularNetwork):
    """Tabular neural network for classification (see the module docstring for its defaults).

    Parameters
    ----------
    categorical : sequence of int
        Positions of the input columns holding ordinal codes (0, 1, …; negative or NaN: missing),
        each embedded.
    hidden : tuple of int
        Widths of the hidden layers.
    activation : {"selu", "mish", "relu", "gelu"}, optional
        SELU for classification, Mish for regression by default.
    dropout : float
    learning_rate : float, optional
        AdamW's, decayed to 0 along a cosine over the schedule; 1e-3 for classification, 2e-3 for
        regression by default (measured on four shared tables).
    weight_decay : float
    batch_size : int
    max_epochs : int or "auto"
        Length of the schedule; ``"auto"``: enough epochs for ``max_steps`` optimiser steps, between
        16 and 256.
    max_steps : int
    epochs : int or None
        Train exactly this many epochs (the schedule then has this length): the final refit, with the
        folds' best epochs.
    label_smoothing : float
    n_jobs : int or None
        PyTorch threads (capped by ``OMP_NUM_THREADS``).
    random_state : int

    Attributes
    ----------
    classes_ : ndarray
    config_ : dict
        The network's JSON description.
    weights_ : dict of str to ndarray
        The trained weights.
    history_ : dict
        Per-epoch ``train_loss`` and ``val_loss``, ``best_epoch``, ``epochs`` and how it ``stopped``.
    center_, scale_ : ndarray
        The robust scaling of the numeric inputs (:func:`robust_scale`).
    """

    _classification = True
    _activation, _learning_rate = "selu", 1e-3

    def _fit_target(self, y) -> np.ndarray:
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        return codes.astype(np.int64)

    def _target(self, y) -> np.ndarray:
        y = np.asarray(y)
        idx = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[idx], y):
            raise ValueError("the validation part holds classes the training part lacks")
        return idx.astype(np.int64)

    def predict_proba(self, X) -> np.ndarray:
        logits = self._outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self._outputs(X), axis=1)]


class MLPRegressor(RegressorMixin, _TabularNetwork):
    """Tabular neural network for regression, on a standardised target (parameters as
    :class:`MLPClassifier`'s; ``label_smoothing`` is ignored)."""

    def _fit_target(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        return self._target(y)

    def _target(self, y) -> np.ndarray:
        return ((np.asarray(y, dtype=np.float64) - self.y_mean_) / self.y_scale_).astype(np.float32)

    def predict(self, X) -> np.ndarray:
        return self._outputs(X)[:, 0] * self.y_scale_ + self.y_mean_
