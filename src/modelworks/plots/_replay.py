"""Many small predictions answered from one large one.

Permutation importance and partial dependence predict the same rows again and again, each time with
one column changed. For a pipeline every call pays a fixed cost (column transformer, validation) that
on a few hundred rows outweighs the prediction itself. Here the changed copies are stacked and
predicted together; :class:`Replay` then stands in for the estimator inside scikit-learn's own code
(its scorers, :func:`sklearn.inspection.partial_dependence`) and answers each call with the rows of
one copy, so the results are scikit-learn's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Cells (rows x columns) predicted per call at most: bounds the memory of the stacked copies.
MAX_CELLS = 2_000_000
_RESPONSES = ("predict", "predict_proba", "decision_function", "predict_log_proba")


def copies_per_call(n_rows: int, n_columns: int, max_cells: int = MAX_CELLS) -> int:
    """How many copies of an ``n_rows`` x ``n_columns`` table one call may predict."""
    return max(1, max_cells // max(n_rows * n_columns, 1))


class Replay:
    """A fitted estimator's stand-in that answers with the stored response for one copy.

    Parameters
    ----------
    estimator : fitted estimator
        Predicts ``stacked`` once per response method, on first use.
    stacked : DataFrame
        The copies, one after another, ``n_rows`` rows each.
    n_rows : int
        Rows per copy.
    advance : bool, default=False
        Move to the next copy after each answer (for code that predicts the copies in order);
        otherwise the caller sets :attr:`copy`.
    """

    def __init__(self, estimator: Any, stacked: pd.DataFrame, n_rows: int, *, advance: bool = False) -> None:
        self.estimator = estimator
        self.stacked = stacked
        self.n_rows = n_rows
        self.advance = advance
        self.copy = 0
        self._cache: dict[str, np.ndarray] = {}
        for name in _RESPONSES:
            if hasattr(estimator, name):
                setattr(self, name, self._responder(name))

    def _responder(self, name: str):
        def respond(X: Any) -> np.ndarray:
            if name not in self._cache:
                self._cache[name] = np.asarray(getattr(self.estimator, name)(self.stacked))
            start = self.copy * self.n_rows
            if self.advance:
                self.copy += 1
            return self._cache[name][start : start + self.n_rows]

        respond.__name__ = name  # scikit-learn tells the response methods apart by name
        return respond

    def fit(self, X: Any, y: Any = None) -> Replay:
        """Not supported: present because scikit-learn's checks ask for it."""
        raise TypeError("Replay answers stored predictions of a fitted estimator; it cannot be fitted")

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def classes_(self):
        return self.estimator.classes_
