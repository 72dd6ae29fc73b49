"""Order details only for the order's owner; nothing at all, not even existence, for anyone else."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlite_utils
from test_dialogue_fakes import build_shop, make_assistant, order_status

from shopassist.engine.assistant import AssistantError

SECRETS = ("UPS", "1Z999AA10123456784", "shipped", "$129.00", "Louisville", "AeroBuds")


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    build_shop(db)
    return db


@pytest.fixture
def bot(shop: sqlite_utils.Database) -> Any:
    return make_assistant(shop)


def _leaks(result: Any) -> list[str]:
    blob = json.dumps(result.model_dump(mode="json"))
    return [s for s in SECRETS if s in result.reply or s in blob.replace(result.text, "")]


def test_unverified_reveals_nothing_and_asks_for_email_or_phone(bot: Any) -> None:
    r = bot.turn("s", "where is order 10023?")
    assert r.state["verified"] is False
    assert "email" in r.reply and "phone" in r.reply
    assert not _leaks(r)
    assert not [s for s in r.sources if s.kind in ("order", "shipment")]
    assert not r.facts


def test_existing_and_nonexistent_orders_get_the_same_words(bot: Any) -> None:
    real = bot.turn("a", "where is order 10023?").reply
    fake = bot.turn("b", "where is order 99999?").reply
    assert real.replace("10023", "N") == fake.replace("99999", "N")
    real = bot.turn("a", "cy@example.com").reply  # someone else's email
    fake = bot.turn("b", "cy@example.com").reply
    assert real.replace("10023", "N") == fake.replace("99999", "N")


def test_verification_by_email_on_the_order(bot: Any) -> None:
    bot.turn("s", "where is order 10023?")
    r = bot.turn("s", "it's ANN@example.com ")
    assert r.action == "order.tracked" and "1Z999AA10123456784" in r.reply
    assert r.state["verified"] is True and r.state["customer_id"] == 1


def test_verification_by_phone_in_another_format(bot: Any) -> None:
    bot.turn("s", "track order 10025")
    r = bot.turn("s", "my phone is 0086 138-0013-8000")
    assert r.action == "order.tracked" and r.state["customer_id"] == 2


def test_wrong_email_is_refused_and_repeated_failures_stop(bot: Any) -> None:
    bot.turn("s", "where is order 10023?")
    r = bot.turn("s", "cy@example.com")
    assert r.state["verified"] is False and not _leaks(r)
    bot.turn("s", "nobody@example.com")
    r = bot.turn("s", "bo@example.cn")
    assert r.state["flow"] is None and "human" in r.reply
    assert r.state["verified"] is False


@pytest.mark.parametrize("last", ["bo@example.cn", "this is ridiculous!!! bo@example.cn"])
def test_failed_verification_apologises_once_from_the_rules_stage(bot: Any, last: str) -> None:
    bot.turn("s", "where is order 10023?")
    bot.turn("s", "cy@example.com")
    bot.turn("s", "nobody@example.com")
    r = bot.turn("s", last)
    assert r.reply.lower().count("sorry") == 1 and r.reply.startswith("I'm sorry for the trouble.")
    assert "apology_when_verification_fails" in r.rules


def test_failed_verification_apologises_once_zh(bot: Any) -> None:
    bot.turn("s", "订单10023到哪了")
    bot.turn("s", "cy@example.com")
    bot.turn("s", "nobody@example.com")
    r = bot.turn("s", "太差了！！！bo@example.cn")
    assert r.reply.count("抱歉") == 1 and r.reply.startswith("很抱歉给您带来麻烦。")


def test_verified_customer_cannot_read_another_customers_order(bot: Any) -> None:
    bot.turn("s", "where is order 10024?")
    bot.turn("s", "ann@example.com")
    r = bot.turn("s", "and where is order 10025?")  # Bo's order
    assert "can't find order 10025" in r.reply
    assert not [s for s in r.sources if s.id == "order:10025"]
    r2 = bot.turn("s", "bo@example.cn")  # the other customer's email does not switch identity
    assert r2.state["customer_id"] == 1 and "10025" not in json.dumps(
        r2.facts and [f.value for f in r2.facts]
    )


def test_bound_customer_cannot_change_another_customers_order(
    bot: Any, shop: sqlite_utils.Database
) -> None:
    r = bot.turn("s", "cancel order 10026", customer="1")  # Cy's paid order
    assert "can't find order 10026" in r.reply
    r = bot.turn("s", "yes")
    assert order_status(shop, "10026") == "paid"
    r = bot.turn("s", "cy@example.com")
    assert order_status(shop, "10026") == "paid" and r.state["customer_id"] == 1


def test_bound_by_email_and_rebinding_is_refused(bot: Any) -> None:
    r = bot.turn("s", "where is order 10024", customer="ann@example.com")
    assert r.action == "order.tracked"
    with pytest.raises(AssistantError, match="another customer"):
        bot.turn("s", "hello", customer="2")
    with pytest.raises(AssistantError, match="no customer"):
        bot.turn("t", "hello", customer="nobody@example.com")


def test_no_order_facts_reach_the_llm_prompt_before_verification(
    shop: sqlite_utils.Database,
) -> None:
    from shopassist.engine.llm import FakeLLM

    llm = FakeLLM(["To look up that order, please give the email or phone on it."] * 5)
    bot = make_assistant(shop, llm=llm)
    bot.turn("s", "where is order 10023?")
    prompts = json.dumps([c.messages for c in llm.calls])
    assert not [s for s in SECRETS if s in prompts]
