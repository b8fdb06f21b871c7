"""The checks before an image run and its stratified splits: every class on each side of the test and
validation parts, or one sentence saying how many images are missing (:mod:`.images`)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split

from modelworks.errors import ConfigError
from modelworks.models.neural.images import AUGMENTS, DEVICES
from modelworks.options import check_at_least, check_budget, check_choice, check_seed, check_share


def check_image_options(
    time_budget: float | None,
    seed: int,
    test_size: float | None,
    max_epochs: int,
    backend: str,
    device: str,
    augment: str,
) -> None:
    """The options of a run on images, checked before any image is read (as a table run's are).

    Raises
    ------
    ConfigError
        In :mod:`modelworks.options`' words, naming the option.
    """
    check_budget(time_budget)
    check_seed(seed)
    if test_size is not None:
        check_share(test_size, "--test-size", example=0.25)
    check_at_least(max_epochs, 1, "--max-epochs", 30)
    check_choice(backend, ("torch", "keras"), "--backend")
    check_choice(device, DEVICES, "--device")
    check_choice(augment, AUGMENTS, "--augment")


def _parts(n: int, share: float) -> tuple[int, int]:
    """Sizes of scikit-learn's split of ``n`` rows holding out ``share`` (held out rounded up)."""
    held = math.ceil(share * n)
    return n - held, held


def split_stratified(rows: np.ndarray, share: float, labels: np.ndarray, seed: int, part: str):
    """scikit-learn's stratified split, its refusal (a class too small for it) as one sentence."""
    try:
        return train_test_split(rows, test_size=share, stratify=labels, random_state=seed)
    except ValueError as exc:  # check_split_sizes is meant to come first; this is the last word
        raise ConfigError(
            f"the images cannot be split into a stratified {part} part ({exc}); add images per class"
        ) from None


def check_split_sizes(counts: dict, test_size: float | None, val_size: float) -> None:
    """Refuse classes too small for the stratified splits used: test (unless given), then validation.

    Each split needs at least one image of every class on each side, and each class at least two
    images in what it splits. ``test_size`` is ``None`` when a test set is given.

    Raises
    ------
    ConfigError
        Naming the classes short of images (and how many each needs), or how many images in all the
        parts need.
    """
    shares = [s for s in (test_size, val_size) if s is not None]

    def fits_class(c: int) -> bool:
        for share in shares:
            if c < 2:
                return False
            c, _ = _parts(c, share)
        return c >= 1

    def fits_total(n: int, k: int) -> bool:
        for share in shares:
            n, held = _parts(n, share)
            if held < k or n < k:
                return False
        return True

    need = next(c for c in range(1, 10_000) if fits_class(c))
    few = {c: n for c, n in counts.items() if n < need}
    parts = "a test part and a validation part" if test_size is not None else "a validation part"
    if few:
        shown = ", ".join(f"{c!s} ({n})" for c, n in list(few.items())[:5]) + (" …" if len(few) > 5 else "")
        raise ConfigError(
            f"class(es) {shown} have fewer than the {need} images each class needs for {parts} with "
            "every class in each: add images or remove the class"
        )
    k, total = len(counts), sum(counts.values())
    if not fits_total(total, k):
        least = next(n for n in range(total, 10_000_000) if fits_total(n, k))
        raise ConfigError(
            f"{total} images are too few for {parts} that hold each of the {k} classes: at least "
            f"{least} are needed; add images"
        )
