"""The Leaderboard: cross-validated scores of every model on the same folds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelworks.evaluate.metrics import METRICS


@dataclass
class ModelResult:
    """Cross-validation outcome of one model."""

    name: str
    label: str
    fold_scores: dict[str, list[float]]
    fit_seconds: list[float]
    predict_ms_per_1000: list[float]
    simplicity: int = 5

    def mean(self, metric: str) -> float:
        scores = np.asarray(self.fold_scores[metric], dtype=float)
        scores = scores[np.isfinite(scores)]
        return float(scores.mean()) if len(scores) else float("nan")


@dataclass
class Leaderboard:
    """Models ranked by the mean of the ranking metric over the same CV folds.

    Attributes
    ----------
    metric : str
        The ranking metric.
    metrics : list of str
        Every metric computed, ranking metric first.
    results : list of ModelResult
        One per model that completed every fold, best first.
    skipped : list of tuple
        ``(model name, reason)`` for each candidate not compared.
    """

    metric: str
    metrics: list[str]
    results: list[ModelResult]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        sign = -1.0 if METRICS[self.metric].greater_is_better else 1.0
        self.results = sorted(self.results, key=lambda r: (sign * r.mean(self.metric), r.name))

    @property
    def best(self) -> ModelResult:
        return self.results[0]

    def to_frame(self) -> pd.DataFrame:
        """One row per model: mean and standard deviation of each metric, times per fold."""
        rows = []
        for rank, r in enumerate(self.results, start=1):
            row: dict[str, object] = {"rank": rank, "model": r.name}
            for m in self.metrics:
                scores = np.asarray(r.fold_scores[m], dtype=float)
                scores = scores[np.isfinite(scores)]
                row[f"{m}_mean"] = float(scores.mean()) if len(scores) else float("nan")
                row[f"{m}_std"] = float(scores.std(ddof=1)) if len(scores) > 1 else 0.0
            row["fit_seconds"] = float(np.mean(r.fit_seconds))
            row["predict_ms_per_1000"] = float(np.mean(r.predict_ms_per_1000))
            rows.append(row)
        return pd.DataFrame(rows)

    def fold_scores(self) -> dict[str, dict[str, list[float]]]:
        """Per-model, per-metric scores of every fold (the same folds for every model)."""
        return {r.name: {m: list(map(float, v)) for m, v in r.fold_scores.items()} for r in self.results}

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return self.to_frame().to_string(index=False)
