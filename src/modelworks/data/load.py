"""Read a table from a file, a database or a DataFrame into a normalised :class:`pandas.DataFrame`.

Every source goes through the same normalisation: column names become stripped strings, string
cells are stripped of surrounding whitespace and the usual missing-value markers (``""``, ``"?"``,
``"NA"``, ``"N/A"``, ``"null"``, ...) become missing. Column types are left as the reader produced
them; deciding what each column *is* happens later (:mod:`modelworks.data.kinds`).

Every failure a user can cause (a wrong path, an unreadable file, an unknown table, a bad query)
raises :class:`~modelworks.errors.DataError` with a one-line message naming the problem and the fix.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelworks.errors import ConfigError, DataError

__all__ = ["MISSING_MARKERS", "SUPPORTED_EXTENSIONS", "Chunks", "iter_chunks", "load"]

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

_TEXT_EXT = (".csv", ".tsv", ".txt")
_JSON_EXT = (".json",)
_JSONL_EXT = (".jsonl", ".ndjson")
_PARQUET_EXT = (".parquet", ".pq")
_EXCEL_EXT = (".xlsx", ".xlsm", ".xls")
_SQLITE_EXT = (".db", ".sqlite", ".sqlite3")
_GZIP_OK = _TEXT_EXT + _JSON_EXT + _JSONL_EXT

#: File extensions :func:`load` reads (text and JSON formats may also end in ``.gz``).
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    _TEXT_EXT + _PARQUET_EXT + _EXCEL_EXT + _JSON_EXT + _JSONL_EXT + _SQLITE_EXT
)

_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 200
_DELIMITERS = ",;\t|"
_REMOTE_SCHEMES = {"http", "https", "ftp", "s3", "gs", "gcs", "az", "abfs", "file"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_COMMA_DECIMAL = re.compile(r"^\s*-?\d+,\d+\s*$")
_DOT_DECIMAL = re.compile(r"^\s*-?\d+\.\d+\s*$")


def load(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    table: str | None = None,
    query: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Load a table from a file, a database or a DataFrame.

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
          connecting);
        - a DataFrame, which is copied (never modified) and normalised like a file.
    table : str, optional
        Database table (or view) to read. Overrides ``?table=`` in the URL.
    query : str, optional
        SQL query to run instead of reading a whole table. Overrides ``?query=`` in the URL.
    sheet : str or int, optional
        Excel sheet name or 0-based position; the first sheet by default.

    Returns
    -------
    pandas.DataFrame
        The table, with column names as stripped strings, string cells stripped of surrounding
        whitespace and missing-value markers (see :data:`MISSING_MARKERS`) replaced by missing
        values. Column types are those the reader produced; no further type conversion is done.

    Raises
    ------
    DataError
        When the source cannot be read or holds no usable table: a missing file, a directory, an
        unsupported extension, binary or unparsable content, an empty file, a header without
        rows, duplicate column names, an unknown table or a failing query.
    ConfigError
        When the options do not fit the source (for example ``sheet`` for a CSV file, or both
        ``table`` and ``query``).

    Examples
    --------
    >>> import modelworks as mw  # doctest: +SKIP
    >>> df = mw.load("customers.csv")  # doctest: +SKIP
    >>> df = mw.load("sqlite:///shop.db?table=customers")  # doctest: +SKIP
    >>> df = mw.load("shop.db", query="SELECT * FROM customers WHERE age > 30")  # doctest: +SKIP
    """
    if table is not None and query is not None:
        raise ConfigError("give either table= or query=, not both")
    if isinstance(source, pd.DataFrame):
        if table is not None or query is not None or sheet is not None:
            raise ConfigError(
                "table=, query= and sheet= do not apply to a DataFrame; drop them or pass a "
                "file or database URL"
            )
        return _finish(source.copy(), "the DataFrame")
    if isinstance(source, str) and "://" in source:
        if sheet is not None:
            raise ConfigError("sheet= applies to Excel files only; drop it for a database URL")
        return _load_sql_url(source, table=table, query=query)
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            f"cannot load an object of type {type(source).__name__}; pass a file path, a "
            "database URL or a pandas DataFrame"
        )
    return _load_file(Path(os.fspath(source)).expanduser(), table=table, query=query, sheet=sheet)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _load_file(path: Path, *, table: str | None, query: str | None, sheet: str | int | None) -> pd.DataFrame:
    label = f"file '{path}'"
    if not path.exists():
        raise DataError(f"{label} not found; check the path")
    if path.is_dir():
        raise DataError(f"{label} is a directory, not a data file; pass the path of a file in it")
    suffixes = [s.lower() for s in path.suffixes]
    ext, gz = _extension(path)
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    if ext not in SUPPORTED_EXTENSIONS or (gz and ext not in _GZIP_OK):
        shown = "".join(suffixes[-2:] if gz else suffixes[-1:]) or "(none)"
        raise DataError(
            f"{label} has an unsupported extension {shown}; use one of {supported} "
            "(text and JSON files may be .gz compressed)"
        )
    if ext in _SQLITE_EXT or table is not None or query is not None:
        if sheet is not None:
            raise ConfigError("sheet= applies to Excel files only; drop it for a database")
        from sqlalchemy.engine import URL

        url = URL.create("sqlite", database=str(path))
        return _load_sql(url, table=table, query=query, label=f"SQLite database '{path}'")
    if sheet is not None and ext not in _EXCEL_EXT:
        raise ConfigError(f"sheet= applies to Excel files only; drop it for {label}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{label} cannot be read ({_one_line(exc)}); check its permissions") from exc
    if size == 0:
        raise DataError(f"{label} is empty (0 bytes); pass a file that holds a table")

    try:
        if ext in _TEXT_EXT:
            df = _read_text(path, label, gz=gz, tsv=ext == ".tsv")
        elif ext in _PARQUET_EXT:
            df = _read_parquet(path, label)
        elif ext in _EXCEL_EXT:
            df = _read_excel(path, label, sheet)
        elif ext in _JSON_EXT:
            df = _read_json(path, label, gz=gz)
        else:
            df = _read_jsonl(path, label, gz=gz)
    except PermissionError as exc:
        raise DataError(f"{label} cannot be read (permission denied); check its permissions") from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(
            f"{label} is not a readable gzip file ({_one_line(exc)}); check the file or remove "
            "the .gz extension"
        ) from exc
    return _finish(df, label)


def _extension(path: Path) -> tuple[str, bool]:
    """The format extension of ``path`` (lower case, before any ``.gz``) and whether it is gzipped."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    return ((suffixes[-2] if len(suffixes) >= 2 else "") if gz else path.suffix.lower()), gz


def _open_binary(path: Path, gz: bool) -> Any:
    return gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115


def _read_head(path: Path, gz: bool) -> bytes:
    with _open_binary(path, gz) as fh:
        return fh.read(_SNIFF_BYTES)


def _detect_encoding(head: bytes, label: str) -> str:
    """Pick the encoding from the first bytes, or raise if they look like binary data."""
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = ""
    if not encoding:
        if b"\x00" in head:
            raise _binary_error(label, "it contains NUL bytes, so it is binary data")
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            try:
                head.decode("cp1252")
                encoding = "cp1252"
            except UnicodeDecodeError:
                encoding = "latin-1"
    text = _decode_head(head, encoding)
    if text and len(_CONTROL.findall(text)) > max(2, 0.01 * len(text)):
        raise _binary_error(label, "it is full of control characters, so it is binary data")
    return encoding


def _decode_head(head: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def _binary_error(label: str, why: str) -> DataError:
    return DataError(
        f"{label} is not a readable text table ({why}); pass a CSV/TSV text file or use the "
        "extension that matches its format"
    )


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among ``, ; tab |`` that the sample uses; a comma when unsure."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:_SNIFF_LINES]
    if not lines:
        return ","
    text = "\n".join(lines)
    try:
        found = csv.Sniffer().sniff(text, delimiters=_DELIMITERS).delimiter
        if found in _DELIMITERS and found in lines[0]:
            return found
    except csv.Error:
        pass
    # Fallback: the candidate that appears in the header and most consistently after it.
    best, best_score = ",", 0.0
    for cand in _DELIMITERS:
        counts = [ln.count(cand) for ln in lines]
        if counts[0] == 0:
            continue
        score = sum(c == counts[0] for c in counts) / len(counts) + counts[0] * 1e-6
        if score > best_score:
            best, best_score = cand, score
    return best


def _text_options(path: Path, label: str, *, gz: bool, tsv: bool) -> dict[str, Any]:
    """How to read a delimited text file: the options of :func:`pandas.read_csv` that :func:`load`
    and :func:`iter_chunks` share (delimiter, encoding, decimal mark, missing-value markers)."""
    head = _read_head(path, gz)
    if not head.strip():
        raise DataError(f"{label} is empty (only blank lines); pass a file that holds a table")
    encoding = _detect_encoding(head, label)
    sample = _decode_head(head, encoding)
    if len(head) == _SNIFF_BYTES and "\n" in sample:  # drop a possibly cut last line
        sample = sample[: sample.rfind("\n")]
    sep = "\t" if tsv else _sniff_delimiter(sample)

    rows = list(csv.reader(io.StringIO(sample), delimiter=sep, skipinitialspace=True))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if rows:
        _check_duplicates([c.strip() for c in rows[0] if c.strip()], label)
    decimal = "."
    if sep == ";":
        cells = [c for r in rows[1:] for c in r]
        if any(_COMMA_DECIMAL.match(c) for c in cells) and not any(_DOT_DECIMAL.match(c) for c in cells):
            decimal = ","
    return {
        "sep": sep,
        "encoding": encoding,
        "decimal": decimal,
        "na_values": list(MISSING_MARKERS),
        "keep_default_na": False,
        "skipinitialspace": True,
        "skip_blank_lines": True,
        "low_memory": False,
    }


def _read_text(path: Path, label: str, *, gz: bool, tsv: bool) -> pd.DataFrame:
    options = _text_options(path, label, gz=gz, tsv=tsv)
    encoding = options.pop("encoding")

    def read(enc: str) -> pd.DataFrame:
        return pd.read_csv(path, encoding=enc, compression="gzip" if gz else None, **options)

    try:
        try:
            df = read(encoding)
        except UnicodeDecodeError:
            if encoding == "latin-1":
                raise
            df = read("latin-1")
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{label} is empty (no columns found); pass a file that holds a table") from exc
    except (pd.errors.ParserError, UnicodeError, ValueError, csv.Error) as exc:
        raise _binary_error(label, f"parsing failed: {_one_line(exc)}") from exc
    _check_index(df, label)
    return df


def _check_index(df: pd.DataFrame, label: str) -> None:
    if not isinstance(df.index, pd.RangeIndex):  # pandas took the first field as an index
        raise DataError(
            f"{label} is not a readable text table (its data rows have more fields than its "
            "header); check the delimiter or add the missing column names"
        )


# --------------------------------------------------------------------------------------------
# Chunks
# --------------------------------------------------------------------------------------------

#: Rows per chunk of :func:`iter_chunks` by default.
CHUNK_ROWS = 50_000


class Chunks:
    """The rows of a table, a chunk at a time, in order (see :func:`iter_chunks`).

    Attributes
    ----------
    size : int
        Bytes of the file (as stored, so compressed for ``.gz``), or rows for a table read whole.
    unit : {"bytes", "rows"}
        What ``size`` and ``done`` count.
    done : int
        How much of ``size`` has been read in the current pass.
    phase : {"scanning", "reading"}
        A delimited text file of several chunks is read twice: a first pass ("scanning") settles
        the type of every column over the whole file, the second ("reading") yields the chunks.
    on_progress : callable or None
        Called as ``on_progress(chunks)`` whenever ``done`` or ``phase`` changes (for a progress
        bar); set it before iterating.
    """

    def __init__(self, source: str | os.PathLike[str] | pd.DataFrame, rows: int):
        if rows < 1:
            raise ConfigError(f"chunk rows must be at least 1 (got {rows})")
        self.rows = rows
        self.unit = "rows"
        self.phase = "reading"
        self.done = 0
        self.on_progress: Callable[[Chunks], None] | None = None
        self._path: Path | None = None
        self._frame: pd.DataFrame | None = None
        path = None
        if isinstance(source, str | os.PathLike) and "://" not in os.fspath(source):
            path = Path(os.fspath(source)).expanduser()
        if path is not None and path.is_file() and _extension(path)[0] in _TEXT_EXT:
            ext, gz = _extension(path)
            if not gz or ext in _GZIP_OK:
                label = f"file '{path}'"
                try:
                    self.size = path.stat().st_size
                except OSError as exc:
                    raise DataError(
                        f"{label} cannot be read ({_one_line(exc)}); check its permissions"
                    ) from exc
                if self.size == 0:
                    raise DataError(f"{label} is empty (0 bytes); pass a file that holds a table")
                self._path, self._gz, self._label = path, gz, label
                self.unit = "bytes"
                self._options = self._guard(lambda: _text_options(path, label, gz=gz, tsv=ext == ".tsv"))
                return
        self._frame = load(source)  # any other source is read whole; its errors are load's
        self.size = len(self._frame)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self._frame is not None:
            frame, self._frame = self._frame, None
            for start in range(0, len(frame), self.rows):
                self._advance(self.phase, min(start + self.rows, len(frame)))
                yield frame.iloc[start : start + self.rows].reset_index(drop=True)
            return
        yield from self._text_chunks()

    def _advance(self, phase: str, done: int) -> None:
        self.phase, self.done = phase, done
        if self.on_progress is not None:
            self.on_progress(self)

    # -- delimited text ---------------------------------------------------------------------
    def _guard(self, fn):
        """Run ``fn``, turning the errors of reading a text file into load's messages."""
        label = self._label
        try:
            return fn()
        except DataError:
            raise
        except PermissionError as exc:
            raise DataError(f"{label} cannot be read (permission denied); check its permissions") from exc
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise DataError(
                f"{label} is not a readable gzip file ({_one_line(exc)}); check the file or remove "
                "the .gz extension"
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{label} is empty (no columns found); pass a file that holds a table") from exc
        except (pd.errors.ParserError, UnicodeError, ValueError, csv.Error) as exc:
            raise _binary_error(label, f"parsing failed: {_one_line(exc)}") from exc

    def _reader(self, encoding: str, dtype: dict | None = None) -> Iterator[pd.DataFrame]:
        """pandas chunks of the file, counting the bytes read from disk in ``done``."""
        assert self._path is not None
        raw = open(self._path, "rb")  # noqa: SIM115 (closed below, after the last chunk)
        counted = _CountingReader(raw, self)
        handle: Any = gzip.GzipFile(fileobj=counted, mode="rb") if self._gz else io.BufferedReader(counted)
        options = {k: v for k, v in self._options.items() if k != "encoding"}
        try:
            with pd.read_csv(
                handle, encoding=encoding, chunksize=self.rows, dtype=dtype, compression=None, **options
            ) as reader:
                yield from reader
        finally:
            handle.close()
            raw.close()

    def _scan(self) -> tuple[pd.DataFrame | None, int, dict[str, set[str]], str]:
        """First pass: the first chunk, the number of chunks, the types seen per column, the encoding."""
        encoding = self._options["encoding"]
        while True:
            self._advance("scanning", 0)
            first, n = None, 0
            seen: dict[str, set[str]] = {}
            try:
                for chunk in self._reader(encoding):
                    _check_index(chunk, self._label)
                    if n == 0:
                        first = chunk
                    n += 1
                    for name in chunk.columns:
                        seen.setdefault(name, set()).add(_column_type(chunk[name]))
                return first, n, seen, encoding
            except UnicodeDecodeError:
                if encoding == "latin-1":
                    raise
                encoding = "latin-1"  # as load does: the whole file in Latin-1

    def _text_chunks(self) -> Iterator[pd.DataFrame]:
        first, n, seen, encoding = self._guard(self._scan)
        if n <= 1:  # one chunk is the whole file: pandas typed it as load does
            self._advance("reading", self.size)
            frame = first if first is not None else pd.DataFrame(columns=list(seen))
            yield _finish(frame, self._label)
            return
        dtype = {name: t for name, kinds in seen.items() if (t := _settled_type(kinds)) is not None}
        self._advance("reading", 0)
        chunks = self._reader(encoding, dtype or None)
        while True:
            chunk = self._guard(lambda: next(chunks, None))
            if chunk is None:
                return
            yield _finish(chunk, self._label)


class _CountingReader(io.RawIOBase):
    """A binary file that adds the bytes read to ``chunks.done``."""

    def __init__(self, raw: Any, chunks: Chunks):
        self.raw, self.chunks = raw, chunks

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.chunks._advance(self.chunks.phase, self.chunks.done + (n or 0))
        return n


def _column_type(values: pd.Series) -> str:
    """What pandas made of a column in one chunk: "int", "float", "bool", "text", "empty" or "other"."""
    if values.isna().all():
        return "empty"
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    present = values.dropna()
    if any(isinstance(v, str) for v in present):
        return "text"
    return "bool" if all(isinstance(v, bool | np.bool_) for v in present) else "other"


def _settled_type(kinds: set[str]) -> str | None:
    """The dtype that makes every chunk of a column hold what pandas makes of the whole column
    (None: pandas types each chunk the same way already)."""
    kinds = kinds - {"empty"}
    if "text" in kinds or "other" in kinds or ("bool" in kinds and kinds & {"int", "float"}):
        return "str"  # some value is not a number: the whole column is read as text
    if "int" in kinds and ("float" in kinds or "empty" in kinds):
        return "float64"
    return None


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
    return Chunks(source, rows)


def _read_parquet(path: Path, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
        raise DataError(
            f"{label} is not a readable Parquet file ({_one_line(exc)}); check that it was "
            "written as Parquet or use the extension that matches its format"
        ) from exc


def _read_excel(path: Path, label: str, sheet: str | int | None) -> pd.DataFrame:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":
        if path.suffix.lower() == ".xls":
            raise DataError(
                f"{label} is a legacy .xls workbook, which is not supported; save it as .xlsx or "
                ".csv and load that"
            )
        raise DataError(
            f"{label} is not a readable Excel workbook (it is not an .xlsx zip archive); save it "
            "as .xlsx or use the extension that matches its format"
        )
    try:
        xf = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise DataError(
            f"{label} is not a readable Excel workbook ({_one_line(exc)}); re-save it as .xlsx"
        ) from exc
    with xf:
        names = xf.sheet_names
        which: str | int = 0 if sheet is None else sheet
        if (isinstance(which, str) and which not in names) or (
            isinstance(which, int) and not -len(names) <= which < len(names)
        ):
            listed = ", ".join(repr(n) for n in names)
            raise DataError(
                f"{label} has no sheet {which!r}; choose one of {listed} (by name or 0-based position)"
            )
        try:
            header = pd.read_excel(xf, sheet_name=which, header=None, nrows=1)
            if len(header):
                _check_duplicates([str(v).strip() for v in header.iloc[0].tolist() if not pd.isna(v)], label)
            return pd.read_excel(xf, sheet_name=which, na_values=list(MISSING_MARKERS), keep_default_na=False)
        except DataError:
            raise
        except Exception as exc:
            raise DataError(
                f"{label} could not be read ({_one_line(exc)}); re-save the workbook as .xlsx"
            ) from exc


def _read_json_text(path: Path, label: str, gz: bool) -> str:
    with _open_binary(path, gz) as fh:
        raw = fh.read()
    if not raw.strip():
        raise DataError(f"{label} is empty (only whitespace); pass a file that holds a table")
    encoding = _detect_encoding(raw[:_SNIFF_BYTES], label)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_json(path: Path, label: str, *, gz: bool) -> pd.DataFrame:
    text = _read_json_text(path, label, gz)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{label} is not valid JSON ({_one_line(exc)}); fix the file, or use .jsonl for "
            "one JSON object per line"
        ) from exc
    no_table = DataError(
        f"{label} does not hold a table; use a list of records like "
        '[{"a": 1, "b": "x"}, ...] or a pandas to_json orient'
    )
    try:
        if isinstance(obj, list):
            if obj and all(isinstance(r, dict) for r in obj):
                return pd.DataFrame.from_records(obj)
            if obj and all(isinstance(r, list) for r in obj):  # orient="values"
                return pd.DataFrame(obj)
            if not obj:
                raise DataError(f"{label} holds an empty list; add at least one record")
            raise no_table
        if isinstance(obj, dict):
            keys = set(obj)
            if {"schema", "data"} <= keys:  # orient="table"
                return pd.read_json(io.StringIO(text), orient="table")
            if {"columns", "data"} <= keys <= {"columns", "data", "index"}:  # orient="split"
                return pd.DataFrame(obj["data"], columns=obj["columns"])
            values = list(obj.values())
            if (
                len(obj) == 1
                and isinstance(values[0], list)
                and values[0]
                and all(isinstance(r, dict) for r in values[0])
            ):  # {"data": [records]}
                return pd.DataFrame.from_records(values[0])
            if values and all(isinstance(v, dict) for v in values):  # orient="columns"
                return pd.DataFrame(obj)
            if values and all(isinstance(v, list) for v in values):  # {col: [values]}
                return pd.DataFrame(obj)
        raise no_table
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"{label} holds JSON that is not a table ({_one_line(exc)}); use a list of records"
        ) from exc


def _read_jsonl(path: Path, label: str, *, gz: bool) -> pd.DataFrame:
    text = _read_json_text(path, label, gz)
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"line {lineno} of {label} is not valid JSON ({_one_line(exc)}); each line must "
                "hold one JSON object"
            ) from exc
        if not isinstance(rec, dict):
            raise DataError(
                f"line {lineno} of {label} is not a JSON object; each line must hold one object "
                'like {"a": 1, "b": "x"}'
            )
        records.append(rec)
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------


def _load_sql_url(source: str, *, table: str | None, query: str | None) -> pd.DataFrame:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = source.split("://", 1)[0].lower()
    if scheme in _REMOTE_SCHEMES:
        raise DataError(
            f"'{scheme}://' addresses are not loaded directly; download the file first and pass "
            "its local path (database URLs look like sqlite:///file.db?table=NAME)"
        )
    try:
        url = make_url(source)
    except (ArgumentError, ValueError) as exc:
        raise DataError(
            f"'{source}' is not a valid database URL ({_one_line(exc)}); use a SQLAlchemy URL "
            "like sqlite:///file.db?table=NAME"
        ) from exc
    url_table = _query_param(url.query.get("table"))
    url_query = _query_param(url.query.get("query"))
    url = url.difference_update_query(["table", "query"])
    if table is None and query is None:
        table, query = url_table, url_query
        if table is not None and query is not None:
            raise ConfigError("the URL gives both ?table= and ?query=; keep only one")
    label = f"database '{url.render_as_string(hide_password=True)}'"
    return _load_sql(url, table=table, query=query, label=label)


def _query_param(value: str | tuple[str, ...] | None) -> str | None:
    if isinstance(value, tuple):
        return value[-1] if value else None
    return value


def _load_sql(url: Any, *, table: str | None, query: str | None, label: str) -> pd.DataFrame:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            db_path = Path(database).expanduser()
            if not db_path.exists():
                raise DataError(
                    f"SQLite database file '{database}' not found; check the path (modelworks "
                    "never creates a database)"
                )
            if db_path.is_dir():
                raise DataError(f"SQLite database path '{database}' is a directory; pass the database file")
    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # unknown dialect, missing driver, bad arguments
        raise DataError(
            f"cannot open {label} ({_one_line(exc)}); check the URL and that its database driver is installed"
        ) from exc
    try:
        with engine.connect() as conn:
            if query is not None:
                try:
                    df = pd.read_sql_query(query, conn)
                except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
                    raise DataError(
                        f"SQL query failed on {label}: {_db_message(exc)}; fix the query"
                    ) from exc
                source_label = f"query result from {label}"
            else:
                inspector = sa.inspect(conn)
                names = list(inspector.get_table_names()) + list(inspector.get_view_names())
                listed = ", ".join(names) if names else "(none)"
                if table is None:
                    if len(names) != 1:
                        raise DataError(
                            f"{label} holds {len(names)} tables; choose one with ?table=NAME in "
                            f"the URL or table=NAME (available: {listed})"
                        )
                    table = names[0]
                if table not in names:
                    raise DataError(f"table '{table}' not found in {label}; available tables: {listed}")
                quoted = conn.dialect.identifier_preparer.quote(table)
                df = pd.read_sql_query(f"SELECT * FROM {quoted}", conn)
                source_label = f"table '{table}' in {label}"
    except DataError:
        raise
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise DataError(
            f"cannot read {label}: {_db_message(exc)}; check that it is a valid, reachable database"
        ) from exc
    finally:
        engine.dispose()
    return _finish(df, source_label)


def _db_message(exc: BaseException) -> str:
    if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ is not None:
        exc = exc.__cause__  # pandas wraps the SQLAlchemy error
    orig = getattr(exc, "orig", None)
    return _one_line(orig if orig is not None else exc)


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def _one_line(exc: BaseException | str) -> str:
    text = str(exc) or type(exc).__name__
    text = re.sub(r"\s+", " ", text).strip()
    # SQLAlchemy appends background links and the statement; keep the message itself.
    text = re.split(r" \[SQL: | \(Background on this error", text)[0]
    return text[:300] + ("..." if len(text) > 300 else "")


def _check_duplicates(names: list[str], label: str) -> None:
    counts = Counter(names)
    dups = [name for name, n in counts.items() if n > 1]
    if dups:
        listed = ", ".join(repr(d) for d in dups)
        raise DataError(
            f"{label} has duplicate column names {listed} (after stripping spaces); rename them "
            "so every column name is unique"
        )


def _normalise_strings(col: pd.Series) -> pd.Series:
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


def _finish(df: pd.DataFrame, label: str) -> pd.DataFrame:
    """Normalise names and string cells, then refuse tables without columns or rows."""
    names = [str(c).strip() for c in df.columns]
    _check_duplicates(names, label)
    df.columns = pd.Index(names)
    if df.shape[1] == 0:
        raise DataError(f"{label} holds no columns; pass a table with at least one column")
    if df.shape[0] == 0:
        raise DataError(f"{label} has a header but no rows; add at least one data row")
    for i, dtype in enumerate(df.dtypes):
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            df.isetitem(i, _normalise_strings(df.iloc[:, i]))
    return df
