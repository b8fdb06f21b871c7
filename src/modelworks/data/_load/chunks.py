"""Reading a table a chunk at a time: :class:`Chunks` and :func:`iter_chunks`."""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data._load.common import GZIP_OK, TEXT_EXT, finish, one_line, show
from modelworks.data._load.files import to_path
from modelworks.data._load.text import binary_error, check_index, extension, text_options
from modelworks.errors import ConfigError, DataError

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

    def __init__(
        self,
        source: str | os.PathLike[str] | pd.DataFrame,
        rows: int,
        read_whole: Callable[[Any], pd.DataFrame],
    ):
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
        if isinstance(source, str | os.PathLike) and "://" not in os.fsdecode(source):
            path = to_path(source)
        if path is not None and _is_file(path) and extension(path)[0] in TEXT_EXT:
            ext, gz = extension(path)
            if not gz or ext in GZIP_OK:
                label = f"file '{show(path)}'"
                try:
                    self.size = path.stat().st_size
                except OSError as exc:
                    why = exc.strerror or one_line(exc)
                    raise DataError(f"{label} cannot be read ({why}); check its permissions") from exc
                if self.size == 0:
                    raise DataError(f"{label} is empty (0 bytes); pass a file that holds a table")
                self._path, self._gz, self._label = path, gz, label
                self.unit = "bytes"
                self._options = self._guard(lambda: text_options(path, label, gz=gz, tsv=ext == ".tsv"))
                return
        self._frame = read_whole(source)  # any other source is read whole (by load), with its errors
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
    def _guard(self, fn: Callable[[], Any]) -> Any:
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
                f"{label} is not a readable gzip file ({one_line(exc)}); check the file or remove "
                "the .gz extension"
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{label} is empty (no columns found); pass a file that holds a table") from exc
        except (pd.errors.ParserError, UnicodeError, ValueError, OverflowError, csv.Error) as exc:
            raise binary_error(label, f"parsing failed: {one_line(exc)}") from exc
        except OSError as exc:
            why = exc.strerror or one_line(exc)
            raise DataError(f"{label} cannot be read ({why}); check the file") from exc

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
                    check_index(chunk, self._label)
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
            yield finish(frame, self._label)
            return
        dtype = {name: t for name, kinds in seen.items() if (t := _settled_type(kinds)) is not None}
        self._advance("reading", 0)
        chunks = self._reader(encoding, dtype or None)
        while True:
            chunk = self._guard(lambda: next(chunks, None))
            if chunk is None:
                return
            yield finish(chunk, self._label)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # load names the problem
        return False


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
