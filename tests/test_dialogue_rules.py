"""Business rules from rules.toml, and the template files they and the flows rely on."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlite_utils
from test_dialogue_fakes import build_shop, make_assistant

from shopassist.engine.dialogue.context import ACTS
from shopassist.engine.dialogue.flows import load_flows
from shopassist.engine.dialogue.rules import holds, load_rules
from shopassist.engine.dialogue.templates import load_templates


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    build_shop(db)
    return db


@pytest.fixture
def bot(shop: sqlite_utils.Database) -> Any:
    return make_assistant(shop)


def test_vip_return_is_free_and_recorded_so(bot: Any, shop: sqlite_utils.Database) -> None:
    r = bot.turn("s", "I want to return order 10025 because I changed my mind", customer="2")
    assert "Return shipping is free" in r.reply
    bot.turn("s", "yes")
    free, refund = shop.execute("select free_return_shipping, refund_cents from returns").fetchone()
    assert free == 1 and refund == 19900


def test_standard_customer_pays_the_label_unless_damaged(
    bot: Any, shop: sqlite_utils.Database
) -> None:
    r = bot.turn("s", "return order 10024 because it arrived damaged", customer="1")
    assert "Return shipping is free" in r.reply
    r = bot.turn("t", "return order 10024 because I changed my mind", customer="1")
    assert "$6.95" in r.reply


def test_vip_cancels_free(bot: Any) -> None:
    r = bot.turn("s", "cancel order 10028", customer="2")  # paid 5 days ago: standard would pay
    assert "$0.00" in r.reply


def test_frustrated_customer_gets_apology_first_and_offer_of_human(bot: Any) -> None:
    r = bot.turn("s", "This is RIDICULOUS! where is order 10023", customer="1")
    assert r.reply.startswith("I'm sorry for the trouble.")
    assert "talk to a person" in r.reply
    assert "1Z999AA10123456784" in r.reply  # the answer is still there


def test_low_stock_note(bot: Any) -> None:
    r = bot.turn("s", "how much are the aerobuds pro?")  # 3 in stock
    assert "only 3 left" in r.reply
    r = bot.turn("t", "how much are the studio headphones?")  # 25 in stock
    assert "left of" not in r.reply


def test_greeting_by_name_in_the_customers_language(bot: Any) -> None:
    assert bot.turn("s", "hello", customer="1").reply.startswith("Hello Ann!")
    assert bot.turn("t", "你好", customer="2").reply.startswith("Bo Chen，您好")
    assert bot.turn("u", "hello").reply.startswith("Hello!")


def test_rule_conditions() -> None:
    assert holds({"tier": "vip", "intent_in": ["a", "b"]}, {"tier": "vip", "intent": "a"})
    assert not holds({"tier": "vip"}, {"tier": None})
    assert not holds({"intent_not_in": ["complaint"]}, {"intent": "complaint"})
    assert {r.name for r in load_rules()} >= {"greet_by_name", "low_stock_note"}


def test_templates_en_and_zh_have_the_same_keys_and_placeholders() -> None:
    en, zh = load_templates("en"), load_templates("zh")
    assert set(en) == set(zh)
    fields = re.compile(r"\{(\w+)\}")
    for key in en:
        assert set(fields.findall(en[key])) == set(fields.findall(zh[key])), key


def test_every_flow_has_a_handler_and_prompts_exist() -> None:
    en = load_templates("en")
    for spec in load_flows().values():
        if "act" in spec.steps:
            assert (spec.handler or spec.name) in ACTS, spec.name
        for slot in spec.slots:
            assert spec.prompt_for(slot) in en, (spec.name, slot)
        if "confirm" in spec.steps:
            assert any(k.startswith(f"{spec.name}.confirm") for k in en), spec.name
        if spec.requires.get("refuse"):
            assert spec.requires["refuse"] in en


def test_fired_rules_are_reported(bot: Any) -> None:
    r = bot.turn("s", "hello", customer="2")
    assert "greet_by_name" in r.rules


def test_frozen_clock_decides_the_return_window(bot: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from shopassist.engine.dialogue import clock

    with clock.frozen(datetime.now(UTC) + timedelta(days=60)):
        r = bot.turn("s", "I want to return order 10024", customer="1")  # delivered 5 days ago
    assert r.action == "return.refused" and "within 30 days" in r.reply
    r = bot.turn("t", "I want to return order 10024", customer="1")
    assert r.state["step"] == "collect:reason"
