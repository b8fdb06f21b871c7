"""Hostile SQL for :func:`modelworks.load`: loading must never change the database.

Every case runs against a fresh SQLite file and must raise a one-line
:class:`~modelworks.errors.ModelworksError` while leaving the database file byte-for-byte
unchanged (sha256) and no new file in its directory (no ``ATTACH``-ed, ``VACUUM INTO`` or journal
file, no database created where none was).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from modelworks.data.load import load
from modelworks.errors import ModelworksError


def make_shop(path: Path, *, wal: bool = False) -> Path:
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE customers (id INTEGER, name TEXT, age REAL)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(1, "ann", 31.0), (2, "ben", 40.0)])
    con.commit()
    con.close()
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file in ``folder`` (names included, so a new file shows)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def assert_refused_unchanged(folder: Path, source: Any, **kwargs: Any) -> str:
    before = snapshot(folder)
    with pytest.raises(ModelworksError) as info:
        load(source, **kwargs)
    message = str(info.value)
    assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
    assert "Traceback" not in message
    assert snapshot(folder) == before, f"the folder changed: {message}"
    return message


#: Queries that try to change the database; each must be refused and change nothing.
QUERIES = [
    pytest.param("DROP TABLE customers", id="drop-table"),
    pytest.param("DELETE FROM customers", id="delete"),
    pytest.param("UPDATE customers SET name = 'x'", id="update"),
    pytest.param("INSERT INTO customers VALUES (9, 'zed', 1)", id="insert"),
    pytest.param("INSERT INTO customers SELECT * FROM customers", id="insert-select"),
    pytest.param("REPLACE INTO customers VALUES (1, 'x', 2)", id="replace-into"),
    pytest.param("CREATE TABLE t2 (a)", id="create-table"),
    pytest.param("CREATE TABLE t3 AS SELECT * FROM customers", id="create-table-as-select"),
    pytest.param("CREATE TEMP TABLE t4 (a)", id="create-temp-table"),
    pytest.param("CREATE INDEX ix ON customers (id)", id="create-index"),
    pytest.param("CREATE VIEW v AS SELECT 1", id="create-view"),
    pytest.param("ALTER TABLE customers RENAME TO c2", id="alter-rename"),
    pytest.param("ALTER TABLE customers ADD COLUMN z INTEGER", id="alter-add-column"),
    pytest.param("ATTACH DATABASE '{dir}/attached.db' AS other", id="attach-creates-file"),
    pytest.param("ATTACH 'file:{dir}/uri.db?mode=rwc' AS other", id="attach-uri-rwc"),
    pytest.param("DETACH DATABASE main", id="detach"),
    pytest.param("PRAGMA user_version = 7", id="pragma-user-version"),
    pytest.param("PRAGMA journal_mode = WAL", id="pragma-journal-mode"),
    pytest.param("PRAGMA writable_schema = ON", id="pragma-writable-schema"),
    pytest.param("PRAGMA query_only = OFF", id="pragma-query-only-off"),
    pytest.param("VACUUM", id="vacuum"),
    pytest.param("VACUUM INTO '{dir}/copy.db'", id="vacuum-into-new-file"),
    pytest.param("REINDEX", id="reindex"),
    pytest.param("ANALYZE", id="analyze"),
    pytest.param("BEGIN; DROP TABLE customers; COMMIT", id="transaction-block"),
    pytest.param("SELECT 1; DROP TABLE customers", id="two-statements"),
    pytest.param("SELECT 1;\nDELETE FROM customers;", id="two-statements-newline"),
    pytest.param("SELECT 1 /* c */; DROP TABLE customers", id="comment-then-statement"),
    pytest.param("SELECT 1 -- c\n; DROP TABLE customers", id="line-comment-then-statement"),
    pytest.param("/* SELECT */ DROP TABLE customers", id="select-in-comment"),
    pytest.param("-- SELECT\nDELETE FROM customers", id="select-in-line-comment"),
    pytest.param("SELECT ';'; DROP TABLE customers", id="semicolon-in-string-then-drop"),
    pytest.param("SELECT * FROM customers WHERE name = ''''; DROP TABLE customers; --'", id="quote-escape"),
    pytest.param('SELECT "a;b"; DELETE FROM customers', id="quoted-name-then-delete"),
    pytest.param("SELECT [x;]; DROP TABLE customers", id="bracket-name-then-drop"),
    pytest.param("WITH x AS (SELECT 1) DELETE FROM customers", id="with-delete"),
    pytest.param("WITH x AS (SELECT 1) INSERT INTO customers SELECT 5, 'e', 5 FROM x", id="with-insert"),
    pytest.param("WITH x AS (SELECT 1) UPDATE customers SET age = 0", id="with-update"),
    pytest.param("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d", id="data-modifying-cte"),
    pytest.param("SELECT * INTO backup FROM customers", id="select-into"),
    pytest.param("SELECT * FROM customers FOR UPDATE", id="for-update"),
    pytest.param("SELECT 1 /* unterminated", id="unterminated-comment"),
    pytest.param("SELECT 'unterminated", id="unterminated-string"),
    pytest.param("", id="empty"),
    pytest.param(" ;; ", id="only-semicolons"),
    pytest.param("-- nothing but a comment", id="only-a-comment"),
    pytest.param("SELECT load_extension('/tmp/evil')", id="load-extension"),
    pytest.param("SELECT writefile('{dir}/w.txt', 'x')", id="writefile"),
    pytest.param("EXPLAIN DELETE FROM customers", id="explain"),
    pytest.param("SAVEPOINT s; DROP TABLE customers", id="savepoint"),
]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path / "shop.db")


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("how", ["keyword", "url"])
def test_hostile_query_changes_nothing(shop: Path, sql: str, how: str) -> None:
    sql = sql.replace("{dir}", str(shop.parent))
    if how == "keyword" or not sql:  # an empty URL parameter is no parameter
        assert_refused_unchanged(shop.parent, f"sqlite:///{shop}", query=sql)
    else:
        assert_refused_unchanged(shop.parent, f"sqlite:///{shop}?query={urllib.parse.quote(sql)}")


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("DROP TABLE customers", id="drop-table"),
        pytest.param("ATTACH DATABASE '{dir}/attached.db' AS other", id="attach"),
        pytest.param("VACUUM INTO '{dir}/copy.db'", id="vacuum-into"),
    ],
)
def test_hostile_query_on_a_path_and_on_a_wal_database(tmp_path: Path, sql: str) -> None:
    shop = make_shop(tmp_path / "wal.sqlite", wal=True)
    sql = sql.replace("{dir}", str(tmp_path))
    assert_refused_unchanged(tmp_path, shop, query=sql)
    assert_refused_unchanged(tmp_path, f"sqlite:///{shop}", query=sql)


@pytest.mark.parametrize(
    "table",
    [
        pytest.param("customers; DROP TABLE customers", id="statement-in-name"),
        pytest.param('customers"; DROP TABLE customers; --', id="quote-in-name"),
        pytest.param("sqlite_master", id="schema-table"),
        pytest.param("", id="empty-name"),
    ],
)
def test_hostile_table_name_changes_nothing(shop: Path, table: str) -> None:
    assert_refused_unchanged(shop.parent, f"sqlite:///{shop}", table=table)
    if table:  # an empty URL parameter is no parameter
        assert_refused_unchanged(shop.parent, f"sqlite:///{shop}?table={urllib.parse.quote(table)}")


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite:///{dir}/absent.db?table=t", id="missing-file"),
        pytest.param("sqlite:///{dir}/absent.db?query=SELECT%201", id="missing-file-query"),
        pytest.param("sqlite:///file:{dir}/absent.db?mode=rwc&uri=true&table=t", id="missing-file-uri-rwc"),
        pytest.param("sqlite:///{dir}/sub/absent.sqlite?table=t", id="missing-folder"),
        pytest.param("sqlite:///{dir}?table=t", id="folder-as-database"),
        pytest.param("sqlite:///{dir}/shop.db?table=t&query=SELECT%201", id="table-and-query"),
        pytest.param("sqlite:///{dir}/shop.db?table=missing", id="unknown-table"),
        pytest.param(
            "sqlite:///{dir}/shop.db?query=SELECT%20*%20FROM%20missing", id="unknown-table-in-query"
        ),
        pytest.param("sqlite:///{dir}/shop.db?query=SELECT%20FROM%20WHERE", id="syntax-error"),
        pytest.param("nosuchdb://user:secret@host/db?table=t", id="unknown-dialect"),
        pytest.param("sqlite://:::x", id="malformed-url"),
    ],
)
def test_hostile_url_creates_nothing(shop: Path, url: str) -> None:
    message = assert_refused_unchanged(shop.parent, url.replace("{dir}", str(shop.parent)))
    assert "secret" not in message


def test_missing_database_path_is_not_created(tmp_path: Path) -> None:
    for source in (tmp_path / "absent.db", tmp_path / "absent.sqlite3"):
        assert_refused_unchanged(tmp_path, source, query="SELECT 1")
        assert not os.path.exists(source)


def test_there_are_enough_cases() -> None:
    assert len(QUERIES) >= 35
    assert len({p.id for p in QUERIES}) == len(QUERIES)


@pytest.mark.parametrize("sql", QUERIES)
def test_connection_alone_changes_nothing(shop: Path, sql: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: with the query check switched off, the read-only SQLite connection
    (``mode=ro``, ``query_only``, no attached databases, an authorizer) still keeps the database
    and its folder unchanged, and every failure is still a ModelworksError."""
    monkeypatch.setattr("modelworks.data._load.sql.check_query", lambda query, dialect, label: query)
    sql = sql.replace("{dir}", str(shop.parent))
    before = snapshot(shop.parent)
    try:
        load(f"sqlite:///{shop}", query=sql)
    except ModelworksError as exc:
        assert "\n" not in str(exc)
    assert snapshot(shop.parent) == before
