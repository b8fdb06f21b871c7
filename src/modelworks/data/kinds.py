"""Infer what each column of a raw table is: numeric, categorical, boolean, datetime, text,
identifier or constant.

The kinds drive both the profile (what to summarise, what to warn about) and preprocessing (how each
column is encoded). Inference is structural (dtypes, parse rates, uniqueness), never based on the target.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant"]
KINDS: tuple[str, ...] = (
    "numeric",
    "categorical",
    "boolean",
    "datetime",
    "text",
    "identifier",
    "constant",
)

#: Categorical columns with more levels than this are target-encoded instead of one-hot encoded.
HIGH_CARDINALITY = 30
#: Share of non-missing values that must parse for a string column to count as numeric or a date.
PARSE_SHARE = 0.95
_SAMPLE = 5000

_BOOL_WORDS = {
    frozenset({"true", "false"}),
    frozenset({"yes", "no"}),
    frozenset({"y", "n"}),
    frozenset({"t", "f"}),
}
_ID_NAME = re.compile(r"(^id$)|([_\s-]id$)|([a-z]ID$)|(uuid|guid)", re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z]ID$")
_NUMBER_CLEAN = re.compile(r"[\s$€£,%]")
_DATE_HINT = re.compile(r"\d{1,4}[-/.:]\d{1,2}")


@dataclass(frozen=True)
class ColumnInfo:
    """What modelworks decided about one column.

    Parameters
    ----------
    name : str
        Column name.
    kind : str
        One of :data:`KINDS`.
    parse : str or None
        ``"number"`` or ``"date"`` when the raw values are strings that must be parsed.
    n_unique : int
        Distinct non-missing values.
    high_cardinality : bool
        Categorical column with more than :data:`HIGH_CARDINALITY` levels.
    has_time : bool
        Datetime column whose values carry a time of day.
    """

    name: str
    kind: str
    parse: str | None = None
    n_unique: int = 0
    high_cardinality: bool = False
    has_time: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _looks_like_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name) and (name.lower() == "id" or not name.lower().endswith("paid")))


def parse_numbers(values: pd.Series) -> pd.Series:
    """Parse strings such as ``"1,234.5"``, ``"$12"`` or ``" 7 "`` to floats (NaN where they do not)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.replace(_NUMBER_CLEAN, "", regex=True)
    return pd.to_numeric(text.replace("", pd.NA), errors="coerce").astype("float64")


def stored_as_numbers(dtype: object) -> bool:
    """Whether a column of ``dtype`` holds plain numbers (integers or floats; booleans do not count),
    which cleaning only casts to float64 and which wide tables convert in one block."""
    return getattr(dtype, "kind", "O") in "fiu"


def parse_number_frame(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """:func:`parse_numbers` of each named column, as one float64 frame in the order of ``names``.

    Columns already stored as numbers are converted in one block: a wide table has thousands, and
    ``frame[name]`` costs far more than the conversion.
    """
    dtypes = frame.dtypes.to_dict()
    stored = [n for n in names if stored_as_numbers(dtypes[n])]
    block = frame[stored].to_numpy(dtype="float64", na_value=np.nan)
    out = pd.DataFrame(block, columns=pd.Index(stored, dtype=object), index=frame.index)
    done = set(stored)
    parsed = {n: parse_numbers(frame[n]) for n in names if n not in done}
    if not parsed:
        return out
    return pd.concat([out, pd.DataFrame(parsed, index=frame.index)], axis=1)[names]


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse date strings to ``datetime64[ns]`` (NaT where they do not parse)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
            except ValueError:  # different UTC offsets in one column: compare them in UTC
                out = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed", utc=True)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _is_bool_like(values: pd.Series) -> bool:
    words = frozenset(str(v).strip().lower() for v in values.unique())
    return words in _BOOL_WORDS


def infer_column(series: pd.Series) -> ColumnInfo:
    """Infer the :class:`ColumnInfo` of one column."""
    name = str(series.name)
    present = series.dropna()
    n = len(present)
    n_unique = int(present.nunique())
    if n_unique <= 1:
        return ColumnInfo(name, "constant", n_unique=n_unique)
    unique_share = n_unique / max(n, 1)
    sample = present.sample(min(n, _SAMPLE), random_state=0) if n > _SAMPLE else present

    if pd.api.types.is_bool_dtype(series):
        return ColumnInfo(name, "boolean", n_unique=n_unique)
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnInfo(name, "datetime", n_unique=n_unique, has_time=_has_time(present))
    if pd.api.types.is_numeric_dtype(series):
        integral = bool(np.all(np.mod(sample.to_numpy(dtype="float64"), 1) == 0))
        if integral and unique_share > 0.99 and n > 20 and _looks_like_id_name(name):
            return ColumnInfo(name, "identifier", n_unique=n_unique)
        return ColumnInfo(name, "numeric", n_unique=n_unique)

    # strings (object, StringDtype, category)
    text = sample.astype("string").str.strip()
    if n_unique == 2 and _is_bool_like(present):
        return ColumnInfo(name, "boolean", n_unique=n_unique)
    if parse_numbers(text).notna().mean() >= PARSE_SHARE:
        return ColumnInfo(name, "numeric", parse="number", n_unique=n_unique)
    if text.str.contains(_DATE_HINT).mean() >= PARSE_SHARE:
        dates = parse_dates(text)
        if dates.notna().mean() >= PARSE_SHARE:
            return ColumnInfo(
                name,
                "datetime",
                parse="date",
                n_unique=n_unique,
                has_time=_has_time(dates.dropna()),
            )
    words = text.str.split().str.len().mean()
    if unique_share > 0.5 and n > 20 and (words >= 3 or text.str.len().mean() >= 30):
        return ColumnInfo(name, "text", n_unique=n_unique)
    if unique_share > 0.95 and n > 20:
        return ColumnInfo(name, "identifier", n_unique=n_unique)
    if unique_share > 0.5 and n > 20 and _looks_like_id_name(name):
        return ColumnInfo(name, "identifier", n_unique=n_unique)
    return ColumnInfo(name, "categorical", n_unique=n_unique, high_cardinality=n_unique > HIGH_CARDINALITY)


def _has_time(dates: pd.Series) -> bool:
    d = dates.dropna()
    if d.empty:
        return False
    d = d if pd.api.types.is_datetime64_any_dtype(d) else parse_dates(d).dropna()
    return bool((d.dt.hour != 0).any() or (d.dt.minute != 0).any())


def infer_kinds(df: pd.DataFrame, exclude: tuple[str, ...] = ()) -> dict[str, ColumnInfo]:
    """Infer the kind of every column of ``df`` except those in ``exclude``.

    Parameters
    ----------
    df : DataFrame
        The raw table.
    exclude : tuple of str
        Columns to leave out (typically the target).

    Returns
    -------
    dict
        Column name to :class:`ColumnInfo`, in the table's column order.
    """
    names = [c for c in df.columns if c not in exclude]
    # columns stored as plain numbers are inferred together (wide tables have thousands)
    dtypes = df.dtypes.to_dict()
    block = [c for c in names if stored_as_numbers(dtypes[c])] if len(names) > _BLOCK_MIN_COLUMNS else []
    fast = _infer_numeric_block(df, block)
    return {str(c): fast[str(c)] if str(c) in fast else infer_column(df[c]) for c in names}


#: Above this many columns, plain numeric columns are inferred as one block.
_BLOCK_MIN_COLUMNS = 50
#: Cells sorted at once by the block inference.
_BLOCK_CELLS = 5_000_000


def _infer_numeric_block(df: pd.DataFrame, names: list) -> dict[str, ColumnInfo]:
    """:func:`infer_column` for plain numeric (float, int) columns, vectorised over columns."""
    out: dict[str, ColumnInfo] = {}
    step = max(1, _BLOCK_CELLS // max(len(df), 1))
    for start in range(0, len(names), step):
        chunk = names[start : start + step]
        values = np.sort(df[chunk].to_numpy(dtype="float64"), axis=0)  # NaN sorts last
        present = ~np.isnan(values)
        n = present.sum(axis=0)
        changes = (values[1:] != values[:-1]) & present[1:]
        n_unique = changes.sum(axis=0) + (n > 0)
        integral = np.all((np.mod(values, 1) == 0) | ~present, axis=0)
        for j, c in enumerate(chunk):
            name, k, m = str(c), int(n_unique[j]), int(n[j])
            if k <= 1:
                out[name] = ColumnInfo(name, "constant", n_unique=k)
            elif integral[j] and k / max(m, 1) > 0.99 and m > 20 and _looks_like_id_name(name):
                out[name] = ColumnInfo(name, "identifier", n_unique=k)
            else:
                out[name] = ColumnInfo(name, "numeric", n_unique=k)
    return out


def as_category_strings(values: pd.Series) -> pd.Series:
    """Categorical values as Python strings (missing stays ``np.nan``), whatever their input type.

    ``1``, ``1.0`` and ``"1"`` are the same level, so JSON, CSV and DataFrame input agree.
    """

    def norm(v: object) -> object:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            return "True" if v else "False"
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    if pd.api.types.infer_dtype(values, skipna=True) == "string":  # the usual case: once per level
        codes, levels = pd.factorize(values.astype(object))
        stripped = np.array([str(v).strip() for v in levels] + [np.nan], dtype=object)
        return pd.Series(stripped[codes], dtype=object)  # code -1 (missing) takes the trailing nan
    return pd.Series([norm(v) for v in values.astype(object)], dtype=object)
