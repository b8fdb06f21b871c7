"""The Leaderboard: cross-validated scores of every model on the same folds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelworks.evaluate.metrics import METRICS
from modelworks.evaluate.stats import TestResult, tie_group
from modelworks.settings import PREFER_CHOICES

#: How to choose among the models not significantly worse than the best.
PREFER = PREFER_CHOICES
#: Tied models named in the verdict; the rest are counted.
MAX_NAMED = 5


@dataclass
class ModelResult:
    """Cross-validation outcome of one model."""

    name: str
    label: str
    fold_scores: dict[str, list[float]]
    fit_seconds: list[float]
    predict_ms_per_1000: list[float]
    simplicity: int = 5
    #: Milliseconds of a one-row prediction: the fixed cost of every call, whatever its size.
    call_ms: float = 0.0
    #: Megabytes of the model pickled, scaled to a fit on every training row (what a bundle writes).
    size_mb: float = 0.0
    #: Estimators the fitted model is made of (a forest's trees count one each).
    parts: int = 0
    #: Rows of a validation fold, over which :attr:`predict_ms_per_1000` was measured.
    val_rows: int = 1000
    #: Milliseconds per row beyond :attr:`call_ms`, timed on a batch of
    #: :data:`~modelworks.search.fold.PROBE_ROWS` rows when the validation folds are smaller
    #: (a few rows cannot tell the cost of a row from the fixed cost of a call); ``None`` otherwise.
    row_ms: float | None = None
    #: Boosters stopped early: the rounds each fold kept (the final fits use their mean).
    rounds: list[int] = field(default_factory=list)
    #: Neural networks: the first fold's per-epoch losses (``history_`` of
    #: :class:`~modelworks.models.neural.MLPClassifier`).
    history: dict | None = None

    def prediction_seconds(self, n_rows: int, n_calls: int = 1) -> float:
        """Estimated seconds of ``n_calls`` predictions covering ``n_rows`` rows in all.

        Each call costs :attr:`call_ms`; each row what the validation folds measured per row beyond
        that fixed part (or :attr:`row_ms`, when the folds were too small to tell).
        """
        if self.row_ms is not None:
            return n_calls * self.call_ms / 1000 + n_rows * self.row_ms / 1000
        per_row = float(np.mean(self.predict_ms_per_1000)) / 1e6 if self.predict_ms_per_1000 else 0.0
        marginal = max(per_row - self.call_ms / 1000 / max(self.val_rows, 1), 0.0)
        return n_calls * self.call_ms / 1000 + n_rows * marginal

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
    significance : dict
        Model name to the corrected resampled t-test against the best model (Holm-adjusted p-value
        in ``extra["p_holm"]``, ``extra["tied"]`` when not significantly worse).
    groups : dict
        Model name to its tie group: 1 for the best and those tied with it, 2 for the best of the rest
        and those tied with that one, and so on.
    chosen : str
        The model to evaluate and save (see ``prefer`` in :meth:`test_significance`).
    """

    metric: str
    metrics: list[str]
    results: list[ModelResult]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    significance: dict[str, TestResult] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    chosen: str = ""
    prefer: str = "best"

    def __post_init__(self) -> None:
        sign = -1.0 if METRICS[self.metric].greater_is_better else 1.0
        self.results = sorted(self.results, key=lambda r: (sign * r.mean(self.metric), r.name))

    @property
    def best(self) -> ModelResult:
        return self.results[0]

    def test_significance(self, *, test_fraction: float, alpha: float = 0.05, prefer: str = "best") -> None:
        """Test every model against the best on the same folds and form tie groups.

        Uses the corrected resampled t-test (Nadeau and Bengio, 2003) with Holm's correction across
        the comparisons. ``prefer`` picks the chosen model among those tied with the best: ``"best"``
        (best mean), ``"simple"`` (simplest family) or ``"fast"`` (lowest fit and predict time).
        """
        greater = METRICS[self.metric].greater_is_better
        scores = {r.name: list(r.fold_scores[self.metric]) for r in self.results}
        self.significance = tie_group(
            scores, self.best.name, test_fraction=test_fraction, greater_is_better=greater, alpha=alpha
        )
        remaining = [r.name for r in self.results]
        group = 1
        while remaining:
            head = remaining[0]
            tests = (
                self.significance
                if group == 1
                else tie_group(
                    {n: scores[n] for n in remaining},
                    head,
                    test_fraction=test_fraction,
                    greater_is_better=greater,
                    alpha=alpha,
                )
            )
            members = [head] + [n for n in remaining[1:] if tests[n].extra.get("tied")]
            for name in members:
                self.groups[name] = group
            remaining = [n for n in remaining if n not in members]
            group += 1
        tied = [r for r in self.results if self.groups[r.name] == 1]
        self.prefer = prefer
        if prefer == "simple":
            self.chosen = min(tied, key=lambda r: (r.simplicity, tied.index(r))).name
        elif prefer == "fast":
            self.chosen = min(
                tied, key=lambda r: (np.mean(r.fit_seconds) + np.mean(r.predict_ms_per_1000) / 1000, r.name)
            ).name
        else:
            self.chosen = self.best.name

    def verdict(self) -> str:
        """The comparison in words, e.g. "lightgbm is best; catboost (p = 0.31) is not significantly
        worse (Holm-adjusted); decision_tree is significantly worse"."""
        if not self.significance:
            return f"{self.best.name} is best (significance not tested)"
        others = [r.name for r in self.results[1:]]
        if not others:
            return f"{self.best.name} is the only model compared"
        tied = [n for n in others if self.significance[n].extra.get("tied")]
        untestable = [n for n in others if not self.significance[n].applicable]

        def p(name: str) -> str:
            value = self.significance[name].extra.get("p_holm")
            return "n/a" if value is None or not np.isfinite(value) else f"{value:.2g}"

        text = f"{self.best.name} is best"
        if tied:
            shown = [f"{n} (p = {p(n)})" for n in tied[:MAX_NAMED]]
            if len(tied) > MAX_NAMED:
                shown.append(f"{len(tied) - MAX_NAMED} more")
            verb = "is" if len(tied) == 1 else "are"
            text += f"; {_join(shown)} {verb} not significantly worse (Holm-adjusted)"
        worse = [n for n in others if n not in tied]
        if worse:
            named = worse[:MAX_NAMED] + ([f"{len(worse) - MAX_NAMED} more"] if len(worse) > MAX_NAMED else [])
            text += f"; {_join(named)} {'is' if len(worse) == 1 else 'are'} significantly worse"
        elif tied:
            text += "; no model is significantly worse"
        if untestable:
            text += f" ({_join(untestable)}: {self.significance[untestable[0]].reading})"
        if self.chosen != self.best.name:
            text += f". Chosen with --prefer {self.prefer}: {self.chosen}"
        return text

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
            test = self.significance.get(r.name)
            row["p_vs_best"] = None if test is None or r.name == self.best.name else test.extra.get("p_holm")
            row["tied_with_best"] = (
                True if r.name == self.best.name else bool(test and test.extra.get("tied"))
            )
            row["tie_group"] = self.groups.get(r.name)
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


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
