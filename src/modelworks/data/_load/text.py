"""Delimited text files: encoding, delimiter and decimal mark, shared by ``load`` and ``iter_chunks``."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from modelworks.data._load.common import MISSING_MARKERS, check_duplicates, one_line
from modelworks.errors import DataError

SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 200
_DELIMITERS = ",;\t|"
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_COMMA_DECIMAL = re.compile(r"^\s*-?\d+,\d+\s*$")
_DOT_DECIMAL = re.compile(r"^\s*-?\d+\.\d+\s*$")


def extension(path: Path) -> tuple[str, bool]:
    """The format extension of ``path`` and whether the file is gzipped.

    Parameters
    ----------
    path : pathlib.Path
        A file path.

    Returns
    -------
    tuple of (str, bool)
        The extension in lower case (before any ``.gz``; ``""`` for none) and whether the name
        ends in ``.gz``.
    """
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    return ((suffixes[-2] if len(suffixes) >= 2 else "") if gz else path.suffix.lower()), gz


def open_binary(path: Path, gz: bool) -> Any:
    """``path`` opened for reading bytes, decompressed when ``gz``."""
    return gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115


def read_head(path: Path, gz: bool) -> bytes:
    """The first :data:`SNIFF_BYTES` bytes of ``path`` (decompressed when ``gz``)."""
    with open_binary(path, gz) as fh:
        return fh.read(SNIFF_BYTES)


def binary_error(label: str, why: str) -> DataError:
    """The error for a file that is not a readable text table, saying ``why``."""
    return DataError(
        f"{label} is not a readable text table ({why}); pass a CSV/TSV text file or use the "
        "extension that matches its format"
    )


def detect_encoding(head: bytes, label: str) -> str:
    """Pick the encoding from the first bytes of a file.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.
    label : str
        The source, as messages name it.

    Returns
    -------
    str
        ``"utf-8-sig"``, ``"utf-16"``, ``"utf-32"``, ``"cp1252"`` or ``"latin-1"``.

    Raises
    ------
    DataError
        When the bytes look like binary data (NUL bytes or many control characters).
    """
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
            raise binary_error(label, "it contains NUL bytes, so it is binary data")
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            try:
                head.decode("cp1252")
                encoding = "cp1252"
            except UnicodeDecodeError:
                encoding = "latin-1"
    text = decode_head(head, encoding)
    if text and len(_CONTROL.findall(text)) > max(2, 0.01 * len(text)):
        raise binary_error(label, "it is full of control characters, so it is binary data")
    return encoding


def decode_head(head: bytes, encoding: str) -> str:
    """``head`` decoded, replacing undecodable bytes and ignoring a cut last character."""
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


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


def text_options(path: Path, label: str, *, gz: bool, tsv: bool) -> dict[str, Any]:
    """How to read a delimited text file with :func:`pandas.read_csv`.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    label : str
        The source, as messages name it.
    gz : bool
        Whether the file is gzip compressed.
    tsv : bool
        Whether the delimiter is a tab (a ``.tsv`` file) rather than sniffed.

    Returns
    -------
    dict
        Options of :func:`pandas.read_csv` that ``load`` and ``iter_chunks`` share: delimiter,
        encoding, decimal mark, missing-value markers.

    Raises
    ------
    DataError
        For a file of blank lines, binary content or duplicate column names.
    """
    head = read_head(path, gz)
    if not head.strip():
        raise DataError(f"{label} is empty (only blank lines); pass a file that holds a table")
    encoding = detect_encoding(head, label)
    sample = decode_head(head, encoding)
    if len(head) == SNIFF_BYTES and "\n" in sample:  # drop a possibly cut last line
        sample = sample[: sample.rfind("\n")]
    sep = "\t" if tsv else _sniff_delimiter(sample)

    try:
        rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=sep, skipinitialspace=True))
    except csv.Error as exc:
        raise binary_error(label, f"parsing failed: {one_line(exc)}") from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if rows:
        check_duplicates([c.strip() for c in rows[0] if c.strip()], label)
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


def read_text(path: Path, label: str, *, gz: bool, tsv: bool) -> pd.DataFrame:
    """Read a delimited text file whole (see :func:`text_options`).

    Raises
    ------
    DataError
        For an empty, binary or unparsable file.
    """
    options = text_options(path, label, gz=gz, tsv=tsv)
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
    except (pd.errors.ParserError, UnicodeError, ValueError, OverflowError, csv.Error) as exc:
        raise binary_error(label, f"parsing failed: {one_line(exc)}") from exc
    check_index(df, label)
    return df


def check_index(df: pd.DataFrame, label: str) -> None:
    """Refuse a table whose data rows have more fields than its header.

    Raises
    ------
    DataError
        When pandas took the first field(s) as the index.
    """
    if not isinstance(df.index, pd.RangeIndex):  # pandas took the first field as an index
        raise DataError(
            f"{label} is not a readable text table (its data rows have more fields than its "
            "header); check the delimiter or add the missing column names"
        )
