"""Image classification benchmarks: digits as a PNG folder, and Fashion-MNIST against a hand-written loop.

- **digits**: scikit-learn's 1,797 8×8 digits written as PNG files in class subfolders, then
  ``modelworks run FOLDER --time-budget 60`` as a real process (75/25 stratified split); test accuracy
  from the bundle's metrics.json, wall time measured.
- **fashion**: Fashion-MNIST (70,000 28×28 images) from Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``; ``make bench-images`` installs it), its own train/test split,
  :class:`~modelworks.workflows.images.ImageExperiment` with a 600 s budget on both cores; then one
  epoch of the article's network by a hand-written PyTorch loop and by
  :class:`~modelworks.models.neural.ImageClassifier` without augmentation (same network, batch size and
  optimiser): seconds per epoch and images per second.

Results go to ``docs/benchmarks.md`` (between markers) and ``benchmarks/results/images.json``.
Run: ``python benchmarks/images.py [--only digits|fashion] [--budget 600]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _doc import replace_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results" / "images.json"
BEGIN, END = "<!-- images:begin -->", "<!-- images:end -->"
FASHION = Path("/usr/share/datasets/fashion-mnist")
THREADS = os.cpu_count() or 1


def digits() -> dict:
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "digits"
        for i, (img, label) in enumerate(zip(d.images, d.target, strict=True)):
            folder = root / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((img * 255 / 16).round().astype(np.uint8), mode="L").save(folder / f"{i:04d}.png")
        bundle = Path(tmp) / "bundle"
        env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelworks",
                "run",
                str(root),
                "--time-budget",
                "60",
                "--out",
                str(bundle),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        wall = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(done.stderr)
        metrics = json.loads((bundle / "metrics.json").read_text())
    chosen = metrics["chosen"]
    return {
        "images": metrics["images"],
        "chosen": chosen,
        "test_accuracy": metrics["test"][chosen]["accuracy"],
        "accuracy_ci": metrics["test"][chosen]["accuracy_ci"],
        "all": {k: v["accuracy"] for k, v in metrics["test"].items()},
        "epochs": {r["model"]: r["epochs"] for r in metrics["leaderboard"]},
        "wall_s": round(wall, 1),
    }


def _idx(name: str) -> np.ndarray:
    with gzip.open(FASHION / name) as fh:
        data = fh.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_arrays():
    if not FASHION.is_dir():
        raise SystemExit(
            f"{FASHION} is missing: install Debian's dataset-fashion-mnist (make bench-images does, as root)"
        )
    return (
        _idx("train-images-idx3-ubyte.gz"),
        _idx("train-labels-idx1-ubyte.gz"),
        _idx("t10k-images-idx3-ubyte.gz"),
        _idx("t10k-labels-idx1-ubyte.gz"),
    )


def hand_written_epoch(X: np.ndarray, y: np.ndarray, batch: int = 128) -> float:
    """Seconds of one epoch of the same network by a plain PyTorch loop (no augmentation)."""
    import torch

    from modelworks.models.neural import _image_nets

    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    config = {"architecture": "cnn", "height": 28, "width": 28, "channels": 1, "n_classes": 10}
    net = _image_nets.build(config)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    scaled = X.astype(np.float32) / 255
    images = torch.from_numpy((scaled - scaled.mean()) / scaled.std())[:, None]
    target = torch.from_numpy(y.astype(np.int64))
    net.train()
    start = time.perf_counter()
    perm = torch.randperm(len(X))
    for first in range(0, len(X), batch):
        rows = perm[first : first + batch]
        opt.zero_grad()
        loss_fn(net(images[rows]), target[rows]).backward()
        opt.step()
    return time.perf_counter() - start


def fashion(budget: float) -> dict:
    from modelworks.models.neural import ImageClassifier
    from modelworks.workflows.images import ImageExperiment

    X, y, Xt, yt = fashion_arrays()
    hand_written_epoch(X, y)  # warm-up: the first epoch in a process pays for PyTorch's set-up
    hand = hand_written_epoch(X, y)
    ours = ImageClassifier(max_epochs=1, augment="none", n_jobs=THREADS).fit(X, y)
    ours_s = ours.history_["seconds"][0]
    start = time.perf_counter()
    exp = ImageExperiment(X, y, test=(Xt, yt), time_budget=budget, n_jobs=THREADS, device="cpu")
    exp.compare()
    ev = exp.evaluate()
    wall = time.perf_counter() - start
    chosen = ev.chosen
    return {
        "budget_s": budget,
        "wall_s": round(wall, 1),
        "chosen": chosen,
        "test_accuracy": ev.metrics[chosen]["accuracy"],
        "accuracy_ci": ev.metrics[chosen]["accuracy_ci"],
        "all": {k: v["accuracy"] for k, v in ev.metrics.items()},
        "epochs": {r.name: r.epochs for r in exp.results},
        "epoch_s": {r.name: float(np.mean(r.model.history_["seconds"])) for r in exp.results if r.model},
        "hand_written_epoch_s": round(hand, 2),
        "ours_epoch_s": round(ours_s, 2),
        "hand_written_images_per_s": round(len(X) / hand),
        "ours_images_per_s": round(len(X) / ours_s),
        "threads": THREADS,
    }


def text(results: dict) -> str:
    lines = []
    if "digits" in results:
        d = results["digits"]
        lo, hi = d["accuracy_ci"]
        lines.append(
            f"- **digits** (1,797 PNG images of 8×8, 75/25 stratified split, `modelworks run FOLDER "
            f"--time-budget 60`): test accuracy **{d['test_accuracy']:.4f}** (95% CI {lo:.3f}–{hi:.3f}) "
            f"with `{d['chosen']}`; every network: {d['all']}; epochs {d['epochs']}; wall {d['wall_s']} s."
        )
    if "fashion" in results:
        f = results["fashion"]
        lo, hi = f["accuracy_ci"]
        lines.append(
            f"- **Fashion-MNIST** (60,000 / 10,000, its own split, {f['budget_s']:g} s budget, "
            f"{f['threads']} threads): test accuracy **{f['test_accuracy']:.4f}** "
            f"(95% CI {lo:.3f}–{hi:.3f}) with "
            f"`{f['chosen']}`; every network: {f['all']}; epochs {f['epochs']}; mean seconds per epoch "
            f"{ {k: round(v, 1) for k, v in f['epoch_s'].items()} }; wall {f['wall_s']} s."
        )
        lines.append(
            f"- One epoch of the article's network on Fashion-MNIST's 60,000 training images (batch 128, "
            f"AdamW, no augmentation): hand-written PyTorch loop {f['hand_written_epoch_s']} s "
            f"({f['hand_written_images_per_s']:,} images/s), modelworks' `ImageClassifier` "
            f"{f['ours_epoch_s']} s ({f['ours_images_per_s']:,} images/s)."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--budget", type=float, default=600.0)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if args.only in ("", "digits"):
        results["digits"] = digits()
        print(json.dumps(results["digits"]), flush=True)
    if args.only in ("", "fashion"):
        results["fashion"] = fashion(args.budget)
        print(json.dumps(results["fashion"]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    replace_section(DOC, BEGIN, END, text(results), "Images")
    print(text(results))


if __name__ == "__main__":
    main()
