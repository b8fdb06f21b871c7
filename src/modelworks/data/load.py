"""Read a table from a file, a database or a DataFrame into a normalised :class:`pandas.DataFrame`.

Every source goes through the same normalisation: column names become stripped strings, string
cells are stripped of surrounding whitespace and the usual missing-value markers (``""``, ``"?"``,
``"NA"``, ``"N/A"``, ``"null"``, ...) become missing. Columns of nested objects (JSON objects,
Parquet structs) are flattened into one column per field, named ``column.field``, and this is
said in a notice. Column types are otherwise left as the reader produced them; deciding what each
column *is* happens later (:mod:`modelworks.data.kinds`).

Loading never changes its source: a SQLite file is opened read-only, other databases are read in a
read-only transaction that is rolled back, and a query must be a single ``SELECT`` or ``WITH``.

Every failure a user can cause (a wrong path, an unreadable file, an unknown table, a refused or
failing query, a column of lists) raises :class:`~modelworks.errors.DataError` with a one-line
message naming the problem and the fix.

The work is done in private modules of :mod:`modelworks.data._load`; this module is the API.
"""

from __future__ import annotations

import os
import warnings

import pandas as pd

from modelworks.data._load.chunks import CHUNK_ROWS, Chunks
from modelworks.data._load.common import (
    MISSING_MARKERS,
    SUPPORTED_EXTENSIONS,
    consolidated,
    finish,
    show,
)
from modelworks.data._load.files import load_file, to_path
from modelworks.data._load.sql import load_sql_url
from modelworks.errors import ConfigError, DataError

__all__ = [
    "CHUNK_ROWS",
    "MISSING_MARKERS",
    "SUPPORTED_EXTENSIONS",
    "Chunks",
    "LoadNotice",
    "consolidated",
    "iter_chunks",
    "load",
]


class LoadNotice(UserWarning):
    """A change :func:`load` made to the table beyond its documented normalisation.

    For example, a column of nested JSON objects flattened into one column per field. Issued with
    :func:`warnings.warn` unless :func:`load` is given a ``notices`` list to collect them in.
    """


def load(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    table: str | None = None,
    query: str | None = None,
    sheet: str | int | None = None,
    notices: list[str] | None = None,
) -> pd.DataFrame:
    """Load a table from a file, a database or a DataFrame, never changing the source.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        One of:

        - a path to a delimited text file (``.csv``, ``.tsv``, ``.txt``, optionally ``.gz``
          compressed); the delimiter (``,`` ``;`` tab or ``|``) is sniffed and the encoding is
          UTF-8 (with or without BOM), falling back to Windows-1252 / Latin-1;
        - a Parquet (``.parquet``, ``.pq``), Excel (``.xlsx``, ``.xlsm``), JSON (``.json``:
          a list of records or any pandas orient) or JSON Lines (``.jsonl``, ``.ndjson``) file;
        - a SQLite file (``.db``, ``.sqlite``, ``.sqlite3``) or a SQLAlchemy database URL such as
          ``"sqlite:///shop.db?table=customers"`` or ``"sqlite:///shop.db?query=SELECT+*+FROM+t"``
          (the ``table`` and ``query`` URL parameters are URL-decoded and removed before
          connecting). A SQLite file is opened read-only and must exist; other databases are read
          in a read-only transaction that is rolled back;
        - a DataFrame, which is copied (never modified) and normalised like a file.
    table : str, optional
        Database table (or view) to read. Overrides ``?table=`` in the URL.
    query : str, optional
        A single ``SELECT`` (or ``WITH ... SELECT``) query to run instead of reading a whole table.
        Overrides ``?query=`` in the URL. Several statements, other statements and data-changing
        keywords (``INSERT``, ``UPDATE``, ``DELETE``, ``INTO``, ``DROP`` ...) are refused.
    sheet : str or int, optional
        Excel sheet name or 0-based position; the first sheet by default.
    notices : list of str, optional
        A list to append notices to: one sentence for each change made to the table beyond the
        normalisation below (columns of nested objects flattened). Without it, each notice is
        issued as a :class:`LoadNotice` warning.

    Returns
    -------
    pandas.DataFrame
        The table, with column names as stripped strings, string cells stripped of surrounding
        whitespace and missing-value markers (see :data:`MISSING_MARKERS`) replaced by missing
        values. A column of nested objects becomes one column per field, named
        ``column.field`` (``column.field.subfield`` for deeper objects). Column types are those
        the reader produced; no further type conversion is done.

    Raises
    ------
    DataError
        When the source cannot be read or holds no usable table: a missing file, a directory, an
        unsupported extension, binary or unparsable content, an empty file, a header without
        rows, duplicate column names, a column of lists, an unknown table, a refused query or a
        failing query.
    ConfigError
        When the options do not fit the source (for example ``sheet`` for a CSV file, ``table``
        for a Parquet file, or both ``table`` and ``query``).

    Warns
    -----
    LoadNotice
        For each notice, when ``notices`` is not given.

    Examples
    --------
    >>> import modelworks as mw  # doctest: +SKIP
    >>> df = mw.load("customers.csv")  # doctest: +SKIP
    >>> df = mw.load("sqlite:///shop.db?table=customers")  # doctest: +SKIP
    >>> df = mw.load("shop.db", query="SELECT * FROM customers WHERE age > 30")  # doctest: +SKIP
    >>> said = []
    >>> df = mw.load("orders.json", notices=said)  # doctest: +SKIP
    """
    collected: list[str] = []
    df = _load(source, table=table, query=query, sheet=sheet, notices=collected)
    if notices is None:
        for notice in collected:
            warnings.warn(notice, LoadNotice, stacklevel=2)
    else:
        notices.extend(collected)
    return df


def _load(
    source: object,
    *,
    table: object,
    query: object,
    sheet: str | int | None,
    notices: list[str],
) -> pd.DataFrame:
    if table is not None and query is not None:
        raise ConfigError("give either table= or query=, not both")
    if isinstance(source, pd.DataFrame):
        if table is not None or query is not None or sheet is not None:
            raise ConfigError(
                "table=, query= and sheet= do not apply to a DataFrame; drop them or pass a "
                "file or database URL"
            )
        return finish(source.copy(), "the DataFrame", notices)
    if isinstance(source, str) and "://" in source:
        if sheet is not None:
            raise ConfigError("sheet= applies to Excel files only; drop it for a database URL")
        return load_sql_url(source, table=table, query=query, notices=notices)
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            f"cannot load an object of type {show(type(source).__name__, 60)}; pass a file path, a "
            "database URL or a pandas DataFrame"
        )
    return load_file(to_path(source), table=table, query=query, sheet=sheet, notices=notices)


def iter_chunks(source: str | os.PathLike[str] | pd.DataFrame, rows: int = CHUNK_ROWS) -> Chunks:
    """Read a table in chunks of ``rows`` rows, with bounded memory for delimited text files.

    A CSV, TSV or TXT file (optionally ``.gz``) is parsed exactly as :func:`load` parses it (the
    same delimiter sniffing, encodings, missing-value markers and whitespace stripping), and every
    column gets the type pandas gives it over the whole file: a first pass over the file settles
    the types (a column that holds one non-number anywhere is text in every chunk), so the rows of
    a chunk are what :func:`load` would give. Other sources (Parquet, Excel, JSON, SQL, a
    DataFrame) are read whole with :func:`load`, then cut into chunks.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        As for :func:`load` (without ``table``, ``query`` or ``sheet``).
    rows : int
        Rows per chunk (the last chunk may hold fewer).

    Returns
    -------
    Chunks
        An iterable of DataFrames whose ``done``, ``size`` and ``unit`` report progress.

    Raises
    ------
    DataError
        As :func:`load`; for a text file, errors anywhere in the file are raised by the first pass,
        before the first chunk is yielded.
    """
    return Chunks(source, rows, read_whole=load)
