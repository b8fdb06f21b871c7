"""An image classifier on PyTorch as a scikit-learn estimator: the article's network or a small
residual network, trained with AdamW on a cosine schedule, early stopping on a validation part, light
augmentation, per-epoch curves, and the run's deadline."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

#: Augmentations: random shifts of up to a tenth of the side, and horizontal flips with them.
AUGMENTS = ("none", "shift", "shift+flip")
DEVICES = ("auto", "cpu", "cuda")


def batch_for(n: int, most: int) -> int:
    """Images per step: ``most``, but small sets are cut into at least 16 batches (of 16 or more)."""
    return int(min(most, max(16, n // 16)))


def new_history(device: str) -> dict[str, Any]:
    """An empty per-epoch record of a fit (see :attr:`ImageClassifier.history_`)."""
    history: dict[str, Any] = {k: [] for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
    history.update(seconds=[], images_per_second=[], device=device)
    return history


def resolve_device(device: str) -> str:
    """``"cuda"`` when asked for or, with ``"auto"``, when a GPU is present; ``"cpu"`` otherwise."""
    import torch

    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        from modelworks.errors import ConfigError

        raise ConfigError(
            "--device cuda was asked for, but PyTorch sees no CUDA GPU; use --device auto or cpu"
        )
    return "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """Classify images of one size (``uint8`` arrays of shape (n, height, width, channels)).

    Parameters
    ----------
    architecture : {"cnn", "resnet"}
        The article's network (:class:`~modelworks.models.neural._image_nets.ArticleCNN`) or a small residual
        network.
    max_epochs : int
        Epochs at most (the cosine schedule's length).
    batch_size : int
        Images per step, at most: a set of fewer than ``16 * batch_size`` images is cut into 16
        batches an epoch (of at least 16 images).
    learning_rate, weight_decay : float
        AdamW's.
    label_smoothing : float
    augment : {"none", "shift", "shift+flip"}
        Random shifts of up to a tenth of the side (and horizontal flips: only where a mirrored image
        keeps its class, which is not so for digits or letters).
    patience : int
        Epochs without a lower validation loss that stop the fit (with a validation part).
    device : {"auto", "cpu", "cuda"}
        Where it trains; it always predicts and is saved on the CPU.
    n_jobs : int or None
        PyTorch threads on the CPU (capped by ``OMP_NUM_THREADS``; ``None``: every core).
    random_state : int

    Attributes
    ----------
    classes_ : ndarray
    config_ : dict
        The network's JSON description.
    weights_ : dict of str to ndarray
    mean_, std_ : ndarray
        Per-channel normalisation of the pixels (scaled to [0, 1]).
    history_ : dict
        Per epoch: ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``, ``seconds``,
        ``images_per_second``; ``best_epoch``, ``stopped`` ("early", "completed" or "deadline"),
        ``planned_epochs`` (with a deadline, the epochs that fit by it, measured on the first: the
        cosine schedule is fitted to them) and the ``device``.
    """

    def __init__(
        self,
        architecture: str = "cnn",
        max_epochs: int = 30,
        batch_size: int = 128,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.05,
        augment: str = "shift",
        patience: int = 6,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state: int = 0,
    ):
        self.architecture = architecture
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.patience = patience
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state

    _net: Any = None

    def fit(
        self,
        X,
        y,
        X_val=None,
        y_val=None,
        *,
        deadline: float | None = None,
        on_epoch: Callable[[int, dict], None] | None = None,
    ):
        """Train on ``(X, y)``; with ``(X_val, y_val)``, keep the epoch of least validation loss and
        stop after ``patience`` epochs without improvement. At ``deadline`` (``time.perf_counter()``)
        the fit ends with the best epoch so far and says so in ``history_["stopped"]``; ``on_epoch(i,
        record)`` is called after every epoch (a progress display)."""
        import torch
        from torch import nn

        from modelworks.models.neural import _image_nets
        from modelworks.models.neural._train import thread_count, torch_threads

        if self.architecture not in _image_nets.ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(_image_nets.ARCHITECTURES)}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTS)}")
        X = self._check(X, fitting=True)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        scaled = X.astype(np.float32) / 255
        self.mean_ = scaled.mean(axis=(0, 1, 2)).astype(np.float32)
        self.std_ = (scaled.std(axis=(0, 1, 2)) + 1e-6).astype(np.float32)
        n, h, w, c = X.shape
        self.config_ = {
            "format": _image_nets.FORMAT,
            "version": _image_nets.VERSION,
            "architecture": self.architecture,
            "height": int(h),
            "width": int(w),
            "channels": int(c),
            "n_classes": len(self.classes_),
        }
        device = resolve_device(self.device)
        val = None
        if X_val is not None and len(X_val):
            val_y = np.searchsorted(self.classes_, np.asarray(y_val))
            val = (self._tensor(self._check(X_val)), torch.from_numpy(val_y.astype(np.int64)))
        history = new_history(device)
        stopped, best, best_loss = "completed", None, math.inf
        with torch.random.fork_rng(devices=[]), torch_threads(thread_count(self.n_jobs)):
            torch.manual_seed(self.random_state)
            net = _image_nets.build(self.config_).to(device)
            images = self._tensor(X)
            target = torch.from_numpy(codes.astype(np.int64))
            # small sets get smaller batches: at least 16 steps an epoch
            batch_size = batch_for(n, self.batch_size)
            steps = max(1, math.ceil(n / batch_size))
            # the cosine's length in steps: shortened after the first epoch when the deadline allows
            # fewer epochs, so that the learning rate still decays to zero by then
            total = [self.max_epochs * steps]
            planned = self.max_epochs
            optimizer = torch.optim.AdamW(
                net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            schedule = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total[0]) / total[0]))
            )
            loss_fn = nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)
            order = torch.Generator().manual_seed(self.random_state)
            waited = 0
            for epoch in range(self.max_epochs):
                if epoch >= planned:
                    break
                start = time.perf_counter()
                net.train()
                perm = torch.randperm(n, generator=order)
                seen, total_loss, right, late = 0, 0.0, 0, False
                for first in range(0, n, batch_size):
                    rows = perm[first : first + batch_size]
                    if len(rows) < 2 and seen:  # batch norm needs two images
                        continue
                    batch = _augment(images[rows], self.augment, order).to(device)
                    labels = target[rows].to(device)
                    optimizer.zero_grad(set_to_none=True)
                    out = net(batch)
                    loss = loss_fn(out, labels)
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                    total_loss += loss.item() * len(rows)
                    right += int((out.argmax(1) == labels).sum())
                    seen += len(rows)
                    if deadline is not None and time.perf_counter() >= deadline:
                        late = True
                        break
                if late:
                    stopped = "deadline"
                    break
                seconds = time.perf_counter() - start
                record = {"train_loss": total_loss / seen, "train_accuracy": right / seen}
                if val is not None:
                    proba, val_loss = _evaluate(
                        net, val[0], val[1], device, loss_fn_plain=nn.CrossEntropyLoss()
                    )
                    record.update(
                        val_loss=val_loss, val_accuracy=float((proba.argmax(1) == val[1]).float().mean())
                    )
                record.update(seconds=seconds, images_per_second=seen / seconds)
                for key, value in record.items():
                    history[key].append(float(value))
                if on_epoch is not None:
                    on_epoch(epoch, record)
                if epoch == 0 and deadline is not None:
                    spent = time.perf_counter() - start  # training and validation of one epoch
                    fits = 1 + int((deadline - time.perf_counter()) / spent)
                    if fits < planned:
                        planned = max(fits, 1)
                        total[0] = planned * steps
                history["planned_epochs"] = planned
                loss_now = record.get("val_loss", record["train_loss"])
                if loss_now < best_loss:
                    best_loss, waited = loss_now, 0
                    best = {k: v.detach().to("cpu").clone() for k, v in net.state_dict().items()}
                    history["best_epoch"] = epoch + 1
                else:
                    waited += 1
                    if val is not None and waited >= self.patience:
                        stopped = "early"
                        break
        if best is None:
            raise TimeoutError("the deadline came before the first epoch ended")
        history["stopped"] = stopped
        self.weights_ = {k: v.numpy().copy() for k, v in best.items()}
        self.history_ = history
        self._net = None
        return self

    def epoch_seconds(self, n: int, shape: tuple[int, int, int], n_classes: int, steps: int = 3) -> float:
        """Estimated seconds of one training epoch on ``n`` images of ``shape`` (height, width,
        channels): ``steps`` timed steps on random pixels, after one untimed."""
        import torch

        from modelworks.models.neural import _image_nets
        from modelworks.models.neural._train import thread_count, torch_threads

        h, w, c = shape
        config = {
            "architecture": self.architecture,
            "height": h,
            "width": w,
            "channels": c,
            "n_classes": n_classes,
        }
        batch = batch_for(n, self.batch_size)
        device = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]), torch_threads(thread_count(self.n_jobs)):
            net = _image_nets.build(config).to(device)
            optimizer = torch.optim.AdamW(net.parameters())
            images = torch.randn(batch, c, h, w, device=device)
            labels = torch.randint(0, n_classes, (batch,), device=device)
            start = time.perf_counter()
            for i in range(steps + 1):
                if i == 1:
                    start = time.perf_counter()
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(net(images), labels).backward()
                optimizer.step()
            per_step = (time.perf_counter() - start) / steps
        return per_step * math.ceil(n / batch)

    def _check(self, X, fitting: bool = False) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 3:
            X = X[..., None]
        if X.ndim != 4:
            raise ValueError(f"expected images of shape (n, height, width, channels), got {X.shape}")
        if not fitting and X.shape[1:] != (
            self.config_["height"],
            self.config_["width"],
            self.config_["channels"],
        ):
            raise ValueError(
                f"images of shape {X.shape[1:]}, but the network was trained on "
                f"{(self.config_['height'], self.config_['width'], self.config_['channels'])}"
            )
        return X

    def _tensor(self, X: np.ndarray):
        import torch

        scaled = (X.astype(np.float32) / 255 - self.mean_) / self.std_
        return torch.from_numpy(np.ascontiguousarray(scaled.transpose(0, 3, 1, 2)))

    def predict_proba(self, X) -> np.ndarray:
        import torch

        from modelworks.models.neural import _image_nets
        from modelworks.models.neural._train import thread_count, torch_threads

        X = self._check(X)
        with torch_threads(thread_count(self.n_jobs)):
            if self._net is None:
                self._net = _image_nets.build(self.config_, self.weights_)
            self._net.eval()
            out = []
            with torch.no_grad():
                for first in range(0, len(X), 512):
                    out.append(torch.softmax(self._net(self._tensor(X[first : first + 512])), dim=1))
        if not out:
            return np.empty((0, len(self.classes_)))
        proba = torch.cat(out).numpy().astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)  # exactly 1 in double precision

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_net", None)
        return state


def _augment(batch, augment: str, generator):
    """Random shifts of up to a tenth of the side (zero padding, which is the mean after
    normalisation) and, with flips, horizontal mirroring; one draw per image."""
    import torch

    if augment == "none":
        return batch
    n, _, h, w = batch.shape
    pad = max(1, round(0.1 * max(h, w)))
    padded = torch.nn.functional.pad(batch, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    shifted = torch.stack(
        [
            padded[i, :, y : y + h, x : x + w]
            for i, (y, x) in enumerate(zip(dy.tolist(), dx.tolist(), strict=True))
        ]
    )
    if augment == "shift+flip":
        flip = torch.rand(n, generator=generator) < 0.5
        shifted[flip] = shifted[flip].flip(3)
    return shifted


def _evaluate(net, images, labels, device: str, loss_fn_plain, batch: int = 1024):
    import torch

    net.eval()
    outs = []
    with torch.no_grad():
        for first in range(0, len(images), batch):
            outs.append(net(images[first : first + batch].to(device)).to("cpu"))
    logits = torch.cat(outs)
    return torch.softmax(logits, 1), float(loss_fn_plain(logits, labels))
