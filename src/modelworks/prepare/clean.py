"""First step of every pipeline: turn raw columns into typed ones.

Numbers written as strings are parsed, dates become parts (year, month, day, day of week, hour) and the
elapsed days since 1970-01-01, categorical values become strings, free text is kept as text. The step
holds no statistics of the data, so it is the same in every CV fold and at prediction time, which is what
keeps a date or a category code from meaning something different when the model is served.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from modelworks.prepare._cleaning import DATE_PARTS, clean, date_feature_names, output_names

__all__ = ["DATE_PARTS", "TableCleaner", "date_feature_names"]


class TableCleaner(TransformerMixin, BaseEstimator):
    """Type raw columns according to a fixed column specification.

    Parameters
    ----------
    columns : list of dict
        One dict per input column kept for modelling, with keys ``name``, ``kind`` (numeric,
        categorical, boolean, datetime or text) and ``has_time`` (datetime only), as produced by
        :meth:`modelworks.data.kinds.ColumnInfo.to_dict`.
    """

    def __init__(self, columns: list[dict] | None = None):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None) -> TableCleaner:
        self.feature_names_out_ = np.array(self._output_names(), dtype=object)
        self.input_names_ = [c["name"] for c in self.columns or []]
        return self

    def _output_names(self) -> list[str]:
        return output_names(self.columns or [])

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_out_")
        return clean(self.columns or [], X)

    def __sklearn_clone__(self) -> TableCleaner:
        # the specification is never changed in place: sharing it spares clone() deep-copying one
        # dict per column (a second per comparison on a 10,000-column table)
        return type(self)(columns=self.columns)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_

    # The column specification is stored as one JSON text: skops writes every dict and string of a
    # list as its own node, which made a 10,000-column bundle 80 MB and 15 s to save and audit.
    # The names derived from it are rebuilt on load; json.loads runs no code.
    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # object.__getstate__ hands out __dict__ itself
        columns = state.get("columns")
        if isinstance(columns, list):
            try:
                text = json.dumps(columns, allow_nan=False)
            except (TypeError, ValueError):
                return state  # a specification built by hand, with other values: stored as it is
            state["columns"] = text
            state["_packed"] = state.pop("feature_names_out_", None) is not None
            state.pop("input_names_", None)
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        packed = state.pop("_packed", None)
        if isinstance(state.get("columns"), str):
            state["columns"] = json.loads(state["columns"])
        super().__setstate__(state)
        if packed:
            self.fit(None)
