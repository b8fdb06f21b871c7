"""``modelworks run`` on images: a folder of class subfolders or a ``.npz`` file; what the run prints as
it goes (the run itself: :mod:`modelworks.workflows.images`)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelworks.cli._print import print_saved
from modelworks.models.neural._image_data import ImageSet
from modelworks.workflows import images as workflow
from modelworks.workflows.images import ImageEvaluation, ImageEvents, ImageExperiment

#: The columns of the board of networks.
_BOARD = ("model", "val accuracy", "val loss", "epochs", "best", "seconds", "stopped")


class _ImagePrinter(ImageEvents):
    """Prints an image run: the images read, every epoch, the board of networks and the test set."""

    def __init__(self, out: Console, err: Console):
        self.out, self.err = out, err

    def notice(self, text: str) -> None:
        self.err.print(f"notice: {escape(text)}")

    def read(self, images: ImageSet) -> None:
        n, h, w, c = images.X.shape
        colour = "grey" if c == 1 else "RGB"
        self.out.print(f"{n:,} {colour} images of {h}x{w} pixels in {len(images.classes)} classes")

    def epoch(self, name: str, epoch: int, record: dict) -> None:
        val = ""
        if "val_loss" in record:
            val = f" · validation loss {record['val_loss']:.4f}, accuracy {record['val_accuracy']:.4f}"
        self.err.print(
            f"  {name} epoch {epoch + 1}: loss {record['train_loss']:.4f}, accuracy "
            f"{record['train_accuracy']:.4f}{val} ({record['seconds']:.1f}s, "
            f"{record['images_per_second']:,.0f} images/s)"
        )

    def split(self, experiment: ImageExperiment) -> None:
        exp = experiment
        self.out.print(
            f"{len(exp.fit_rows):,} training / {len(exp.val_rows):,} validation / {len(exp.test_rows):,} "
            f"test images (stratified), on {exp.device}"
        )

    def compared(self, experiment: ImageExperiment) -> None:
        board = Table(title="Networks (validation part)")
        for col in _BOARD:
            board.add_column(col, justify="left" if col in ("model", "stopped") else "right")
        for r in experiment.results:
            if r.model is None:
                board.add_row(r.name, "", "", "", "", "", f"skipped: {r.skipped}")
                continue
            board.add_row(
                r.name + (" ★" if r.name == experiment.chosen.name else ""),
                f"{r.val_accuracy:.4f}",
                f"{r.val_loss:.4f}",
                str(r.epochs),
                str(r.best_epoch),
                f"{r.seconds:.1f}",
                r.stopped,
            )
        self.out.print(board)

    def evaluated(self, experiment: ImageExperiment, evaluation: ImageEvaluation) -> None:
        self.out.print(f"\nTest set ({len(evaluation.y):,} images, used once):")
        for name, m in evaluation.metrics.items():
            low, high = m["accuracy_ci"]
            self.out.print(f"  {name:8} accuracy {m['accuracy']:.4f}  (95% CI {low:.4g} – {high:.4g})")
        for cmp in evaluation.comparisons:
            self.out.print(f"  {cmp['mcnemar']['reading']}")


def run_images(
    data: str,
    out_dir: Path,
    out: Console,
    err: Console,
    *,
    time_budget: float | None,
    models: tuple[str, ...] | None,
    test_size: float,
    seed: int,
    device: str,
    augment: str,
    max_epochs: int,
    report: bool,
    key: bytes | None,
    started: float | None = None,
    backend: str = "torch",
) -> Path:
    """Read, train, evaluate and save; print what happened; return the bundle path. The budget counts
    from ``started`` (``time.perf_counter()``; default: now)."""
    started = time.perf_counter() if started is None else started
    budget_note = f" within {time_budget:g}s" if time_budget is not None else ""
    out.print(f"Reading images from {escape(data)}, then training networks{budget_note}")
    run = workflow.run_images(
        data,
        out_dir,
        time_budget=time_budget,
        models=models,
        test_size=test_size,
        seed=seed,
        device=device,
        augment=augment,
        max_epochs=max_epochs,
        report=report,
        key=key,
        backend=backend,
        started=started,
        events=_ImagePrinter(out, err),
    )
    print_saved(out, run.path, started, report)
    return run.path
