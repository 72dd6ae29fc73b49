"""converse / ask input hygiene: every bad line gets its own clear error, nothing half-written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopassist.cli import app


def _converse(db_path: Path, data: bytes) -> tuple[int, list[dict[str, Any]]]:
    res = CliRunner().invoke(
        app, ["converse", "--jsonl", "--no-llm", "--db", str(db_path)], input=data
    )
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    return res.exit_code, lines


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")


def _conversation_ids(db_path: Path) -> set[str]:
    conn = sqlite3.connect(db_path)
    try:
        return {r[0] for r in conn.execute("select id from conversations")}
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("customer", "says"),
    [
        (True, "must be a string"),
        (False, "must be a string"),
        ("１", "ASCII digits"),
        ("１２", "ASCII digits"),
        (1.0, "must be a string"),
        (-3, "positive integer"),
        (0, "positive integer"),
        (2**70, "positive integer"),
        ([1], "must be a string"),
        ({"id": 1}, "must be a string"),
    ],
)
def test_customer_is_a_string_or_a_positive_integer(
    demo_db_path: Path, customer: Any, says: str
) -> None:
    code, out = _converse(demo_db_path, _line({"session": "s", "text": "hi", "customer": customer}))
    assert code == 0  # a refused line is not a lost turn: nothing was meant to be stored
    assert len(out) == 1 and says in out[0]["error"], out
    assert out[0]["session"] == "s" and out[0]["line"] == 1
    assert "s" not in _conversation_ids(demo_db_path)


def test_customer_true_does_not_bind_customer_one(demo_db_path: Path) -> None:
    _, out = _converse(
        demo_db_path,
        _line({"session": "s", "text": "hi", "customer": True})
        + _line({"session": "s", "text": "where is order 10001?"}),
    )
    assert "error" in out[0]
    assert out[1]["state"]["customer_id"] is None and out[1]["state"]["verified"] is False


def test_an_ascii_customer_id_still_binds(demo_db_path: Path) -> None:
    _, out = _converse(demo_db_path, _line({"session": "s", "text": "hi", "customer": "1"}))
    assert out[0]["state"]["customer_id"] == 1


def test_a_bom_on_the_first_line_is_accepted(demo_db_path: Path) -> None:
    code, out = _converse(demo_db_path, b"\xef\xbb\xbf" + _line({"session": "s", "text": "hi"}))
    assert code == 0 and "error" not in out[0] and out[0]["reply"]


def test_a_bom_in_the_middle_of_the_input_is_a_clear_error(demo_db_path: Path) -> None:
    data = (
        _line({"session": "s", "text": "hi"})
        + b"\xef\xbb\xbf"
        + _line({"session": "t", "text": "hi"})
    )
    _, out = _converse(demo_db_path, data)
    assert "byte-order mark" in out[1]["error"] and out[1]["line"] == 2


def test_invalid_utf8_is_a_per_line_error_and_leaves_no_conversation_row(
    demo_db_path: Path,
) -> None:
    before = _conversation_ids(demo_db_path)
    data = b'{"session": "bad", "text": "caf\xe9"}\n' + _line({"session": "good", "text": "hi"})
    code, out = _converse(demo_db_path, data)
    assert code == 0
    assert "not valid UTF-8" in out[0]["error"] and "0xe9" in out[0]["error"]
    assert out[0]["line"] == 1
    assert "error" not in out[1]
    assert _conversation_ids(demo_db_path) - before == {"good"}


def test_a_lone_surrogate_escape_is_refused_before_anything_is_written(demo_db_path: Path) -> None:
    _, out = _converse(demo_db_path, b'{"session": "x", "text": "\\ud800 hi"}\n')
    assert "surrogate" in out[0]["error"]
    assert "x" not in _conversation_ids(demo_db_path)


def test_deeply_nested_json_is_a_specific_error(demo_db_path: Path) -> None:
    data = ("[" * 100_000 + "]" * 100_000 + "\n").encode()
    code, out = _converse(demo_db_path, data + _line({"session": "s", "text": "hi"}))
    assert "nested too deeply" in out[0]["error"] and "internal" not in out[0]["error"]
    assert "error" not in out[1]


def _failing_turn(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    from shopassist.engine.assistant import Assistant

    def turn(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(Assistant, "turn", turn)


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (OverflowError("int too large to convert to SQLite INTEGER"), "too large"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database is locked"), "busy"),
    ],
)
def test_a_turn_that_cannot_be_stored_is_an_error_the_caller_sees(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException, says: str
) -> None:
    _failing_turn(monkeypatch, exc)
    res = CliRunner().invoke(
        app,
        ["converse", "--jsonl", "--no-llm", "--db", str(demo_db_path)],
        input=_line({"session": "s", "text": "hi"}) * 2,
    )
    assert res.exit_code == 1
    errors = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert len(errors) == 2
    for err in errors:
        assert err["error"].startswith("turn not stored") and says in err["error"]
        assert "internal error" not in err["error"]
    assert "2 turn(s) could not be stored" in res.output


def test_ask_reports_a_read_only_database(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_turn(monkeypatch, sqlite3.OperationalError("attempt to write a readonly database"))
    res = CliRunner().invoke(app, ["ask", "hi", "--no-llm", "--db", str(demo_db_path)])
    assert res.exit_code == 1 and "read-only" in res.output


def test_a_read_only_turn_through_the_real_pipeline_says_read_only(
    demo_db_path: Path, shared_nlu_models: Path
) -> None:
    """No mocks: the record stage writes to a connection SQLite opened read-only."""
    import sqlite_utils

    from shopassist.cli.dialogue_commands import _turn_error

    from .conftest import make_bot

    conn = sqlite3.connect(f"{demo_db_path.resolve().as_uri()}?mode=ro", uri=True)
    bot = make_bot(sqlite_utils.Database(conn), shared_nlu_models)
    with pytest.raises(sqlite3.OperationalError) as info:
        bot.turn("s", "hi")
    assert "read-only" in _turn_error(info.value)


def test_open_db_says_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores file modes, so the permission check is simulated."""
    import os

    from shopassist.kb import db as kb_db

    path = tmp_path / "shop.db"
    kb_db.open_db(path).conn.close()
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK)
    with pytest.raises(kb_db.DatabaseError, match="read-only"):
        kb_db.open_db(path)


@pytest.mark.parametrize(("customer", "says"), [("１", "ASCII digits")])
def test_ask_checks_the_customer_too(demo_db_path: Path, customer: str, says: str) -> None:
    res = CliRunner().invoke(
        app, ["ask", "hi", "--customer", customer, "--no-llm", "--db", str(demo_db_path)]
    )
    assert res.exit_code == 1 and says in res.output
