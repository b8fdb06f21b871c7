"""A finding of a methodology check: a stable code, a severity, the columns, a sentence, a number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from modelworks.data.kinds import ColumnInfo

Severity = Literal["error", "warning", "info"]

#: Every code a check can report, with its short title (docs/checks.md explains each rule).
CODES: dict[str, str] = {
    "MW101": "target leakage by one column",
    "MW102": "target leakage through missingness",
    "MW103": "an identifier that encodes the target",
    "MW201": "repeated entities",
    "MW202": "near-duplicate rows across the split",
    "MW301": "order in time under a random split",
    "MW401": "train/test shift",
    "MW402": "class imbalance",
    "MW403": "too few rows per class for the folds",
    "MW501": "near-constant column",
    "MW502": "high-cardinality text treated as a category",
    "MW601": "calibration of the chosen classifier",
}
#: Codes whose column is left out of the model (unless the user keeps it with ``--keep-column``).
DROPPING: frozenset[str] = frozenset({"MW101", "MW102", "MW103"})


@dataclass(frozen=True)
class Finding:
    """What one check found.

    Parameters
    ----------
    code : str
        A key of :data:`CODES` (stable across releases).
    severity : {"error", "warning", "info"}
        An error's column is left out of the model (codes in :data:`DROPPING`); a warning names a fix
        the user should consider; an info is worth knowing.
    columns : tuple of str
        The columns involved (may be empty, for a finding about the whole table).
    message : str
        One sentence naming the problem and the fix.
    evidence : float
        The number the rule was applied to (a score, a share, an AUC), as named in the message.
    """

    code: str
    severity: Severity
    columns: tuple[str, ...]
    message: str
    evidence: float

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown check code {self.code!r}")

    def to_dict(self) -> dict:
        """The JSON form written to ``metrics.json`` and ``profile.json``."""
        return {
            "code": self.code,
            "severity": self.severity,
            "columns": list(self.columns),
            "message": self.message,
            "evidence": round(float(self.evidence), 6),
        }

    def line(self) -> str:
        """One printable line: ``MW101 error [col]: message``."""
        where = f" [{', '.join(self.columns)}]" if self.columns else ""
        return f"{self.code} {self.severity}{where}: {self.message}"


@dataclass
class CheckInput:
    """What the checks look at: the training part (features and target), the test set's features
    (never its target), and how the run will split and validate.

    Parameters
    ----------
    X_train : DataFrame
        Training features, as read (no column dropped yet but the target).
    y_train : Series
        Training target.
    task : {"binary", "multiclass", "regression"}
    kinds : dict of str to ColumnInfo
        The inferred kind of every column of ``X_train``.
    X_test : DataFrame or None
        The held-out test set's features; ``None`` before a split (``modelworks profile``).
    split_kind : {"random", "stratified", "group", "time"}
        How the test set and the folds are drawn.
    cv : int
        Folds per repetition.
    seed : int
    groups : str or None
        The ``--groups`` column, when given.
    time_column : str or None
        The ``--time-column`` column, when given.
    keep : tuple of str
        Columns the user keeps whatever the checks find (``--keep-column``): still reported, never
        dropped.
    """

    X_train: pd.DataFrame
    y_train: pd.Series
    task: str
    kinds: dict[str, ColumnInfo]
    X_test: pd.DataFrame | None = None
    split_kind: str = "random"
    cv: int = 5
    seed: int = 0
    groups: str | None = None
    time_column: str | None = None
    keep: tuple[str, ...] = field(default_factory=tuple)

    @property
    def classification(self) -> bool:
        return self.task != "regression"

    def target_codes(self) -> np.ndarray:
        """The target as integer class codes (classification) or floats (regression)."""
        if self.classification:
            return pd.factorize(self.y_train.astype(object), sort=True)[0]
        return self.y_train.to_numpy(dtype="float64")
