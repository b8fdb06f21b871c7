"""Image classification from images to a saved bundle: the same honest evaluation as tables.

A stratified test set is held out first and used once; a stratified validation part of the rest
drives early stopping and the choice between the networks; each network trains in its share of the
time budget. On the test set every trained network gets its accuracy with a bootstrap interval, and
the chosen one is compared with each other by McNemar's test and a paired bootstrap of the accuracy
difference (:mod:`modelworks.evaluate.stats`).

:func:`run_images` is the run of ``modelworks run`` on images: read, split, train, test once, save,
each step told to an :class:`ImageEvents` (the command line prints them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, log_loss

from modelworks.errors import ConfigError
from modelworks.models.neural._image_data import ImageSet, from_arrays, read_images
from modelworks.models.neural.images import ImageClassifier, resolve_device
from modelworks.options import check_share
from modelworks.workflows._image_split import check_image_options, check_split_sizes, split_stratified

#: The networks compared, in order (the article's first: it is also the simpler).
MODELS = {"cnn": "Convolutional network (the article's)", "resnet": "Residual network"}
#: Seconds kept at the end of the budget for testing, the report and the bundle, plus a share of it.
FINISH_SECONDS, FINISH_SHARE = 6.0, 0.06
#: A network is trained only when its share of the budget affords this many epochs (estimated from a
#: few timed steps, times a margin for augmentation and validation); the dearest goes first.
LEAST_EPOCHS, PROBE_MARGIN = 5, 1.3


@dataclass
class ImageResult:
    """How one network trained (on the training part, judged on the validation part)."""

    name: str
    label: str
    model: Any = None  # ImageClassifier or KerasImageClassifier
    val_accuracy: float = float("nan")
    val_loss: float = float("nan")
    seconds: float = 0.0
    epochs: int = 0
    best_epoch: int = 0
    stopped: str = ""
    skipped: str | None = None

    def to_dict(self) -> dict:
        return {
            "model": self.name,
            "label": self.label,
            "val_accuracy": self.val_accuracy,
            "val_loss": self.val_loss,
            "seconds": round(self.seconds, 2),
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "stopped": self.stopped,
            "skipped": self.skipped,
        }


@dataclass
class ImageEvaluation:
    """The test set, scored once: every trained network's metrics with intervals, and the tests of
    the chosen network against each other."""

    chosen: str
    y: np.ndarray
    predictions: dict[str, np.ndarray]
    probabilities: dict[str, np.ndarray]
    metrics: dict[str, dict[str, Any]]
    comparisons: list[dict] = field(default_factory=list)


class ImageExperiment:
    """Train and compare image classifiers on labelled images, evaluate the best once, save it.

    Parameters
    ----------
    images : ImageSet or array
        An :class:`~modelworks.models.neural._image_data.ImageSet` (``read_images``), or ``uint8`` images of
        shape (n, height, width[, channels]).
    labels : array-like, optional
        One label per image, when ``images`` is an array.
    time_budget : float, optional
        Seconds for training, testing, the report and the bundle.
    models : sequence of {"cnn", "resnet"}
    test_size, val_size : float
        Shares of the images held out for the test set, then of the rest for validation.
    seed : int
    device : {"auto", "cpu", "cuda"}
    augment : {"none", "shift", "shift+flip"}
    max_epochs : int
    n_jobs : int, optional
        PyTorch threads (capped by ``OMP_NUM_THREADS``).
    alpha : float
        Significance level of the tests.
    on_epoch : callable, optional
        ``on_epoch(model_name, epoch, record)`` after every epoch (a progress display).
    test : ImageSet or (array, labels), optional
        A test set of its own (a published split); ``test_size`` is then not used.
    backend : {"torch", "keras"}
        ``"keras"``: the article's network in Keras 3 on the PyTorch backend
        (:class:`~modelworks.models.neural.keras_images.KerasImageClassifier`; ``cnn`` only).
    started : float, optional
        ``time.perf_counter()`` from which the budget counts (default: now); the command line passes
        the moment it started, so reading the images is inside the promise.
    """

    def __init__(
        self,
        images: ImageSet | np.ndarray,
        labels=None,
        *,
        time_budget: float | None = None,
        models: tuple[str, ...] | list[str] = ("cnn", "resnet"),
        test_size: float = 0.25,
        val_size: float = 0.15,
        seed: int = 0,
        device: str = "auto",
        augment: str = "shift",
        max_epochs: int = 30,
        n_jobs: int | None = None,
        alpha: float = 0.05,
        on_epoch: Callable[[str, int, dict], None] | None = None,
        test: ImageSet | tuple | None = None,
        started: float | None = None,
        backend: str = "torch",
    ):
        self.started = time.perf_counter() if started is None else started
        data = images if isinstance(images, ImageSet) else from_arrays(images, labels)
        if data.y is None:
            raise ConfigError("labels are needed: give one label per image")
        unknown = [m for m in models if m not in MODELS]
        if unknown or not models:
            raise ConfigError(
                f"unknown image model(s) {', '.join(unknown) or '(none)'}; choose from cnn, resnet"
            )
        check_image_options(time_budget, seed, test_size, max_epochs, backend, device, augment)
        if backend == "keras" and list(models) != ["cnn"]:
            if "cnn" not in models:
                raise ConfigError("the keras backend offers the article's network only: use --models cnn")
            models = ["cnn"]
        check_share(val_size, "val_size", example=0.15)
        self.data = data
        self.time_budget = time_budget
        self.models = list(models)
        self.backend = backend
        self.seed = seed
        self.device = resolve_device(device)
        self.augment = augment
        self.max_epochs = max_epochs
        self.n_jobs = n_jobs
        self.alpha = alpha
        self.on_epoch = on_epoch
        self.classes = data.classes
        counts = {c: int(n) for c, n in zip(*np.unique(data.y, return_counts=True), strict=True)}
        check_split_sizes(counts, None if test is not None else test_size, val_size)
        rows = np.arange(len(data.y))
        if test is not None:  # appended after the training images: the rows stay one index space
            held = test if isinstance(test, ImageSet) else from_arrays(*test, source="the test set")
            if held.y is None or held.X.shape[1:] != data.X.shape[1:]:
                raise ConfigError(
                    f"the test set needs labels and images of {data.X.shape[1:]} like the training images"
                )
            self.data = data = ImageSet(
                np.concatenate([data.X, held.X]), np.concatenate([data.y, held.y]), notices=data.notices
            )
            self.train_rows, self.test_rows = rows, np.arange(len(rows), len(self.labels))
        else:
            self.train_rows, self.test_rows = split_stratified(rows, test_size, self.labels, seed, "test")
        self.fit_rows, self.val_rows = split_stratified(
            self.train_rows, val_size, self.labels[self.train_rows], seed, "validation"
        )
        self.results: list[ImageResult] = []
        self._evaluation: ImageEvaluation | None = None

    @property
    def labels(self) -> np.ndarray:
        """The label of every image (training images first, then a given test set's)."""
        assert self.data.y is not None
        return self.data.y

    @property
    def task(self) -> str:
        return "binary" if len(self.classes) == 2 else "multiclass"

    def remaining(self) -> float:
        if self.time_budget is None:
            return float("inf")
        return self.time_budget - (time.perf_counter() - self.started)

    def compare(self) -> list[ImageResult]:
        """Train each network on the training part in its share of the budget (what is left, less the
        finishing reserve, over the networks left), early-stopped on the validation part."""
        if self.results:
            return self.results
        X, y = self.data.X, self.labels
        unaffordable = self._unaffordable()
        models = [m for m in self.models if m not in unaffordable]
        for name, why in unaffordable.items():
            self.results.append(ImageResult(name, MODELS[name], skipped=why))
        for i, name in enumerate(models):
            result = ImageResult(name, MODELS[name])
            deadline = None
            if self.time_budget is not None:
                reserve = FINISH_SECONDS + FINISH_SHARE * self.time_budget
                share = (self.remaining() - reserve) / (len(models) - i)
                if share <= 1.0:
                    result.skipped = "the time budget was spent before it could train"
                    self.results.append(result)
                    continue
                deadline = time.perf_counter() + share
            model: Any = ImageClassifier(
                architecture=name,
                max_epochs=self.max_epochs,
                augment=self.augment,
                device=self.device,
                n_jobs=self.n_jobs,
                random_state=self.seed,
            )
            if self.backend == "keras":
                from modelworks.models.neural.keras_images import KerasImageClassifier

                model = KerasImageClassifier(
                    max_epochs=self.max_epochs, augment=self.augment, random_state=self.seed
                )
            start = time.perf_counter()
            on_epoch = None
            if self.on_epoch is not None:
                on_epoch = lambda epoch, record, name=name: self.on_epoch(name, epoch, record)  # noqa: E731
            try:
                model.fit(
                    X[self.fit_rows],
                    y[self.fit_rows],
                    X[self.val_rows],
                    y[self.val_rows],
                    deadline=deadline,
                    on_epoch=on_epoch,
                )
            except TimeoutError:
                result.skipped = "its share of the time budget ended before its first epoch did"
                self.results.append(result)
                continue
            history = model.history_
            best = history["best_epoch"] - 1
            result.model = model
            result.seconds = time.perf_counter() - start
            result.val_accuracy = history["val_accuracy"][best]
            result.val_loss = history["val_loss"][best]
            result.epochs = len(history["train_loss"])
            result.best_epoch = best + 1
            result.stopped = history["stopped"]
            self.results.append(result)
        self.results.sort(key=lambda r: self.models.index(r.name))
        if not any(r.model is not None for r in self.results):
            raise ConfigError(
                "no network finished an epoch within the time budget; raise --time-budget or give fewer "
                "or smaller images"
            )
        return self.results

    def _unaffordable(self) -> dict[str, str]:
        """Networks whose equal share of the budget would not afford :data:`LEAST_EPOCHS` epochs,
        dearest first, while more than one is left: name → why."""
        if self.time_budget is None or len(self.models) < 2:
            return {}
        _, h, w, c = (int(v) for v in self.data.X.shape)
        n = len(self.fit_rows)
        cost = {
            name: PROBE_MARGIN
            * ImageClassifier(architecture=name, device=self.device, n_jobs=self.n_jobs).epoch_seconds(
                n, (h, w, c), len(self.classes)
            )
            for name in self.models
        }
        kept, dropped = list(self.models), {}
        while len(kept) > 1:
            share = (self.remaining() - FINISH_SECONDS - FINISH_SHARE * self.time_budget) / len(kept)
            dearest = max(kept, key=lambda m: cost[m])
            if share >= LEAST_EPOCHS * cost[dearest]:
                break
            kept.remove(dearest)
            dropped[dearest] = (
                f"an epoch would take about {cost[dearest]:.0f}s: fewer than {LEAST_EPOCHS} epochs fit in "
                "its share of the time budget, which the other network gets instead"
            )
        self.cost_estimates = cost
        return dropped

    @property
    def chosen(self) -> ImageResult:
        """The trained network of best validation accuracy (the first listed among equals)."""
        trained = [r for r in self.compare() if r.model is not None]
        return max(trained, key=lambda r: (r.val_accuracy, -self.models.index(r.name)))

    @property
    def best_model(self) -> Any:
        model = self.chosen.model
        assert model is not None
        return model

    def evaluate(self) -> ImageEvaluation:
        """Score every trained network on the test set (once), with 95% bootstrap intervals, and test
        the chosen one against each other (McNemar, paired bootstrap of accuracy)."""
        if self._evaluation is not None:
            return self._evaluation
        from modelworks.evaluate.stats import bootstrap_ci, mcnemar_test, paired_bootstrap

        X, y = self.data.X[self.test_rows], self.labels[self.test_rows]
        chosen = self.chosen.name

        def accuracy(truth, pred) -> float:  # scikit-learn's checks cost more than the mean itself
            return float(np.mean(np.asarray(truth) == np.asarray(pred)))

        predictions, probabilities, metrics = {}, {}, {}
        for r in self.compare():
            if r.model is None:
                continue
            proba = r.model.predict_proba(X)
            pred = r.model.classes_[proba.argmax(axis=1)]
            predictions[r.name], probabilities[r.name] = pred, proba
            low, high = bootstrap_ci(list(y), pred, accuracy, seed=self.seed)
            metrics[r.name] = {
                "accuracy": accuracy(y, pred),
                "accuracy_ci": [low, high],
                "macro_f1": float(f1_score(y, pred, average="macro")),
                "log_loss": float(log_loss(y, proba, labels=list(r.model.classes_))),
            }
        comparisons = []
        for name, pred in predictions.items():
            if name == chosen:
                continue
            names = (chosen, name)
            mcnemar = mcnemar_test(list(y), predictions[chosen], pred, alpha=self.alpha, names=names)
            boot = paired_bootstrap(
                list(y), predictions[chosen], pred, accuracy, alpha=self.alpha, names=names, seed=self.seed
            )
            comparisons.append(
                {"models": list(names), "mcnemar": mcnemar.to_dict(), "bootstrap": boot.to_dict()}
            )
        self._evaluation = ImageEvaluation(chosen, y, predictions, probabilities, metrics, comparisons)
        return self._evaluation

    def schema(self) -> dict:
        """What the bundle's model takes and gives (``schema.json``)."""
        _, height, width, channels = self.data.X.shape
        return {
            "input": {
                "kind": "images",
                "height": int(height),
                "width": int(width),
                "channels": int(channels),
            },
            "columns": [],
            "target": {"name": "label", "task": self.task, "labels": [_plain(c) for c in self.classes]},
        }

    def summary(self) -> dict:
        """metrics.json: the split, every network's training, the test metrics and the tests."""
        ev = self.evaluate()
        return {
            "kind": "images",
            "task": self.task,
            "seed": self.seed,
            "device": self.device,
            "backend": self.backend,
            "augment": self.augment,
            "time_budget": self.time_budget,
            "images": {
                "total": len(self.labels),
                "train": len(self.fit_rows),
                "validation": len(self.val_rows),
                "test": len(self.test_rows),
                "height": int(self.data.X.shape[1]),
                "width": int(self.data.X.shape[2]),
                "channels": int(self.data.X.shape[3]),
            },
            "chosen": ev.chosen,
            "leaderboard": [r.to_dict() for r in self.results],
            "test": ev.metrics,
            "comparisons": ev.comparisons,
            "histories": {r.name: r.model.history_ for r in self.results if r.model is not None},
            "notices": self.data.notices,
        }

    def save(self, path: str | os.PathLike, *, report: bool = True, key: bytes | str | None = None) -> Path:
        """Write the bundle: the chosen network (safetensors and its description), schema, metrics,
        and ``report.html``."""
        from modelworks.bundle import save_bundle

        files = {}
        if report:
            from modelworks.report.images import render_image_report

            files["report.html"] = render_image_report(self, Path(path))
        return save_bundle(path, self.best_model, self.schema(), self.summary(), files, key=key)


class ImageEvents:
    """What :func:`run_images` tells as it goes.

    Every method does nothing here: a caller that shows progress (the command line) overrides those
    it shows.
    """

    def notice(self, text: str) -> None:
        """A note on how the images were read (one line, without a ``notice:`` prefix)."""

    def read(self, images: ImageSet) -> None:
        """The images are read; nothing is split yet."""

    def epoch(self, name: str, epoch: int, record: dict) -> None:
        """Network ``name`` finished epoch ``epoch`` (from 0); ``record`` is that epoch's history."""

    def split(self, experiment: ImageExperiment) -> None:
        """The images are split into training, validation and test parts; nothing is trained yet."""

    def compared(self, experiment: ImageExperiment) -> None:
        """Every network trained or was skipped (``experiment.results``, ``experiment.chosen``)."""

    def evaluated(self, experiment: ImageExperiment, evaluation: ImageEvaluation) -> None:
        """The test set was scored, once; the bundle is not saved yet."""


@dataclass
class ImageRun:
    """What :func:`run_images` did.

    Attributes
    ----------
    experiment : ImageExperiment
        The networks compared, the chosen one, the test evaluation.
    path : Path
        The saved bundle.
    """

    experiment: ImageExperiment
    path: Path


def run_images(
    data: str,
    out_dir: Path,
    *,
    time_budget: float | None = None,
    models: tuple[str, ...] | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    device: str = "auto",
    augment: str = "shift",
    max_epochs: int = 30,
    report: bool = True,
    key: bytes | None = None,
    backend: str = "torch",
    started: float | None = None,
    events: ImageEvents | None = None,
) -> ImageRun:
    """Read labelled images, train and compare the networks, test the chosen one once, save it.

    Parameters
    ----------
    data : str
        A folder of class subfolders, or a ``.npz`` file of images and labels.
    out_dir : Path
        The bundle directory.
    time_budget, test_size, seed, device, augment, max_epochs, backend
        As :class:`ImageExperiment` takes them.
    models : tuple of str, optional
        The networks to compare (default: ``cnn`` and ``resnet``; ``cnn`` alone with keras).
    report : bool
        Write ``report.html`` in the bundle.
    key : bytes, optional
        Sign the bundle with this secret.
    started : float, optional
        ``time.perf_counter()`` from which the budget counts (default: now).
    events : ImageEvents, optional
        Told of each step as it happens.

    Returns
    -------
    ImageRun
    """
    started = time.perf_counter() if started is None else started
    events = ImageEvents() if events is None else events
    images = read_images(data)
    for note in images.notices:
        events.notice(note)
    events.read(images)
    exp = ImageExperiment(
        images,
        time_budget=time_budget,
        started=started,
        backend=backend,
        models=models or (("cnn",) if backend == "keras" else ("cnn", "resnet")),
        test_size=test_size,
        seed=seed,
        device=device,
        augment=augment,
        max_epochs=max_epochs,
        on_epoch=events.epoch,
    )
    events.split(exp)
    exp.compare()
    events.compared(exp)
    events.evaluated(exp, exp.evaluate())
    return ImageRun(exp, exp.save(out_dir, report=report, key=key))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
