"""An order lookup that definitively failed asks once for a corrected number; a customer
who moves on drops it (nothing is half done), unlike a return waiting for its reason."""

from __future__ import annotations

import sqlite_utils
from test_dialogue_fakes import ScriptedNLU, demo_assistant

CUSTOMER = "sun.yue@example.com"


def _not_hers(db: sqlite_utils.Database) -> tuple[str, str]:
    """(an order number of another customer, one of hers)."""
    cid = db.execute("select id from customers where email = ?", [CUSTOMER]).fetchone()[0]
    other = db.execute(
        "select number from orders where customer_id != ? order by number limit 1", [cid]
    ).fetchone()[0]
    own = db.execute(
        "select number from orders where customer_id = ? order by number limit 1", [cid]
    ).fetchone()[0]
    return str(other), str(own)


def test_a_complaint_after_order_not_found_does_not_resume_the_lookup_zh(
    demo_db: sqlite_utils.Database,
) -> None:
    other, _ = _not_hers(demo_db)
    ask = f"订单{other}是什么状态"
    complaint = "太差了！！！我要投诉，你们的快递慢死了"
    nlu = (
        ScriptedNLU()
        .say(ask, "track_order", 0.99, ("order_number", other, other))
        .say(complaint, "complaint", 0.99)
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("s", ask, customer=CUSTOMER)
    assert "找不到订单" in r.reply and r.state["step"] == "collect:order_number"
    r = bot.turn("s", complaint)
    assert r.action == "complaint.recorded"
    assert "回到您的" not in r.reply and "订单号" not in r.reply
    assert r.state["flow"] is None and not r.state["suspended"]


def test_a_thank_you_after_order_not_found_drops_the_lookup_en(
    demo_db: sqlite_utils.Database,
) -> None:
    other, _ = _not_hers(demo_db)
    ask = f"where is order {other}?"
    nlu = (
        ScriptedNLU()
        .say(ask, "track_order", 0.99, ("order_number", other, other))
        .say("ok thanks", "thank", 0.99)
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("s", ask, customer=CUSTOMER)
    assert "can't find order" in r.reply
    r = bot.turn("s", "ok thanks")
    assert "order number" not in r.reply.lower() and r.state["flow"] is None


def test_a_corrected_number_is_looked_up_and_a_second_miss_stops_asking(
    demo_db: sqlite_utils.Database,
) -> None:
    other, own = _not_hers(demo_db)
    ask = f"where is order {other}?"
    nlu = ScriptedNLU().say(ask, "track_order", 0.99, ("order_number", other, other))
    nlu.say(own, "out_of_scope", 0.4, ("order_number", own, own))
    nlu.say(f"sorry, {other}", "out_of_scope", 0.4, ("order_number", other, other))
    bot = demo_assistant(demo_db, nlu)
    bot.turn("a", ask, customer=CUSTOMER)
    r = bot.turn("a", own)
    assert r.action == "order.tracked" and own in r.reply

    bot.turn("b", ask, customer=CUSTOMER)
    r = bot.turn("b", f"sorry, {other}")
    assert "either" in r.reply and "Please check the number" not in r.reply
    assert r.state["flow"] is None and r.state["offer"] == "handoff"
