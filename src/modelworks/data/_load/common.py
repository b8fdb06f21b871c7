"""What every source shares: constants, one-line messages and the final normalisation.

:func:`finish` is the last step of every reader: it makes column names stripped strings, refuses
tables without columns or rows and duplicate names, flattens columns of nested objects (JSON
objects, Parquet structs) into one column per field, refuses columns of lists, and strips string
cells and turns missing-value markers into missing values.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from modelworks.errors import DataError

#: Cell values (after stripping whitespace) that are read as missing.
MISSING_MARKERS: tuple[str, ...] = (
    "",
    "?",
    "NA",
    "N/A",
    "n/a",
    "NaN",
    "nan",
    "null",
    "NULL",
    "None",
)

TEXT_EXT = (".csv", ".tsv", ".txt")
JSON_EXT = (".json",)
JSONL_EXT = (".jsonl", ".ndjson")
PARQUET_EXT = (".parquet", ".pq")
EXCEL_EXT = (".xlsx", ".xlsm", ".xls")
SQLITE_EXT = (".db", ".sqlite", ".sqlite3")
GZIP_OK = TEXT_EXT + JSON_EXT + JSONL_EXT

#: File extensions :func:`~modelworks.data.load.load` reads (text and JSON may also end in ``.gz``).
SUPPORTED_EXTENSIONS: tuple[str, ...] = TEXT_EXT + PARQUET_EXT + EXCEL_EXT + JSON_EXT + JSONL_EXT + SQLITE_EXT

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_SEQUENCES = (list, tuple, set, frozenset, np.ndarray)
_SHOWN_NAMES = 6


def show(text: object, limit: int = 200) -> str:
    """``text`` made fit for a one-line message.

    Parameters
    ----------
    text : object
        A path, a name or a URL (converted with :class:`str`).
    limit : int
        Characters kept; longer text is cut and ends in ``...``.

    Returns
    -------
    str
        The text with control characters (newlines, NUL, ...) written as escapes like ``\\n``.
    """
    shown = _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(text))
    return shown[:limit] + ("..." if len(shown) > limit else "")


def one_line(exc: BaseException | str) -> str:
    """The message of ``exc`` on one line, without SQLAlchemy's appended statement and links.

    Parameters
    ----------
    exc : BaseException or str
        The exception (or text) to describe.

    Returns
    -------
    str
        At most 300 characters; the exception's type name when it has no message.
    """
    text = str(exc) or type(exc).__name__
    text = show(re.sub(r"\s+", " ", text).strip(), limit=10_000)
    text = re.split(r" \[SQL: | \(Background on this error", text)[0]
    return text[:300] + ("..." if len(text) > 300 else "")


def check_duplicates(names: list[str], label: str, after: str = "after stripping spaces") -> None:
    """Refuse duplicate column names.

    Parameters
    ----------
    names : list of str
        Column names, as they will be.
    label : str
        The source, as messages name it (``"file 'x.csv'"``).
    after : str
        What made the names as they are, for the message.

    Raises
    ------
    DataError
        Naming the duplicated names.
    """
    counts = Counter(names)
    dups = [name for name, n in counts.items() if n > 1]
    if dups:
        listed = ", ".join(repr(show(d, 80)) for d in dups[:_SHOWN_NAMES])
        raise DataError(
            f"{label} has duplicate column names {listed} ({after}); rename them so every column "
            "name is unique"
        )


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(show(n, 80)) for n in names[:_SHOWN_NAMES])
    return shown + (f" and {len(names) - _SHOWN_NAMES} more" if len(names) > _SHOWN_NAMES else "")


def _flatten(col: pd.Series, name: str, label: str) -> pd.DataFrame:
    """The fields of a column of nested objects (dicts) as columns named ``name.field``."""
    values = col.tolist()
    for value in values:
        if not isinstance(value, dict) and not _is_missing(value):
            raise DataError(
                f"column {show(name, 80)!r} of {label} mixes nested objects with plain values (such "
                f"as {show(repr(value), 40)}); make its values all objects or all plain values"
            )
    flat = pd.json_normalize([v if isinstance(v, dict) else {} for v in values], sep=".")
    flat.columns = pd.Index([f"{name}.{str(c).strip()}" for c in flat.columns])
    flat.index = col.index
    return flat


def _expand_objects(df: pd.DataFrame, label: str, notices: list[str] | None) -> pd.DataFrame:
    """Flatten every column of nested objects into one column per field (with a notice)."""
    flats: dict[int, pd.DataFrame] = {}
    for i, dtype in enumerate(df.dtypes):  # only object columns can hold them; wide tables have thousands
        if not pd.api.types.is_object_dtype(dtype):
            continue
        col = df.iloc[:, i]
        types = set(map(type, col.to_numpy(dtype=object)))
        if not any(issubclass(t, dict) for t in types):
            continue
        name = df.columns[i]
        flat = flats[i] = _flatten(col, name, label)
        if notices is not None:
            if flat.shape[1]:
                notices.append(
                    f"column {show(name, 80)!r} of {label} held nested objects; flattened into "
                    f"{_listed(list(flat.columns))}"
                )
            else:
                notices.append(f"column {show(name, 80)!r} of {label} held only empty objects; dropped it")
    if not flats:
        return df
    pieces = [flats[i] if i in flats else df.iloc[:, i] for i in range(df.shape[1])]
    out = pd.concat(pieces, axis=1)
    check_duplicates([str(c) for c in out.columns], label, after="after flattening nested objects")
    if out.shape[1] == 0:
        raise DataError(f"{label} holds no columns; pass a table with at least one column")
    return out


def _refuse_sequences(col: pd.Series, name: str, label: str) -> None:
    types = set(map(type, col.to_numpy(dtype=object)))
    for t in types:
        if issubclass(t, _SEQUENCES):
            what = "sets" if issubclass(t, set | frozenset) else "lists"
            raise DataError(
                f"column {show(name, 80)!r} of {label} holds {what}; expand it into separate columns "
                "or drop it"
            )


def normalise_strings(col: pd.Series) -> pd.Series:
    """Strip string cells and turn :data:`MISSING_MARKERS` into missing values.

    Parameters
    ----------
    col : pandas.Series
        An object or string column (not modified).

    Returns
    -------
    pandas.Series
        The normalised column; ``col`` itself when it holds no strings.
    """
    missing = list(MISSING_MARKERS)
    if isinstance(col.dtype, pd.StringDtype):
        stripped = col.str.strip()
        return stripped.mask(stripped.isin(missing))
    values = col.to_numpy(dtype=object, copy=True)
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if not is_str.any():
        return col
    stripped = np.array([v.strip() for v in values[is_str]], dtype=object)
    stripped[np.isin(stripped, missing)] = np.nan
    values[is_str] = stripped
    return pd.Series(values, index=col.index, name=col.name, dtype=object)


def finish(df: pd.DataFrame, label: str, notices: list[str] | None = None) -> pd.DataFrame:
    """Normalise a table read from ``label``; the last step of every reader.

    Parameters
    ----------
    df : pandas.DataFrame
        The table as the reader produced it (modified in place where possible).
    label : str
        The source, as messages name it.
    notices : list of str, optional
        Where to add a sentence for every change made beyond the documented normalisation
        (columns of nested objects flattened).

    Returns
    -------
    pandas.DataFrame
        Column names as stripped strings; columns of nested objects flattened into ``name.field``
        columns; string cells stripped; missing-value markers replaced by missing values.

    Raises
    ------
    DataError
        For a table without columns or rows, duplicate column names, a column that mixes nested
        objects with plain values, or a column of lists or sets.
    """
    names = [str(c).strip() for c in df.columns]
    check_duplicates(names, label)
    df.columns = pd.Index(names)
    if df.shape[1] == 0:
        raise DataError(f"{label} holds no columns; pass a table with at least one column")
    if df.shape[0] == 0:
        raise DataError(f"{label} has a header but no rows; add at least one data row")
    df = _expand_objects(df, label, notices)
    for i, dtype in enumerate(df.dtypes):
        if pd.api.types.is_object_dtype(dtype):
            _refuse_sequences(df.iloc[:, i], str(df.columns[i]), label)
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            df.isetitem(i, normalise_strings(df.iloc[:, i]))
    return consolidated(df)


#: Above this many columns a table is copied into one block per dtype (if it is small enough).
CONSOLIDATE_COLUMNS = 100
#: ... and holds at most this many cells, so the copy's memory stays modest.
CONSOLIDATE_CELLS = 20_000_000


def consolidated(df: pd.DataFrame) -> pd.DataFrame:
    """``df``, copied into one block per dtype when it is wide.

    The CSV reader makes one block per column; every column-wise reduction of pandas (``isna().sum()``,
    ``mean()``) then loops over blocks in Python, 40 times slower on 10,000 columns than on one block.
    """
    if df.shape[1] > CONSOLIDATE_COLUMNS and df.size <= CONSOLIDATE_CELLS:
        return df.copy()
    return df
