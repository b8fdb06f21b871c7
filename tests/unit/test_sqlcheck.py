"""The query check's SQL parser (sqlglot): what it refuses beyond the tokenizer, and what it lets through.

The tokenizer's cases (strings, comments, statements, keywords under every SQL mode) live in
``tests/unit/test_load.py`` and ``tests/hostile/test_load_sql.py``; the real-server cases in
``tests/hostile/test_sql_postgres.py``.
"""

from __future__ import annotations

import pytest

from modelworks.data._load.sqlcheck import (
    _EVERY_DIALECT,
    _SIDE_EFFECT_FUNCTIONS,
    _sqlglot_dialects,
    check_query,
)
from modelworks.data._load.sqllex import single_statement
from modelworks.errors import DataError


def refused(sql: str, dialect: str) -> str:
    with pytest.raises(DataError, match="query refused") as info:
        check_query(sql, dialect, "db")
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, repr(message)
    return message


@pytest.mark.parametrize(
    ("dialect", "sql", "word"),
    [
        ("postgresql", "SELECT nextval('s')", "nextval()"),
        ("postgresql", "SELECT pg_catalog.NEXTVAL('s')", "nextval()"),
        ("postgresql", "SELECT \"setval\"('s', 1)", "setval()"),
        ("postgresql", "SELECT 1 UNION SELECT nextval('s')", "nextval()"),
        ("postgresql", "WITH x AS (SELECT setval('s', 1)) SELECT 1", "setval()"),
        ("postgresql", "SELECT * FROM t WHERE a IN (SELECT pg_advisory_lock(1))", "pg_advisory_lock()"),
        ("postgresql", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "pg_terminate_backend()"),
        ("postgresql", "SELECT * FROM dblink('dbname=x', 'DELETE FROM t') AS r(a int)", "dblink()"),
        ("postgresql", "SELECT * FROM t FOR SHARE", "locking clause"),
        ("postgresql", "SELECT * FROM t FOR KEY SHARE", "locking clause|does not parse"),
        ("mysql", "SELECT GET_LOCK('a', 1)", "get_lock()"),
        ("mysql", "SELECT 1 LOCK IN SHARE MODE", "locking clause|does not parse"),  # by sqlglot version
        ("mssql", "SELECT NEXT VALUE FOR s", "NEXT VALUE FOR"),
        ("sqlite", "SELECT load_extension('x')", "load_extension()"),
        ("sqlite", "SELECT FROM WHERE", "does not parse"),
        ("somedb", "SELECT TOP 1 a FROM t", "does not parse"),  # an unknown database: every grammar
        ("somedb", "SELECT nextval('s')", "nextval()"),
    ],
)
def test_parser_refuses_what_the_tokenizer_lets_through(dialect: str, sql: str, word: str) -> None:
    assert single_statement(sql, dialect)  # the tokenizer alone would accept it
    message = refused(sql, dialect)
    assert any(w in message for w in word.split("|")), message


def test_every_side_effect_function_is_refused() -> None:
    for name in sorted(_SIDE_EFFECT_FUNCTIONS):
        assert f"{name}()" in refused(f"SELECT {name}(1)", "postgresql")


def test_a_syntax_error_says_where() -> None:
    message = refused("SELECT FROM WHERE", "postgresql")
    assert "line 1, column 17" in message and "'WHERE'" in message and "<Token" not in message


def test_a_parser_failure_refuses_the_query() -> None:
    deep = "SELECT " + "(" * 5000 + "1" + ")" * 5000
    assert "could not read" in refused(deep, "postgresql")


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgresql", "SELECT DISTINCT ON (a) a, b FROM t WHERE c ILIKE 'x%' ORDER BY a, b"),
        ("postgresql", "SELECT a, row_number() OVER (PARTITION BY b ORDER BY c) AS n FROM t"),
        ("postgresql", "SELECT a->>'x', b::int FROM t"),
        (
            "postgresql",
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
        ),
        ("postgresql", "(SELECT 1) UNION (SELECT 2)"),
        ("postgresql", "SELECT nextval, setval FROM t"),  # columns, not calls
        ("postgresql", "SELECT a FROM t WHERE b = 'nextval(1); DELETE FROM t'"),
        ("mysql", "SELECT `a` FROM t LIMIT 1, 2"),
        ("mariadb", "SELECT a FROM t"),
        ("mssql", "SELECT TOP (5) [a] FROM dbo.t WITH (NOLOCK)"),
        ("oracle", "SELECT a FROM t WHERE ROWNUM <= 5"),
        ("sqlite", "SELECT * FROM t WHERE a GLOB 'x*'"),
        ("somedb", "SELECT a, COUNT(*) AS n FROM t GROUP BY a HAVING COUNT(*) > 1"),
    ],
)
def test_parser_accepts_dialect_queries(dialect: str, sql: str) -> None:
    assert check_query(sql, dialect, "db") == sql


def test_dialect_names_map_to_sqlglot() -> None:
    assert _sqlglot_dialects("postgresql") == ("postgres",)
    assert _sqlglot_dialects("mssql") == ("tsql",)
    assert _sqlglot_dialects("mariadb") == ("mysql",)
    assert _sqlglot_dialects("duckdb") == ("duckdb",)  # named as in sqlglot
    assert _sqlglot_dialects("somedb") == _EVERY_DIALECT
