"""Row hashes and distinct counts of a table, with the numbers of a wide table taken as one block.

pandas hashes a row (``hash_pandas_object``) and counts distinct values (``DataFrame.nunique``) one
column at a time: on 20 rows × 10,000 columns each call costs most of a second, and a run made
three hashes and two counts. Above :data:`WIDE` columns the plain numeric columns are handled as one
NumPy matrix instead (the other columns still through pandas). The hashes differ from pandas' own
but, like them, are equal for equal rows and deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Above this many columns, numeric columns are hashed and counted as one block.
WIDE = 100
#: Cells of the numeric block at most (its uint64 copy is 8 bytes a cell).
MAX_CELLS = 20_000_000
_NAN_BITS = np.uint64(0x7FF8_0000_0000_0001)


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """One ``uint64`` per row, equal for rows with equal values (missing values equal too)."""
    numeric, rest = _split(df)
    if not numeric:
        return _pandas_hashes(df)
    hashes = _block_hashes(df[numeric])
    if rest:
        other = _pandas_hashes(df[rest])
        hashes = _mix(hashes ^ _mix(other + np.uint64(0x9E37_79B9_7F4A_7C15)))
    return hashes


def nunique(df: pd.DataFrame) -> pd.Series:
    """Distinct non-missing values per column, as ``DataFrame.nunique(dropna=True)``."""
    numeric, rest = _split(df)
    if not numeric:
        return df.nunique(dropna=True)
    values = np.sort(df[numeric].to_numpy(dtype=np.float64), axis=0)  # NaN last
    present = ~np.isnan(values)
    changes = (values[1:] != values[:-1]) & present[1:]
    counts = pd.Series(present[:1].sum(axis=0) + changes.sum(axis=0), index=numeric)
    if rest:
        counts = pd.concat([counts, df[rest].nunique(dropna=True)])
    return counts.reindex(df.columns).astype("int64")


def _split(df: pd.DataFrame) -> tuple[list, list]:
    """The plain NumPy numeric columns (when the table is wide enough to gain) and the others."""
    if df.shape[1] <= WIDE or not len(df):
        return [], list(df.columns)
    kinds = [isinstance(t, np.dtype) and t.kind in "fiub" for t in df.dtypes]
    numeric = [c for c, k in zip(df.columns, kinds, strict=True) if k]
    if len(df) * len(numeric) > MAX_CELLS or df.columns.has_duplicates:
        return [], list(df.columns)
    return numeric, [c for c, k in zip(df.columns, kinds, strict=True) if not k]


def _block_hashes(block: pd.DataFrame) -> np.ndarray:
    ints = [c for c, t in block.dtypes.items() if t.kind in "iub"]
    floats = [c for c, t in block.dtypes.items() if t.kind == "f"]
    parts = []
    if floats:
        values = block[floats].to_numpy(dtype=np.float64) + 0.0  # -0.0 becomes 0.0
        bits = values.view(np.uint64).copy()
        bits[np.isnan(values)] = _NAN_BITS
        parts.append(bits)
    if ints:  # as integers: large identifiers would collide as floats
        parts.append(block[ints].to_numpy(dtype=np.int64).view(np.uint64))
    bits = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    salt = _mix(np.arange(1, bits.shape[1] + 1, dtype=np.uint64))  # the column's position counts
    with np.errstate(over="ignore"):
        return _mix(bits ^ salt[None, :]).sum(axis=1, dtype=np.uint64)


def _mix(u: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every input bit reaches every output bit."""
    with np.errstate(over="ignore"):
        u = (u ^ (u >> np.uint64(30))) * np.uint64(0xBF58_476D_1CE4_E5B9)
        u = (u ^ (u >> np.uint64(27))) * np.uint64(0x94D0_49BB_1331_11EB)
        return u ^ (u >> np.uint64(31))


def _pandas_hashes(df: pd.DataFrame) -> np.ndarray:
    try:
        return pd.util.hash_pandas_object(df, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists, dicts)
        return pd.util.hash_pandas_object(df.astype("string"), index=False).to_numpy()


def data_hash(df: pd.DataFrame) -> str:
    """A stable sha256 of a table's content and column names."""
    import hashlib

    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, df.columns)).encode())
    # row hashes: text conversion of every cell first took seconds on a million rows
    digest.update(row_hashes(df).tobytes())
    return digest.hexdigest()
