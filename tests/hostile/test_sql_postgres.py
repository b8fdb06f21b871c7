"""Hostile SQL against a real PostgreSQL server: loading must never change it.

One private server serves the module: Debian's binaries, ``initdb`` into a temporary folder, a Unix
socket in that folder and no TCP listener. (The folder comes from :func:`tempfile.mkdtemp`, not
pytest's ``tmp_path``: the server runs as the ``postgres`` user when the tests run as root, and
pytest's folders are private to root; a socket path must also stay under 108 bytes.) Its ``shop``
database holds a ``customers`` table, a sequence, a view that advances the sequence, a PL/pgSQL
function that inserts a row and a large object.

modelworks connects as the server's superuser, so no privilege stops anything: what refuses a
write is the query check (``query refused``) or the database's read-only transaction. After every
case a separate superuser connection finds the rows, the sequence, the schema, the large objects
and the settings as they were, a bystander session still alive, and no file written.

Skipped, saying why, where the server binaries (``make postgres``) or the psycopg driver are
missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelworks.data.load import load
from modelworks.errors import DataError
from net_support import free_port

SERVER_USER = "postgres"  # who runs the server when the tests run as root (postgres refuses root)
CHECK = "query refused"  # the query check refused it, before connecting
# The database refused it: "cannot execute ... in a read-only transaction".
READ_ONLY = "read-only transaction"


@dataclass(frozen=True)
class Server:
    """The running test server."""

    folder: Path  # holds the data directory and the socket
    port: int
    out: Path  # a folder the server may write to: a hostile query's file would land here
    large_object: int  # the oid of a large object in the shop database

    @property
    def url(self) -> str:
        host = urllib.parse.quote(str(self.folder), safe="")
        return f"postgresql+psycopg://postgres@/shop?host={host}&port={self.port}"

    def connect(self, dbname: str = "shop") -> Any:
        import psycopg

        return psycopg.connect(
            host=str(self.folder), port=self.port, user="postgres", dbname=dbname, autocommit=True
        )


def _bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries, or None."""

    def version(path: Path) -> int:
        name = path.parts[-3]
        return int(name) if name.isdigit() else 0

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    return found[-1].parent if found and (found[-1].parent / "pg_ctl").exists() else None


def _run(command: list[str], cwd: Path) -> None:
    """Run a server command as the server's user; fail the setup with its output if it fails."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, "LC_ALL": "C"}
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")


SETUP = """
CREATE TABLE customers (id integer PRIMARY KEY, name text, age real);
INSERT INTO customers VALUES (1, 'ann', 31), (2, 'ben', 40), (3, 'cy', 52);
CREATE SEQUENCE order_ids;
CREATE VIEW next_order AS SELECT nextval('order_ids') AS id;
CREATE FUNCTION add_customer() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customers VALUES (99, 'zed', 1);
    RETURN 99;
END $$;
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    pytest.importorskip(
        "psycopg", reason="the psycopg driver is not installed (pip install 'psycopg[binary]')"
    )
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql (run make postgres)")
    owner = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.skip(f"running as root and there is no '{SERVER_USER}' user to run PostgreSQL as")
    folder = Path(tempfile.mkdtemp(prefix="mw-pg-"))
    data, out = folder / "data", folder / "out"
    out.mkdir()
    if owner is not None:  # the server writes its data and socket here, and could write to out/
        for path in (folder, out):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
    options = (
        f"-k {folder} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off "
        "-c synchronous_commit=off -c max_connections=20 -c shared_buffers=16MB"
    )
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60"]
    started = False
    try:
        _run([*initdb, "--locale=C", "--no-sync"], folder)
        started = True
        _run([*pg_ctl, "-o", options, "start"], folder)
        probe = Server(folder, port, out, 0)
        with probe.connect("postgres") as admin:
            admin.execute("CREATE DATABASE shop")
        with probe.connect() as shop:
            shop.execute(SETUP)
            oid = shop.execute("SELECT lo_from_bytea(0, 'a large object')").fetchone()[0]
        yield Server(folder, port, out, int(oid))
    finally:
        if started:
            _stop(bin_dir, data, folder)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(bin_dir: Path, data: Path, folder: Path) -> None:
    """Stop the server with pg_ctl; if that fails, by the PID in its postmaster.pid."""
    try:
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], folder)
    except (RuntimeError, subprocess.TimeoutExpired):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)


@pytest.fixture(scope="module")
def bystander(server: Server) -> Iterator[Any]:
    """Another session, open all along: a query must not be able to end it."""
    con = server.connect()
    yield con
    con.close()


def snapshot(server: Server, bystander: Any) -> dict[str, object]:
    """Everything a hostile query could change, read through a separate superuser connection."""
    assert bystander.execute("SELECT 1").fetchone() == (1,), "the bystander session was ended"
    with server.connect() as con:
        return {
            "rows": con.execute("SELECT id, name, age FROM customers ORDER BY id").fetchall(),
            "sequence": con.execute("SELECT last_value, is_called FROM order_ids").fetchone(),
            "relations": con.execute(
                "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1"
            ).fetchall(),
            "functions": con.execute(
                "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1"
            ).fetchall(),
            "large_objects": con.execute("SELECT oid FROM pg_largeobject_metadata ORDER BY 1").fetchall(),
            "settings": con.execute(
                "SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting ORDER BY 1, 2"
            ).fetchall(),
            "files": sorted(os.listdir(server.out)),
        }


def fill(sql: str, server: Server) -> str:
    return sql.replace("{out}", str(server.out)).replace("{lo}", str(server.large_object))


def assert_refused_unchanged(server: Server, bystander: Any, source: str, *words: str, **kwargs: Any) -> str:
    before = snapshot(server, bystander)
    with pytest.raises(DataError) as info:
        load(source, **kwargs)
    message = str(info.value)
    assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
    assert "Traceback" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert snapshot(server, bystander) == before, f"the database changed: {message}"
    return message


#: Writes, each through modelworks' loading path; the third item says which wall must refuse it.
HOSTILE = [
    pytest.param("INSERT INTO customers VALUES (9, 'zed', 1)", CHECK, id="insert"),
    pytest.param("INSERT INTO customers SELECT id + 10, name, age FROM customers", CHECK, id="insert-select"),
    pytest.param("UPDATE customers SET name = 'x'", CHECK, id="update"),
    pytest.param("DELETE FROM customers", CHECK, id="delete"),
    pytest.param("DELETE FROM customers RETURNING *", CHECK, id="delete-returning"),
    pytest.param("TRUNCATE customers", CHECK, id="truncate"),
    pytest.param(
        "WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d", CHECK, id="data-modifying-cte"
    ),
    pytest.param("SELECT * INTO copy FROM customers", CHECK, id="select-into"),
    pytest.param("CREATE TABLE copy AS SELECT * FROM customers", CHECK, id="create-table-as"),
    pytest.param("CREATE TABLE t2 (a integer)", CHECK, id="create-table"),
    pytest.param("DROP TABLE customers", CHECK, id="drop-table"),
    pytest.param("ALTER TABLE customers ADD COLUMN z integer", CHECK, id="alter-table"),
    pytest.param("ALTER DATABASE shop SET default_transaction_read_only = off", CHECK, id="alter-database"),
    pytest.param("COPY customers TO '{out}/copy.csv'", CHECK, id="copy-to-file"),
    pytest.param("COPY customers TO PROGRAM 'touch {out}/program'", CHECK, id="copy-to-program"),
    pytest.param("COPY customers FROM '/etc/hostname'", CHECK, id="copy-from-file"),
    pytest.param("DO $$ BEGIN DELETE FROM customers; END $$", CHECK, id="do-block"),
    pytest.param("VACUUM customers", CHECK, id="vacuum"),
    pytest.param("LOCK TABLE customers", CHECK, id="lock-table"),
    pytest.param("SELECT * FROM customers FOR UPDATE", CHECK, id="for-update"),
    pytest.param("SELECT * FROM customers FOR SHARE", CHECK, id="for-share"),
    pytest.param("SELECT 1; DELETE FROM customers", CHECK, id="two-statements"),
    pytest.param("SELECT 1; COMMIT; DELETE FROM customers", CHECK, id="commit-then-delete"),
    pytest.param("SET TRANSACTION READ WRITE", CHECK, id="set-transaction-read-write"),
    pytest.param("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", CHECK, id="set-session-read-write"),
    pytest.param("SELECT nextval('order_ids')", CHECK, id="nextval"),
    pytest.param("SELECT pg_catalog.nextval('order_ids')", CHECK, id="nextval-schema-qualified"),
    pytest.param(
        "SELECT * FROM customers WHERE id = (SELECT nextval('order_ids'))", CHECK, id="nextval-in-subquery"
    ),
    pytest.param("SELECT setval('order_ids', 100)", CHECK, id="setval"),
    pytest.param("SELECT \"setval\"('order_ids', 100)", CHECK, id="setval-quoted-name"),
    pytest.param("SELECT set_config('default_transaction_read_only', 'off', false)", CHECK, id="set-config"),
    pytest.param("SELECT pg_terminate_backend(pg_backend_pid())", CHECK, id="terminate-own-session"),
    pytest.param(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
        CHECK,
        id="terminate-other-sessions",
    ),
    pytest.param("SELECT lo_export({lo}, '{out}/large-object.bin')", CHECK, id="lo-export"),
    pytest.param("SELECT lo_unlink({lo})", CHECK, id="lo-unlink"),
    pytest.param("SELECT lo_import('/etc/hostname')", CHECK, id="lo-import"),
    pytest.param("SELECT dblink_exec('dbname=shop', 'DELETE FROM customers')", CHECK, id="dblink-exec"),
    pytest.param("SELECT pg_advisory_lock(1)", CHECK, id="advisory-lock"),
    pytest.param("SELECT pg_reload_conf()", CHECK, id="reload-conf"),
    # The parser cannot know what these do; the read-only transaction refuses them.
    pytest.param("SELECT add_customer()", READ_ONLY, id="function-that-inserts"),
    pytest.param("SELECT * FROM customers WHERE add_customer() > 0", READ_ONLY, id="function-in-where"),
    pytest.param("SELECT * FROM next_order", READ_ONLY, id="view-that-calls-nextval"),
]


@pytest.mark.parametrize(("sql", "wall"), HOSTILE)
@pytest.mark.parametrize("how", ["keyword", "url"])
def test_hostile_query_changes_nothing(server: Server, bystander: Any, sql: str, wall: str, how: str) -> None:
    sql = fill(sql, server)
    if how == "keyword":
        assert_refused_unchanged(server, bystander, server.url, wall, query=sql)
    else:
        assert_refused_unchanged(server, bystander, f"{server.url}&query={urllib.parse.quote(sql)}", wall)


def test_a_table_that_writes_when_read_changes_nothing(server: Server, bystander: Any) -> None:
    assert_refused_unchanged(server, bystander, f"{server.url}&table=next_order", READ_ONLY)


#: With the query check switched off, the database alone must refuse each of these: the
#: read-only transaction, and the server-side cursor (``DECLARE ... CURSOR FOR`` over psycopg's
#: extended protocol) that takes one read query only. Not here, because a read-only transaction
#: does not stop them and only the check (or a role that may only read) does: ``lo_export``
#: (writes a server file), ``pg_terminate_backend``, ``dblink`` (a connection of its own),
#: advisory locks.
BYPASS = [
    "INSERT INTO customers VALUES (9, 'zed', 1)",
    "UPDATE customers SET name = 'x'",
    "DELETE FROM customers",
    "DELETE FROM customers RETURNING *",
    "TRUNCATE customers",
    "WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d",
    "SELECT * INTO copy FROM customers",
    "CREATE TABLE copy AS SELECT * FROM customers",
    "CREATE TABLE t2 (a integer)",
    "DROP TABLE customers",
    "ALTER TABLE customers ADD COLUMN z integer",
    "ALTER DATABASE shop SET default_transaction_read_only = off",
    "COPY customers TO '{out}/copy.csv'",
    "COPY customers TO PROGRAM 'touch {out}/program'",
    "DO $$ BEGIN DELETE FROM customers; END $$",
    "SELECT * FROM customers FOR UPDATE",
    "SELECT nextval('order_ids')",
    "SELECT setval('order_ids', 100)",
    "SELECT add_customer()",
    "SELECT * FROM next_order",
    # Several statements in one string: each would end the read-only transaction and write.
    "SELECT 1; DELETE FROM customers",
    "SET TRANSACTION READ WRITE; DELETE FROM customers; COMMIT",
    "COMMIT; BEGIN READ WRITE; DELETE FROM customers; COMMIT",
    "SELECT 1; COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM customers; COMMIT",
]


@pytest.mark.parametrize("sql", BYPASS)
def test_database_alone_refuses_writes(
    server: Server, bystander: Any, sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the query check switched off, the server still changes nothing."""
    monkeypatch.setattr("modelworks.data._load.sql.check_query", lambda query, dialect, label: query)
    message = assert_refused_unchanged(server, bystander, server.url, query=fill(sql, server))
    assert CHECK not in message


#: Reads that write behind the parser's back (a function, a view): only the database refuses them.
PARSER_CANNOT_KNOW = ("SELECT add_customer()", "SELECT * FROM next_order")

#: With the query check switched off, these run (a read-only transaction allows them), and the
#: rollback that ends every read undoes them.
ROLLED_BACK = [
    "SELECT lo_unlink({lo})",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_notify('channel', 'x')",
]


@pytest.mark.parametrize("sql", ROLLED_BACK)
def test_rollback_undoes_what_a_read_only_transaction_allows(
    server: Server, bystander: Any, sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("modelworks.data._load.sql.check_query", lambda query, dialect, label: query)
    before = snapshot(server, bystander)
    with contextlib.suppress(DataError):  # a one-column, one-row result may be refused or read
        load(server.url, query=fill(sql, server))
    assert snapshot(server, bystander) == before


def test_bypass_cases_are_refused_by_the_check_too() -> None:
    """No server needed: the check in front refuses all but the writes it cannot see."""
    from modelworks.data._load.sqlcheck import check_query

    server = Server(Path("/srv/pg"), 5432, Path("/srv/pg/out"), 16400)
    for sql in BYPASS + ROLLED_BACK:
        if sql in PARSER_CANNOT_KNOW:  # the check lets these through: the database is the wall
            assert check_query(sql, "postgresql", "db") == sql
        else:
            with pytest.raises(DataError, match=CHECK):
                check_query(fill(sql, server), "postgresql", "db")


def test_query_and_table_read_the_rows(server: Server, bystander: Any) -> None:
    before = snapshot(server, bystander)
    sql = "WITH older AS (SELECT * FROM customers WHERE age > 35) SELECT id, name FROM older ORDER BY id;"
    assert load(f"{server.url}&query={urllib.parse.quote(sql)}").to_dict("list") == {
        "id": [2, 3],
        "name": ["ben", "cy"],
    }
    assert load(server.url, query="SELECT id FROM customers ORDER BY id")["id"].tolist() == [1, 2, 3]
    table = load(f"{server.url}&table=customers")
    assert list(table.columns) == ["id", "name", "age"]
    assert sorted(table["id"].tolist()) == [1, 2, 3]
    assert snapshot(server, bystander) == before


def test_queries_run_in_a_read_only_transaction(server: Server) -> None:
    df = load(server.url, query="SELECT current_setting('transaction_read_only') AS ro")
    assert df["ro"].tolist() == ["on"]


def test_cli_profile_of_a_data_modifying_query_exits_2(
    server: Server, bystander: Any, tmp_path: Path
) -> None:
    before = snapshot(server, bystander)
    sql = "WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "PYTHONWARNINGS")}
    env.update(OMP_NUM_THREADS="1", MPLCONFIGDIR=str(tmp_path / ".mpl"), COLUMNS="80")
    done = subprocess.run(
        [sys.executable, "-m", "modelworks", "profile", f"{server.url}&query={urllib.parse.quote(sql)}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and CHECK in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert snapshot(server, bystander) == before
