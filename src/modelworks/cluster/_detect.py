"""The anomaly detector a bundle holds: three scikit-learn detectors, their scores made comparable and
combined by their median, and a threshold.

- Isolation forest (200 trees): how quickly random splits isolate a row.
- Local outlier factor in novelty mode (20 neighbours): how much sparser a row's neighbourhood is than
  its neighbours' own; novelty mode is what lets it score new rows, and the fitted rows are scored the
  same way, so ``predict`` gives them exactly the scores of the fit.
- Robust covariance (minimum covariance determinant): the Mahalanobis distance from a centre and shape
  estimated on the most central rows; left out, and said so, when the encoded columns make it singular.

Each detector's score (higher: more unusual) is measured in interquartile ranges above its own upper
quartile on the fitted rows, ``(s − Q3) / IQR``, so that no detector weighs by its units; the row's
score is the median of the three. On that scale Tukey's far-out fence is 3 for every detector, and the
median is above 3 exactly when at least two of the three detectors put the row beyond their own fence:
the automatic threshold is 3, a majority vote that one detector's extreme value (a squared Mahalanobis
distance of 10⁹) cannot outvote. With a contamination, the threshold is instead the ``1 − contamination``
quantile of the fitted rows' scores.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from sklearn.utils.validation import check_is_fitted

DETECTORS = ("isolation_forest", "local_outlier_factor", "robust_covariance")
LABELS = {
    "isolation_forest": "isolation forest",
    "local_outlier_factor": "local outlier factor",
    "robust_covariance": "robust covariance",
}
#: Tukey's far-out fence: Q3 + FENCE × IQR.
FENCE = 3.0
#: Rows the detectors are fitted on, at most (a random sample beyond; every row is still scored).
FIT_ROWS = 10_000


def _quartile_scale(values: np.ndarray) -> tuple[float, float]:
    """The upper quartile and the interquartile range of ``values`` (a spread of 0 falls back to the
    standard deviation, then to 1)."""
    q1, q3 = np.percentile(values, [25, 75])
    spread = float(q3 - q1)
    if spread <= 0:
        spread = float(np.std(values)) or 1.0
    return float(q3), spread


class AnomalyScorer(BaseEstimator):
    """Median of the detectors' scores in interquartile ranges above their upper quartile, with a
    threshold (see the module).

    Parameters
    ----------
    detectors : tuple of str
        Among :data:`DETECTORS`.
    contamination : float or None
        Share of rows expected to be anomalies; ``None``: Tukey's far-out fence (see the module).
    random_state : int
    """

    def __init__(
        self,
        detectors: tuple[str, ...] = DETECTORS,
        contamination: float | None = None,
        random_state: int = 0,
    ):
        self.detectors = detectors
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X, y=None) -> AnomalyScorer:
        """Fit the detectors (on at most :data:`FIT_ROWS` rows of ``X``), their scales and the threshold."""
        self.fit_scores(X)
        return self

    def fit_scores(self, X) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Fit as :meth:`fit`, and return the rows' scores and each detector's scaled score (exactly
        what :meth:`score_samples` and :meth:`detector_scores` give for ``X``, computed once)."""
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.detectors_: dict = {}
        self.left_out_: dict[str, str] = {}
        rows = np.arange(len(X))
        if len(X) > FIT_ROWS:
            rows = np.sort(np.random.default_rng(self.random_state).choice(len(X), FIT_ROWS, replace=False))
        self.fit_rows_ = len(rows)
        for name in self.detectors:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.detectors_[name] = self._detector(name, len(rows)).fit(X[rows])
            except (ValueError, np.linalg.LinAlgError) as exc:
                self.left_out_[name] = (
                    f"could not be fitted on these columns ({str(exc).splitlines()[0][:120]})"
                )
        if not self.detectors_:
            raise ValueError("no anomaly detector could be fitted: " + "; ".join(self.left_out_.values()))
        raw = self._raw(X)
        self.scales_ = {name: _quartile_scale(values) for name, values in raw.items()}
        per = self._scaled(raw)
        scores = np.median(list(per.values()), axis=0)
        if self.contamination is not None:
            self.threshold_ = float(np.quantile(scores, 1 - self.contamination))
            self.threshold_rule_ = f"the top {self.contamination:.2%} of scores (--contamination)"
        else:
            self.threshold_ = FENCE
            self.threshold_rule_ = (
                "Tukey's far-out fence (Q3 + 3 × IQR) of each detector's scores, passed by the majority "
                "of the detectors"
            )
        return scores, per

    def _detector(self, name: str, n: int):
        if name == "isolation_forest":
            return IsolationForest(n_estimators=200, random_state=self.random_state)
        if name == "local_outlier_factor":
            return LocalOutlierFactor(n_neighbors=min(20, n - 1), novelty=True, algorithm="kd_tree")
        if name == "robust_covariance":
            return EllipticEnvelope(random_state=self.random_state, support_fraction=None)
        raise ValueError(f"unknown detector {name!r}")

    def _raw(self, X: np.ndarray) -> dict[str, np.ndarray]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {name: -det.score_samples(X) for name, det in self.detectors_.items()}

    def _combine(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        return np.median(list(self._scaled(raw).values()), axis=0)

    def _scaled(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: (raw[name] - q3) / iqr for name, (q3, iqr) in self.scales_.items()}

    def detector_scores(self, X) -> dict[str, np.ndarray]:
        """Each detector's score, in interquartile ranges above its upper quartile."""
        check_is_fitted(self, "scales_")
        return self._scaled(self._raw(np.asarray(X, dtype=np.float64)))

    def score_samples(self, X) -> np.ndarray:
        """Anomaly score of each row: higher is more unusual."""
        check_is_fitted(self, "scales_")
        return self._combine(self._raw(np.asarray(X, dtype=np.float64)))

    def predict(self, X) -> np.ndarray:
        """1 for rows scored above the threshold, 0 otherwise."""
        return (self.score_samples(X) > self.threshold_).astype(np.int64)
