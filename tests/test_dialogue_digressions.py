"""A product question in the middle of a task is answered, then the task resumes with the
question it was waiting on."""

from __future__ import annotations

import sqlite_utils
from test_dialogue_fakes import ScriptedNLU, demo_assistant

RETURN_EN = "I want to return order 10034"
RETURN_ZH = "我想退货，订单10043"


def _nlu() -> ScriptedNLU:
    return (
        ScriptedNLU()
        .say(RETURN_EN, "get_refund", 0.99, ("order_number", "10034", "10034"))
        .say(RETURN_ZH, "get_refund", 0.99, ("order_number", "10043", "10043"))
        .say(
            "tell me about the AeroBuds Lite", "product_info", 0.99, ("product", "AeroBuds Lite", 2)
        )
        .say("介绍一下AeroBuds Lite", "product_info", 0.65, ("product", "AeroBuds Lite", 2))
        .say("do you have blue hoodies?", "product_search", 0.99, ("colour", "blue", "Blue"))
        .say("the hoodie is too small", "product_info", 0.99, ("size", "small", "S"))
        .say("the AeroBuds Lite", "out_of_scope", 0.5, ("product", "AeroBuds Lite", 2))
    )


def test_product_question_while_asked_for_the_reason_en(demo_db: sqlite_utils.Database) -> None:
    bot = demo_assistant(demo_db, _nlu())
    r = bot.turn("s", RETURN_EN, customer="13")
    assert r.state["step"] == "collect:reason"
    r = bot.turn("s", "tell me about the AeroBuds Lite")  # no question mark
    assert "AeroBuds Lite" in r.reply and "$59.00" in r.reply
    assert r.reply.endswith("What's the reason for the return?")
    assert "didn't catch" not in r.reply
    assert r.state["flow"] == "get_refund" and r.state["slots"].get("reason") is None
    r = bot.turn("s", "do you have blue hoodies?")
    assert "Hoodie" in r.reply and r.reply.endswith("What's the reason for the return?")
    r = bot.turn("s", "the hoodie is too small")  # reads like a reason: it is the answer
    assert r.state["step"] == "confirm" and "too small" in r.reply


def test_product_question_while_asked_for_the_reason_zh(demo_db: sqlite_utils.Database) -> None:
    bot = demo_assistant(demo_db, _nlu())
    r = bot.turn("s", RETURN_ZH, customer="14")
    assert r.state["step"] == "collect:reason"
    r = bot.turn("s", "介绍一下AeroBuds Lite")
    assert "AeroBuds Lite" in r.reply and "$59.00" in r.reply
    assert r.reply.endswith("请问退货的原因是什么？") and "没有明白" not in r.reply
    assert r.state["flow"] == "get_refund" and r.state["slots"].get("reason") is None


def test_unplaced_product_name_while_asked_for_the_order_number(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = _nlu().say("cancel my order", "cancel_order", 0.99)
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "cancel my order")
    r = bot.turn("s", "the AeroBuds Lite")
    assert r.action == "product.shown" and "didn't catch" not in r.reply
    assert r.state["flow"] == "cancel_order" and r.state["step"] == "collect:order_number"
    assert "order number" in r.reply
