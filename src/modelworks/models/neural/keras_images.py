"""The article's network in Keras 3 on the PyTorch backend (``--backend keras``; ``pip install
modelworks[keras]``; TensorFlow is not needed).

The same network as :class:`~modelworks.models.neural._image_nets.ArticleCNN` (convolution 32 → pooling →
convolution 64 → pooling → dense 128 → softmax, batch normalisation and dropout), trained by Keras'
own ``fit`` with the same early stopping on the validation part and the run's deadline, and saved as a
``.keras`` file (a zip of JSON configuration and weights) that is loaded with ``safe_mode=True``, which
refuses any serialised Python code, by Keras 3.13.2 or later, and only after
:func:`~modelworks.models.neural._keras_check.check_archive` found in it nothing but the classes saved here.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from modelworks.errors import BundleError, ConfigError
from modelworks.models.neural._keras_check import check_archive, keras_version_problem
from modelworks.models.neural.images import batch_for, new_history

_AGAIN = "save the bundle again with modelworks"


def keras_module() -> Any:
    """Keras on the PyTorch backend (imported on first use)."""
    import sys

    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
    except ImportError:
        raise ConfigError("--backend keras needs Keras 3: pip install 'modelworks[keras]'") from None
    if keras.backend.backend() != "torch":
        raise ConfigError(
            f"Keras is already running on {keras.backend.backend()}; set KERAS_BACKEND=torch before starting"
        )
    return keras


class KerasImageClassifier(ClassifierMixin, BaseEstimator):
    """The article's network in Keras (parameters as :class:`~modelworks.models.neural.ImageClassifier`'s;
    augmentation by Keras' ``RandomTranslation`` and ``RandomFlip`` layers, active in training only).

    Attributes
    ----------
    classes_ : ndarray
    model_bytes_ : bytes
        The trained model as a ``.keras`` archive.
    history_ : dict
        As :class:`~modelworks.models.neural.ImageClassifier`'s.
    """

    def __init__(
        self,
        max_epochs: int = 30,
        batch_size: int = 128,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        augment: str = "shift",
        patience: int = 6,
        random_state: int = 0,
    ):
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.augment = augment
        self.patience = patience
        self.random_state = random_state

    _model: Any = None

    def _network(self, keras, shape: tuple[int, int, int], n_classes: int, mean, std):
        layers = keras.layers
        h, w, _ = shape
        stack: list[Any] = [
            keras.Input(shape),
            layers.Rescaling(1 / 255),
            layers.Normalization(mean=mean, variance=std**2),
        ]
        if self.augment != "none":
            stack.append(layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=self.random_state))
        if self.augment == "shift+flip":
            stack.append(layers.RandomFlip("horizontal", seed=self.random_state))
        for width in (32, 64):
            stack += [layers.Conv2D(width, 3, padding="same"), layers.BatchNormalization(), layers.ReLU()]
            if min(h, w) >= 4:
                stack.append(layers.MaxPooling2D(2))
                h, w = h // 2, w // 2
        stack += [
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(n_classes, activation="softmax"),
        ]
        return keras.Sequential(stack)

    def fit(
        self, X, y, X_val=None, y_val=None, *, deadline: float | None = None, on_epoch: Callable | None = None
    ):
        """Train with Keras' ``fit`` (see :meth:`ImageClassifier.fit`)."""
        keras = keras_module()
        keras.utils.set_random_seed(self.random_state)
        X = np.asarray(X)
        X = X[..., None] if X.ndim == 3 else X
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        scaled = X.astype(np.float32) / 255
        mean, std = scaled.mean(axis=(0, 1, 2)), scaled.std(axis=(0, 1, 2)) + 1e-6
        model = self._network(keras, X.shape[1:], len(self.classes_), mean, std)
        n = len(X)
        batch = batch_for(n, self.batch_size)
        steps = max(1, -(-n // batch)) * self.max_epochs
        schedule = keras.optimizers.schedules.CosineDecay(self.learning_rate, steps)
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=self.weight_decay),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = new_history("cpu")
        state: dict[str, Any] = {"start": 0.0, "late": False, "best": None, "best_loss": np.inf, "waited": 0}
        patience = self.patience

        class Watch(keras.callbacks.Callback):  # type: ignore[name-defined]
            def on_epoch_begin(self, epoch, logs=None):
                state["start"] = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                if deadline is not None and time.perf_counter() >= deadline:
                    state["late"] = True
                    self.model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                seconds = time.perf_counter() - state["start"]
                record = {"train_loss": logs["loss"], "train_accuracy": logs["accuracy"]}
                if "val_loss" in logs:
                    record.update(val_loss=logs["val_loss"], val_accuracy=logs["val_accuracy"])
                record.update(seconds=seconds, images_per_second=n / seconds)
                for key, value in record.items():
                    history[key].append(float(value))
                if on_epoch is not None:
                    on_epoch(epoch, record)
                loss = record.get("val_loss", record["train_loss"])
                if loss < state["best_loss"]:
                    state.update(best=self.model.get_weights(), best_loss=loss, waited=0)
                    history["best_epoch"] = epoch + 1
                else:
                    state["waited"] += 1
                    if "val_loss" in record and state["waited"] >= patience:
                        self.model.stop_training = True

        validation = None
        callbacks: list[Any] = [Watch()]
        if X_val is not None and len(X_val):
            X_val = np.asarray(X_val)
            X_val = X_val[..., None] if X_val.ndim == 3 else X_val
            validation = (X_val, np.searchsorted(self.classes_, np.asarray(y_val)))
        model.fit(
            X,
            codes,
            batch_size=batch,
            epochs=self.max_epochs,
            validation_data=validation,
            callbacks=callbacks,
            verbose=0,
        )
        if not history["train_loss"]:
            raise TimeoutError("the deadline came before the first epoch ended")
        model.set_weights(state["best"])  # the epoch of least validation loss
        done = len(history["train_loss"])
        history["stopped"] = (
            "deadline" if state["late"] else ("early" if done < self.max_epochs else "completed")
        )
        self.history_ = history
        self.model_bytes_ = _to_bytes(model)
        self._model = model
        return self

    def predict_proba(self, X) -> np.ndarray:
        X = np.asarray(X)
        X = X[..., None] if X.ndim == 3 else X
        if self._model is None:
            self._model = _from_bytes(self.model_bytes_)
        proba = np.asarray(self._model.predict(X, verbose=0, batch_size=512), dtype=np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_model", None)
        return state


def _to_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _from_bytes(data: bytes):
    """The Keras model of an archive, checked again here (whoever set ``model_bytes_``).

    Raises
    ------
    BundleError
        When the archive is refused, the Keras installed is older than 3.13.2, or Keras cannot build
        the model (its safe mode refusing it included).
    """
    problem = check_archive(data)
    if problem:
        raise BundleError(f"the Keras network's archive {problem}; refusing to load it; {_AGAIN}")
    keras = keras_module()
    problem = keras_version_problem(str(keras.__version__))
    if problem:
        raise BundleError(problem)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:
            text = " ".join(str(exc).split())[:200]
            raise BundleError(
                f"Keras could not build the network of the bundle ({type(exc).__name__}: "
                f"{ascii(text)[1:-1]}); refusing to load it; {_AGAIN}"
            ) from None


def build_networks(model: Any) -> None:
    """Build now the Keras network of every :class:`KerasImageClassifier` in ``model`` that was loaded
    from a bundle (each is otherwise built from its archive at its first prediction).

    Parameters
    ----------
    model : estimator
        A loaded bundle's model (a pipeline or a classifier); one without a Keras network is left as is.

    Raises
    ------
    BundleError
        As :meth:`KerasImageClassifier.predict_proba` would on first use.
    """
    from modelworks.models.threads import fitted_parts

    for net in fitted_parts(model):
        if isinstance(net, KerasImageClassifier) and hasattr(net, "model_bytes_") and net._model is None:
            net._model = _from_bytes(net.model_bytes_)
