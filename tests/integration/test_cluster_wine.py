"""Clustering chooses the method and k on a real table (scikit-learn's wine), the same way twice.

Kept out of the unit tests (two full automatic runs, about 30 s): `make test` runs it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from modelworks.cluster import Clustering


def test_wine_is_found_with_auto_method_and_k_and_the_run_is_deterministic():
    wine = load_wine(as_frame=True).frame
    first = Clustering(wine, label="target", seed=0).fit()
    assert first.chosen.n_clusters == 3
    assert first.external["ari"] >= 0.7
    again = Clustering(wine, label="target", seed=0).fit()
    np.testing.assert_array_equal(first.labels_, again.labels_)
    pd.testing.assert_frame_equal(
        first.comparison.drop(columns="fit_seconds"), again.comparison.drop(columns="fit_seconds")
    )
    # the label column is never fitted on: it is left out with its reason
    assert {
        "name": "target",
        "reason": pytest.approx("known classes (--label): used only to score the clusters"),
    } in [{"name": d["name"], "reason": d["reason"]} for d in first.data.dropped]
