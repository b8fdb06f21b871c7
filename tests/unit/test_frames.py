"""Row hashes and distinct counts of wide tables, computed as one block, agree with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelworks.data._frames import WIDE, nunique, row_hashes


def _wide(seed: int = 0, rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = WIDE + 50
    df = pd.DataFrame(rng.integers(0, 3, size=(rows, n)).astype(float), columns=[f"f{i}" for i in range(n)])
    df.iloc[::5, 2] = np.nan
    df["count"] = rng.integers(0, 2, rows)
    df["flag"] = rng.integers(0, 2, rows).astype(bool)
    df["plan"] = rng.choice(["a", "b", None], rows)
    df = pd.concat([df, df.iloc[:10]], ignore_index=True)  # ten exact repeats
    df.loc[len(df) - 1, "f0"] = -0.0 if df.loc[9, "f0"] == 0 else df.loc[9, "f0"]
    return df


def test_equal_rows_share_a_hash_and_distinct_rows_do_not():
    df = _wide()
    hashes = row_hashes(df)
    assert hashes.dtype == np.uint64 and len(hashes) == len(df)
    np.testing.assert_array_equal(pd.Series(hashes).duplicated().to_numpy(), df.duplicated().to_numpy())
    assert np.array_equal(row_hashes(df), hashes)  # deterministic


def test_one_changed_cell_changes_the_hash_and_column_order_counts():
    df = _wide().drop_duplicates(ignore_index=True)
    base = row_hashes(df)
    changed = df.copy()
    changed.loc[3, "f7"] += 1
    assert (row_hashes(changed) != base).sum() == 1
    swapped = df.copy()
    swapped[["f0", "f1"]] = swapped[["f1", "f0"]].to_numpy()
    differs = df["f0"].to_numpy() != df["f1"].to_numpy()
    assert (row_hashes(swapped) != base)[differs].all()


@pytest.mark.parametrize("rows", [0, 1, 60])
def test_distinct_counts_match_pandas(rows):
    df = _wide().head(rows)
    pd.testing.assert_series_equal(nunique(df), df.nunique(dropna=True).astype("int64"))


def test_narrow_tables_keep_pandas_hashes():
    df = pd.DataFrame({"a": [1, 2, 1], "b": ["x", "y", "x"]})
    np.testing.assert_array_equal(row_hashes(df), pd.util.hash_pandas_object(df, index=False).to_numpy())
