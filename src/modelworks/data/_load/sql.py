"""Databases, read without ever changing them.

The guards, in order (README's "Loading data never changes the source" says which database gets
which):

1. The query is checked before connecting (:func:`~modelworks.data._load.sqlcheck.check_query`):
   a tokenizer under every lexical rule set of the dialect, then a SQL parser (sqlglot) in the
   dialect: one query, no data- or schema-changing part, no well-known side-effect function.
2. A SQLite file is opened read-only through its ``file:`` URI (``mode=ro``; an existing file is
   required, so opening never creates one) with ``PRAGMA query_only = ON``, no attached databases
   (``SQLITE_LIMIT_ATTACHED = 0``) and an authorizer that allows reading only: ``ATTACH``,
   ``VACUUM INTO``, writing pragmas and every write are denied by SQLite itself. A database in WAL
   mode without a ``-wal`` file is opened ``immutable=1``, since a read-only reader would otherwise
   create the ``-wal`` and ``-shm`` files next to it.
3. Any other database is read in a transaction that is always rolled back, made read-only where
   the dialect has a statement for it: PostgreSQL and MySQL/MariaDB make the session read-only
   (``SET SESSION ...``), Oracle the transaction (``SET TRANSACTION READ ONLY``). On any other
   database the check of step 1 and the rollback are all there is.
4. PostgreSQL reads through a server-side cursor: the query is wrapped in ``DECLARE ... CURSOR
   FOR``, which the server accepts for a single ``SELECT``/``VALUES``/``TABLE`` only, refusing a
   data-modifying ``WITH``, ``SELECT ... INTO`` and ``COPY``. psycopg 3 sends it over the extended
   protocol, which refuses several statements in one string (``SELECT 1; COMMIT; ...``), so a
   string can neither end the read-only transaction nor start one of its own; psycopg2 sends it
   as plain text, and there the check of step 1 alone keeps to one statement.

A read-only transaction cannot stop a function that opens a connection of its own (``dblink``) or
writes outside the tables (PostgreSQL's ``lo_export`` writes a server file): the check refuses the
well-known ones by name, and a user who needs the guarantee should connect as a role that may only
read.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from modelworks.data._load.common import finish, one_line, show
from modelworks.data._load.sqlcheck import check_query
from modelworks.errors import ConfigError, DataError

_REMOTE_SCHEMES = {"http", "https", "ftp", "s3", "gs", "gcs", "az", "abfs", "file"}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_NOT_CREATED = "modelworks never creates a database"

_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
#: Pragmas SQLAlchemy reads while connecting and inspecting (never with a value, so never a write).
_READ_PRAGMAS = frozenset(
    {
        "read_uncommitted",
        "table_info",
        "table_xinfo",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "database_list",
    }
)
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})

#: Statements that make every later transaction of the session read-only.
_SESSION_READ_ONLY = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}
#: Statements that make the transaction they start read-only.
_TRANSACTION_READ_ONLY = {"oracle": "SET TRANSACTION READ ONLY"}
#: Dialects read through a server-side cursor (``DECLARE ... CURSOR FOR`` on PostgreSQL, which the
#: server refuses for anything but one read query; see the module's docstring).
_SERVER_SIDE_CURSOR = frozenset({"postgresql"})


def load_sql_url(source: str, *, table: object, query: object, notices: list[str] | None) -> pd.DataFrame:
    """Read a table or a query result from a SQLAlchemy database URL.

    Parameters
    ----------
    source : str
        The URL; ``?table=`` and ``?query=`` parameters are URL-decoded and removed before
        connecting.
    table, query : str, optional
        As for :func:`~modelworks.data.load.load`; they override the URL's parameters.
    notices : list of str, optional
        Where :func:`~modelworks.data._load.common.finish` adds its notices.

    Returns
    -------
    pandas.DataFrame
        The normalised table.

    Raises
    ------
    DataError
        For a remote file address, an invalid URL, a refused query, a missing SQLite file or a
        database that cannot be read.
    ConfigError
        When the URL gives both ``?table=`` and ``?query=``.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = source.split("://", 1)[0].lower()
    if scheme in _REMOTE_SCHEMES:
        raise DataError(
            f"'{show(scheme, 20)}://' addresses are not loaded directly; download the file first and "
            "pass its local path (database URLs look like sqlite:///file.db?table=NAME)"
        )
    try:
        url = make_url(source)
    except (ArgumentError, ValueError, TypeError) as exc:
        raise DataError(
            f"'{show(source, 120)}' is not a valid database URL ({one_line(exc)}); use a SQLAlchemy "
            "URL like sqlite:///file.db?table=NAME"
        ) from exc
    url_table = _query_param(url.query.get("table"))
    url_query = _query_param(url.query.get("query"))
    url = url.difference_update_query(["table", "query"])
    if table is None and query is None:
        table, query = url_table, url_query
        if table is not None and query is not None:
            raise ConfigError("the URL gives both ?table= and ?query=; keep only one")
    label = f"database '{show(url.render_as_string(hide_password=True))}'"
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is None:
            if query is not None:
                query = check_query(query, "sqlite", label)
            engine = _sqlite_engine(":memory:", uri=False)
            return read_database(engine, table=table, query=query, label=label, notices=notices)
        return load_sqlite(path, table=table, query=query, label=label, notices=notices)
    if query is not None:
        query = check_query(query, url.get_backend_name(), label)
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except Exception as exc:  # unknown dialect, missing driver, bad arguments
        raise DataError(
            f"cannot open {label} ({one_line(exc)}); check the URL and that its database driver is installed"
        ) from exc
    return read_database(engine, table=table, query=query, label=label, notices=notices)


def _query_param(value: str | tuple[str, ...] | None) -> str | None:
    if isinstance(value, tuple):
        return value[-1] if value else None
    return value


def _sqlite_path(url: Any) -> Path | None:
    """The file a ``sqlite://`` URL names (``file:`` URIs decoded), or None for an in-memory one."""
    database = url.database or ""
    if database.startswith("file:"):
        if url.query.get("mode") == "memory":
            return None
        database = urllib.parse.unquote(urllib.parse.urlsplit(database).path)
    if database in ("", ":memory:"):
        return None
    return Path(database).expanduser()


def load_sqlite(
    path: Path, *, table: object, query: object, label: str, notices: list[str] | None
) -> pd.DataFrame:
    """Read a table or a query result from a SQLite file, opened read-only.

    Parameters
    ----------
    path : pathlib.Path
        The database file; it must exist (it is never created).
    table, query : str, optional
        As for :func:`~modelworks.data.load.load`.
    label : str
        The database, as messages name it.
    notices : list of str, optional
        Where :func:`~modelworks.data._load.common.finish` adds its notices.

    Returns
    -------
    pandas.DataFrame
        The normalised table.

    Raises
    ------
    DataError
        For a refused query, a missing, empty, unreadable or non-SQLite file, an unknown table or
        a failing query.
    """
    if query is not None:
        query = check_query(query, "sqlite", label)
    wal = _check_sqlite_file(path, label)
    uri = path.resolve().as_uri() + "?mode=ro"
    if wal and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    engine = _sqlite_engine(uri, uri=True)
    return read_database(engine, table=table, query=query, label=label, notices=notices)


def _check_sqlite_file(path: Path, label: str) -> bool:
    """Refuse a path that is not a readable SQLite file; return whether it is in WAL mode."""
    shown = show(path)
    try:
        if not path.exists():
            raise DataError(f"SQLite database file '{shown}' not found; check the path ({_NOT_CREATED})")
        if path.is_dir():
            raise DataError(f"SQLite database path '{shown}' is a directory; pass the database file")
        with open(path, "rb") as fh:
            header = fh.read(100)
    except PermissionError as exc:
        raise DataError(f"{label} cannot be read (permission denied); check its permissions") from exc
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)
        raise DataError(f"{label} cannot be opened ({why}); check the path") from exc
    if not header:
        raise DataError(f"file '{shown}' is empty (0 bytes), so it holds no table; pass a SQLite database")
    if not header.startswith(_SQLITE_MAGIC):
        raise DataError(
            f"file '{shown}' is not a SQLite database (it does not start with 'SQLite format 3'); pass a "
            "SQLite file, or use the extension that matches its format"
        )
    return len(header) >= 20 and header[18] == 2 and header[19] == 2


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
    """SQLite authorizer: reading is allowed, everything else (writes, ATTACH, pragmas) denied."""
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg2 is None and (arg1 or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _decode_text(raw: bytes) -> str:
    """SQLite text as str: UTF-8, or Latin-1 for text stored in another encoding (as for CSV)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _connect_sqlite(database: str, uri: bool) -> sqlite3.Connection:
    """A guarded SQLite connection (see the module's docstring)."""
    con = sqlite3.connect(database, uri=uri, check_same_thread=False)
    con.text_factory = _decode_text
    try:
        con.execute("PRAGMA query_only = ON")
        con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        con.set_authorizer(_authorize)
    except BaseException:
        con.close()
        raise
    return con


def _sqlite_engine(database: str, *, uri: bool) -> Any:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    return sa.create_engine(
        "sqlite+pysqlite://", creator=partial(_connect_sqlite, database, uri), poolclass=NullPool
    )


def begin_read_only(conn: Any, label: str) -> None:
    """Make the connection's transactions read-only where the dialect has a statement for it.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A new connection.
    label : str
        The database, as messages name it.

    Raises
    ------
    DataError
        When the dialect has such a statement and the database refuses it (then nothing is read).
    """
    from sqlalchemy.exc import SQLAlchemyError

    name = conn.dialect.name
    try:
        if name in _SESSION_READ_ONLY:
            conn.exec_driver_sql(_SESSION_READ_ONLY[name])
            conn.commit()  # PostgreSQL's SET is transactional; later transactions are read-only
        elif name in _TRANSACTION_READ_ONLY:
            conn.rollback()  # the statement must be the first of its transaction
            conn.exec_driver_sql(_TRANSACTION_READ_ONLY[name])
    except SQLAlchemyError as exc:
        raise DataError(
            f"cannot start a read-only transaction on {label} ({db_message(exc)}); loading never "
            "changes a database, so nothing was read"
        ) from exc


def _rollback(conn: Any) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    with contextlib.suppress(SQLAlchemyError):  # a broken connection has nothing to roll back
        conn.rollback()


def read_database(
    engine: Any, *, table: object, query: object, label: str, notices: list[str] | None
) -> pd.DataFrame:
    """Read a table or a query result through ``engine`` in a read-only, rolled-back transaction.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The database (disposed of before returning).
    table, query : str, optional
        As for :func:`~modelworks.data.load.load`; ``query`` has been checked already.
    label : str
        The database, as messages name it.
    notices : list of str, optional
        Where :func:`~modelworks.data._load.common.finish` adds its notices.

    Returns
    -------
    pandas.DataFrame
        The normalised table.

    Raises
    ------
    DataError
        For an unknown table, a database holding several tables when none is named, a failing
        query, or a database that cannot be read.
    ConfigError
        When ``table`` is not a string.
    """
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    if table is not None and not isinstance(table, str):
        raise ConfigError(f"table= must be a table name (got {type(table).__name__}); pass a string")
    try:
        with engine.connect() as conn:
            try:
                begin_read_only(conn, label)
                if query is not None:
                    try:
                        df = _read_sql(conn, query)
                    except (SQLAlchemyError, pd.errors.DatabaseError, sqlite3.Error) as exc:
                        raise DataError(
                            f"SQL query failed on {label}: {db_message(exc)}; fix the query"
                        ) from exc
                    source_label = f"query result from {label}"
                else:
                    inspector = sa.inspect(conn)
                    names = list(inspector.get_table_names()) + list(inspector.get_view_names())
                    listed = ", ".join(show(n, 60) for n in names) if names else "(none)"
                    if table is None:
                        if len(names) != 1:
                            raise DataError(
                                f"{label} holds {len(names)} tables; choose one with ?table=NAME in "
                                f"the URL or table=NAME (available: {listed})"
                            )
                        table = names[0]
                    if table not in names:
                        raise DataError(
                            f"table '{show(table, 80)}' not found in {label}; available tables: {listed}"
                        )
                    quoted = conn.dialect.identifier_preparer.quote(table)
                    df = _read_sql(conn, f"SELECT * FROM {quoted}")
                    source_label = f"table '{show(table, 80)}' in {label}"
            finally:
                _rollback(conn)
    except DataError:
        raise
    except (SQLAlchemyError, pd.errors.DatabaseError, sqlite3.Error, UnicodeError) as exc:
        raise DataError(
            f"cannot read {label}: {db_message(exc)}; check that it is a valid, reachable database"
        ) from exc
    finally:
        engine.dispose()
    return finish(df, source_label, notices)


def _read_sql(conn: Any, sql: Any) -> pd.DataFrame:
    """Run ``sql`` on ``conn``, through a server-side cursor where the dialect reads with one."""
    if conn.dialect.name in _SERVER_SIDE_CURSOR:
        conn = conn.execution_options(stream_results=True)
    return pd.read_sql_query(sql, conn)


def db_message(exc: BaseException) -> str:
    """The database's own message inside a SQLAlchemy or pandas error, on one line."""
    if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ is not None:
        exc = exc.__cause__  # pandas wraps the SQLAlchemy error
    orig = getattr(exc, "orig", None)
    return one_line(orig if orig is not None else exc)


def sqlite_label(path: Path) -> str:
    """How messages name the SQLite file ``path``."""
    return f"SQLite database '{show(os.fspath(path))}'"
