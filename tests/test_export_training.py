"""``shopassist export-training``: chat examples from stored turns, masked, rejected left out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.engine.generate import system_prompt
from shopassist.engine.training_export import training_examples
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


def test_model_replies_export_end_to_end_through_the_pipeline(
    demo_db_path: Path, tmp_path: Path
) -> None:
    """The record stage stores each turn's draft and facts, so an accepted model reply is
    exported (draft -> reply), a rejected one is not, and a staff edit of a model
    suggestion is exported with the staff text against the template draft."""
    from test_dialogue_fakes import DEMO_NOW, ScriptedNLU

    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.llm import FakeLLM
    from shopassist.engine.pipeline import TurnPipeline

    question = "how much is the AeroBuds Lite?"
    GOOD = (  # noqa: N806
        "Sure! The AeroBuds Lite sells for $59.00 and we have 207 of them in stock, in "
        "Black, Mint and White. Battery: 6 h (24 h with case), charging over USB-C."
    )
    nlu = ScriptedNLU()
    for _ in range(3):
        nlu.say(question, "product_info", 0.99, ("product", "AeroBuds Lite", 2))
    llm = FakeLLM(
        [
            GOOD,  # true: accepted
            GOOD.replace("$59.00", "$49.00"),  # a price not in the facts: rejected
            GOOD,  # accepted, then edited by staff
        ]
    )
    db = open_db(demo_db_path)
    settings = Settings()
    bot = Assistant(settings, db, TurnPipeline(db, settings, nlu, backend=llm, now=DEMO_NOW))
    accepted = bot.turn("a", question)
    rejected = bot.turn("r", question)
    assert accepted.provenance.kind == "llm", accepted.provenance
    assert rejected.provenance.kind == "llm_rejected", rejected.provenance
    suggested = bot.suggest("e", question)
    assert suggested.turn.provenance.kind == "llm"
    staff_text = "AeroBuds Lite is $59.00 - call me on +1 415 555 0134 if you need more."
    bot.record_choice("e", suggested.turn.turn_index, "edited", staff_text)
    stored = db.execute("select draft, facts from turns where conversation_id = 'a'").fetchone()
    assert stored[0] == accepted.template_reply and "$59.00" in stored[1]
    db.conn.close()

    out = tmp_path / "train.jsonl"
    result = runner.invoke(app, ["export-training", "--db", str(demo_db_path), str(out), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["written"] == 2 and stats["accepted_model_replies"] == 1
    assert stats["staff_edits"] == 1 and stats["skipped_no_draft"] == 0
    examples = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    by_conv = {e["meta"]["conversation_id"]: e for e in examples}
    assert set(by_conv) == {"a", "e"}  # the rejected turn is left out
    model = by_conv["a"]["messages"]
    assert model[0]["content"] == system_prompt("en")
    assert accepted.template_reply in model[1]["content"]  # the draft it rephrased
    assert model[2]["content"] == GOOD
    assert any(f["value"] == "$59.00" for f in by_conv["a"]["facts"])
    edit = by_conv["e"]["messages"]
    assert suggested.turn.template_reply in edit[1]["content"]
    assert edit[2]["content"].startswith("AeroBuds Lite is $59.00")
    text = out.read_text("utf-8")
    assert "555 0134" not in text  # PII masked
    assert "$49.00" not in text


def test_a_model_reply_staff_rejected_is_not_exported(tmp_path: Path) -> None:
    db = open_db(tmp_path / "shop.db")
    with db.conn:
        i = _turn(db, "s", "Your order 10090 is on its way!", "llm", created="2026-12-02T11:00:00")
        db.execute("update turns set draft = 'Order 10090 is in transit.' where idx = ?", [i])
    conversations.record_feedback(db, "s", i, kind="rejected", final_text="")
    examples, stats = training_examples(db)
    assert examples == [] and stats.skipped_rejected == 1
    with db.conn:
        db.execute("delete from feedback")
    examples, stats = training_examples(db)
    assert stats.accepted_model_replies == 1
    assert examples[0]["messages"][-1]["content"] == "Your order 10090 is on its way!"
