"""Product questions on the demo catalog: kind of product, price limits, colour and size."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils
from test_dialogue_fakes import ScriptedNLU, demo_assistant

USD = "USD"


def _listed(db: sqlite_utils.Database, r: Any) -> list[tuple[str, str]]:
    """(title, category path) of every product the reply listed."""
    ids = [int(s.id.split(":")[1]) for s in r.sources if s.kind == "product"]
    return [
        (row[0], row[1])
        for pid in ids
        for row in db.execute(
            "select p.title, c.path from products p join categories c on c.id = p.category_id "
            "where p.id = ?",
            [pid],
        )
    ]


def test_blue_hoodies_under_60_lists_only_blue_hoodies_within_the_price(
    demo_db: sqlite_utils.Database,
) -> None:
    text = "do you have blue hoodies under 60 dollars"
    nlu = ScriptedNLU().say(
        text,
        "product_search",
        0.99,
        ("colour", "blue", "Blue"),
        ("money", "60 dollars", {"amount": 60.0, "currency": USD}),
    )
    r = demo_assistant(demo_db, nlu).turn("s", text)
    listed = _listed(demo_db, r)
    assert listed == [("Northfold Kids Hoodie", "Clothing > Hoodies")]  # navy, $35
    assert "Headphones" not in r.reply and "navy" in r.reply and "$35.00" in r.reply
    assert "$59.00" not in r.reply  # the $59 hoodie comes in no blue


def test_chinese_ceiling_is_not_read_as_a_floor(demo_db: sqlite_utils.Database) -> None:
    text = "有没有蓝色的卫衣 不超过300元"  # "不超过" contains "超过" (more than)
    nlu = ScriptedNLU().say(
        text,
        "product_search",
        0.99,
        ("colour", "蓝色", "Blue"),
        ("money", "300元", {"amount": 300.0, "currency": "CNY"}),
    )
    r = demo_assistant(demo_db, nlu).turn("s", text)
    assert r.action == "products.listed" and r.resolved
    assert {path for _, path in _listed(demo_db, r)} == {"Clothing > Hoodies"}
    assert "藏青色" in r.reply  # the catalog's "Navy", in Chinese


def test_no_match_within_the_price_says_so_and_shows_the_nearest_as_over_budget(
    demo_db: sqlite_utils.Database,
) -> None:
    text = "any hoodies under 20 dollars?"
    nlu = ScriptedNLU().say(
        text, "product_search", 0.99, ("money", "20 dollars", {"amount": 20.0, "currency": USD})
    )
    r = demo_assistant(demo_db, nlu).turn("s", text)
    assert "hoodies" in r.reply and "$20.00" in r.reply and r.resolved is False
    assert r.action == "products.nearest" and "over that budget" in r.reply
    listed = _listed(demo_db, r)
    # Only hoodies, each honestly over the budget (never presented as a match).
    assert listed and all(path == "Clothing > Hoodies" for _, path in listed)
    for title, _ in listed:
        low = demo_db.execute(
            "select min(v.price_cents) from variants v join products p on p.id = v.product_id "
            "where p.title = ?",
            [title],
        ).fetchone()[0]
        assert low > 2000


def test_over_an_amount_is_a_floor(demo_db: sqlite_utils.Database) -> None:
    text = "running shoes over $150"
    nlu = ScriptedNLU().say(
        text, "product_search", 0.9, ("money", "$150", {"amount": 150.0, "currency": USD})
    )
    r = demo_assistant(demo_db, nlu).turn("s", text)
    listed = _listed(demo_db, r)
    assert listed and all(path == "Shoes > Running" for _, path in listed)
    prices = [
        demo_db.execute(
            "select max(v.price_cents) from variants v join products p on p.id = v.product_id "
            "where p.title = ?",
            [title],
        ).fetchone()[0]
        for title, _ in listed
    ]
    assert all(p >= 15000 for p in prices)


def test_the_blue_one_in_m_answers_that_exact_variant(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("hoodies", "product_search", 0.95)
        .say(
            "is the blue one in stock in M?",
            "product_info",
            0.99,
            ("colour", "blue", "Blue"),
            ("size", "M", "M"),
        )
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "hoodies")
    r = bot.turn("s", "is the blue one in stock in M?")
    variant_id, stock = demo_db.execute(
        "select v.id, v.stock from variants v join products p on p.id = v.product_id "
        "where p.title = 'Northfold Everyday Zip Hoodie' and v.colour = 'Navy' and v.size = 'M'"
    ).fetchone()
    assert r.action == "product.shown"
    assert any(s.id == f"variant:{variant_id}" for s in r.sources)
    assert f"{stock} in stock" in r.reply and "Everyday Zip Hoodie" in r.reply


def test_a_bare_kind_of_product_is_searched_even_when_the_intent_is_a_guess(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = ScriptedNLU().say("卫衣", "place_order", 0.47)
    r = demo_assistant(demo_db, nlu).turn("s", "卫衣")
    assert r.action == "products.listed"
    assert {path for _, path in _listed(demo_db, r)} == {"Clothing > Hoodies"}


def test_compare_finds_both_products_on_either_side_of_and(
    demo_db: sqlite_utils.Database,
) -> None:
    text = "AeroBuds Pro 和 Tide ANC 哪个好"
    nlu = ScriptedNLU().say(text, "product_compare", 0.99, ("product", "AeroBuds Pro", 1))
    r = demo_assistant(demo_db, nlu).turn("s", text)
    assert r.action == "products.compared"
    assert "$149.00" in r.reply and "$199.00" in r.reply


def test_a_product_list_is_shown_as_written_and_a_short_answer_may_be_rephrased(
    demo_db: sqlite_utils.Database,
) -> None:
    from test_dialogue_fakes import DEMO_NOW

    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.llm import FakeLLM
    from shopassist.engine.pipeline import TurnPipeline

    nlu = (
        ScriptedNLU()
        .say("hoodies", "product_search", 0.95)
        .say(
            "how much is the AeroBuds Lite?", "product_info", 0.99, ("product", "AeroBuds Lite", 2)
        )
    )
    llm = FakeLLM(["AeroBuds Lite costs $59.00."] * 3)
    settings = Settings()
    bot = Assistant(
        settings, demo_db, TurnPipeline(demo_db, settings, nlu, backend=llm, now=DEMO_NOW)
    )
    listed = bot.turn("s", "hoodies")
    assert listed.provenance.kind == "template" and not llm.calls
    assert "list" in (listed.provenance.reason or "")
    shown = bot.turn("s", "how much is the AeroBuds Lite?")
    assert len(llm.calls) == 1 and shown.provenance.kind != "template"


def test_a_shoe_size_matches_inside_a_size_label(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("running shoes", "product_search", 0.95)
        .say("第一双有42码吗", "product_info", 0.98, ("size", "42码", "42"))
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "running shoes")
    r = bot.turn("s", "第一双有42码吗")
    assert "EU 42" in r.reply and "没有" not in r.reply


def test_the_s_of_sizes_is_not_size_s(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("t-shirts", "product_search", 0.95)
        .say("what sizes does the first one come in?", "product_info", 0.99, ("size", "s", "S"))
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "t-shirts")
    r = bot.turn("s", "what sizes does the first one come in?")
    assert "Sizes:" in r.reply and "doesn't come in" not in r.reply
    assert not any(s.kind == "variant" for s in r.sources)


def test_a_recommendation_stays_within_the_kind_and_price_asked_for(
    demo_db: sqlite_utils.Database,
) -> None:
    text = "recommend a speaker under $60"
    nlu = ScriptedNLU().say(
        text, "recommendation", 0.99, ("money", "$60", {"amount": 60.0, "currency": USD})
    )
    r = demo_assistant(demo_db, nlu).turn("s", text)
    listed = _listed(demo_db, r)
    assert listed and {path for _, path in listed} == {"Audio > Speakers"}
    assert "USB" not in r.reply


def test_warranty_question_is_answered_from_policy_whatever_the_intent(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say("What's the warranty on headphones?", "product_search", 0.99)
        .say("how long is the warranty on hoodies?", "product_info", 0.9)
        .say("保修多久", "out_of_scope", 0.5)
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("a", "What's the warranty on headphones?")
    assert r.action == "policy.warranty" and "24 months" in r.reply
    assert "12 months" in bot.turn("b", "how long is the warranty on hoodies?").reply
    r = bot.turn("c", "保修多久")
    assert "24 个月" in r.reply and "12 个月" in r.reply


def test_a_colour_after_a_list_narrows_that_kind_and_chinese_shows_chinese_colours(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say("你好，我想买一件外套", "place_order", 0.66)
        .say("有黑色的吗", "product_search", 0.99, ("colour", "黑色", "Black"))
        .say("第一个有L码吗", "product_info", 0.9, ("size", "L码", "L"))
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("s", "你好，我想买一件外套")
    assert r.action == "products.listed"  # a kind of product, not the ordering FAQ
    assert {path for _, path in _listed(demo_db, r)} == {"Clothing > Jackets"}
    r = bot.turn("s", "有黑色的吗")
    listed = _listed(demo_db, r)
    assert listed and {path for _, path in listed} == {"Clothing > Jackets"}
    assert "黑色" in r.reply and "Black" not in r.reply
    r = bot.turn("s", "第一个有L码吗")
    assert any(s.kind == "variant" for s in r.sources) and "黑色 / L" in r.reply


def _cny(text: str, surface: str, amount: float, intent: str = "product_search") -> ScriptedNLU:
    return ScriptedNLU().say(
        text, intent, 0.95, ("money", surface, {"amount": amount, "currency": "CNY"})
    )


def test_a_budget_in_yuan_is_converted_with_the_policy_rate_and_said_zh(
    demo_db: sqlite_utils.Database,
) -> None:
    text = "有没有耳机，500元以内"
    r = demo_assistant(demo_db, _cny(text, "500元", 500.0)).turn("s", text)
    rate = json.loads(
        demo_db.execute("select value from policies where key = 'exchange_rates'").fetchone()[0]
    )["CNY"]
    usd = f"${500 * rate:,.2f}"
    assert f"500元（约 {usd}）以内" in r.reply
    assert any(f.key == "price.converted_limit" and f.value == usd for f in r.facts)
    assert any(s.id == "policy:exchange_rates" for s in r.sources)
    prices = [int(row[0]) for row in demo_db.execute("select price_cents from variants")]
    listed = _listed(demo_db, r)
    assert listed and all(path.startswith("Audio") for _, path in listed)
    assert "$129.00" not in r.reply and max(prices) > 500 * rate * 100  # not read as $500


def test_a_budget_in_yuan_is_converted_en(demo_db: sqlite_utils.Database) -> None:
    for text, surface in (("headphones under ¥200", "¥200"), ("earbuds under 200 RMB", "200 RMB")):
        r = demo_assistant(demo_db, _cny(text, surface, 200.0)).turn("s", text)
        assert f"{surface} is about $28.00" in r.reply
        assert any(f.value == "$28.00" for f in r.facts)
        # Nothing within $28: whatever is shown is the nearest, said to be over the budget.
        assert r.action != "products.listed"
        assert "$129.00" not in r.reply or "over that budget" in r.reply


def test_without_a_rate_the_list_is_not_filtered_and_the_reply_says_usd(
    demo_db: sqlite_utils.Database,
) -> None:
    demo_db.execute("delete from policies where key = 'exchange_rates'")
    text = "headphones under ¥200"
    r = demo_assistant(demo_db, _cny(text, "¥200", 200.0)).turn("s", text)
    assert "prices are in US dollars" in r.reply and "¥200" in r.reply
    assert r.action == "products.listed" and _listed(demo_db, r)
    assert "$200.00" not in r.reply
