"""The check on a user's SQL query, read by a real SQL parser: one read-only query, nothing else.

Loading must never change a database. The database connection is the wall that matters (see
:mod:`~modelworks.data._load.sql`: SQLite opened read-only; PostgreSQL, MySQL/MariaDB and Oracle
in a read-only transaction; every transaction rolled back); this check stands in front of it and
refuses, before connecting, anything that is not a single read-only query. Two readings must both
accept the query:

1. :func:`~modelworks.data._load.sqllex.single_statement`, a tokenizer run once per set of
   lexical rules the database may use (SQL modes that change how strings and comments end):
   exactly one statement, starting with ``SELECT`` or ``WITH``, naming no data-changing keyword.
2. sqlglot, a SQL parser, in the dialect of the database (in every dialect of
   :data:`_EVERY_DIALECT` for one it does not know): exactly one statement whose root is a query
   (``SELECT``, ``UNION``/``INTERSECT``/``EXCEPT``, with or without ``WITH``), with no data- or
   schema-changing part anywhere in its tree (a data-modifying ``WITH``, ``SELECT ... INTO``,
   ``FOR UPDATE`` ...) and no call to a function known to have side effects
   (:data:`_SIDE_EFFECT_FUNCTIONS`).

A parser cannot know what a function does: a user-defined function called from a ``SELECT`` may
write. Only the database's read-only transaction, and a role that may only read, stop that.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from modelworks.data._load.common import show
from modelworks.data._load.sqllex import QueryRefused, single_statement
from modelworks.errors import ConfigError, DataError

#: sqlglot's name for each SQLAlchemy dialect whose name differs; a dialect named as in sqlglot
#: (``duckdb``, ``snowflake``, ``trino`` ...) is read as itself.
_SQLGLOT_NAMES = {
    "postgresql": "postgres",
    "cockroachdb": "postgres",
    "mssql": "tsql",
    "mariadb": "mysql",  # sqlglot has no MariaDB dialect; MySQL's grammar is the closest
    "awsathena": "athena",
}
#: The dialects an unknown database's query must parse in, each of them.
_EVERY_DIALECT = ("sqlite", "postgres", "mysql", "tsql", "oracle")

#: Expressions that change data, the schema, the session or the transaction, or lock rows; the
#: query is refused if any appears anywhere in its tree. ``Command`` is sqlglot's fallback for a
#: statement it does not parse. Looked up by name: not every sqlglot version has every class.
_CHANGING_NAMES = (
    "DML",  # INSERT, UPDATE, DELETE, MERGE, COPY
    "DDL",  # CREATE ...
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Copy",
    "Create",
    "Drop",
    "Alter",
    "AlterTable",
    "AlterSession",
    "RenameColumn",
    "TruncateTable",
    "Command",
    "Into",
    "Lock",
    "LockingStatement",
    "Pragma",
    "Attach",
    "Detach",
    "Set",
    "Grant",
    "Revoke",
    "Comment",
    "Commit",
    "Rollback",
    "Transaction",
    "Use",
    "LoadData",
    "Cache",
    "Uncache",
    "Refresh",
    "Analyze",
    "Kill",
    "Declare",
    "Execute",
    "ExecuteSql",
    "Export",
    "Put",
    "Get",
    "Install",
    "NextValueFor",
)
#: How messages name some of them (the others by their class name in capitals).
_NODE_WORDS = {
    "Into": "SELECT ... INTO",
    "Lock": "a locking clause (FOR UPDATE or FOR SHARE)",
    "TruncateTable": "TRUNCATE",
    "LoadData": "LOAD DATA",
    "NextValueFor": "NEXT VALUE FOR",
    "Command": "a statement",
}

#: Functions with side effects that a ``SELECT`` can call, refused by name as defence in depth.
#: A parser cannot know what an arbitrary function does, so the database's read-only transaction
#: is the wall; but it does not stop all of these: PostgreSQL lets a read-only transaction write a
#: server file with ``lo_export``, end other sessions with ``pg_terminate_backend``, run any
#: statement over a connection of its own with ``dblink``, reload the configuration or take
#: advisory locks that outlive the query. The others (sequences, large objects, notifications)
#: are refused by a read-only transaction or undone by the rollback, and are refused here too.
_SIDE_EFFECT_FUNCTIONS = frozenset(
    {
        # PostgreSQL: sequences and settings
        "nextval",
        "setval",
        "set_config",
        # PostgreSQL: other sessions and the server
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_switch_xlog",
        "pg_create_restore_point",
        "pg_promote",
        "pg_backup_start",
        "pg_backup_stop",
        "pg_start_backup",
        "pg_stop_backup",
        "pg_wal_replay_pause",
        "pg_wal_replay_resume",
        "pg_log_backend_memory_contexts",
        # PostgreSQL: large objects and server files (adminpack)
        "lo_import",
        "lo_export",
        "lo_unlink",
        "lo_create",
        "lo_creat",
        "lo_from_bytea",
        "lo_put",
        "lowrite",
        "lo_truncate",
        "lo_truncate64",
        "pg_file_write",
        "pg_file_rename",
        "pg_file_unlink",
        "pg_file_sync",
        # PostgreSQL: dblink opens a connection of its own, outside the read-only transaction
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "dblink_connect_u",
        "dblink_open",
        "dblink_send_query",
        # PostgreSQL: transaction ids, notifications, replication, advisory locks
        "txid_current",
        "pg_current_xact_id",
        "pg_notify",
        "pg_logical_emit_message",
        "pg_create_logical_replication_slot",
        "pg_create_physical_replication_slot",
        "pg_drop_replication_slot",
        "pg_replication_slot_advance",
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
        # MySQL/MariaDB: named locks, and the usual names of command-running UDFs
        "get_lock",
        "release_lock",
        "release_all_locks",
        "sys_exec",
        "sys_eval",
        # SQLite (its authorizer refuses them as well)
        "load_extension",
        "writefile",
        "edit",
        "fts3_tokenizer",
    }
)
_TOKEN_REPR = re.compile(
    r"<Token token_type: \S+, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: .*?>"
)


def check_query(query: object, dialect: str, label: str) -> str:
    """Accept a single read-only query, or say why not.

    Parameters
    ----------
    query : object
        The query the user gave (``query=`` or ``?query=``).
    dialect : str
        The SQLAlchemy dialect name of the database (``"sqlite"``, ``"postgresql"``, ...); it
        decides the lexical rules and the grammar the query is read with.
    label : str
        The database, as messages name it.

    Returns
    -------
    str
        The statement to run: the query without its trailing semicolons and comments.

    Raises
    ------
    ConfigError
        When ``query`` is not a string.
    DataError
        When the query is refused: empty, several statements, not a query, a data- or
        schema-changing part or keyword, a function with side effects, an unterminated string or
        comment under any of the rules the database may use, or SQL the parser cannot read.
    """
    if not isinstance(query, str):
        raise ConfigError(f"query= must be a SQL string (got {type(query).__name__}); pass SELECT ...")
    try:
        statement = single_statement(query, dialect)
        for name in _sqlglot_dialects(dialect):
            _check_tree(statement, name)
    except QueryRefused as why:
        raise DataError(f"query refused for {label}: {why} (loading never changes a database)") from None
    return statement


def _sqlglot_dialects(dialect: str) -> tuple[str, ...]:
    """The sqlglot dialects the query must parse in."""
    from sqlglot.dialects.dialect import Dialects

    name = _SQLGLOT_NAMES.get(dialect, dialect)
    known = {d.value for d in Dialects if d.value}
    return (name,) if name in known else _EVERY_DIALECT


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's log while parsing (it warns when it falls back to a ``Command``)."""
    logger = logging.getLogger("sqlglot")
    logger.addFilter(_drop)
    try:
        yield
    finally:
        logger.removeFilter(_drop)


def _drop(record: logging.LogRecord) -> bool:
    """A logging filter that lets nothing through."""
    return False


def _check_tree(statement: str, dialect: str) -> None:
    """Parse ``statement`` with sqlglot in ``dialect``; refuse all but one read-only query."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        with _quiet_sqlglot():
            parsed = sqlglot.parse(statement, read=dialect)
    except SqlglotError as exc:
        raise QueryRefused(
            f"it does not parse as {dialect} SQL ({_parse_problem(exc)}); fix the query, or load a "
            "view with ?table=NAME"
        ) from None
    except Exception as exc:  # a parser bug or a recursion limit: fail closed
        raise QueryRefused(
            f"the SQL parser could not read it ({type(exc).__name__}); simplify the query, or load a "
            "view with ?table=NAME"
        ) from None
    empty = tuple(c for c in (getattr(exp, "Semicolon", None),) if isinstance(c, type))
    trees = [tree for tree in parsed if tree is not None and not isinstance(tree, empty)]
    if not trees:
        raise QueryRefused("it is empty; pass a query such as SELECT * FROM my_table")
    if len(trees) > 1:
        raise QueryRefused("it holds more than one statement; pass a single SELECT query")
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        raise QueryRefused(
            f"it is {_describe(tree)}, not a query; only a read-only SELECT or WITH query is accepted"
        )
    changing = tuple(c for c in (getattr(exp, n, None) for n in _CHANGING_NAMES) if isinstance(c, type))
    every_node = getattr(exp, "Expr", exp.Expression)  # the base class of every node (Expr in newer sqlglot)
    for node in tree.find_all(every_node):
        if isinstance(node, changing):
            raise QueryRefused(
                f"it holds {_describe(node)}, which writes to the database or locks it; only a "
                "read-only SELECT or WITH query is accepted"
            )
        if isinstance(node, exp.Func):
            for name in _function_names(node):
                if name in _SIDE_EFFECT_FUNCTIONS:
                    raise QueryRefused(
                        f"it calls {name}(), a function with side effects; only a read-only query is accepted"
                    )


def _function_names(node: Any) -> set[str]:
    """The lower-case names a function call may be known by (schema-qualified or quoted alike)."""
    from sqlglot import exp

    names = {n.lower() for n in type(node).sql_names()}
    if isinstance(node, exp.Anonymous) or type(node).__name__.startswith("Anonymous"):
        names.add(str(node.name).lower())
    return names


def _describe(node: Any) -> str:
    """How a message names a statement or a part of one."""
    kind = type(node).__name__
    if kind == "Command":
        first = str(node.this or "").split(maxsplit=1)
        return f"a {show(first[0].upper(), 30)} statement" if first else "a statement"
    return _NODE_WORDS.get(kind, f"a {kind.upper()} part")


def _parse_problem(exc: Exception) -> str:
    """Where and why sqlglot could not parse the query, on one line."""
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        description = _TOKEN_REPR.sub(r"'\1'", str(first.get("description") or "a syntax error"))
        near = str(first.get("start_context") or "")[-30:] + str(first.get("highlight") or "")
        return (
            f"syntax error at line {first.get('line')}, column {first.get('col')} near "
            f"'{show(near.strip(), 60)}': {show(description, 120)}"
        )
    return f"syntax error: {show(' '.join(str(exc).split()), 120)}"
