"""Identity (issue 8 item 7): email or phone with the order number, or name plus postcode,
in one message or across several; a verified customer acts on all their own orders."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from shopassist.engine.assistant import Assistant
from shopassist.kb.order_numbers import learn_order_number_shapes

from .conftest import customer_orders, make_bot, tracking_numbers

EMMA = "emma.johnson@example.com"  # customer 1; her address has postcode 94110


def test_name_and_postcode_with_the_order_number_in_one_message(bot: Assistant) -> None:
    r = bot.turn("en", "where is order 10065? I'm Emma Johnson, postcode 94110")
    assert r.action == "order.tracked" and r.state["verified"] is True
    r = bot.turn("zh", "订单10065到哪了？我是Emma Johnson，邮编94110")
    assert r.action == "order.tracked" and r.state["verified"] is True


def test_name_and_postcode_first_then_every_own_order(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    tracking = tracking_numbers(demo_db)
    bot.turn("s", "Hi, I'm Emma Johnson, my postcode is 94110")
    for n in customer_orders(demo_db, 1):
        r = bot.turn("s", f"where is order {n}?")
        assert r.action == "order.tracked" and r.state["verified"] is True, (n, r.reply)
        if n in tracking:
            assert tracking[n] in r.reply


def test_a_wrong_postcode_is_a_failed_check_and_shows_nothing(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    tracking = tracking_numbers(demo_db)
    r = bot.turn("s", "where is order 10065? I'm Emma Johnson, postcode 94111")
    assert r.state["verified"] is False and r.state["verification_failures"] == 1
    assert tracking["10065"] not in r.reply


def test_the_order_number_is_not_taken_for_a_postcode(bot: Assistant) -> None:
    """'10065' looks like a US ZIP: with a name and no postcode nothing is claimed or counted."""
    r = bot.turn("s", "where is order 10065? I'm Emma Johnson")
    assert r.state["verified"] is False and r.state["verification_failures"] == 0


def test_a_given_name_alone_identifies_nobody(bot: Assistant) -> None:
    r = bot.turn("s", "where is order 10065? I'm Emma, postcode 94110")
    assert r.state["verified"] is False


def test_replies_for_a_missing_and_someone_elses_order_are_the_same(bot: Assistant) -> None:
    other = bot.turn("a", f"where is order 10066? my email is {EMMA}").reply
    missing = bot.turn("b", f"where is order 19066? my email is {EMMA}").reply
    assert other.replace("10066", "N") == missing.replace("19066", "N")


def test_letter_prefixed_order_numbers_use_the_entity_value(
    demo_db: sqlite_utils.Database, shared_nlu_models: Path
) -> None:
    with demo_db.conn:
        demo_db.execute("update orders set number = 'NW' || number")
        learn_order_number_shapes(demo_db)
    bot = make_bot(demo_db, shared_nlu_models)
    r = bot.turn("s", f"where is order #nw10065? my email is {EMMA}")
    assert r.action == "order.tracked" and r.state["verified"] is True
    r = bot.turn("s", "and NW10090?")
    assert r.action == "order.tracked" and "NW10090" in r.reply
    r = bot.turn("t", "where is order NW10065? my email is liam.carter@example.com")
    assert r.state["verified"] is False and r.state["verification_failures"] == 1


def test_guessing_order_numbers_inside_the_message_with_the_email(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    """Issue attack: 'where is order N? my email is emma...' for N from 10120 down."""
    tracking = tracking_numbers(demo_db)
    emma = set(customer_orders(demo_db, 1))
    shown: set[str] = set()
    for n in range(10120, 10000, -1):
        r = bot.turn("s", f"where is order {n}? my email is {EMMA}")
        shown |= {num for num, code in tracking.items() if code in r.reply}
    # 10118 (Emma's) is the third guess: one lucky hit inside the limit, nothing after.
    assert shown <= {"10118"} and len(emma) == 7
    assert r.action == "verify.too_many"


def test_an_email_alone_identifies_the_account_for_an_account_request(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    """Account-level requests need only the email; order details still need the number."""
    tracking = tracking_numbers(demo_db)
    r = bot.turn("s", f"please delete my account, my email is {EMMA}")
    assert r.action == "ticket.created", r.reply
    row = demo_db.execute(
        "select customer_id, summary from tickets where conversation_id = 's'"
    ).fetchone()
    assert row[0] == 1 and "verified: False" in row[1] and EMMA not in row[1]
    assert r.state["verified"] is False  # the email alone opened no order
    assert not any(code in r.reply for code in tracking.values())
