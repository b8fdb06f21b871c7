"""``modelworks run`` on images: a folder of class subfolders or a ``.npz`` file (see
:mod:`modelworks.workflows.images`)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelworks.cli._print import print_saved


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
    from modelworks.neural._image_data import read_images
    from modelworks.workflows.images import ImageExperiment

    images = read_images(data)
    for note in images.notices:
        err.print(f"notice: {escape(note)}")
    n, h, w, c = images.X.shape
    out.print(
        f"{n:,} {'grey' if c == 1 else 'RGB'} images of {h}x{w} pixels in {len(images.classes)} classes"
    )

    def on_epoch(name: str, epoch: int, record: dict) -> None:
        val = ""
        if "val_loss" in record:
            val = f" · validation loss {record['val_loss']:.4f}, accuracy {record['val_accuracy']:.4f}"
        err.print(
            f"  {name} epoch {epoch + 1}: loss {record['train_loss']:.4f}, accuracy "
            f"{record['train_accuracy']:.4f}{val} ({record['seconds']:.1f}s, "
            f"{record['images_per_second']:,.0f} images/s)"
        )

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
        on_epoch=on_epoch,
    )
    out.print(
        f"{len(exp.fit_rows):,} training / {len(exp.val_rows):,} validation / {len(exp.test_rows):,} test "
        f"images (stratified), on {exp.device}"
    )
    results = exp.compare()
    board = Table(title="Networks (validation part)")
    for col in ("model", "val accuracy", "val loss", "epochs", "best", "seconds", "stopped"):
        board.add_column(col, justify="left" if col in ("model", "stopped") else "right")
    for r in results:
        if r.model is None:
            board.add_row(r.name, "", "", "", "", "", f"skipped: {r.skipped}")
            continue
        board.add_row(
            r.name + (" ★" if r.name == exp.chosen.name else ""),
            f"{r.val_accuracy:.4f}",
            f"{r.val_loss:.4f}",
            str(r.epochs),
            str(r.best_epoch),
            f"{r.seconds:.1f}",
            r.stopped,
        )
    out.print(board)
    ev = exp.evaluate()
    out.print(f"\nTest set ({len(ev.y):,} images, used once):")
    for name, m in ev.metrics.items():
        low, high = m["accuracy_ci"]
        out.print(f"  {name:8} accuracy {m['accuracy']:.4f}  (95% CI {low:.4g} – {high:.4g})")
    for cmp in ev.comparisons:
        out.print(f"  {cmp['mcnemar']['reading']}")
    path = exp.save(out_dir, report=report, key=key)
    print_saved(out, path, started, report)
    return path
