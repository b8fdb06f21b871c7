"""Class probabilities in a given label order (NumPy only: the prediction path imports it)."""

from __future__ import annotations

import numpy as np


def align_proba(proba: np.ndarray, model_classes, classes) -> np.ndarray:
    """Reorder ``proba`` columns from ``model_classes`` to ``classes``; absent classes get 0."""
    out = np.zeros((proba.shape[0], len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(model_classes):
        out[:, index[c]] = proba[:, j]
    # float32 boosters sum to 1 only approximately; metrics check the sum
    return out / np.clip(out.sum(axis=1, keepdims=True), 1e-15, None)
