"""Hostile sources through the command line: ``modelworks profile BAD`` exits 2 with one line.

Each case runs the installed ``modelworks`` script in a subprocess and checks the exit code, that
stderr is a single line, and that no traceback is printed anywhere.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SCRIPT = Path(sys.executable).parent / "modelworks"

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="the modelworks script is not installed")


def run_profile(source: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "PYTHONWARNINGS")}
    env.update(OMP_NUM_THREADS="1", MPLCONFIGDIR=str(cwd / ".mpl"), COLUMNS="80")
    return subprocess.run(
        [str(SCRIPT), "profile", source],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _missing(tmp: Path) -> str:
    return str(tmp / "missing.csv")


def _directory(tmp: Path) -> str:
    (tmp / "folder.csv").mkdir()
    return str(tmp / "folder.csv")


def _list_column(tmp: Path) -> str:
    (tmp / "tags.json").write_text('[{"id": 1, "tags": ["a"]}, {"id": 2, "tags": ["b", "c"]}]')
    return str(tmp / "tags.json")


def _random_bytes(tmp: Path) -> str:
    (tmp / "random.csv").write_bytes(np.random.default_rng(3).bytes(4096))
    return str(tmp / "random.csv")


def _newline_name(tmp: Path) -> str:
    return str(tmp / "two\nlines.csv")


def _long_message(tmp: Path) -> str:
    # A long path makes a long message: it must not be wrapped onto several lines.
    deep = tmp / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    (deep / "header.csv").write_text("a,b,c\n")
    return str(deep / "header.csv")


CASES: list[Any] = [
    pytest.param(_missing, id="missing-file"),
    pytest.param(_directory, id="directory"),
    pytest.param(_list_column, id="list-column-json"),
    pytest.param(_random_bytes, id="random-bytes-csv"),
    pytest.param(_newline_name, id="newline-in-name"),
    pytest.param(_long_message, id="long-message-not-wrapped"),
]


def assert_clean_failure(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")


@pytest.mark.parametrize("build", CASES)
def test_profile_of_a_bad_source_exits_2_with_one_line(tmp_path: Path, build: Callable[[Path], str]) -> None:
    assert_clean_failure(run_profile(build(tmp_path), tmp_path))


def test_profile_of_a_dropping_query_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.execute("INSERT INTO customers VALUES (1)")
    con.commit()
    con.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    url = f"sqlite:///{db}?query={urllib.parse.quote('DROP TABLE customers')}"
    assert_clean_failure(run_profile(url, tmp_path))
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".mpl") == ["shop.db"]


def test_markup_in_a_file_name_is_printed_as_is(tmp_path: Path) -> None:
    result = run_profile(str(tmp_path / "a[/b].csv"), tmp_path)
    assert_clean_failure(result)
    assert "a[/b].csv" in result.stderr
