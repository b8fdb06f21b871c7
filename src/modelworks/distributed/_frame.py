"""A table stored as many files (a folder or a glob of Parquet or CSV files), read lazily with
:mod:`dask.dataframe`.

``modelworks run DATA`` takes this path whenever DATA is a folder of Parquet or CSV files without
subfolders (a folder of class subfolders is images) or a glob (``'data/*.parquet'``, quoted so the
shell leaves it alone), whatever its size: one rule, known before anything is read. One file, a
database and a DataFrame keep :func:`modelworks.load`.

Before anything is read, every file's schema is compared (Parquet footers, CSV header lines): files
that do not share one set of columns, or give a column different kinds of values (numbers in one,
text in another), are refused in one line naming both files. Numbers stored as integers in one file
and as floats in another are read as floats. The partitions get :func:`modelworks.load`'s
normalisation: stripped column names, stripped strings, the usual missing-value markers as missing.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data._load.common import check_duplicates, normalise_strings, one_line, show
from modelworks.data._load.text import extension, open_binary, text_options
from modelworks.errors import ConfigError, DataError

#: Characters that make DATA a glob rather than a path.
GLOB_CHARACTERS = "*?["
#: Extensions of the files a folder or glob may hold, by format.
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
#: Bytes of a CSV file per partition (dask's default).
CSV_BLOCK = "64MB"
#: Bytes of the first CSV block dask infers the column types from.
CSV_SAMPLE = 4_000_000

NEEDS_DASK = "needs Dask: pip install 'modelworks[dask]' (dask[dataframe] and distributed)"


def _hidden(name: str) -> bool:
    """Files and folders tools leave beside a dataset (``_SUCCESS``, ``.crc``, ``_temporary``)."""
    return name.startswith((".", "_"))


def is_large_source(data: str, *, table: bool = True) -> bool:
    """Whether ``data`` names a folder or a glob of table files rather than one file, a database URL
    or images.

    Parameters
    ----------
    data : str
        What ``modelworks run`` or ``profile`` was given.
    table : bool
        Whether a table is meant (a target was named). A folder with neither subfolders nor table
        files is then this path (whose error says what the folder lacks); otherwise it is left to
        the images' path.

    Returns
    -------
    bool
        True for a glob, and for a folder with no subfolder other than hidden ones (a folder of
        class subfolders holds images) that holds Parquet or CSV files, or any folder of that shape
        when ``table``.
    """
    if "://" in data:
        return False
    path = Path(data).expanduser()
    try:
        if path.is_dir():
            children = [c for c in path.iterdir() if not _hidden(c.name)]
            if any(c.is_dir() for c in children):
                return False
            return table or any(_format(c) is not None for c in children)
        if path.exists():
            return False
    except OSError:  # unreadable: the ordinary path says why
        return False
    return any(c in data for c in GLOB_CHARACTERS)


def _format(path: Path) -> str | None:
    ext, gz = extension(path)
    if gz:
        return "csv" if ext == ".csv" else None
    return FORMATS.get(ext)


@dataclass(frozen=True)
class TableFiles:
    """The files of one table and how to read them.

    Attributes
    ----------
    source : str
        The folder or glob as given.
    files : tuple of Path
        The files, sorted by name.
    format : {"parquet", "csv"}
        Their format.
    columns : tuple of str
        Column names (stripped), in the first file's order.
    widen : tuple of str
        Numeric columns stored as integers in some files and floats in others: read as floats.
    csv_options : dict
        :func:`pandas.read_csv` options of CSV files (delimiter, encoding, decimal mark, markers).
    """

    source: str
    files: tuple[Path, ...]
    format: str
    columns: tuple[str, ...]
    widen: tuple[str, ...] = ()
    csv_options: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The source as messages name it."""
        kind = "folder" if Path(self.source).expanduser().is_dir() else "glob"
        return f"{kind} '{show(self.source)}'"

    def describe(self) -> str:
        """``"50 Parquet files of folder 'data'"``."""
        what = "Parquet" if self.format == "parquet" else "CSV"
        return f"{len(self.files)} {what} file{'s' if len(self.files) != 1 else ''} of {self.label}"


def find_files(source: str) -> TableFiles:
    """The table files ``source`` names, with their shared schema.

    Parameters
    ----------
    source : str
        A folder (its files, not its subfolders) or a glob (``**`` reaches into subfolders).

    Returns
    -------
    TableFiles

    Raises
    ------
    ConfigError
        When no Parquet or CSV file is found, both formats are mixed, or the files do not share one
        schema.
    DataError
        When a file cannot be read.
    """
    path = Path(source).expanduser()
    folder = path.is_dir()
    label = f"{'folder' if folder else 'glob'} '{show(source)}'"
    try:
        if folder:
            found = [p for p in path.iterdir() if p.is_file() and not _hidden(p.name)]
        else:
            found = [Path(p) for p in glob.glob(str(path), recursive=True)]
            found = [p for p in found if p.is_file() and not _hidden(p.name)]
    except OSError as exc:
        raise DataError(
            f"{label} cannot be listed ({exc.strerror or one_line(exc)}); check the path"
        ) from None
    tables = sorted((p for p in found if _format(p) is not None), key=lambda p: str(p))
    if not tables:
        images = "; for images, give a folder with one subfolder per class" if folder else ""
        raise ConfigError(
            f"{label} {'holds' if folder else 'matches'} no Parquet (.parquet, .pq) or CSV (.csv, .csv.gz) "
            f"files; give a folder or a quoted glob of one table's files, such as 'data/*.parquet'{images}"
        )
    formats = sorted({_format(p) for p in tables}, key=str)
    if len(formats) > 1:
        raise ConfigError(
            f"{label} mixes Parquet and CSV files; keep one format, or pick one with a quoted glob such "
            f"as '{show(path if folder else path.parent)}/*.parquet'"
        )
    if formats[0] == "parquet":
        columns, widen = _parquet_schema(tables, label)
        return TableFiles(source, tuple(tables), "parquet", columns, widen)
    columns, options = _csv_schema(tables, label)
    return TableFiles(source, tuple(tables), "csv", columns, (), options)


def _arrow_kind(arrow_type: Any) -> str:
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_temporal(t):
        return "date/time"
    return str(t)


def _parquet_schema(files: list[Path], label: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Column names and the numeric columns to widen; refuses files that do not share one schema."""
    import pyarrow.parquet as pq

    first: tuple[Path, list[str], dict[str, Any]] | None = None
    widen: set[str] = set()
    for f in files:
        name = f"file '{show(f)}'"
        try:
            schema = pq.read_schema(f)
        except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
            raise DataError(
                f"{name} of {label} is not a readable Parquet file ({one_line(exc)}); remove or replace it"
            ) from None
        names = [str(n).strip() for n in schema.names]
        check_duplicates(names, name)
        types = {n: schema.field(i).type for i, n in enumerate(names)}
        if first is None:
            first = (f, names, types)
            continue
        f0, names0, types0 = first
        _same_columns(f0, names0, f, names, label)
        for column in names0:
            a, b = types0[column], types[column]
            ka, kb = _arrow_kind(a), _arrow_kind(b)
            if "null" in (ka, kb) or a == b:
                continue
            if ka == kb == "number":
                widen.add(column)
                continue
            raise ConfigError(
                f"{label} does not hold one table: column {show(column, 80)!r} holds {kb} in "
                f"'{show(f.name)}' but {ka} in '{show(f0.name)}'; write every file with the same column types"
            )
    assert first is not None
    return tuple(first[1]), tuple(c for c in first[1] if c in widen)


def _same_columns(f0: Path, names0: list[str], f: Path, names: list[str], label: str) -> None:
    if set(names) == set(names0):
        return
    extra = [n for n in names if n not in names0]
    missing = [n for n in names0 if n not in names]
    said = []
    if extra:
        said.append(f"{', '.join(repr(show(n, 60)) for n in extra[:3])} that '{show(f0.name)}' lacks")
    if missing:
        said.append(f"no {', '.join(repr(show(n, 60)) for n in missing[:3])}")
    raise ConfigError(
        f"{label} does not hold one table: '{show(f.name)}' has {' and '.join(said)}; give files with the "
        "same columns (a narrower glob picks them)"
    )


def _csv_schema(files: list[Path], label: str) -> tuple[tuple[str, ...], dict]:
    """Column names and the read options (sniffed on the first file); refuses files whose header
    lines differ."""
    first = files[0]
    gz = extension(first)[1]
    options = text_options(first, f"file '{show(first)}'", gz=gz, tsv=False)
    options.pop("low_memory", None)
    names0: list[str] | None = None
    for f in files:
        try:
            with open_binary(f, extension(f)[1]) as fh:
                head = fh.readline(1 << 20).decode(options["encoding"], errors="replace")
        except OSError as exc:
            raise DataError(
                f"file '{show(f)}' of {label} cannot be read ({exc.strerror or one_line(exc)}); check it"
            ) from None
        rows = list(csv.reader(io.StringIO(head), delimiter=options["sep"], skipinitialspace=True))
        names = [c.strip() for c in rows[0]] if rows else []
        if not names:
            raise DataError(
                f"file '{show(f)}' of {label} has no header line; give every file the same header"
            )
        if names0 is None:
            names0 = names
            continue
        _same_columns(first, names0, f, names, label)
    assert names0 is not None
    return tuple(names0), options


def dask_dataframe() -> Any:
    """:mod:`dask.dataframe`, or a one-line :class:`ConfigError` saying how to install it."""
    try:
        import dask.dataframe as dd
    except ImportError:
        raise ConfigError(f"a folder or glob of table files {NEEDS_DASK}") from None
    return dd


def normalise_part(part: pd.DataFrame) -> pd.DataFrame:
    """One partition as :func:`modelworks.load` leaves a table: stripped strings, missing-value
    markers as missing, text in pandas' default string type (Dask's own keeps ``pd.NA``)."""
    part = part.copy(deep=False)
    for i, dtype in enumerate(part.dtypes):
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            col = normalise_strings(part.iloc[:, i])
            if isinstance(col.dtype, pd.StringDtype) and col.dtype.na_value is not np.nan:
                col = col.astype(pd.StringDtype(na_value=np.nan))
            part.isetitem(i, col)
    return part


def read_frame(table: TableFiles, columns: list[str] | None = None) -> Any:
    """The table as a lazy :class:`dask.dataframe.DataFrame`, one partition per Parquet file (or
    row group) or per 64 MB of CSV, normalised partition by partition (:func:`normalise_part`);
    with ``columns``, those alone (the files are read for them only).

    Raises
    ------
    ConfigError
        If Dask is not installed.
    """
    dd = dask_dataframe()
    paths = [str(f) for f in table.files]
    if table.format == "parquet":
        frame = dd.read_parquet(paths)
    else:
        options = dict(table.csv_options)
        gz = any(extension(f)[1] for f in table.files)
        frame = dd.read_csv(
            paths,
            blocksize=None if gz else CSV_BLOCK,
            sample=CSV_SAMPLE,
            assume_missing=True,  # an integer column with a missing value in a later block
            compression="gzip" if gz else None,
            **options,
        )
    names = [str(c).strip() for c in frame.columns]
    if names != list(frame.columns):
        frame = frame.rename(columns=dict(zip(frame.columns, names, strict=True)))
    if table.widen:
        frame = frame.astype(dict.fromkeys(table.widen, "float64"))
    if columns is not None:  # chosen before normalising: Dask cannot carry a choice through that
        frame = frame[columns]
    return frame.map_partitions(normalise_part, meta=normalise_part(frame._meta))


@contextlib.contextmanager
def reading(table: TableFiles) -> Iterator[None]:
    """Turn a failure to read or parse the files, met while computing, into one line naming them."""
    import pyarrow as pa

    try:
        yield
    except ValueError as exc:  # dask's check of each CSV block's types against the first's
        if "Mismatched dtypes" not in str(exc) and not isinstance(exc, pa.ArrowException | UnicodeError):
            raise
        if isinstance(exc, pa.ArrowException | UnicodeError):
            raise DataError(f"{table.label} could not be read ({one_line(exc)}); check its files") from None
        columns = [c for c in table.columns if f"| {c} " in str(exc) or f"\n{c} " in str(exc)]
        which = f" (column {columns[0]!r})" if columns else ""
        raise DataError(
            f"the CSV files of {table.label} do not give each column one type{which}; convert them to "
            "Parquet or make each column's values consistent"
        ) from None
    except (OSError, pa.ArrowException, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{table.label} could not be read ({one_line(exc)}); check its files") from None


def first_rows(frame: Any, table: TableFiles) -> pd.DataFrame:
    """The first non-empty partition (rows as read and normalised)."""
    with reading(table):
        for i in range(frame.npartitions):
            part = frame.get_partition(i).compute(scheduler="sync")
            if len(part):
                return part
    raise DataError(f"{table.label} has a header but no rows; add at least one data row")


def available_memory() -> int:
    """Bytes of memory available now (psutil's ``available``: free plus reclaimable)."""
    try:
        import psutil  # installed with distributed
    except ImportError:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return int(psutil.virtual_memory().available)


def cpu_count() -> int:
    """Cores of this machine (at least 1)."""
    return os.cpu_count() or 1


def release_memory() -> None:
    """Hand memory freed by a pass over the files back to the system.

    Arrow's allocator (mimalloc or jemalloc) and glibc's keep freed pages for reuse: after a pass
    over every file they held some 0.3-0.4 GiB of nothing on a 5-million-row table, which the
    comparison and the fit on all rows would otherwise stack on.
    """
    with contextlib.suppress(Exception):  # no pyarrow, or an allocator without the call
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(Exception):  # not glibc
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
