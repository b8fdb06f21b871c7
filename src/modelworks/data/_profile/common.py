"""Shared pieces of the profile: thresholds, :class:`ProfileWarning` and value formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Codes a :class:`ProfileWarning` can carry.
WARNING_CODES: tuple[str, ...] = (
    "wide",
    "identifier",
    "constant",
    "all_missing",
    "missing",
    "high_cardinality",
    "imbalance",
    "duplicates",
    "leakage",
    "skew",
    "target_missing",
)
#: A column with at least this share of missing values is reported.
MISSING_SHARE = 0.4
#: Categorical columns with more levels than this are reported as high-cardinality.
HIGH_CARDINALITY = 30
#: Minority class share below which a classification target is reported as imbalanced.
IMBALANCE_SHARE = 0.10
#: Majority/minority ratio at or above which a classification target is reported as imbalanced.
IMBALANCE_RATIO = 10.0
#: Absolute skewness above which a numeric column is reported (informative only).
SKEW = 2.0
#: Single-feature scores at or above which a feature is reported as leaking the target.
LEAK_AUC = 0.98
LEAK_R2 = 0.98
LEAK_ACCURACY = 0.99
LEAK_PEARSON = 0.98
#: Rows used by the single-feature leakage check.
LEAK_ROWS = 20_000
#: Levels shown per categorical column in the target-rate tables (the rest are pooled as "other").
RATE_LEVELS = 20
#: Quantile bins per numeric column in the target-rate tables.
RATE_BINS = 5
TOP_VALUES = 5
#: Feature columns that get distribution fits, target rates, associations and leakage checks.
MAX_DETAILED_COLUMNS = 200
#: Rows profiled at most (a seeded sample of a larger table).
MAX_ROWS = 200_000
#: Finite values per numeric column (a seeded sample) used by the normality test and the fits.
FIT_SAMPLE = 5000
#: Fewer finite values than this: no normality test and no distribution fit.
FIT_MIN_VALUES = 20
#: Candidate distributions for ``best_fit`` (SciPy name); all but the normal need positive values.
FIT_DISTRIBUTIONS: dict[str, str] = {
    "normal": "norm",
    "lognormal": "lognorm",
    "exponential": "expon",
    "gamma": "gamma",
}

STAT_COLUMNS = ("mean", "std", "min", "q25", "median", "q75", "max", "skew", "normality_p", "best_fit_ks")
ASSOC_COLUMNS = (
    "feature",
    "kind",
    "method",
    "strength",
    "pearson_r",
    "pearson_p",
    "spearman_rho",
    "spearman_p",
    "cramers_v",
    "chi2",
    "eta",
    "p_value",
    "n",
)
FIT_SHORT = {"normal": "normal", "lognormal": "lognorm", "exponential": "expon", "gamma": "gamma"}
SEVERITY = {"leakage": "error", "all_missing": "error", "skew": "info", "wide": "info"}


@dataclass(frozen=True)
class ProfileWarning:
    """One problem found while profiling.

    Parameters
    ----------
    code : str
        One of :data:`WARNING_CODES`.
    column : str or None
        The column concerned, or None for table-wide warnings (duplicates).
    message : str
        A sentence a user can act on.
    """

    code: str
    column: str | None
    message: str

    @property
    def severity(self) -> str:
        """``"error"`` (likely to break a model), ``"warning"`` or ``"info"``."""
        return SEVERITY.get(self.code, "warning")

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "column": self.column,
            "message": self.message,
            "severity": self.severity,
        }


# ---------------------------------------------------------------------- helpers
def native(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def fmt(x: object) -> str:
    if x is None:
        return ""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}" if abs(x) >= 1e4 else str(int(x))
        return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
    return str(x)


def fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"
