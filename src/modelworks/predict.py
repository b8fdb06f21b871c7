"""Predict with a loaded bundle: check input against the schema, keep row order, name the columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelworks.bundle import Bundle
from modelworks.data.schema import check_input
from modelworks.errors import ConfigError
from modelworks.evaluate.metrics import align_proba


def predict_frame(bundle: Bundle, df: pd.DataFrame, proba: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Predictions for the rows of ``df``, in the same order.

    Parameters
    ----------
    bundle : Bundle
        A loaded bundle.
    df : DataFrame
        Rows to predict (extra columns are ignored).
    proba : bool
        Return one probability column per class, named by the class label, instead of the label.

    Returns
    -------
    predictions : DataFrame
        ``prediction`` column, or one column per class.
    notices : list of str
        What was ignored or treated as unknown.
    """
    checked = check_input(df, bundle.schema)
    model = bundle.model
    if proba:
        if bundle.task == "regression":
            raise ConfigError("--proba applies to classification bundles; this one is regression")
        labels = bundle.labels or list(model.classes_)
        p = align_proba(model.predict_proba(checked.frame), list(model.classes_), labels)
        return pd.DataFrame(p, columns=[str(c) for c in labels]), checked.notices
    pred = model.predict(checked.frame)
    if bundle.task == "regression":
        pred = np.asarray(pred, dtype=float)
    return pd.DataFrame({"prediction": pred}), checked.notices
