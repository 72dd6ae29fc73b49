"""``stats --json`` reports its errors as JSON (QA: on another program's database it printed
a plain-text error): ``{"error": "..."}`` on stdout, like converse's error lines, and a
non-zero exit; without ``--json`` the error stays a plain message on stderr."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopassist.cli import app


@pytest.fixture
def other_app_db(tmp_path: Path) -> Path:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("create table products (id integer primary key, name text)")
    conn.commit()
    conn.close()
    return path


def _json_error(res: object) -> str:
    stdout = str(getattr(res, "stdout", ""))
    data = json.loads(stdout)  # the whole of stdout is one JSON object
    assert set(data) == {"error"}, data
    return str(data["error"])


def test_stats_json_on_another_programs_database(other_app_db: Path) -> None:
    res = CliRunner().invoke(app, ["stats", "--json", "--db", str(other_app_db)])
    assert res.exit_code == 1
    assert "not a ShopAssist database" in _json_error(res)


def test_stats_json_on_a_directory(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["stats", "--json", "--db", str(tmp_path)])
    assert res.exit_code != 0
    assert _json_error(res)


def test_stats_json_unknown_channel(demo_db_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["stats", "--json", "--channel", "fax", "--db", str(demo_db_path)]
    )
    assert res.exit_code == 1
    assert "unknown channel 'fax'" in _json_error(res)


def test_stats_json_success_is_unchanged(demo_db_path: Path) -> None:
    res = CliRunner().invoke(app, ["stats", "--json", "--db", str(demo_db_path)])
    assert res.exit_code == 0, res.output
    assert "error" not in json.loads(res.stdout)


def test_stats_without_json_keeps_a_plain_message(other_app_db: Path) -> None:
    res = CliRunner().invoke(app, ["stats", "--db", str(other_app_db)])
    assert res.exit_code == 1
    assert not res.stdout.strip().startswith("{")
    assert "not a ShopAssist database" in " ".join(res.output.split())
