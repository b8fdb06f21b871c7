"""Files: the checks on the path, the dispatch on the extension, and the non-text readers."""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from pathlib import Path

import pandas as pd

from modelworks.data._load.common import (
    EXCEL_EXT,
    GZIP_OK,
    JSON_EXT,
    MISSING_MARKERS,
    PARQUET_EXT,
    SQLITE_EXT,
    SUPPORTED_EXTENSIONS,
    TEXT_EXT,
    check_duplicates,
    finish,
    one_line,
    show,
)
from modelworks.data._load.sql import load_sqlite, sqlite_label
from modelworks.data._load.text import SNIFF_BYTES, detect_encoding, extension, open_binary, read_text
from modelworks.errors import ConfigError, DataError


def to_path(source: str | os.PathLike[str]) -> Path:
    """The path ``source`` names, with ``~`` expanded.

    Raises
    ------
    DataError
        When the path cannot be made (``~user`` of an unknown user, undecodable bytes).
    """
    try:
        raw = os.fsdecode(source)
    except (TypeError, UnicodeError) as exc:
        raise DataError(
            f"cannot use {show(repr(source), 80)} as a path ({one_line(exc)}); pass a str"
        ) from exc
    try:
        return Path(raw).expanduser()
    except RuntimeError as exc:  # "~nosuchuser/..."
        raise DataError(f"cannot expand '~' in the path '{show(raw)}'; write the full path") from exc


def _os_reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)


def load_file(
    path: Path,
    *,
    table: object,
    query: object,
    sheet: str | int | None,
    notices: list[str] | None,
) -> pd.DataFrame:
    """Read a table from a file; the format comes from the extension.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    table, query, sheet :
        As for :func:`~modelworks.data.load.load`.
    notices : list of str, optional
        Where :func:`~modelworks.data._load.common.finish` adds its notices.

    Returns
    -------
    pandas.DataFrame
        The normalised table.

    Raises
    ------
    DataError
        For a missing, unreadable, empty or unparsable file, a directory or an unsupported
        extension (and see :func:`~modelworks.data._load.common.finish`).
    ConfigError
        For ``sheet`` with a file other than a workbook, or ``table``/``query`` with a file other
        than a database.
    """
    label = f"file '{show(path)}'"
    try:
        exists = path.exists()
        is_dir = exists and path.is_dir()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, ...
        raise DataError(f"{label} cannot be opened ({_os_reason(exc)}); check the path") from exc
    if not exists:
        raise DataError(f"{label} not found; check the path")
    if is_dir:
        raise DataError(f"{label} is a directory, not a data file; pass the path of a file in it")
    suffixes = [s.lower() for s in path.suffixes]
    ext, gz = extension(path)
    is_db = ext in SQLITE_EXT and not gz
    if (table is not None or query is not None) and not is_db:
        if ext in SUPPORTED_EXTENSIONS:
            raise ConfigError(f"table= and query= apply to databases only; drop them for {label}")
        is_db = not gz  # a SQLite file with another extension
    if is_db:
        if sheet is not None:
            raise ConfigError("sheet= applies to Excel files only; drop it for a database")
        return load_sqlite(path, table=table, query=query, label=sqlite_label(path), notices=notices)
    if ext not in SUPPORTED_EXTENSIONS or (gz and ext not in GZIP_OK):
        shown = show("".join(suffixes[-2:] if gz else suffixes[-1:]), 40) or "(none)"
        raise DataError(
            f"{label} has an unsupported extension {shown}; use one of {', '.join(SUPPORTED_EXTENSIONS)} "
            "(text and JSON files may be .gz compressed)"
        )
    if sheet is not None and ext not in EXCEL_EXT:
        raise ConfigError(f"sheet= applies to Excel files only; drop it for {label}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{label} cannot be read ({_os_reason(exc)}); check its permissions") from exc
    if size == 0:
        raise DataError(f"{label} is empty (0 bytes); pass a file that holds a table")

    try:
        if ext in TEXT_EXT:
            df = read_text(path, label, gz=gz, tsv=ext == ".tsv")
        elif ext in PARQUET_EXT:
            df = read_parquet(path, label)
        elif ext in EXCEL_EXT:
            df = read_excel(path, label, sheet)
        elif ext in JSON_EXT:
            df = read_json(path, label, gz=gz)
        else:
            df = read_jsonl(path, label, gz=gz)
    except PermissionError as exc:
        raise DataError(f"{label} cannot be read (permission denied); check its permissions") from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(
            f"{label} is not a readable gzip file ({one_line(exc)}); check the file or remove "
            "the .gz extension"
        ) from exc
    except OSError as exc:  # an I/O error, a file removed while reading, ...
        raise DataError(f"{label} cannot be read ({_os_reason(exc)}); check the file") from exc
    return finish(df, label, notices)


def read_parquet(path: Path, label: str) -> pd.DataFrame:
    """Read a Parquet file.

    Raises
    ------
    DataError
        For a file that is not Parquet, or duplicate column names.
    """
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except PermissionError:
        raise
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
        raise DataError(
            f"{label} is not a readable Parquet file ({one_line(exc)}); check that it was "
            "written as Parquet or use the extension that matches its format"
        ) from exc
    check_duplicates([str(n).strip() for n in names], label)
    try:
        return pd.read_parquet(path)
    except PermissionError:
        raise
    except Exception as exc:
        raise DataError(
            f"{label} is not a readable Parquet file ({one_line(exc)}); check that it was "
            "written as Parquet or use the extension that matches its format"
        ) from exc


def read_excel(path: Path, label: str, sheet: str | int | None) -> pd.DataFrame:
    """Read one sheet of an ``.xlsx``/``.xlsm`` workbook (the first by default).

    Raises
    ------
    DataError
        For a legacy ``.xls`` or non-workbook file, an unknown sheet or duplicate column names.
    """
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
            f"{label} is not a readable Excel workbook ({one_line(exc)}); re-save it as .xlsx"
        ) from exc
    with xf:
        names = xf.sheet_names
        which: str | int = 0 if sheet is None else sheet
        if (isinstance(which, str) and which not in names) or (
            isinstance(which, int) and not -len(names) <= which < len(names)
        ):
            listed = ", ".join(repr(show(n, 60)) for n in names)
            raise DataError(
                f"{label} has no sheet {show(repr(which), 60)}; choose one of {listed} (by name or "
                "0-based position)"
            )
        try:
            header = pd.read_excel(xf, sheet_name=which, header=None, nrows=1)
            if len(header):
                check_duplicates([str(v).strip() for v in header.iloc[0].tolist() if not pd.isna(v)], label)
            return pd.read_excel(xf, sheet_name=which, na_values=list(MISSING_MARKERS), keep_default_na=False)
        except DataError:
            raise
        except Exception as exc:
            raise DataError(
                f"{label} could not be read ({one_line(exc)}); re-save the workbook as .xlsx"
            ) from exc


def _read_json_text(path: Path, label: str, gz: bool) -> str:
    with open_binary(path, gz) as fh:
        raw = fh.read()
    if not raw.strip():
        raise DataError(f"{label} is empty (only whitespace); pass a file that holds a table")
    encoding = detect_encoding(raw[:SNIFF_BYTES], label)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_json(text: str, label: str, where: str = "") -> object:
    """``json.loads(text)``, with every failure as a one-line :class:`DataError`."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise DataError(
            f"{where}{label} is nested too deeply to be a table; use a list of flat records like "
            '[{"a": 1, "b": "x"}, ...]'
        ) from exc
    except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
        hint = "each line must hold one JSON object" if where else "use .jsonl for one JSON object per line"
        raise DataError(
            f"{where}{label} is not valid JSON ({one_line(exc)}); fix the file, or {hint}"
        ) from exc


def read_json(path: Path, label: str, *, gz: bool) -> pd.DataFrame:
    """Read a JSON file: a list of records, ``{"data": [records]}`` or a pandas ``to_json`` orient.

    Nested objects stay as dicts here; :func:`~modelworks.data._load.common.finish` flattens them.

    Raises
    ------
    DataError
        For invalid JSON, or JSON that does not hold a table.
    """
    text = _read_json_text(path, label, gz)
    obj = _parse_json(text, label)
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
            f"{label} holds JSON that is not a table ({one_line(exc)}); use a list of records"
        ) from exc


def read_jsonl(path: Path, label: str, *, gz: bool) -> pd.DataFrame:
    """Read a JSON Lines file: one JSON object per line (blank lines skipped).

    Raises
    ------
    DataError
        Naming the first line that is not valid JSON or not an object.
    """
    text = _read_json_text(path, label, gz)
    records = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        rec = _parse_json(line, label, where=f"line {lineno} of ")
        if not isinstance(rec, dict):
            raise DataError(
                f"line {lineno} of {label} is not a JSON object; each line must hold one object "
                'like {"a": 1, "b": "x"}'
            )
        records.append(rec)
    return pd.DataFrame.from_records(records)
