"""Shared fixtures: small real tables on disk, one trained experiment and bundle, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelworks.data.demo import make_churn

#: Keep every test fast: the two cheapest models, three folds.
FAST_MODELS = ["linear", "decision_tree"]
FAST_CV = 3


@pytest.fixture(scope="session")
def churn_df() -> pd.DataFrame:
    """400 synthetic customers; target ``will_churn`` ("no"/"yes"), a ``customer_id`` column."""
    return make_churn(n_customers=400, seed=0)


@pytest.fixture
def churn_csv(tmp_path: Path, churn_df: pd.DataFrame) -> Path:
    path = tmp_path / "churn.csv"
    churn_df.to_csv(path, index=False)
    return path


def make_regression(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A small regression table: two numbers, a category, a continuous target."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    y = 3.0 * x1 + 0.5 * x2 + np.where(colour == "red", 2.0, 0.0) + rng.normal(0, 0.3, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "price": y.round(4)})


@pytest.fixture(scope="session")
def regression_df() -> pd.DataFrame:
    return make_regression()


@pytest.fixture(scope="session")
def churn_experiment(churn_df: pd.DataFrame):
    """An Experiment on the churn table, compared and evaluated once (do not mutate)."""
    from modelworks import Experiment

    exp = Experiment(churn_df, target="will_churn", models=FAST_MODELS, cv=FAST_CV, seed=0, n_jobs=1)
    exp.compare()
    exp.evaluate()
    return exp


@pytest.fixture(scope="session")
def trained_bundle(churn_experiment, tmp_path_factory) -> Path:
    """A bundle saved from :func:`churn_experiment` (read-only: copy it before modifying)."""
    return churn_experiment.save(tmp_path_factory.mktemp("bundle") / "churn")


@pytest.fixture(scope="session")
def cli(tmp_path_factory) -> Callable[..., subprocess.CompletedProcess]:
    """``cli(*args, cwd=DIR, env={...})`` runs ``python -m modelworks ARGS`` in a real subprocess."""
    base = dict(os.environ)
    base.update(OMP_NUM_THREADS="1", MPLCONFIGDIR=str(tmp_path_factory.mktemp("mpl")))
    for name in ("FORCE_COLOR", "PYTHONWARNINGS"):
        base.pop(name, None)

    def run(
        *args: object, cwd: Path, timeout: float = 120, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "modelworks", *map(str, args)],
            cwd=cwd,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def image_bundle(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A small image bundle (a CNN, two epochs on 400 digits) and six of its training images.

    Returns the bundle's path and the images (uint8, 8x8, grey) the serving tests upload.
    """
    from sklearn.datasets import load_digits

    from modelworks.workflows.images import ImageExperiment

    d = load_digits()
    X = (d.images[:400] * (255 / 16)).round().astype(np.uint8)
    exp = ImageExperiment(X, d.target[:400], models=["cnn"], max_epochs=2, n_jobs=1, device="cpu")
    path = exp.save(tmp_path_factory.mktemp("images") / "digits", report=False)
    return Path(path), X[:6]
