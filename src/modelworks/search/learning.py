"""Learning curves: would more data help the chosen model?

The chosen pipeline is refitted on growing shares of the training part of a few of the comparison's
own folds and scored on the fold's validation rows and on the rows it was trained on. Preprocessing is
inside the pipeline, so every point is as honest as the leaderboard.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone

from modelworks.evaluate.metrics import METRICS, score_all
from modelworks.search.budget import SAFETY
from modelworks.search.fold import predict_scores
from modelworks.search.leaderboard import ModelResult

#: Shares of a fold's training rows at which the model is refitted.
TRAIN_SHARES = (0.1, 0.25, 0.5, 1.0)
#: Folds of the comparison reused for the curve (the spread across them gives the bands), and the
#: fewest a curve is drawn on when the time budget cannot give it all of them.
CURVE_FOLDS, FEWEST_CURVE_FOLDS = 3, 2
#: Rows of the training subset scored for the training score (scoring all would cost a prediction
#: over the whole training part for little information).
TRAIN_SCORE_ROWS = 2000
#: Cost of a curve in fold fits: each share of each fold is one fit on that share of the rows.
CURVE_FITS = CURVE_FOLDS * sum(TRAIN_SHARES)


def curve_seconds(result: ModelResult, fold_train_rows: int, folds: int = CURVE_FOLDS) -> float:
    """Estimated seconds of the learning curve of the model cross-validated as ``result`` on
    ``folds`` folds of ``fold_train_rows`` training rows: its fits on each share of each fold, and
    two predictions after each (training rows, validation rows)."""
    fits = folds * sum(TRAIN_SHARES) * float(np.mean(result.fit_seconds))
    scored = [min(share * fold_train_rows, TRAIN_SCORE_ROWS) + result.val_rows for share in TRAIN_SHARES]
    rows = folds * sum(scored)
    calls = 2 * folds * len(TRAIN_SHARES)
    return SAFETY * (fits + result.prediction_seconds(int(rows), calls))


@dataclass
class LearningCurve:
    """Scores of one pipeline against the number of training rows.

    Attributes
    ----------
    model : str
        Name of the model.
    metric : str
        The metric; ``greater_is_better`` says its direction.
    train_sizes : ndarray of shape (n_sizes,)
        Training rows at each point.
    train_scores, test_scores : ndarray of shape (n_sizes, n_folds)
        Scores on the rows trained on and on the fold's validation rows.
    seconds : float
        Time the curve took.
    skipped : str or None
        Why no curve was computed (then the arrays are empty).
    """

    model: str
    metric: str
    greater_is_better: bool
    train_sizes: np.ndarray = field(default_factory=lambda: np.empty(0))
    train_scores: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    test_scores: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    seconds: float = 0.0
    skipped: str | None = None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "train_sizes": self.train_sizes.tolist(),
            "train_scores": self.train_scores.tolist(),
            "test_scores": self.test_scores.tolist(),
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


def learning_curve(
    name: str,
    pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    metric: str,
    classes=None,
    pos_label=None,
    seed: int = 0,
    shares: tuple[float, ...] = TRAIN_SHARES,
) -> LearningCurve:
    """Refit ``pipeline`` on growing shares of each fold's training rows and score it.

    Parameters
    ----------
    name : str
        Name of the model (for the record).
    pipeline : estimator
        Unfitted pipeline taking the raw table.
    X, y : DataFrame, Series
        The training part the folds index.
    folds : list of (train, validation) index arrays
        The folds to reuse (typically the first :data:`CURVE_FOLDS` of the comparison).
    metric : str
        Metric name (see :data:`modelworks.evaluate.metrics.METRICS`).
    classes, pos_label
        Class labels and positive label (classification).
    seed : int
        Seed of the order in which training rows are taken.
    shares : tuple of float
        Shares of each fold's training rows.

    Returns
    -------
    LearningCurve
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    sizes = []
    train_scores = np.full((len(shares), len(folds)), np.nan)
    test_scores = np.full((len(shares), len(folds)), np.nan)
    for j, (train, val) in enumerate(folds):
        order = rng.permutation(train)
        for i, share in enumerate(shares):
            n = max(int(round(share * len(order))), _min_rows(y.iloc[order], classes))
            rows = order[:n]
            if j == 0:
                sizes.append(len(rows))
            model = clone(pipeline)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    model.fit(X.iloc[rows], y.iloc[rows])
                    seen = rows[:TRAIN_SCORE_ROWS]
                    on_train = _score(model, X.iloc[seen], y.iloc[seen], metric, classes, pos_label)
                    on_val = _score(model, X.iloc[val], y.iloc[val], metric, classes, pos_label)
                except ValueError:  # too few rows at the smallest shares (a class, or KNN's neighbours)
                    continue
                train_scores[i, j], test_scores[i, j] = on_train, on_val
    # a share no fold could fit on is left out rather than drawn as a gap
    kept = ~np.isnan(test_scores).all(axis=1)
    seconds = time.perf_counter() - start
    if not kept.any():
        return LearningCurve(
            name,
            metric,
            METRICS[metric].greater_is_better,
            seconds=seconds,
            skipped="the model could not be fitted on any share of the folds' rows",
        )
    return LearningCurve(
        name,
        metric,
        METRICS[metric].greater_is_better,
        np.asarray(sizes)[kept],
        train_scores[kept],
        test_scores[kept],
        seconds,
    )


def _min_rows(y: pd.Series, classes) -> int:
    """Enough rows that every class appears at least twice, where the data allows."""
    if classes is None:
        return 10
    seen: dict = {}
    for i, label in enumerate(y.to_numpy()):
        seen[label] = seen.get(label, 0) + 1
        if len(seen) == len(classes) and min(seen.values()) >= 2:
            return i + 1
    return len(y)


def _score(model, X: pd.DataFrame, y: pd.Series, metric: str, classes, pos_label) -> float:
    return score_all([metric], y, predict_scores(model, X, classes), classes, pos_label)[metric]
