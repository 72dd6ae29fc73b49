"""Replies read like a person wrote them: no stray capitals, "or" in negative lists, Chinese
replies without English where the catalog has Chinese, and the short answers customers give."""

from __future__ import annotations

import sqlite_utils
from test_dialogue_fakes import ScriptedNLU, demo_assistant


def test_payment_methods_read_naturally(demo_db: sqlite_utils.Database) -> None:
    text = "what payment methods do you accept?"
    r = demo_assistant(demo_db, ScriptedNLU().say(text, "check_payment_methods")).turn("s", text)
    assert r.reply.startswith("We accept credit or debit card")
    assert "PayPal" in r.reply  # a name keeps its capitals
    assert "cheques or cryptocurrency" in r.reply


def test_it_means_the_product_just_discussed_even_with_a_colour(
    demo_db: sqlite_utils.Database,
) -> None:
    pid = demo_db.execute("select id from products where title = 'FitPods Sport'").fetchone()[0]
    nlu = (
        ScriptedNLU()
        .say(
            "tell me about the FitPods Sport",
            "product_info",
            0.99,
            ("product", "FitPods Sport", pid),
        )
        .say("does it come in white?", "product_info", 0.99, ("colour", "white", "White"))
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "tell me about the FitPods Sport")
    r = bot.turn("s", "does it come in white?")
    assert r.reply.startswith("FitPods Sport doesn't come in white")
    assert "AeroBuds" not in r.reply


def test_a_short_reason_that_sounds_like_no_is_the_reason(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("我想退货，订单10043", "get_refund", 0.99, ("order_number", "10043", "10043"))
        .say("不合适", "deny", 0.75)
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "我想退货，订单10043", customer="14")
    r = bot.turn("s", "不合适")
    assert r.state["step"] == "confirm" and "不合适" in r.reply
    assert "OpenEar 骨传导运动耳机（蓝色）" in r.reply  # the catalog's Chinese title
    assert "Bone Conduction" not in r.reply


def test_asking_what_cancelling_would_cost_does_not_start_a_cancellation(
    demo_db: sqlite_utils.Database,
) -> None:
    text = "how much would it cost to cancel order 10099?"
    nlu = ScriptedNLU().say(text, "cancel_order", 0.8, ("order_number", "10099", "10099"))
    r = demo_assistant(demo_db, nlu).turn("s", text, customer="18")
    assert r.action == "policy.cancellation_fee" and r.state["flow"] is None
    assert "10099" in r.reply and "Shall I cancel" not in r.reply


def test_a_reason_the_classifier_reads_as_no_is_still_the_reason(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say(
            "I want a refund for order 10034",
            "get_refund",
            0.99,
            ("order_number", "10034", "10034"),
        )
        .say("wrong item was sent", "deny", 0.86)
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "I want a refund for order 10034", customer="13")
    r = bot.turn("s", "wrong item was sent")
    assert r.state["step"] == "confirm" and "Return shipping is free" in r.reply


def test_one_business_day_is_singular(demo_db: sqlite_utils.Database) -> None:
    text = "how long does delivery take?"
    r = demo_assistant(demo_db, ScriptedNLU().say(text, "delivery_period")).turn("s", text)
    assert "within 1 business day of payment" in r.reply and "day(s)" not in r.reply
