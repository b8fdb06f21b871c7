"""The lexical wall of the query check: one ``SELECT`` or ``WITH`` statement under every reading.

Splitting SQL into statements depends on the lexical rules of the database: where strings, quoted
names and comments start and end. A check that reads them differently from the database can be
fooled (a quote the database reads as the end of a string starts one for the check, and the rest
of the text hides in it). So the query is tokenized once per set of rules the database may use
(see :data:`_LEXERS_BY_DIALECT`: PostgreSQL with and without ``standard_conforming_strings``,
MySQL with ``ANSI_QUOTES`` or ``NO_BACKSLASH_ESCAPES``, ...), and every reading must see a single
statement that starts with ``SELECT`` or ``WITH``, names no data-changing keyword (``INSERT``,
``INTO``, ``DROP`` ...) and holds no MySQL ``/*! ... */`` comment (which MySQL runs as SQL); for an
unknown dialect, every set of rules known here must.

The SQL parser (:mod:`~modelworks.data._load.sqlcheck`, on sqlglot) reads the query under one set
of rules per dialect; this tokenizer is what covers the others, and it costs nothing to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Keywords a read-only query never needs and that change data or schema in some dialect:
#: data-modifying CTEs and main statements (``WITH ... DELETE``), ``SELECT ... INTO``, locking
#: reads (``FOR UPDATE``) and the schema statements.
_DENIED = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "REPLACE",  # allowed as the function replace(...)
        "INTO",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "ATTACH",
        "DETACH",
        "PRAGMA",
        "VACUUM",
        "REINDEX",
        "GRANT",
        "REVOKE",
    }
)
_FIRST_WORDS = ("SELECT", "WITH")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_Q_CLOSE = {"(": ")", "[": "]", "{": "}", "<": ">"}


@dataclass(frozen=True)
class _Lexer:
    """One set of lexical rules for strings, quoted names and comments."""

    name: str
    backslash_single: bool = False  # backslash escapes inside '...'
    backslash_double: bool = False  # backslash escapes inside "..."
    backticks: bool = False  # `name` quoted names
    brackets: bool = False  # [name] quoted names
    brackets_doubled: bool = False  # ]] inside [name] is a ] (SQL Server)
    e_strings: bool = False  # E'...' strings with backslash escapes (PostgreSQL)
    dollar_quotes: bool = False  # $tag$ ... $tag$ strings (PostgreSQL)
    q_quotes: bool = False  # q'[ ... ]' strings (Oracle)
    nested_comments: bool = False  # /* /* */ */ nests (PostgreSQL)
    hash_comments: bool = False  # # starts a comment (MySQL)
    dash_needs_space: bool = False  # -- starts a comment only before whitespace (MySQL)
    cr_ends_comment: bool = False  # a carriage return ends a -- comment (PostgreSQL)
    executable_comments: bool = False  # /*! ... */ is run as SQL (MySQL, MariaDB)


_SQLITE = _Lexer("sqlite", backticks=True, brackets=True)
_POSTGRES = _Lexer(
    "postgresql", e_strings=True, dollar_quotes=True, nested_comments=True, cr_ends_comment=True
)
_POSTGRES_LEGACY = _Lexer(  # standard_conforming_strings = off
    "postgresql-legacy",
    backslash_single=True,
    e_strings=True,
    dollar_quotes=True,
    nested_comments=True,
    cr_ends_comment=True,
)
_MYSQL = _Lexer(
    "mysql",
    backslash_single=True,
    backslash_double=True,
    backticks=True,
    hash_comments=True,
    dash_needs_space=True,
    executable_comments=True,
)
_MYSQL_ANSI = _Lexer(  # ANSI_QUOTES: "..." is a name, without backslash escapes
    "mysql-ansi",
    backslash_single=True,
    backticks=True,
    hash_comments=True,
    dash_needs_space=True,
    executable_comments=True,
)
_MYSQL_NO_BACKSLASH = _Lexer(  # NO_BACKSLASH_ESCAPES
    "mysql-no-backslash",
    backticks=True,
    hash_comments=True,
    dash_needs_space=True,
    executable_comments=True,
)
_MSSQL = _Lexer("mssql", brackets=True, brackets_doubled=True, nested_comments=True)
_ORACLE = _Lexer("oracle", q_quotes=True)
_ALL = (_SQLITE, _POSTGRES, _POSTGRES_LEGACY, _MYSQL, _MYSQL_ANSI, _MYSQL_NO_BACKSLASH, _MSSQL, _ORACLE)

#: The lexical rules each SQLAlchemy dialect may use; any other dialect gets all of them.
_LEXERS_BY_DIALECT: dict[str, tuple[_Lexer, ...]] = {
    "sqlite": (_SQLITE,),
    "postgresql": (_POSTGRES, _POSTGRES_LEGACY),
    "mysql": (_MYSQL, _MYSQL_ANSI, _MYSQL_NO_BACKSLASH),
    "mariadb": (_MYSQL, _MYSQL_ANSI, _MYSQL_NO_BACKSLASH),
    "mssql": (_MSSQL,),
    "oracle": (_ORACLE,),
}


class QueryRefused(Exception):
    """Why a query is refused: a clause for the message, such as "it is empty; pass a query"."""


def _skip_quoted(sql: str, start: int, close: str, backslash: bool, doubled: bool) -> int:
    """The index after the quote that closes the quoted text whose content starts at ``start``."""
    n, j = len(sql), start
    while j < n:
        ch = sql[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == close:
            if doubled and sql.startswith(close, j + 1):
                j += 2
                continue
            return j + 1
        j += 1
    raise QueryRefused("it has an unterminated string or quoted name; close it")


def _skip_block_comment(sql: str, start: int, nested: bool) -> int:
    """The index after the ``*/`` that closes the comment whose ``/*`` is at ``start``."""
    n, j, depth = len(sql), start + 2, 1
    while j < n:
        if sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        elif nested and sql.startswith("/*", j):
            depth += 1
            j += 2
        else:
            j += 1
    raise QueryRefused("it has an unterminated /* comment; close it with */")


#: Whitespace to SQL lexers is ASCII only; any other character from U+0080 up is part of a name.
_SPACE = " \t\n\r\f\v"


def _is_word_char(ch: str) -> bool:
    return not ch.isascii() or ch.isalnum() or ch in "_$"


def _tokens(sql: str, lx: _Lexer) -> tuple[list[tuple[str, str]], list[int]]:
    """The code tokens of ``sql`` under the rules ``lx`` and where each ends.

    Tokens are ``("word", w)``, ``("quoted", "")`` or ``("punct", c)``; whitespace and comments
    are dropped.
    """
    out: list[tuple[str, str]] = []
    ends: list[int] = []
    n, i = len(sql), 0
    while i < n:
        ch = sql[i]
        if ch in _SPACE:
            i += 1
            continue
        if sql.startswith("--", i) and (
            not lx.dash_needs_space or i + 2 >= n or sql[i + 2] in _SPACE or ord(sql[i + 2]) < 32
        ):
            stops = "\n\r" if lx.cr_ends_comment else "\n"
            j = i + 2
            while j < n and sql[j] not in stops:
                j += 1
            i = j
            continue
        if lx.hash_comments and ch == "#":
            j = sql.find("\n", i)
            i = n if j < 0 else j
            continue
        if sql.startswith("/*", i):
            if lx.executable_comments and (sql.startswith("/*!", i) or sql.startswith("/*M!", i)):
                raise QueryRefused("it holds a /*! ... */ comment, which MySQL runs as SQL; remove it")
            i = _skip_block_comment(sql, i, lx.nested_comments)
            continue
        if ch == "'":
            i = _skip_quoted(sql, i + 1, "'", lx.backslash_single, doubled=True)
            out.append(("quoted", ""))
            ends.append(i)
            continue
        if ch == '"':
            i = _skip_quoted(sql, i + 1, '"', lx.backslash_double, doubled=True)
            out.append(("quoted", ""))
            ends.append(i)
            continue
        if ch == "`" and lx.backticks:
            i = _skip_quoted(sql, i + 1, "`", False, doubled=True)
            out.append(("quoted", ""))
            ends.append(i)
            continue
        if ch == "[" and lx.brackets:
            i = _skip_quoted(sql, i + 1, "]", False, doubled=lx.brackets_doubled)
            out.append(("quoted", ""))
            ends.append(i)
            continue
        if ch == "$" and lx.dollar_quotes:
            match = _DOLLAR_TAG.match(sql, i)
            if match:
                tag = match.group(0)
                end = sql.find(tag, match.end())
                if end < 0:
                    raise QueryRefused("it has an unterminated $$ string; close it")
                i = end + len(tag)
                out.append(("quoted", ""))
                ends.append(i)
                continue
        if _is_word_char(ch):
            j = i
            while j < n and _is_word_char(sql[j]):
                j += 1
            word = sql[i:j]
            if j < n and sql[j] == "'":
                upper = word.upper()
                if lx.e_strings and upper == "E":
                    i = _skip_quoted(sql, j + 1, "'", True, doubled=True)
                    out.append(("quoted", ""))
                    ends.append(i)
                    continue
                if lx.q_quotes and upper in ("Q", "NQ") and j + 1 < n:
                    opener = sql[j + 1]
                    closing = _Q_CLOSE.get(opener, opener) + "'"
                    end = sql.find(closing, j + 2)
                    if end < 0:
                        raise QueryRefused("it has an unterminated q'...' string; close it")
                    i = end + len(closing)
                    out.append(("quoted", ""))
                    ends.append(i)
                    continue
            out.append(("word", word))
            ends.append(j)
            i = j
            continue
        out.append(("punct", ch))
        ends.append(i + 1)
        i += 1
    return out, ends


def _check_tokens(tokens: list[tuple[str, str]]) -> int:
    """Refuse anything but one ``SELECT``/``WITH`` statement without denied keywords; return the
    index of its last token (before any trailing semicolons)."""
    body = [k for k, tok in enumerate(tokens) if tok != ("punct", ";")]
    if not body:
        raise QueryRefused("it is empty; pass a query such as SELECT * FROM my_table")
    last = body[-1]
    if any(tok == ("punct", ";") for tok in tokens[:last]):
        raise QueryRefused("it holds more than one statement; pass a single SELECT query")
    first = next((tok for tok in tokens if tok != ("punct", "(")), ("punct", ""))
    if first[0] != "word" or first[1].upper() not in _FIRST_WORDS:
        shown = first[1].upper() if first[0] == "word" else "something else"
        raise QueryRefused(f"it starts with {shown[:40]}; only a read-only SELECT or WITH query is accepted")
    for k, (kind, text) in enumerate(tokens):
        if kind != "word" or text.upper() not in _DENIED:
            continue
        if text.upper() == "REPLACE" and k + 1 < len(tokens) and tokens[k + 1] == ("punct", "("):
            continue  # the string function replace(x, a, b)
        raise QueryRefused(
            f"it uses {text.upper()}, and only a read-only SELECT or WITH query is accepted (if "
            f"{text} is a column name, quote it)"
        )
    return last


def single_statement(query: str, dialect: str) -> str:
    """The one statement of ``query`` if every lexical reading of ``dialect`` accepts it.

    Parameters
    ----------
    query : str
        The user's query.
    dialect : str
        The SQLAlchemy dialect name; any name without rules of its own gets every set of rules.

    Returns
    -------
    str
        ``query`` without its trailing semicolons and comments (a driver such as Python's
        ``sqlite3`` refuses ``SELECT 1;;`` as two statements).

    Raises
    ------
    QueryRefused
        When some reading sees no statement or several, a first word other than ``SELECT`` or
        ``WITH``, a data-changing keyword, an executable comment, or an unterminated string or
        comment.
    """
    cut = len(query)
    for lexer in _LEXERS_BY_DIALECT.get(dialect, _ALL):
        tokens, ends = _tokens(query, lexer)
        cut = min(cut, ends[_check_tokens(tokens)])
    return query[:cut]
