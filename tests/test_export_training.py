"""``shopassist export-training``: chat examples from stored turns, masked, rejected left out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.engine.generate import system_prompt
from shopassist.kb import conversations
from shopassist.kb.db import open_db

runner = CliRunner()


def _turn(db, conv: str, reply: str, provenance: str, *, created: str, language: str = "en") -> int:  # type: ignore[no-untyped-def]
    conversations.ensure_conversation(db, conv, "assist")
    return conversations.insert_turn(
        db,
        {
            "conversation_id": conv,
            "created_at": created,
            "user_text": "where is my order?",
            "reply": reply,
            "language": language,
            "action": "order.tracked",
            "provenance": provenance,
        },
    )


def make_db(path: Path) -> Path:
    db = open_db(path)
    with db.conn:
        i = _turn(db, "s1", "Order 10073 is in transit.", "template", created="2026-11-01T10:00:00")
        conversations.record_feedback(
            db,
            "s1",
            i,
            kind="edited",
            final_text="Hi! Order 10073 is on its way. Call me on +1 415 555 0134 or mail mara@example.com.",
        )
        j = _turn(
            db,
            "s2",
            "订单 10066 运输中。",
            "template",
            created="2026-12-01T10:00:00",
            language="zh",
        )
        conversations.record_feedback(
            db, "s2", j, kind="edited", final_text="您的订单 10066 正在运输中。"
        )
        k = _turn(db, "s3", "Order 10080 is shipped.", "template", created="2026-12-02T10:00:00")
        conversations.record_feedback(
            db, "s3", k, kind="edited", final_text="Order 10080 is shipped."
        )
        _turn(db, "s4", "Your order 10090 is on its way!", "llm", created="2026-12-02T11:00:00")
        _turn(db, "s5", "Order 10091 was delivered.", "llm_rejected", created="2026-12-02T12:00:00")
    db.conn.close()
    return path


def test_staff_edits_become_masked_chat_examples(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    out = tmp_path / "train.jsonl"
    result = runner.invoke(app, ["export-training", "--db", str(db), str(out), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["written"] == 2 and stats["skipped_unchanged"] == 1
    assert stats["skipped_no_draft"] == 1  # the accepted model reply; its draft is not stored
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    first = lines[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[0]["content"] == system_prompt("en")
    assert "Order 10073 is in transit." in first[1]["content"]
    assert "10073 is on its way" in first[2]["content"]
    text = out.read_text("utf-8")
    assert "555 0134" not in text and "mara@example.com" not in text  # PII masked
    assert "10091" not in text  # a rejected model reply is never exported
    assert lines[1]["messages"][0]["content"] == system_prompt("zh")


def test_since_keeps_only_newer_turns_and_bad_dates_are_refused(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    out = tmp_path / "train.jsonl"
    result = runner.invoke(
        app, ["export-training", "--db", str(db), "--since", "2026-11-15", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["written"] == 1
    bad = runner.invoke(app, ["export-training", "--db", str(db), "--since", "last week", str(out)])
    assert bad.exit_code == 2 and "not a date" in bad.output
    missing = runner.invoke(
        app, ["export-training", "--db", str(db), str(tmp_path / "no" / "x.jsonl")]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
