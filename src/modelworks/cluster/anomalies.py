"""``Anomalies``: score every row of a table for how unusual it is, flag those above a threshold, and say
for each flagged row which of its values make it unusual.

>>> import modelworks as mw
>>> an = mw.Anomalies("transactions.csv", seed=0).fit()     # doctest: +SKIP
>>> an.flagged.head()       # row, anomaly_score, why
>>> an.save("out/transactions")
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from modelworks.cluster._detect import DETECTORS, LABELS, AnomalyScorer
from modelworks.cluster._options import check_anomaly_options
from modelworks.cluster._pca import Projection, project
from modelworks.cluster._table import Table, encode, read_table
from modelworks.cluster.clustering import _as_frame
from modelworks.errors import ConfigError

#: A value this many robust standard deviations from the median is named as unusual.
UNUSUAL_Z = 3.0
#: A category level rarer than this share is named as unusual.
RARE_LEVEL = 0.01
#: Reasons named per flagged row, at most.
REASONS = 3


class Anomalies:
    """Find unusual rows in a table without a target.

    Parameters
    ----------
    data : DataFrame or path
        The rows to score.
    contamination : float, optional
        Expected share of anomalies (0 < c < 0.5): the threshold flags that share of the rows. ``None``
        chooses the threshold from the scores (Tukey's far-out fence; see :mod:`._detect`).
    exclude : sequence of str
        Columns left out.
    label : str, optional
        A column of known anomaly flags (true/false, 1/0): never used for fitting; the precision and
        recall of the flags are reported.
    seed : int
    scaling : {"robust", "standard"}
        Robust by default: a few extreme rows should not set the scale they are measured on.
    """

    def __init__(
        self,
        data: Any,
        *,
        contamination: float | None = None,
        exclude: tuple[str, ...] | list[str] = (),
        label: str | None = None,
        seed: int = 0,
        scaling: str = "robust",
        started: float | None = None,
    ):
        self.started = time.perf_counter() if started is None else started
        check_anomaly_options(contamination=contamination, seed=seed, scaling=scaling)
        frame, self.source = _as_frame(data)
        self.data: Table = read_table(frame, exclude=tuple(exclude), label=label, what="anomaly detection")
        self.contamination, self.seed, self.scaling, self.label_column = contamination, seed, scaling, label
        self.fitted = False

    def fit(self) -> Anomalies:
        """Fit the detectors, score and flag every row, explain the flagged ones. Returns ``self``."""
        self.encoder_, Z = encode(self.data, self.scaling)
        self.scorer_ = AnomalyScorer(DETECTORS, self.contamination, self.seed)
        self.scores_, per = self.scorer_.fit_scores(Z)
        self.pipeline_ = Pipeline([*self.encoder_.steps, ("detect", self.scorer_)])
        self.is_anomaly_ = (self.scores_ > self.scorer_.threshold_).astype(np.int64)
        self.detector_agreement = _agreement(per)
        cleaned = self.encoder_.named_steps["clean"].transform(self.data.X)
        self.reasons_ = _reasons(
            cleaned, np.flatnonzero(self.is_anomaly_), self.data.numeric, self.data.categorical
        )
        self.external = _external(self.data.label, self.is_anomaly_) if self.data.label is not None else None
        self.projection: Projection = project(
            Z, self.encoder_.named_steps["encode"].get_feature_names_out(), self.seed
        )
        self.seconds = time.perf_counter() - self.started
        self.fitted = True
        return self

    def _check(self) -> None:
        if not self.fitted:
            raise ConfigError("call fit() first")

    @property
    def threshold(self) -> float:
        self._check()
        return self.scorer_.threshold_

    @property
    def threshold_rule(self) -> str:
        self._check()
        return self.scorer_.threshold_rule_

    @property
    def scores(self) -> pd.DataFrame:
        """``row``, ``anomaly_score`` and ``is_anomaly`` of every fitted row."""
        self._check()
        return pd.DataFrame(
            {
                "row": np.arange(len(self.scores_)),
                "anomaly_score": self.scores_,
                "is_anomaly": self.is_anomaly_.astype(bool),
            }
        )

    @property
    def flagged(self) -> pd.DataFrame:
        """The flagged rows, most unusual first: ``row``, ``anomaly_score`` and ``why``."""
        self._check()
        rows = np.flatnonzero(self.is_anomaly_)
        order = rows[np.argsort(-self.scores_[rows], kind="stable")]
        return pd.DataFrame(
            {
                "row": order,
                "anomaly_score": self.scores_[order],
                "why": [self.reasons_[int(r)] for r in order],
            }
        )

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """``anomaly_score`` and ``is_anomaly`` of the rows of ``X``."""
        self._check()
        Z = self.encoder_.transform(X)
        scores = self.scorer_.score_samples(Z)
        return pd.DataFrame({"anomaly_score": scores, "is_anomaly": scores > self.scorer_.threshold_})

    def summary(self) -> dict:
        """Everything measured, JSON-ready (``metrics.json`` of the bundle)."""
        self._check()
        flagged = self.flagged
        return {
            "kind": "anomalies",
            "source": self.source,
            "rows": len(self.scores_),
            "seed": self.seed,
            "scaling": self.scaling,
            "detectors": [LABELS[d] for d in self.scorer_.detectors_],
            "fit_rows": self.scorer_.fit_rows_,
            "left_out": {LABELS[k]: v for k, v in self.scorer_.left_out_.items()},
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "contamination": self.contamination,
            "flagged": int(self.is_anomaly_.sum()),
            "flagged_share": float(self.is_anomaly_.mean()),
            "detector_agreement": self.detector_agreement,
            "external": self.external,
            "label_column": self.label_column,
            "most_unusual": flagged.head(50).to_dict(orient="records"),
            "dropped": self.data.dropped,
            "seconds": self.seconds,
        }

    def schema(self) -> dict:
        """``schema.json``: the input columns; the answer is ``anomaly_score`` and ``is_anomaly``."""
        from modelworks.data.schema import build_schema

        self._check()
        schema = build_schema(self.data.X, self.data.columns, self.data.dropped, "anomaly", "anomaly", None)
        schema["threshold"] = {"value": self.threshold, "rule": self.threshold_rule}
        return schema

    def save(self, path: str | os.PathLike, *, report: bool = True, key: bytes | str | None = None) -> Path:
        """Write the bundle: pipeline, schema, metrics, ``scores.csv`` and ``report.html``."""
        from modelworks.bundle import save_bundle

        self._check()
        scores = self.scores.assign(why=[self.reasons_.get(int(r), "") for r in range(len(self.scores_))])
        files = {"scores.csv": scores.to_csv(index=False)}
        if report:
            from modelworks.report.clusters import render_anomaly_report

            files["report.html"] = render_anomaly_report(self, Path(path))
        return save_bundle(path, self.pipeline_, self.schema(), self.summary(), files, key=key)


def _agreement(per: dict[str, np.ndarray]) -> dict[str, float]:
    """Spearman correlation between each pair of detectors' scores."""
    from scipy.stats import spearmanr

    names = list(per)
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rho = spearmanr(per[a], per[b]).statistic
            out[f"{LABELS[a]} / {LABELS[b]}"] = float(rho) if np.isfinite(rho) else math.nan
    return out


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _reasons(
    frame: pd.DataFrame, rows: np.ndarray, numeric: list[str], categorical: list[str]
) -> dict[int, str]:
    """For each flagged row, its most unusual values in words."""
    spreads = {}
    for col in numeric:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            continue
        med = float(np.median(finite))
        mad = float(1.4826 * np.median(np.abs(finite - med)))
        q1, q3 = np.percentile(finite, [25, 75])
        spread = mad or float((q3 - q1) / 1.349) or float(np.std(finite)) or 1.0
        spreads[col] = (
            values,
            med,
            spread,
            float(np.percentile(finite, 5)),
            float(np.percentile(finite, 95)),
        )
    shares = {
        col: frame[col].astype("string").value_counts(normalize=True, dropna=True) for col in categorical
    }
    out: dict[int, str] = {}
    for r in rows.tolist():
        found: list[tuple[float, str]] = []
        for col, (values, med, spread, p5, p95) in spreads.items():
            v = values[r]
            if not np.isfinite(v):
                continue
            z = (v - med) / spread
            if abs(z) >= UNUSUAL_Z:
                found.append(
                    (abs(z), f"{col} = {_fmt(v)} ({z:+.1f} robust SD; 90% of rows {_fmt(p5)}–{_fmt(p95)})")
                )
        for col, share in shares.items():
            value = frame[col].iloc[r]
            if pd.isna(value):
                continue
            s = float(share.get(str(value), 0.0))
            if s < RARE_LEVEL:
                found.append(
                    (UNUSUAL_Z + (RARE_LEVEL - s) * 100, f"{col} = {value} (a rare level: {s:.1%} of rows)")
                )
        found.sort(key=lambda t: -t[0])
        out[r] = "; ".join(text for _, text in found[:REASONS]) or "an unusual combination of ordinary values"
    return out


def _external(truth: pd.Series, flags: np.ndarray) -> dict[str, float]:
    """Precision and recall of the flags against known anomaly flags."""
    text = truth.astype("string").str.strip().str.lower()
    known = text.notna().to_numpy()
    positive = text.isin(["1", "true", "yes", "anomaly", "outlier", "1.0"]).to_numpy()
    t, p = positive[known], flags[known].astype(bool)
    caught = int((t & p).sum())
    return {
        "known_anomalies": int(t.sum()),
        "flagged": int(p.sum()),
        "caught": caught,
        "recall": caught / t.sum() if t.sum() else math.nan,
        "precision": caught / p.sum() if p.sum() else math.nan,
    }
