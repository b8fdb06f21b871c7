"""The training loop of the tabular network: AdamW, cosine learning-rate decay, early stopping on a
validation part, the run's deadline, and one seeded random stream that leaves the global one alone."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from modelworks.models.boosting import Stopping
from modelworks.models.neural._network import build


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """PyTorch's intra-operator threads set to ``n`` inside, put back on exit."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


def thread_count(n_jobs: int | None) -> int:
    """Threads for ``n_jobs`` (``None``: every core), never more than ``OMP_NUM_THREADS`` allows: the
    fold workers and ``make`` set it to 1, because a small network's steps on two threads of a busy
    2-core machine varied tenfold in time (``STACK.md``)."""
    n = n_jobs if n_jobs and n_jobs > 0 else os.cpu_count() or 1
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(n, int(cap))) if cap.isdigit() and int(cap) > 0 else max(1, n)


@dataclass
class Data:
    """Rows as the network takes them: scaled numbers, categorical codes (0: missing or unseen), and
    the target (class indices, or standardised values)."""

    numeric: np.ndarray
    codes: np.ndarray
    target: np.ndarray | None = None

    def tensors(self, rows=slice(None)) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(self.numeric[rows]), torch.from_numpy(self.codes[rows])


@dataclass
class Settings:
    learning_rate: float
    weight_decay: float
    batch_size: int
    schedule_epochs: int  # the cosine decay's length
    epochs: int  # epochs to run (at most)
    label_smoothing: float
    seed: int
    threads: int
    patience: int = 0  # 0: no early stopping
    deadline: float | None = None


@dataclass
class Trained:
    weights: dict[str, np.ndarray]
    history: dict = field(default_factory=dict)
    rounds: int = 0
    late: bool = False


def _loss(classification: bool, smoothing: float = 0.0) -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=smoothing) if classification else nn.MSELoss()


def outputs(net: nn.Module, data: Data, batch: int = 8192) -> torch.Tensor:
    """The network's raw outputs for every row of ``data`` (evaluation mode, no gradients)."""
    net.eval()
    with torch.no_grad():
        parts = [net(*data.tensors(slice(i, i + batch))) for i in range(0, len(data.numeric), batch)]
    return torch.cat(parts) if parts else torch.empty(0)


def train(config: dict, data: Data, val: Data | None, settings: Settings) -> Trained:
    """Train a network of ``config`` on ``data``; with ``val`` and a patience, keep the weights of the
    epoch of least validation loss and stop when it has not improved for the adaptive patience
    (:class:`~modelworks.models.boosting.Stopping`). At ``settings.deadline`` the fit ends and says so
    (:attr:`Trained.late`)."""
    classification = data.target is not None and data.target.dtype.kind == "i"
    with torch.random.fork_rng(devices=[]), torch_threads(settings.threads):
        torch.manual_seed(settings.seed)
        net = build(config)
        n = len(data.numeric)
        steps = max(1, math.ceil(n / settings.batch_size))
        total = settings.schedule_epochs * steps
        optimizer = torch.optim.AdamW(
            net.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        )
        order = torch.Generator().manual_seed(settings.seed)
        fit_loss, plain_loss = _loss(classification, settings.label_smoothing), _loss(classification)
        target = torch.from_numpy(data.target)
        val_target = None if val is None else torch.from_numpy(val.target)
        stopping = Stopping(settings.patience or 1, settings.deadline)
        history: dict[str, Any] = {"train_loss": [], "val_loss": []}
        best: dict[str, torch.Tensor] | None = None
        late = False
        for epoch in range(settings.epochs):
            net.train()
            perm = torch.randperm(n, generator=order)
            total_loss = 0.0
            for start in range(0, n, settings.batch_size):
                rows = perm[start : start + settings.batch_size]
                optimizer.zero_grad(set_to_none=True)
                out = net(*data.tensors(rows.numpy()))
                loss = fit_loss(out if classification else out.squeeze(1), target[rows])
                loss.backward()
                optimizer.step()
                schedule.step()
                total_loss += loss.item() * len(rows)
                if settings.deadline is not None and time.perf_counter() >= settings.deadline:
                    late = True
                    break
            if late:
                break
            history["train_loss"].append(total_loss / n)
            if val is None or not settings.patience:
                continue
            out = outputs(net, val)
            val_loss = float(plain_loss(out.squeeze(1) if not classification else out, val_target))
            history["val_loss"].append(val_loss)
            improved = val_loss < stopping.best_loss
            stop = stopping.stop(epoch, val_loss)
            if improved:
                best = {k: v.detach().clone() for k, v in net.state_dict().items()}
            if stop:
                late = stopping.late
                break
        if best is not None:
            net.load_state_dict(best)
        rounds = stopping.rounds if best is not None else len(history["train_loss"])
        history["best_epoch"] = rounds
        weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return Trained(weights, history, rounds, late)
