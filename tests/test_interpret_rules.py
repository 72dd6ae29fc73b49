"""The interpret stage's rules (dialogue/data/interpret_rules.toml), one row per reading.

Each row is a situation (understanding + state, no database) and the rule id and intent it
must yield; a row with ``None`` must leave the classifier's reading alone. The rows are
not the rules' own examples rephrased: each varies one condition a rule depends on, so a
rule that ignores that condition fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shopassist.engine.dialogue import interpret as ip
from shopassist.engine.nlu.result import Entity, IntentScore, NLUResult, Sentiment


def nlu(
    text: str, intent: str, confidence: float = 0.9, entities: list[Entity] | None = None
) -> NLUResult:
    return NLUResult(
        text=text,
        language="zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en",
        intent=IntentScore(name=intent, confidence=confidence),
        ranking=[IntentScore(name=intent, confidence=confidence)],
        entities=entities or [],
        sentiment=Sentiment(label="neutral", score=0.0),
    )


def number(text: str, value: str) -> Entity:
    start = text.index(value)
    return Entity(type="order_number", value=value, text=value, start=start, end=start + len(value))


def situation(text: str, intent: str, confidence: float = 0.9, **state: Any) -> ip.Situation:
    entities = state.pop("entities", [])
    return ip.Situation(
        nlu=nlu(text, intent, confidence, entities), intent=intent, text=text, **state
    )


T = "now show 10001"
CASES: list[tuple[str, ip.Situation, str | None, str | None]] = [
    (
        "cancel-or-return about one item of an order",
        ip.Situation(
            nlu=nlu(
                "订单10052里的台灯不要了",
                "cancel_order",
                0.6,
                [number("订单10052里的台灯不要了", "10052")],
            ).model_copy(update={"clarify": ["cancel_order", "get_refund"]}),
            intent="cancel_order",
            text="订单10052里的台灯不要了",
        ),
        "item_of_an_order_is_returned",
        "get_refund",
    ),
    (
        "cancel-or-return about a whole order stays a question",
        ip.Situation(
            nlu=nlu(
                "订单10052不要了", "cancel_order", 0.6, [number("订单10052不要了", "10052")]
            ).model_copy(update={"clarify": ["cancel_order", "get_refund"]}),
            intent="cancel_order",
            text="订单10052不要了",
        ),
        None,
        None,
    ),
    (
        "an item missing from a numbered order",
        situation(
            "order 10040 came with one mug missing from the box",
            "out_of_scope",
            0.7,
            entities=[number("order 10040 came with one mug missing from the box", "10040")],
            claim=True,
        ),
        "missing_item_of_an_order",
        "complaint",
    ),
    (
        "a defect of an item of the order discussed",
        situation("the lamp flickers and stopped working", "out_of_scope", 0.5, order_item=True),
        "defect_of_an_order_item",
        "get_refund",
    ),
    (
        "a defect of something not on the order discussed is left alone",
        situation("the lamp flickers and stopped working", "out_of_scope", 0.5, order_item=False),
        None,
        None,
    ),
    (
        "an item of the order without a defect is left alone",
        situation("the lamp looks nice", "product_info", 0.8, order_item=True),
        None,
        None,
    ),
    (
        "missing words without an order are left to the classifier",
        situation("is anything missing from the starter kit", "product_info", 0.8),
        None,
        None,
    ),
    (
        "another size of an item of a numbered order",
        situation(
            "order 10108: can I swap the helmet for an L",
            "product_info",
            0.8,
            entities=[number("order 10108: can I swap the helmet for an L", "10108")],
            wants_variant=True,
        ),
        "variant_change_of_an_order",
        "change_order",
    ),
    (
        "an exchange the classifier read as a return",
        situation(
            "the boots from 10016 are too small, can I swap them for a US 10",
            "get_refund",
            0.5,
            entities=[
                number("the boots from 10016 are too small, can I swap them for a US 10", "10016")
            ],
        ),
        "exchange_asked_as_a_return",
        "change_order",
    ),
    (
        "the account's default address",
        situation("update the default shipping address on my account", "change_shipping_address"),
        "default_address_of_the_account",
        "set_up_shipping_address",
    ),
    (
        "an unplaced message naming a product we lack",
        situation(
            "do u have the nintendo switch", "out_of_scope", 0.6, unknown_name="nintendo switch"
        ),
        "product_we_do_not_carry",
        "product_info",
    ),
    (
        "a name we lack beside an order number is about the order",
        situation(
            "the bracelet in 10001",
            "out_of_scope",
            0.9,
            unknown_name="bracelet",
            entities=[number("the bracelet in 10001", "10001")],
        ),
        None,
        None,
    ),
    (
        "payment methods asked about a numbered order",
        situation(
            "can I pay for order 10099 with PayPal instead",
            "check_payment_methods",
            0.9,
            entities=[number("can I pay for order 10099 with PayPal instead", "10099")],
        ),
        "payment_method_of_an_order",
        "change_payment_method",
    ),
    (
        "a comparison without a comparing word is about the one product",
        situation("有iPhone 16 Pro卖吗", "product_compare", 0.67),
        "compare_without_a_comparison",
        "product_info",
    ),
    (
        "a real comparison stays one",
        situation("AeroBuds Pro 和 Tide ANC 哪个好", "product_compare", 0.9, product_ids=[1, 3]),
        None,
        None,
    ),
    (
        "another order number after a task: the same task for it",
        situation(
            "and the one for 10061 too pls",
            "product_compare",
            0.97,
            bare_number="10061",
            last_flow="get_invoice",
        ),
        "same_request_for_another_order",
        "get_invoice",
    ),
    (
        "another order number naming its own task",
        situation(
            "and cancel 10061", "out_of_scope", 0.5, bare_number="10061", last_flow="get_invoice"
        ),
        "same_request_for_another_order",
        "cancel_order",
    ),
    (
        "a number with no task before it",
        situation("is 10061 in stock", "product_info", 0.9, bare_number="10061"),
        None,
        None,
    ),
    (
        "a promotion code named beside a product",
        situation("does SPRING5 work on the kettle", "product_info", promo_code=True),
        "named_promotion_code",
        "promotions",
    ),
    (
        "buying a named product",
        situation("I'd like to buy the Lumen lamp", "place_order", named_product_ids=[9]),
        "buying_a_named_product",
        "product_info",
    ),
    (
        "buying without naming a product",
        situation("how do I place an order", "place_order"),
        None,
        None,
    ),
    # (case, situation, rule id, intent read as)
    ("cancel words", situation("never mind", "deny"), "cancel_request", None),
    (
        "an order sent to a new street address",
        situation(
            "please ship order 10114 to 445 Maple Drive, Portland, OR 97205 instead",
            "track_order",
            entities=[
                number("please ship order 10114 to 445 Maple Drive, Portland, OR 97205", "10114")
            ],
        ),
        "new_address_for_an_order",
        "change_shipping_address",
    ),
    (
        "an order sent somewhere without a street address stays a question",
        situation(
            "can you ship order 10114 to Canada?",
            "track_order",
            entities=[number("can you ship order 10114 to Canada?", "10114")],
        ),
        None,
        None,
    ),
    (
        "warranty on a kind of product",
        situation("whats the warranty on speakers", "product_search"),
        "warranty_question",
        "warranty",
    ),
    (
        "a warranty claimed for an item, read as a complaint",
        situation("I'd like a warranty repair for my kettle", "complaint", 0.6),
        "warranty_question",
        "warranty",
    ),
    (
        "a complaint without warranty words stays a complaint",
        situation("the kettle you sent is terrible", "complaint", 0.9),
        None,
        None,
    ),
    (
        "warranty asked mid-task stays with the task",
        situation("whats the warranty on speakers", "product_search", flow="get_refund"),
        None,
        None,
    ),
    (
        "warranty of an order goes to the order",
        situation(
            "warranty for 10001",
            "out_of_scope",
            0.3,
            entities=[number("warranty for 10001", "10001")],
        ),
        "unplaced_order_number",
        "track_order",
    ),
    (
        "delivery time of a numbered order",
        situation(
            "when does 10082 arrive",
            "delivery_period",
            entities=[number("when does 10082 arrive", "10082")],
        ),
        "delivery_of_an_order",
        "track_order",
    ),
    (
        "delivery time in general",
        situation("how long does delivery take", "delivery_period"),
        None,
        None,
    ),
    (
        "what a member tier gets",
        situation("what perks come with gold membership", "out_of_scope", 0.7),
        "tier_benefits_question",
        "tier_benefits",
    ),
    (
        "cost of cancelling",
        situation("how much does it cost to cancel", "cancel_order"),
        "cost_of_cancelling",
        "check_cancellation_fee",
    ),
    (
        "cost words in an own request",
        situation("how much do I get back if I cancel my order", "cancel_order"),
        None,
        None,
    ),
    (
        "eta right after tracking",
        situation(
            "还要几天",
            "delivery_period",
            last_action="order.tracked",
            last_order="10086",
        ),
        "eta_after_tracking",
        "track_order",
    ),
    (
        "eta after something else",
        situation("还要几天", "delivery_period", last_action="policy.delivery", last_order="10086"),
        None,
        None,
    ),
    (
        "search that points at the one shown",
        situation(
            "does it come in red",
            "product_search",
            product_ids=[7],
            points_at_one=True,
        ),
        "question_about_the_one_pointed_at",
        "product_info",
    ),
    (
        "pointing words with a new kind of product",
        situation(
            "does it come as a hoodie",
            "product_search",
            product_ids=[7],
            points_at_one=True,
            category="Clothing > Hoodies",
            category_word="hoodie",
        ),
        None,
        None,
    ),
    (
        "goodbye with an order number",
        situation(T, "goodbye", 0.69, entities=[number(T, "10001")]),
        "order_number_beside_small_talk",
        "track_order",
    ),
    (
        "a sure goodbye with a number stays a goodbye",
        situation(
            "bye, 10001 is all", "goodbye", 0.95, entities=[number("bye, 10001 is all", "10001")]
        ),
        None,
        None,
    ),
    (
        "order number with identity and an order-task word",
        situation(
            "order 10001 invoice, emma@example.com",
            "out_of_scope",
            0.8,
            entities=[number("order 10001 invoice, emma@example.com", "10001")],
            claim=True,
        ),
        "unplaced_order_number_with_identity",
        "get_invoice",
    ),
    (
        "a kind of product alone",
        situation("卫衣", "out_of_scope", 0.4, category="Clothing > Hoodies", product_hits=3),
        "kind_of_product_unplaced",
        "product_search",
    ),
    (
        "a phone number is not a phone search",
        situation(
            "order 10001, phone +1 415 555 0134",
            "out_of_scope",
            0.5,
            entities=[number("order 10001, phone +1 415 555 0134", "10001")],
            category="Electronics > Phones",
            product_hits=3,
            claim=True,
        ),
        "unplaced_order_number_with_identity",
        "track_order",
    ),
    (
        "variant right after a product",
        situation(
            "and in XS?",
            "out_of_scope",
            0.5,
            last_action="product.shown",
            wants_variant=True,
            product_ids=[4],
        ),
        "variant_after_product_shown",
        "product_info",
    ),
    (
        "a long variant question is not an ellipsis",
        situation(
            "and would you also have that in an XS size for my daughter?",
            "out_of_scope",
            0.5,
            last_action="product.shown",
            wants_variant=True,
            product_ids=[4],
        ),
        "pointed_at_product_unplaced",
        "product_info",
    ),
    (
        "a product named while waiting for a reason is the reason",
        situation(
            "the AeroBuds stopped working",
            "out_of_scope",
            0.5,
            flow="get_refund",
            step="collect:reason",
            free_text_slots=["reason"],
            named_product_ids=[3],
            product_ids=[3],
        ),
        None,
        None,
    ),
    (
        "a product named mid-task otherwise is a digression",
        situation(
            "the AeroBuds Pro?",
            "out_of_scope",
            0.5,
            flow="get_refund",
            step="collect:order_number",
            free_text_slots=["reason"],
            named_product_ids=[3],
            product_ids=[3],
        ),
        "product_named_mid_flow",
        "product_info",
    ),
]


@pytest.mark.parametrize(
    ("situation", "rule", "intent"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule_table(situation: ip.Situation, rule: str | None, intent: str | None) -> None:
    commands = ip.interpret(situation)
    if rule is None:
        assert commands == []
        return
    assert commands, f"expected rule {rule}"
    assert commands[0].rule == rule
    if intent is not None:
        assert commands[0].intent == intent


def test_every_rule_is_exercised_by_the_table() -> None:
    fired = {c[2] for c in CASES if c[2]}
    untested = {r.id for r in ip.load_rulebook().rules} - fired
    assert not untested, f"rules without a table row: {sorted(untested)}"


def test_product_group_is_what_retrieval_uses() -> None:
    assert frozenset(ip.load_rulebook().groups["product"]) == ip.PRODUCT_INTENTS
    from shopassist.engine import retrieve

    assert retrieve.PRODUCT_INTENTS is ip.PRODUCT_INTENTS


def test_short_and_unsure_come_from_the_thresholds() -> None:
    t = ip.thresholds()
    assert ip.is_short("x " * t.short_max_words)
    assert not ip.is_short("x " * (t.short_max_words + 1))
    assert ip.is_unsure(nlu("hm", "greet", t.unsure_confidence - 0.01))
    assert not ip.is_unsure(nlu("hello", "greet", t.unsure_confidence + 0.01))
    assert ip.is_unsure(nlu("hello", t.unsure_intents[0], 0.99))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[rules]]\nid = "x"\nwhen = { colour_of_sky = true }\nthen = { command = "answer" }',
            "unknown predicate",
        ),
        ('[[rules]]\nid = "x"\nwhen = {}\nthen = { command = "dance" }', "then.command"),
        (
            '[[rules]]\nid = "x"\nwhen = { intent_in = ["@nope"] }\nthen = { command = "answer" }',
            "unknown group @nope",
        ),
        (
            '[[rules]]\nid = "x"\nwhen = { words = "nope" }\nthen = { command = "answer" }',
            "names no word list",
        ),
        (
            '[[rules]]\nid = "x"\nthen = { command = "answer" }\n[[rules]]\nid = "x"\nthen = { command = "answer" }',
            "duplicate rule id",
        ),
    ],
)
def test_bad_rules_file_names_file_and_rule(tmp_path: Path, body: str, message: str) -> None:
    base = ip.DATA.read_text(encoding="utf-8").split("[[rules]]", 1)[0]
    path = tmp_path / "interpret_rules.toml"
    path.write_text(base + body, encoding="utf-8")
    with pytest.raises(ip.InterpretError) as err:
        ip.load_rulebook(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_follow_ups_fire_only_after_their_action() -> None:
    fired = ip.follow_ups("return.refused", "the lid leaks")
    assert [c.rule for c in fired] == ["warranty_after_return_window"]
    assert fired[0].intent == "warranty" and fired[0].kind == "digress"
    assert ip.follow_ups("return.created", "the lid leaks") == []
    assert ip.follow_ups("return.refused", "I changed my mind") == []
