"""What happens between flows: corrections, cancelling, digressions, early slots, yes/no, clarifying."""

from __future__ import annotations

from typing import Any

import pytest
import sqlite_utils
from test_dialogue_fakes import KeywordNLU, build_shop, make_assistant, order_status


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    build_shop(db)
    return db


@pytest.fixture
def nlu() -> KeywordNLU:
    return KeywordNLU({"trail hoodie": 1, "aerobuds pro": 2, "studio headphones": 3})


@pytest.fixture
def bot(shop: sqlite_utils.Database, nlu: KeywordNLU) -> Any:
    return make_assistant(shop, nlu=nlu)


def test_correction_replaces_order_number_before_confirming(
    bot: Any, shop: sqlite_utils.Database
) -> None:
    r = bot.turn("s", "cancel order 10021", customer="1")
    assert r.state["slots"]["order_number"] == "10021" and r.state["step"] == "confirm"
    r = bot.turn("s", "no, I meant order 10022")
    assert r.state["slots"]["order_number"] == "10022"
    assert r.state["step"] == "confirm" and "10022" in r.reply
    bot.turn("s", "yes")
    assert order_status(shop, "10022") == "cancelled"
    assert order_status(shop, "10021") == "pending"


def test_correction_after_a_refusal_restarts_the_request(bot: Any) -> None:
    r = bot.turn("s", "cancel order 10023", customer="1")
    assert r.action == "cancel_order.refused"
    r = bot.turn("s", "sorry, I meant order 10022")
    assert r.state["flow"] == "cancel_order" and r.state["slots"]["order_number"] == "10022"


@pytest.mark.parametrize("phrase", ["never mind", "forget it", "算了", "不用了"])
def test_cancel_phrase_exits_the_flow(bot: Any, shop: sqlite_utils.Database, phrase: str) -> None:
    bot.turn("s", "cancel order 10022", customer="1")
    r = bot.turn("s", phrase)
    assert r.action == "flow.cancelled"
    assert r.state["flow"] is None and r.state["pending"] is None
    assert order_status(shop, "10022") == "paid"
    # and a later "yes" confirms nothing
    assert bot.turn("s", "yes").action != "order.cancelled"
    assert order_status(shop, "10022") == "paid"


def test_digression_in_the_middle_of_a_return_then_resume(
    bot: Any, shop: sqlite_utils.Database
) -> None:
    r = bot.turn("s", "I want to return order 10024", customer="1")
    assert r.state["step"] == "collect:reason"
    r = bot.turn("s", "does the trail hoodie come in red?")
    assert r.action == "product.shown" and "Trail Hoodie" in r.reply
    assert "Back to your return" in r.reply and "reason" in r.reply
    assert r.state["flow"] == "get_refund" and r.state["step"] == "collect:reason"
    r = bot.turn("s", "the sleeves are too short")
    assert r.state["step"] == "confirm"
    r = bot.turn("s", "yes")
    assert r.action == "return.created"
    assert shop.execute("select reason from returns").fetchone()[0] == "the sleeves are too short"


def test_digression_while_confirming_keeps_the_confirmation(
    bot: Any, shop: sqlite_utils.Database
) -> None:
    bot.turn("s", "cancel order 10022", customer="1")
    r = bot.turn("s", "what are your delivery options?")
    assert "Standard Shipping" in r.reply and "Shall I cancel it?" in r.reply
    assert bot.turn("s", "yes").action == "order.cancelled"


def test_slot_given_before_it_was_asked_is_kept(bot: Any) -> None:
    r = bot.turn("s", "I want to return order 10024 because the zip broke", customer="1")
    slots = r.state["slots"]
    assert slots["order_number"] == "10024" and slots["reason"] == "the zip broke"
    assert r.state["step"] == "confirm"  # neither the number nor the reason is asked again


def test_email_given_before_the_order_number_verifies_later(bot: Any) -> None:
    r = bot.turn("s", "hi, my email is ann@example.com")
    assert r.state["verified"] is False
    r = bot.turn("s", "where is order 10023")
    assert r.action == "order.tracked" and r.state["verified"] is True


def test_switching_to_another_task_mid_flow(bot: Any) -> None:
    bot.turn("s", "change the address of order 10022", customer="1")
    r = bot.turn("s", "actually where is order 10023?")
    assert r.action == "order.tracked"


def test_reprompt_when_the_answer_is_unusable(bot: Any) -> None:
    bot.turn("s", "track my order", customer="1")
    r = bot.turn("s", "purple monkey dishwasher")
    assert r.action == "reprompt" and "order number" in r.reply
    r = bot.turn("s", "banana")
    assert r.action == "fallback.offer_human"


def test_affirm_without_anything_pending(bot: Any) -> None:
    r = bot.turn("s", "yes")
    assert r.action == "affirm"


def test_clarification_between_two_intents(bot: Any, nlu: KeywordNLU) -> None:
    nlu.force("track_order", 0.35, clarify=["track_order", "get_refund"])
    r = bot.turn("s", "order 10024 thing", customer="1")
    assert r.action == "clarify"
    assert "track an order" in r.reply and "return an item" in r.reply
    nlu.force("out_of_scope", 0.3)
    r = bot.turn("s", "the second one")
    assert r.state["flow"] == "get_refund"
    assert r.state["slots"]["order_number"] == "10024"


def test_state_survives_a_restart(shop: sqlite_utils.Database, db: sqlite_utils.Database) -> None:
    first = make_assistant(shop)
    first.turn("s", "cancel order 10022", customer="1")
    second = make_assistant(shop)
    assert second.state("s")["pending"] is not None
    r = second.turn("s", "yes")
    assert r.action == "order.cancelled" and r.turn_index == 1
    assert [t.turn_index for t in second.history("s")] == [0, 1]


def test_correction_marker_wins_over_a_confident_other_intent(bot: Any, nlu: KeywordNLU) -> None:
    bot.turn("s", "cancel order 10021", customer="1")
    nlu.force("track_order", 0.95)
    r = bot.turn("s", "I meant order 10022")
    assert r.state["flow"] == "cancel_order" and r.state["slots"]["order_number"] == "10022"


def test_correction_with_a_bare_number_while_confirming(bot: Any, nlu: KeywordNLU) -> None:
    bot.turn("s", "cancel order 10021", customer="1")
    nlu.force("deny", 0.99)
    r = bot.turn("s", "no wait, I meant 10022")
    assert r.state["slots"]["order_number"] == "10022" and r.state["step"] == "confirm"


def test_yes_to_an_offer_of_a_human_hands_over(bot: Any) -> None:
    r = bot.turn("s", "I want to complain about the courier")
    assert r.state["offer"] == "handoff"
    r = bot.turn("s", "yes please")
    assert r.action == "handoff" and r.handoff


def test_yes_to_start_a_return_after_no_refund_found(bot: Any) -> None:
    r = bot.turn("s", "where is my refund for order 10024", customer="1")
    assert r.state["offer"] == "get_refund"
    r = bot.turn("s", "yes")
    assert r.state["flow"] == "get_refund" and r.state["step"] == "collect:reason"
    assert r.state["slots"]["order_number"] == "10024"


def test_an_offer_expires_after_one_turn(bot: Any) -> None:
    bot.turn("s", "I want to complain about the courier")
    bot.turn("s", "what are your delivery options?")
    assert bot.turn("s", "yes").action == "affirm"


def test_a_bare_email_keeps_the_conversation_language(bot: Any) -> None:
    r = bot.turn("s", "订单10023到哪了")
    assert r.language == "zh"
    r = bot.turn("s", "ann@example.com")
    assert r.language == "zh" and "订单 10023" in r.reply


def test_the_black_one_and_zh_this_one_resolve_against_mentions(bot: Any) -> None:
    r = bot.turn("s", "do you have audio products?")
    assert set(r.state["shown"]) == {2, 3}
    r = bot.turn("s", "how much is the black one?")
    assert any(s.id == "product:3" for s in r.sources) and "$199.00" in r.reply
    r = bot.turn("s", "这个多少钱")  # "this one": the product just discussed
    assert r.language == "zh" and any(s.id == "product:3" for s in r.sources)


def test_a_reason_that_sounds_like_another_request_is_still_the_reason(
    bot: Any, nlu: KeywordNLU
) -> None:
    bot.turn("s", "I want to return order 10024", customer="1")
    nlu.force("change_order", 0.93)
    r = bot.turn("s", "wrong size, I need to change it")
    assert r.state["flow"] == "get_refund" and r.state["slots"]["reason"].startswith("wrong size")


def test_unplaced_messages_read_in_context(bot: Any, nlu: KeywordNLU) -> None:
    bot.turn("s", "do you have audio products?")
    nlu.force("out_of_scope", 0.9)
    r = bot.turn("s", "and the first one?")
    assert r.action == "product.shown"
    nlu.force("out_of_scope", 0.5)
    r = bot.turn("t", "what on earth happened to order 10023??", customer="1")
    assert r.action == "order.tracked"
    nlu.force("out_of_scope", 0.9)
    assert bot.turn("u", "order 10023 is a gift, what's the weather?").action == "fallback"
