"""Database files that are not ShopAssist's (issue 10): refused before anything is written,
and ``init --force`` replaces ShopAssist databases only."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.kb.db import DatabaseError, open_db


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def other_app_db(tmp_path: Path) -> Path:
    """Another application's database that happens to have a ``products`` table."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("create table products (id integer primary key, name text, price real)")
    conn.execute("insert into products values (1, 'widget', 9.5)")
    conn.commit()
    conn.close()
    return path


def _said(res: object) -> str:
    """The command's output with the console's line wrapping undone."""
    return " ".join(str(getattr(res, "output", "")).split())


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


@pytest.mark.parametrize(
    "args", [["stats"], ["stats", "--json"], ["search", "widget"], ["init", "--force"]]
)
def test_another_programs_database_is_refused_and_left_unchanged(
    other_app_db: Path, args: list[str]
) -> None:
    before, files = _digest(other_app_db), _siblings(other_app_db)
    res = CliRunner().invoke(app, [*args, "--db", str(other_app_db)])
    assert res.exit_code != 0
    assert "not a ShopAssist database" in _said(res) or "another program's" in _said(res)
    assert "Traceback" not in _said(res)
    assert _digest(other_app_db) == before
    assert _siblings(other_app_db) == files  # no -wal / -shm journal either


def test_migrations_refuse_a_foreign_database_twice_the_same_way(other_app_db: Path) -> None:
    messages = []
    for _ in range(2):
        with pytest.raises(DatabaseError) as info:
            open_db(other_app_db)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "products" in messages[0]
    conn = sqlite3.connect(other_app_db)
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    conn.close()
    assert tables == {"products"}


def test_init_force_on_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "adir"
    target.mkdir()
    res = CliRunner().invoke(app, ["init", "--force", "--db", str(target)])
    assert res.exit_code == 1 and "is a directory" in _said(res)
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert target.is_dir()


def test_init_force_never_deletes_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["init", "--force", "--db", str(notes)])
    assert res.exit_code == 1 and "not a SQLite database" in _said(res)
    assert notes.read_text(encoding="utf-8") == "my notes\n"


def test_init_force_replaces_a_shopassist_database(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    kb = open_db(path)
    kb.execute("insert into meta(key, value) values ('probe', 'old')")
    kb.conn.commit()
    kb.conn.close()
    res = CliRunner().invoke(app, ["init", "--force", "--db", str(path)])
    assert res.exit_code == 0, res.output
    kb = open_db(path)
    assert kb.execute("select value from meta where key = 'probe'").fetchone() is None


def test_init_without_force_keeps_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    open_db(path).conn.close()
    res = CliRunner().invoke(app, ["init", "--db", str(path)])
    assert res.exit_code == 1 and "--force" in _said(res)
