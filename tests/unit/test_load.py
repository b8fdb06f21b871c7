"""Tests for modelworks.data.load: every format from real files, every refusal, and read-only SQL."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelworks.data._load.sql import begin_read_only
from modelworks.data._load.sqlcheck import check_query
from modelworks.data.load import LoadNotice, load
from modelworks.errors import ConfigError, DataError

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def expect_error(source, *words: str, **kwargs) -> str:
    """Load, expect a DataError whose message is one line and mentions every word."""
    with pytest.raises(DataError) as info:
        load(source, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return message


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["alice", "bob", "carol"],
            "score": [1.5, 2.5, np.nan],
        }
    )


# ------------------------------------------------------------------------------------ CSV/TSV


@pytest.mark.parametrize(
    ("sep", "suffix"), [(",", ".csv"), (";", ".csv"), ("\t", ".csv"), ("\t", ".tsv"), ("|", ".txt")]
)
def test_csv_delimiters_are_sniffed(tmp_path: Path, sep: str, suffix: str) -> None:
    rows = ["id,name,score", "1,alice,1.5", "2,bob,2.5", "3,carol,3.5"]
    path = write(tmp_path / f"data{suffix}", "\n".join(r.replace(",", sep) for r in rows) + "\n")
    df = load(path)
    assert list(df.columns) == ["id", "name", "score"]
    assert df.shape == (3, 3)
    assert df["id"].tolist() == [1, 2, 3]
    assert df["score"].tolist() == [1.5, 2.5, 3.5]
    assert df["name"].tolist() == ["alice", "bob", "carol"]


def test_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    path = write(tmp_path / "eu.csv", "name;price\nA;1,5\nB;2,25\nC;3\n")
    df = load(path)
    assert list(df.columns) == ["name", "price"]
    assert df["price"].tolist() == [1.5, 2.25, 3.0]


def test_quoted_fields_with_delimiters_inside(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'a,b\n"x, y",1\n"z",2\n')
    df = load(path)
    assert df["a"].tolist() == ["x, y", "z"]
    assert df["b"].tolist() == [1, 2]


def test_latin1_csv_with_accents(tmp_path: Path) -> None:
    text = "ville;habitants\nMontréal;1700000\nSão Paulo;12000000\nZürich;420000\n"
    path = write(tmp_path / "villes.csv", text, encoding="latin-1")
    df = load(path)
    assert df["ville"].tolist() == ["Montréal", "São Paulo", "Zürich"]
    assert df["habitants"].tolist() == [1700000, 12000000, 420000]


def test_utf8_bom_is_removed_from_first_column(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfcol1,col2\n\xc3\xa9t\xc3\xa9,2\n")
    df = load(path)
    assert list(df.columns) == ["col1", "col2"]
    assert df["col1"].tolist() == ["été"]


def test_missing_markers_become_nan(tmp_path: Path) -> None:
    text = "a,b,c\n1,x,?\n?,NA,2\n3,,N/A\nNA,null,4\n5, ,None\n"
    df = load(write(tmp_path / "missing.csv", text))
    assert df["a"].isna().tolist() == [False, True, False, True, False]
    assert df["b"].isna().tolist() == [False, True, True, True, True]
    assert df["c"].isna().tolist() == [True, False, True, False, True]
    # Numeric columns with markers are read as numbers.
    assert pd.api.types.is_float_dtype(df["a"])
    assert df["a"].dropna().tolist() == [1.0, 3.0, 5.0]
    assert df["b"].dropna().tolist() == ["x"]


def test_whitespace_is_stripped_from_names_and_cells(tmp_path: Path) -> None:
    text = "  name , city  ,n\n  alice  ,  paris ,1\nbob,   ,2\n carol, ?  ,3\n"
    df = load(write(tmp_path / "ws.csv", text))
    assert list(df.columns) == ["name", "city", "n"]
    assert df["name"].tolist() == ["alice", "bob", "carol"]
    assert df["city"].iloc[0] == "paris"
    assert df["city"].iloc[1:].isna().all()
    assert df["n"].tolist() == [1, 2, 3]


def test_numeric_strings_are_not_converted(tmp_path: Path) -> None:
    # A padded number makes pandas read a string column; load keeps it a string column.
    df = load(pd.DataFrame({"x": [" 1", "2 ", "?"]}))
    assert df["x"].tolist()[:2] == ["1", "2"]
    assert not pd.api.types.is_numeric_dtype(df["x"])


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("a;b\n1;x\n2;y\n")
    df = load(path)
    assert df.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_str_path_and_pathlike_both_work(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "a\n1\n2\n")
    assert load(str(path)).equals(load(path))


# ------------------------------------------------------------------------- other file formats


def test_parquet(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.parquet"
    frame.assign(name=[" alice ", "NA", "carol"]).to_parquet(path)
    df = load(path)
    assert list(df.columns) == ["id", "name", "score"]
    assert df["id"].tolist() == [1, 2, 3]
    assert df["name"].iloc[0] == "alice"
    assert pd.isna(df["name"].iloc[1])
    assert np.isnan(df["score"].iloc[2])


def test_parquet_pq_extension(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.pq"
    frame.to_parquet(path)
    pd.testing.assert_frame_equal(load(path), frame)


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    other = pd.DataFrame({"k": ["a", " b ", "?"], "v": [10, 20, 30]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="main", index=False)
        other.to_excel(writer, sheet_name="other", index=False)
    df = load(path)
    assert list(df.columns) == ["id", "name", "score"]
    assert df["name"].tolist() == ["alice", "bob", "carol"]
    assert df["score"].isna().tolist() == [False, False, True]
    by_name = load(path, sheet="other")
    assert by_name["k"].iloc[:2].tolist() == ["a", "b"]
    assert pd.isna(by_name["k"].iloc[2])
    assert by_name["v"].tolist() == [10, 20, 30]
    by_position = load(path, sheet=1)
    pd.testing.assert_frame_equal(by_position, by_name)


def test_xlsx_unknown_sheet_lists_sheets(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    frame.to_excel(path, sheet_name="main", index=False)
    expect_error(path, "nope", "main", sheet="nope")
    expect_error(path, "main", sheet=3)


def test_sheet_option_on_csv_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "a\n1\n")
    with pytest.raises(ConfigError):
        load(path, sheet="x")


def test_json_records(tmp_path: Path) -> None:
    records = [{"a": 1, "b": " x "}, {"a": 2, "b": "?"}, {"a": 3}]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    df = load(path)
    assert list(df.columns) == ["a", "b"]
    assert df["a"].tolist() == [1, 2, 3]
    assert df["b"].iloc[0] == "x"
    assert df["b"].iloc[1:].isna().all()


@pytest.mark.parametrize("orient", ["split", "columns", "table", "values", "records"])
def test_json_pandas_orients(tmp_path: Path, frame: pd.DataFrame, orient: str) -> None:
    path = tmp_path / f"{orient}.json"
    frame.to_json(path, orient=orient)
    df = load(path)
    assert len(df) == 3
    if orient == "values":
        assert df.iloc[:, 1].tolist() == ["alice", "bob", "carol"]
    else:
        assert list(df.columns) == ["id", "name", "score"]
        assert df["name"].tolist() == ["alice", "bob", "carol"]
        assert df["id"].tolist() == [1, 2, 3]


def test_json_wrapped_records(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"data": [{"a": 1}, {"a": 2}]}), encoding="utf-8")
    assert load(path)["a"].tolist() == [1, 2]


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_json_lines(tmp_path: Path, suffix: str) -> None:
    lines = ['{"a": 1, "b": "x"}', "", '{"a": 2, "b": "NA"}', '{"a": 3, "c": true}']
    path = write(tmp_path / f"data{suffix}", "\n".join(lines) + "\n")
    df = load(path)
    assert list(df.columns) == ["a", "b", "c"]
    assert df["a"].tolist() == [1, 2, 3]
    assert df["b"].iloc[0] == "x"
    assert df["b"].iloc[1:].isna().all()


# ------------------------------------------------------------------------------------- SQL


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER, name TEXT, age REAL)")
    con.executemany(
        "INSERT INTO customers VALUES (?, ?, ?)",
        [(1, " ann ", 31.0), (2, "ben", None), (3, "?", 45.0), (4, "dee", 52.0)],
    )
    con.execute("CREATE TABLE orders (id INTEGER, customer_id INTEGER, total REAL)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(1, 1, 9.5), (2, 3, 20.0)])
    con.execute("CREATE TABLE empty (x INTEGER)")
    con.commit()
    con.close()
    return path


def test_sqlite_url_table(sqlite_db: Path) -> None:
    df = load(f"sqlite:///{sqlite_db}?table=customers")
    assert list(df.columns) == ["id", "name", "age"]
    assert df["id"].tolist() == [1, 2, 3, 4]
    assert df["name"].iloc[0] == "ann"
    assert pd.isna(df["name"].iloc[2])
    assert pd.isna(df["age"].iloc[1])


def test_sqlite_url_query_is_url_decoded(sqlite_db: Path) -> None:
    sql = "SELECT id, age FROM customers WHERE age > 40 ORDER BY id"
    df = load(f"sqlite:///{sqlite_db}?query={urllib.parse.quote(sql)}")
    assert df.to_dict("list") == {"id": [3, 4], "age": [45.0, 52.0]}
    plus = load(f"sqlite:///{sqlite_db}?query={urllib.parse.quote_plus(sql)}")
    pd.testing.assert_frame_equal(plus, df)


def test_sqlite_keywords(sqlite_db: Path) -> None:
    url = f"sqlite:///{sqlite_db}"
    assert load(url, table="orders")["total"].tolist() == [9.5, 20.0]
    df = load(url, query="SELECT COUNT(*) AS n FROM customers")
    assert df["n"].tolist() == [4]
    # A plain path to a SQLite file works with the keywords too.
    assert load(sqlite_db, table="orders").shape == (2, 3)


def test_sqlite_unknown_table_lists_tables(sqlite_db: Path) -> None:
    expect_error(f"sqlite:///{sqlite_db}?table=nope", "nope", "customers", "orders")


def test_sqlite_without_table_asks_for_one(sqlite_db: Path) -> None:
    expect_error(f"sqlite:///{sqlite_db}", "table", "customers", "orders")


def test_sqlite_bad_query_gives_database_message(sqlite_db: Path) -> None:
    message = expect_error(f"sqlite:///{sqlite_db}", "query", query="SELECT * FROM missing_table")
    assert "no such table" in message
    expect_error(f"sqlite:///{sqlite_db}", "syntax", query="SELECT FROM WHERE")
    expect_error(f"sqlite:///{sqlite_db}", "SELEKT", "SELECT", query="SELEKT 1")


def test_sqlite_empty_table_is_refused(sqlite_db: Path) -> None:
    expect_error(f"sqlite:///{sqlite_db}?table=empty", "no rows")


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    expect_error(f"sqlite:///{path}?table=t", "absent.db", "not found")
    assert not path.exists()


def test_table_and_query_together_is_a_config_error(sqlite_db: Path) -> None:
    with pytest.raises(ConfigError):
        load(f"sqlite:///{sqlite_db}", table="orders", query="SELECT 1")


def test_unknown_database_dialect(sqlite_db: Path) -> None:
    expect_error("nosuchdb://user:secret@host/db?table=t", "nosuchdb")
    message = expect_error("nosuchdb://user:secret@host/db?table=t")
    assert "secret" not in message


# ---------------------------------------------------------------------------- DataFrame input


def test_dataframe_passthrough_is_copied_and_normalised() -> None:
    original = pd.DataFrame({" a ": [" x", "NA", "y "], 2: [1, 2, 3]})
    before = original.copy()
    df = load(original)
    assert df is not original
    assert list(df.columns) == ["a", "2"]
    assert df["a"].iloc[0] == "x"
    assert pd.isna(df["a"].iloc[1])
    assert df["a"].iloc[2] == "y"
    pd.testing.assert_frame_equal(original, before)


def test_dataframe_object_column_with_mixed_values() -> None:
    original = pd.DataFrame({"m": pd.Series([1, " two ", None, "null", 3.5], dtype=object)})
    df = load(original)
    assert df["m"].tolist()[:2] == [1, "two"]
    assert pd.isna(df["m"].iloc[2]) and pd.isna(df["m"].iloc[3])
    assert df["m"].iloc[4] == 3.5
    assert original["m"].iloc[1] == " two "


# ----------------------------------------------------------------------------------- refusals


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.csv", "nope.csv", "not found")


def test_directory(tmp_path: Path) -> None:
    expect_error(tmp_path, str(tmp_path), "directory")


def test_unsupported_extension_lists_supported(tmp_path: Path) -> None:
    path = write(tmp_path / "data.foo", "a,b\n1,2\n")
    expect_error(path, "data.foo", ".foo", ".csv", ".parquet", ".xlsx", ".jsonl")


def test_random_bytes_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "random.csv"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    expect_error(path, "random.csv", "is not a readable text table")


def test_png_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(PNG_HEADER + np.random.default_rng(1).bytes(500))
    expect_error(path, "image.csv", "is not a readable text table")


def test_short_control_garbage_without_nul(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(1, 9)) * 10 + b"\x0e\x0f\x10\x11" * 10)
    expect_error(path, "garbage.csv", "is not a readable text table")


def test_unparsable_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", "a,b\n1,2\n3,4,5,6\n")
    expect_error(path, "ragged.csv", "is not a readable text table")


def test_rows_longer_than_header(tmp_path: Path) -> None:
    path = write(tmp_path / "short_header.csv", "text\nhello, world\nbye, now\n")
    expect_error(path, "short_header.csv", "more fields than its header")


def test_garbage_parquet(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.parquet", "a,b\n1,2\n")
    expect_error(path, "fake.parquet", "parquet")


def test_garbage_xlsx(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.xlsx", "a,b\n1,2\n")
    expect_error(path, "fake.xlsx", "excel")


def test_invalid_json(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{"a": [1, 2,')
    expect_error(path, "bad.json", "not valid JSON")
    path = write(tmp_path / "scalar.json", "42")
    expect_error(path, "scalar.json", "does not hold a table")


def test_invalid_json_line_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"a": 1}\n{"a": \n')
    expect_error(path, "bad.jsonl", "line 2")


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet", "empty.xlsx", "empty.json"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    expect_error(path, name, "empty")


def test_blank_lines_only(tmp_path: Path) -> None:
    expect_error(write(tmp_path / "blank.csv", "\n\n  \n"), "blank.csv", "empty")


def test_header_only(tmp_path: Path) -> None:
    path = write(tmp_path / "header.csv", "a,b,c\n")
    expect_error(path, "header.csv", "has a header but no rows")


def test_header_only_parquet(tmp_path: Path) -> None:
    path = tmp_path / "header.parquet"
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(path)
    expect_error(path, "header.parquet", "has a header but no rows")


@pytest.mark.parametrize("header", ["a,b,a", "a, b ,b", "x;x;y"])
def test_duplicate_column_names(tmp_path: Path, header: str) -> None:
    sep = ";" if ";" in header else ","
    body = sep.join(["1"] * 3)
    path = write(tmp_path / "dups.csv", f"{header}\n{body}\n{body}\n")
    message = expect_error(path, "dups.csv", "duplicate")
    duplicated = {"a,b,a": "'a'", "a, b ,b": "'b'", "x;x;y": "'x'"}[header]
    assert duplicated in message


def test_duplicate_names_in_dataframe_and_excel(tmp_path: Path) -> None:
    expect_error(pd.DataFrame([[1, 2]], columns=["a", " a"]), "duplicate", "'a'")
    path = tmp_path / "dups.xlsx"
    pd.DataFrame([[1, 2, 3]], columns=["k", "k ", "v"]).to_excel(path, index=False)
    expect_error(path, "dups.xlsx", "duplicate", "'k'")


def test_legacy_xls_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    expect_error(path, "old.xls", ".xlsx")


def test_unsupported_source_type() -> None:
    expect_error(12345, "int")  # type: ignore[arg-type]


# ------------------------------------------------------------------------ nested values, notices


def test_nested_json_objects_are_flattened_with_a_notice(tmp_path: Path) -> None:
    records = [
        {"id": 1, "address": {"city": " Paris ", "geo": {"lat": 48.8, "lon": 2.3}}},
        {"id": 2, "address": {"city": "NA", "geo": {"lat": 51.5, "lon": -0.1}}},
        {"id": 3, "address": None},
    ]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    said: list[str] = []
    df = load(path, notices=said)
    assert list(df.columns) == ["id", "address.city", "address.geo.lat", "address.geo.lon"]
    assert df["address.city"].iloc[0] == "Paris"  # flattened columns are normalised too
    assert df["address.city"].iloc[1:].isna().all()
    assert df["address.geo.lat"].tolist()[:2] == [48.8, 51.5]
    assert len(said) == 1
    assert "'address'" in said[0] and "flattened" in said[0] and "address.geo.lat" in said[0]


def test_notices_are_warnings_without_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "nested.jsonl", '{"a": 1, "b": {"c": 2}}\n{"a": 2, "b": {"c": 3}}\n')
    with pytest.warns(LoadNotice, match="'b'.*flattened"):
        df = load(path)
    assert df.to_dict("list") == {"a": [1, 2], "b.c": [2, 3]}


def test_parquet_struct_and_dataframe_dicts_are_flattened(tmp_path: Path) -> None:
    path = tmp_path / "struct.parquet"
    pd.DataFrame({"k": [1, 2], "s": [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]}).to_parquet(path)
    said: list[str] = []
    df = load(path, notices=said)
    assert list(df.columns) == ["k", "s.x", "s.y"]
    assert df["s.y"].tolist() == ["a", "b"]
    frame = pd.DataFrame({"d": [{"p": 1}, {"p": 2}], "z": [0, 1]})
    assert list(load(frame, notices=said).columns) == ["d.p", "z"]
    assert len(said) == 2


def test_column_of_empty_objects_is_dropped_with_a_notice(tmp_path: Path) -> None:
    path = write(tmp_path / "meta.json", '[{"a": 1, "meta": {}}, {"a": 2, "meta": {}}]')
    said: list[str] = []
    assert list(load(path, notices=said).columns) == ["a"]
    assert "dropped" in said[0]


def test_plain_tables_give_no_notice(tmp_path: Path, frame: pd.DataFrame) -> None:
    said: list[str] = []
    load(frame, notices=said)
    load(write(tmp_path / "a.csv", "a,b\n1,x\n"), notices=said)
    assert said == []


@pytest.mark.parametrize(
    ("cells", "what"),
    [([[1, 2], [3]], "lists"), ([(1,), (2,)], "lists"), ([{1}, {2}], "sets"), ([np.arange(2)] * 2, "lists")],
)
def test_columns_of_sequences_are_refused(cells: list, what: str) -> None:
    frame = pd.DataFrame({"ok": [1, 2], "tags": pd.Series(cells, dtype=object)})
    message = expect_error(frame, "'tags'", what, "expand it into separate columns or drop it")
    assert message.count(";") == 1


def test_lists_inside_objects_name_the_flattened_column(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.json", '[{"a": {"tags": [1, 2]}}, {"a": {"tags": []}}]')
    expect_error(path, "'a.tags'", "lists")


# ------------------------------------------------------------------------------ odd paths


def test_unreadable_file_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.csv", "a\n1\n")
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    expect_error(path, "locked.csv", "permission denied", "permissions")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
@pytest.mark.parametrize("name", ["locked.csv", "locked.parquet", "locked.json", "locked.db"])
def test_unreadable_file_mode_000(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "a\n1\n")
    path.chmod(0)
    try:
        expect_error(path, name, "permission")
    finally:
        path.chmod(0o600)


def test_table_or_query_on_a_non_database_file_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "a\n1\n")
    with pytest.raises(ConfigError, match="databases"):
        load(path, table="t")
    with pytest.raises(ConfigError, match="databases"):
        load(path, query="SELECT 1")


def test_control_characters_in_a_path_stay_on_one_line(tmp_path: Path) -> None:
    message = expect_error(tmp_path / "two\nlines.csv", "not found")
    assert "two\\nlines.csv" in message


# ------------------------------------------------------------------------- SQL stays read-only


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM customers;",
        "  select * from customers ; ; -- trailing comment",
        "/* a comment; with DROP TABLE customers */ SELECT * FROM customers",
        "SELECT id, replace(name, 'a', 'b') AS name FROM customers",
        "SELECT 'DROP TABLE customers; --' AS s, \"id\" FROM customers",
        "WITH older AS (SELECT * FROM customers WHERE age > 40) SELECT * FROM older",
        "SELECT [id], `name` FROM customers -- brackets and backticks are SQLite names",
    ],
)
def test_read_only_queries_are_accepted(sqlite_db: Path, sql: str) -> None:
    before = sha256(sqlite_db)
    df = load(f"sqlite:///{sqlite_db}", query=sql)
    assert len(df) >= 1
    assert sha256(sqlite_db) == before


def test_wal_database_is_read_without_new_files(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (a INTEGER)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    before, files = sha256(path), sorted(os.listdir(tmp_path))
    assert load(path)["a"].tolist() == [1]
    assert sha256(path) == before
    assert sorted(os.listdir(tmp_path)) == files
    # With a writer holding it open, committed rows still in the -wal file are read too.
    writer = sqlite3.connect(path)
    writer.execute("INSERT INTO t VALUES (2)")
    writer.commit()
    try:
        assert load(f"sqlite:///{path}?table=t")["a"].tolist() == [1, 2]
    finally:
        writer.close()


def test_in_memory_database_query() -> None:
    assert load("sqlite://", query="SELECT 1 AS x")["x"].tolist() == [1]


def test_file_uri_is_opened_read_only(sqlite_db: Path) -> None:
    before = sha256(sqlite_db)
    df = load(f"sqlite:///file:{sqlite_db}?mode=rwc&uri=true&table=orders")
    assert df.shape == (2, 3)
    assert sha256(sqlite_db) == before


def test_latin1_text_in_sqlite_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (city TEXT)")
    con.execute("INSERT INTO t VALUES (CAST(X'4DE96E65' AS TEXT))")  # "Méne" in Latin-1
    con.commit()
    con.close()
    assert load(path)["city"].tolist() == ["Méne"]


# ------------------------------------------------------------------------ the query checker


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgresql", "SELECT $$ ; DROP TABLE t; $$ AS s"),
        ("postgresql", "SELECT $tag$ it's ; $tag$ AS s"),
        ("postgresql", "SELECT 1 /* outer /* inner */ still ; comment */"),
        ("postgresql", "SELECT E'it\\'s ; fine' AS s"),
        ("mysql", "SELECT `odd;name` FROM t # comment ; DROP\n"),
        ("mysql", "SELECT 1 # comment ; DROP\n"),
        ("mssql", "SELECT [odd]]name;] FROM t"),
        ("oracle", "SELECT q'[it's ; fine]' FROM dual"),
        ("somedb", "SELECT a FROM t WHERE b = 'x'"),
    ],
)
def test_check_query_accepts_dialect_syntax(dialect: str, sql: str) -> None:
    assert sql.startswith(check_query(sql, dialect, "db"))


def test_check_query_cuts_trailing_semicolons_and_comments() -> None:
    assert check_query("SELECT 1 ; ; -- done", "sqlite", "db") == "SELECT 1"
    assert check_query("SELECT ';' /* x */;", "postgresql", "db") == "SELECT ';'"


def test_check_query_refuses_a_query_that_depends_on_the_sql_mode() -> None:
    # MySQL reads 'it\'s' as one string, or (NO_BACKSLASH_ESCAPES) as a string and an open one.
    with pytest.raises(DataError, match="unterminated"):
        check_query("SELECT 'it\\'s' AS s", "mysql", "db")


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        # A check that reads strings or comments differently from the database can be fooled.
        ("postgresql", "SELECT $$ ' $$; DROP TABLE t; --'"),
        ("postgresql", "SELECT 1 /* /* */ ' */; DROP TABLE t; --'"),
        ("postgresql", "SELECT 1 --x\r; DROP TABLE t"),
        ("postgresql", "SELECT E'\\''; DROP TABLE t; --'"),
        ("postgresql", "SELECT 'a\\'; DROP TABLE t; --'"),  # standard_conforming_strings = off
        ("mysql", "SELECT 'a\\' , '; DROP TABLE t; -- '"),
        ("mysql", "SELECT 1 --1\n; DROP TABLE t"),
        ("mysql", "SELECT 1 /*! ; DROP TABLE t */"),
        ("mysql", "SELECT 1 INTO OUTFILE '/tmp/x'"),
        ("mssql", "SELECT [a]]' ] ; DROP TABLE t -- ']"),
        ("mssql", "SELECT 1 /* /* */ ' */; DROP TABLE t; --'"),
        ("oracle", "SELECT q'[ ' ]'; DROP TABLE t; --'"),
        ("somedb", "SELECT $$ ' $$; DROP TABLE t; --'"),
        # Characters from U+0080 up belong to names, and only ASCII whitespace separates tokens.
        ("postgresql", "SELECT \u20ac$a$ ; DROP TABLE t; $a$"),
        ("postgresql", "SELECT x\u00a0$a$ ; DROP TABLE t; $a$"),
        ("mysql", "SELECT 1 --\u00a0x\n; DROP TABLE t"),
        ("somedb", "SELECT 'a\\' , '; DROP TABLE t; -- '"),
        ("postgresql", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"),
        ("postgresql", "SELECT * INTO copy FROM t"),
        ("postgresql", "SELECT * FROM t FOR UPDATE"),
        ("postgresql", "SET TRANSACTION READ WRITE"),
        ("postgresql", "COMMIT; DROP TABLE t"),
    ],
)
def test_check_query_refuses_what_the_database_would_run(dialect: str, sql: str) -> None:
    with pytest.raises(DataError, match="refused") as info:
        check_query(sql, dialect, "db")
    assert "\n" not in str(info.value)


def test_check_query_wants_a_string() -> None:
    with pytest.raises(ConfigError, match="string"):
        check_query(b"SELECT 1", "sqlite", "db")


class _FakeConnection:
    """Records the statements a read-only transaction is started with."""

    def __init__(self, dialect: str, fail: bool = False) -> None:
        self.dialect = type("Dialect", (), {"name": dialect})()
        self.calls: list[str] = []
        self.fail = fail

    def exec_driver_sql(self, sql: str) -> None:
        if self.fail:
            from sqlalchemy.exc import OperationalError

            raise OperationalError(sql, None, Exception("permission denied\nfor this"))
        self.calls.append(sql)

    def commit(self) -> None:
        self.calls.append("COMMIT")

    def rollback(self) -> None:
        self.calls.append("ROLLBACK")


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("postgresql", ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "COMMIT"]),
        ("mysql", ["SET SESSION TRANSACTION READ ONLY", "COMMIT"]),
        ("oracle", ["ROLLBACK", "SET TRANSACTION READ ONLY"]),
        ("mssql", []),
    ],
)
def test_read_only_transaction_statements(dialect: str, expected: list[str]) -> None:
    conn = _FakeConnection(dialect)
    begin_read_only(conn, "db")
    assert conn.calls == expected


def test_read_only_transaction_refused_stops_loading() -> None:
    with pytest.raises(DataError, match="read-only transaction") as info:
        begin_read_only(_FakeConnection("postgresql", fail=True), "db")
    assert "\n" not in str(info.value)
