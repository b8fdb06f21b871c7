"""Hostile files for :func:`modelworks.load`: every one must end in a one-line ModelworksError.

Each case builds a bad source in a temporary directory; loading it must raise
:class:`~modelworks.errors.ModelworksError` (no other exception type) whose message is one line
that names the problem and a fix.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelworks.data.load import load
from modelworks.errors import ModelworksError

Built = tuple[Any, dict[str, Any]]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06" + bytes(range(256))


def assert_one_line_error(source: Any, **kwargs: Any) -> str:
    """Load ``source``; expect a ModelworksError with a usable one-line message; return it."""
    with pytest.raises(ModelworksError) as info:
        load(source, **kwargs)
    message = str(info.value)
    assert message.strip(), "empty message"
    assert "\n" not in message and "\r" not in message, repr(message)
    assert "\x00" not in message, repr(message)
    assert "Traceback" not in message
    assert ";" in message, f"no fix named: {message!r}"  # "<problem>; <fix>"
    return message


def _bytes(name: str, data: bytes) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        (tmp / name).write_bytes(data)
        return tmp / name, {}

    return build


def _text(name: str, text: str) -> Callable[[Path], Built]:
    return _bytes(name, text.encode("utf-8"))


def _parquet(name: str, frame: pd.DataFrame | pa.Table) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, tmp / name)
        return tmp / name, {}

    return build


def _truncated_parquet(tmp: Path) -> Built:
    buf = io.BytesIO()
    pd.DataFrame({"a": range(100), "b": ["x"] * 100}).to_parquet(buf)
    (tmp / "cut.parquet").write_bytes(buf.getvalue()[:300])
    return tmp / "cut.parquet", {}


def _zip_not_xlsx(tmp: Path) -> Built:
    with zipfile.ZipFile(tmp / "archive.xlsx", "w") as zf:
        zf.writestr("data.csv", "a,b\n1,2\n")
    return tmp / "archive.xlsx", {}


def _xlsx(name: str, frame: pd.DataFrame, **kwargs: Any) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        frame.to_excel(tmp / name, index=False, sheet_name="data")
        return tmp / name, kwargs

    return build


def _truncated_gzip(tmp: Path) -> Built:
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 5000)
    (tmp / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    return tmp / "cut.csv.gz", {}


def _directory(name: str) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        (tmp / name).mkdir()
        return tmp / name, {}

    return build


def _symlink_loop(tmp: Path) -> Built:
    os.symlink(tmp / "b.csv", tmp / "a.csv")
    os.symlink(tmp / "a.csv", tmp / "b.csv")
    return tmp / "a.csv", {}


def _broken_symlink(tmp: Path) -> Built:
    os.symlink(tmp / "gone.csv", tmp / "link.csv")
    return tmp / "link.csv", {}


def _inside_a_file(tmp: Path) -> Built:
    (tmp / "plain.csv").write_text("a\n1\n")
    return tmp / "plain.csv" / "inner.csv", {}


def _frame(frame: pd.DataFrame, **kwargs: Any) -> Callable[[Path], Built]:
    return lambda tmp: (frame, kwargs)


def _value(source: Any, **kwargs: Any) -> Callable[[Path], Built]:
    return lambda tmp: (source, kwargs)


def _path_named(name: str) -> Callable[[Path], Built]:
    return lambda tmp: (tmp / name, {})


def _csv_with(name: str, text: str, **kwargs: Any) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        (tmp / name).write_text(text, encoding="utf-8")
        return tmp / name, kwargs

    return build


def _sqlite_as(name: str) -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        con = sqlite3.connect(tmp / name)
        con.execute("CREATE TABLE t (a INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
        con.commit()
        con.close()
        return tmp / name, {}

    return build


rng = np.random.default_rng(7)
CASES: list[Any] = [
    # --- empty and nearly empty
    pytest.param(_bytes("empty.csv", b""), id="empty-csv"),
    pytest.param(_bytes("empty.json", b""), id="empty-json"),
    pytest.param(_bytes("empty.jsonl", b""), id="empty-jsonl"),
    pytest.param(_bytes("empty.parquet", b""), id="empty-parquet"),
    pytest.param(_bytes("empty.xlsx", b""), id="empty-xlsx"),
    pytest.param(_bytes("empty.db", b""), id="empty-sqlite"),
    pytest.param(_bytes("blank.csv", b"\n \n\t\n"), id="blank-lines-csv"),
    pytest.param(_bytes("blank.json", b"  \n "), id="whitespace-json"),
    pytest.param(_bytes("empty.csv.gz", gzip.compress(b"")), id="empty-gzip-csv"),
    pytest.param(_text("header.csv", "a,b,c\n"), id="header-only-csv"),
    pytest.param(_text("header.tsv", "a\tb\n\n\n"), id="header-only-tsv"),
    pytest.param(_bytes("bom.csv", b"\xef\xbb\xbfid;name\r\n"), id="header-only-bom-csv"),
    pytest.param(
        _parquet("header.parquet", pd.DataFrame({"a": pd.Series([], dtype="int64")})), id="no-rows-parquet"
    ),
    pytest.param(_xlsx("header.xlsx", pd.DataFrame(columns=["a", "b"])), id="no-rows-xlsx"),
    pytest.param(_text("empty-list.json", "[]"), id="empty-list-json"),
    pytest.param(_text("emptyobjects.json", "[{}, {}]"), id="records-without-fields-json"),
    # --- binary garbage with a text name
    pytest.param(_bytes("random.csv", rng.bytes(4096)), id="random-bytes-csv"),
    pytest.param(_bytes("image.csv", PNG), id="png-named-csv"),
    pytest.param(_bytes("nul.csv", b"a,b\n1,\x002\n"), id="nul-byte-csv"),
    pytest.param(_bytes("utf16.csv", "a,b\n1,2\n".encode("utf-16-le")), id="utf16-without-bom-csv"),
    pytest.param(_bytes("control.csv", bytes(range(1, 9)) * 40), id="control-chars-csv"),
    pytest.param(_bytes("random.json", rng.bytes(2048)), id="random-bytes-json"),
    pytest.param(_bytes("random.jsonl", rng.bytes(2048)), id="random-bytes-jsonl"),
    # --- one format named as another
    pytest.param(_text("fake.parquet", "a,b\n1,2\n"), id="csv-named-parquet"),
    pytest.param(_text("fake.xlsx", "a,b\n1,2\n"), id="csv-named-xlsx"),
    pytest.param(_bytes("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200)), id="legacy-xls"),
    pytest.param(_zip_not_xlsx, id="zip-named-xlsx"),
    pytest.param(_truncated_parquet, id="truncated-parquet"),
    pytest.param(_text("notgz.csv.gz", "a,b\n1,2\n"), id="plain-text-named-gz"),
    pytest.param(_truncated_gzip, id="truncated-gzip"),
    pytest.param(_text("fake.db", "a,b\n1,2\n"), id="csv-named-sqlite"),
    pytest.param(_sqlite_as("data.csv"), id="sqlite-named-csv"),
    pytest.param(_bytes("data.pkl", b"\x80\x04\x95\x00"), id="pickle-not-loaded"),
    pytest.param(_text("data.parquet.gz", "x"), id="gzipped-parquet"),
    pytest.param(_text("data.foo", "a,b\n1,2\n"), id="unknown-extension"),
    pytest.param(_text("README", "a,b\n1,2\n"), id="no-extension"),
    # --- broken structure
    pytest.param(_text("ragged.csv", "a,b\n1,2\n3,4,5,6\n"), id="ragged-csv"),
    pytest.param(_text("quote.csv", 'a,b\n"open,1\n2,3\n'), id="unterminated-quote-csv"),
    pytest.param(_text("dups.csv", "a,b,a\n1,2,3\n"), id="duplicate-columns-csv"),
    pytest.param(_text("dups2.csv", "a, b ,b\n1,2,3\n"), id="duplicate-after-strip-csv"),
    pytest.param(_text("dups.json", '[{"a": 1, " a": 2}]'), id="duplicate-after-strip-json"),
    pytest.param(_text("dups3.json", '[{"a.b": 1, "a": {"b": 2}}]'), id="duplicate-after-flatten-json"),
    pytest.param(
        _parquet("dups.parquet", pa.table([pa.array([1]), pa.array([2])], names=["a", "a"])),
        id="duplicate-columns-parquet",
    ),
    pytest.param(
        _xlsx("dups.xlsx", pd.DataFrame([[1, 2]], columns=["k", "k "])), id="duplicate-columns-xlsx"
    ),
    pytest.param(_text("bad.json", '{"a": [1, 2,'), id="invalid-json"),
    pytest.param(_text("scalar.json", "42"), id="scalar-json"),
    pytest.param(_text("strings.json", '["a", "b"]'), id="list-of-strings-json"),
    pytest.param(_text("mixed.json", '[{"a": 1}, 2]'), id="records-and-scalars-json"),
    pytest.param(_text("ragged.json", '{"a": [1, 2], "b": [1]}'), id="ragged-columns-json"),
    pytest.param(_text("deep.json", "[" * 200_000 + "]" * 200_000), id="deeply-nested-json"),
    pytest.param(_text("bigint.json", '[{"a": ' + "9" * 5000 + "}]"), id="5000-digit-integer-json"),
    pytest.param(_text("lines.jsonl", '{"a": 1}\n[1, 2]\n'), id="jsonl-line-not-object"),
    pytest.param(_text("lines2.jsonl", '{"a": 1}\n{"a": \n'), id="jsonl-invalid-line"),
    # --- values a table cannot hold
    pytest.param(
        _text("tags.json", '[{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}]'), id="list-column-json"
    ),
    pytest.param(_text("tags.jsonl", '{"id": 1, "x": {"tags": [1]}}\n'), id="list-inside-object-jsonl"),
    pytest.param(
        _text("mixed2.json", '[{"a": 1, "b": {"c": 1}}, {"a": 2, "b": 5}]'),
        id="object-and-scalar-column-json",
    ),
    pytest.param(
        _parquet("tags.parquet", pd.DataFrame({"id": [1, 2], "tags": [[1, 2], [3]]})),
        id="list-column-parquet",
    ),
    pytest.param(
        _parquet(
            "map.parquet",
            pa.table({"m": pa.array([[("k", 1)], [("j", 2)]], type=pa.map_(pa.string(), pa.int64()))}),
        ),
        id="map-column-parquet",
    ),
    pytest.param(_frame(pd.DataFrame({"s": [{1, 2}, {3}]})), id="set-column-dataframe"),
    pytest.param(_frame(pd.DataFrame()), id="no-columns-dataframe"),
    pytest.param(_frame(pd.DataFrame({"a": []})), id="no-rows-dataframe"),
    # --- paths
    pytest.param(_path_named("missing.csv"), id="missing-file"),
    pytest.param(_directory("folder"), id="directory"),
    pytest.param(_directory("folder.csv"), id="directory-named-csv"),
    pytest.param(_path_named("two\nlines.csv"), id="newline-in-name"),
    pytest.param(_path_named("nul\x00byte.csv"), id="nul-in-name"),
    pytest.param(_path_named("x" * 5000 + ".csv"), id="name-too-long"),
    pytest.param(_symlink_loop, id="symlink-loop"),
    pytest.param(_broken_symlink, id="broken-symlink"),
    pytest.param(_inside_a_file, id="path-through-a-file"),
    pytest.param(_value("~no_such_user_mw/data.csv"), id="unknown-home-directory"),
    pytest.param(_value("https://example.com/data.csv"), id="remote-url"),
    pytest.param(_value("s3://bucket/data.parquet"), id="s3-url"),
    pytest.param(_value(12345), id="int-source"),
    pytest.param(_value(b"data.csv"), id="bytes-source"),
    pytest.param(_value(None), id="none-source"),
    # --- options that do not fit the source
    pytest.param(_csv_with("a.csv", "a\n1\n", sheet="x"), id="sheet-on-csv"),
    pytest.param(_csv_with("a.csv", "a\n1\n", table="t"), id="table-on-csv"),
    pytest.param(_csv_with("a.csv", "a\n1\n", query="SELECT 1"), id="query-on-csv"),
    pytest.param(_xlsx("book.xlsx", pd.DataFrame({"a": [1]}), sheet="nope"), id="unknown-sheet-name"),
    pytest.param(_xlsx("book.xlsx", pd.DataFrame({"a": [1]}), sheet=7), id="sheet-position-out-of-range"),
    pytest.param(_frame(pd.DataFrame({"a": [1]}), table="t"), id="table-on-dataframe"),
]


@pytest.mark.parametrize("build", CASES)
def test_hostile_file_gives_one_line_error(tmp_path: Path, build: Callable[[Path], Built]) -> None:
    source, kwargs = build(tmp_path)
    assert_one_line_error(source, **kwargs)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
@pytest.mark.parametrize("name", ["locked.csv", "locked.json", "locked.parquet", "locked.xlsx", "locked.db"])
def test_unreadable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"a,b\n1,2\n")
    path.chmod(0)
    try:
        assert "permission" in assert_one_line_error(path).lower()
    finally:
        path.chmod(0o600)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 35
    assert len({p.id for p in CASES}) == len(CASES)


def test_nested_objects_are_flattened_not_refused(tmp_path: Path) -> None:
    """The counterpart of the refusals: nested objects load, flattened, with a notice."""
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([{"id": 1, "customer": {"name": "a", "tier": {"level": 2}}}]))
    said: list[str] = []
    df = load(path, notices=said)
    assert list(df.columns) == ["id", "customer.name", "customer.tier.level"]
    assert said and "flattened" in said[0]
