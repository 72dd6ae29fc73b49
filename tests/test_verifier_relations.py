"""Relation-level grounding: a value must be said of the subject it belongs to."""

from __future__ import annotations

import pytest

from shopassist.engine.generate import _SentenceGate
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.relations import build_subjects, fact_subject
from shopassist.engine.turn_result import Fact
from shopassist.engine.verify import Verifier, is_template_copy, verify_reply


def compare_plan(language: str = "en", *, grinder_in_stock: bool = True) -> ReplyPlan:
    facts = [
        Fact(key="product.7.title", value="Lumen Desk Lamp", source_id="product:7"),
        Fact(key="product.7.price", value="$45.00", source_id="product:7"),
        Fact(key="product.7.stock", value="12", source_id="product:7", required=False),
        Fact(key="product.9.title", value="Ember Burr Grinder", source_id="product:9"),
        Fact(key="product.9.price", value="$89.99", source_id="product:9"),
    ]
    if grinder_in_stock:
        facts.append(Fact(key="product.9.stock", value="3", source_id="product:9", required=False))
    if language == "zh":
        grinder = "库存 3 件" if grinder_in_stock else "缺货"
        template = f"Lumen Desk Lamp：$45.00，库存 12 件。Ember Burr Grinder：$89.99，{grinder}。"
    else:
        grinder = "3 in stock" if grinder_in_stock else "out of stock"
        template = f"Lumen Desk Lamp: $45.00, 12 in stock. Ember Burr Grinder: $89.99, {grinder}."
    return ReplyPlan(
        intent="product_compare",
        action="products.compared",
        language=language,
        facts=facts,
        template_reply=template,
    )


def test_subjects_come_from_keys_and_source_ids() -> None:
    plan = compare_plan()
    subjects, shared = build_subjects(plan.facts)
    assert set(subjects) == {"product:7", "product:9"}
    assert subjects["product:7"].anchors == ["lumen desk lamp"]
    assert not shared
    explicit = Fact(key="x.price", value="$1", source_id="faq:1", subject="product:7")
    assert fact_subject(explicit) == "product:7"


def test_the_reported_price_swap_is_rejected() -> None:
    lie = "The Lumen Desk Lamp costs $89.99 and the Ember Burr Grinder costs $45.00."
    report = verify_reply(lie, compare_plan())
    assert "unsupported_facts" not in report.failed_rules
    assert "relations" in report.failed_rules
    assert "Lumen Desk Lamp".lower() in " ".join(report.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "The Lumen Desk Lamp costs $45.00 and the Ember Burr Grinder costs $89.99.",
        "The Lumen Desk Lamp is $45.00 (12 in stock), while the Ember Burr Grinder is $89.99.",
        "The Lumen Desk Lamp costs $45.00. It has 12 in stock. The Ember Burr Grinder costs $89.99.",
        "At $45.00, the Lumen lamp has 12 in stock; the Ember grinder is $89.99.",
        "The former costs $45.00 and the latter $89.99; the Lumen Desk Lamp and the Ember Burr Grinder both have stock.",
    ],
)
def test_faithful_rephrasings_pass_the_relation_rule(text: str) -> None:
    report = verify_reply(text, compare_plan())
    assert "relations" not in report.failed_rules, report.reasons
    assert "units" not in report.failed_rules, report.reasons


@pytest.mark.parametrize(
    "text",
    [
        "The Lumen Desk Lamp costs $45.00. It has 3 in stock.",  # pronoun carries the lamp
        "The former costs $89.99 and the latter $45.00.",  # explicit references
        "Lumen Desk Lamp: $89.99\nEmber Burr Grinder: $45.00",  # list lines
        "The Ember Burr Grinder is pricier than the Lumen Desk Lamp at $89.99.",
    ],
)
def test_swaps_through_pronouns_references_and_lists_are_rejected(text: str) -> None:
    assert "relations" in verify_reply(text, compare_plan()).failed_rules


def test_chinese_swap_and_faithful_rephrasing() -> None:
    plan = compare_plan("zh")
    good = "Lumen Desk Lamp 售价 $45.00，库存 12 件；Ember Burr Grinder 售价 $89.99。"
    bad = "Lumen Desk Lamp 售价 $89.99，而 Ember Burr Grinder 只要 $45.00。"
    assert "relations" not in verify_reply(good, plan).failed_rules
    assert "relations" in verify_reply(bad, plan).failed_rules
    former = "前者售价 $89.99，后者售价 $45.00。"
    assert "relations" in verify_reply(former, plan).failed_rules


@pytest.mark.parametrize("language", ["en", "zh"])
def test_stock_negation_is_a_claim(language: str) -> None:
    plan = compare_plan(language, grinder_in_stock=False)
    if language == "zh":
        lie = "Lumen Desk Lamp 没有货。Ember Burr Grinder 售价 $89.99。"
        lie2 = "Lumen Desk Lamp 售价 $45.00。Ember Burr Grinder 有货。"
        truth = "Lumen Desk Lamp 有库存，Ember Burr Grinder 缺货。"
    else:
        lie = "The Lumen Desk Lamp is sold out. The Ember Burr Grinder costs $89.99."
        lie2 = "The Lumen Desk Lamp costs $45.00 and the Ember Burr Grinder is in stock."
        truth = "The Lumen Desk Lamp is in stock, but the Ember Burr Grinder is sold out."
    assert "relations" in verify_reply(lie, plan).failed_rules
    assert "relations" in verify_reply(lie2, plan).failed_rules
    assert "relations" not in verify_reply(truth, plan).failed_rules


def track_plan(language: str = "en") -> ReplyPlan:
    status = "运输中" if language == "zh" else "in transit"
    template = (
        "订单 10073 的状态：运输中。运单号 213697314527，预计 5 个工作日内送达。"
        if language == "zh"
        else "Order 10073 is in transit, tracking number 213697314527. It arrives within 5 business days."
    )
    return ReplyPlan(
        intent="track_order",
        action="order.tracked",
        language=language,
        facts=[
            Fact(key="order.number", value="10073", source_id="order:10073"),
            Fact(key="order.status", value=status, source_id="order:10073"),
            Fact(key="shipment.tracking_number", value="213697314527", source_id="shipment:60"),
            Fact(key="policy.days", value="5", source_id="policy:x"),
        ],
        template_reply=template,
    )


def test_a_status_is_checked_against_the_order() -> None:
    plan = track_plan()
    assert (
        "relations"
        in verify_reply(
            "Order 10073 has been delivered, tracking number 213697314527. It arrives within 5 business days.",
            plan,
        ).failed_rules
    )
    assert (
        "relations"
        in verify_reply(
            "Order 10073 is not in transit, tracking number 213697314527. It arrives within 5 business days.",
            plan,
        ).failed_rules
    )
    ok = verify_reply(
        "Your order 10073 is now in transit (tracking 213697314527) and should arrive within 5 business days.",
        plan,
    )
    assert "relations" not in ok.failed_rules


def test_a_chinese_status_and_a_kind_of_order_are_told_apart() -> None:
    plan = track_plan("zh")
    assert (
        "relations"
        in verify_reply(
            "订单 10073 已签收，运单号 213697314527，预计 5 个工作日内送达。", plan
        ).failed_rules
    )
    policy = ReplyPlan(
        intent="policy",
        language="zh",
        facts=[Fact(key="cancel.fee_max", value="$25.00", source_id="policy:cancellation")],
        template_reply="已发货订单无法取消，最高收取 $25.00。",
    )
    assert verify_reply(policy.template_reply, policy).ok


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en",
            "Order 10073 is in transit, tracking number 213697314527. It arrives within 5 weeks.",
        ),
        (
            "en",
            "Order 10073 is in transit, tracking number 213697314527. It arrives within 5 days.",
        ),
        ("zh", "订单 10073 运输中，运单号 213697314527，预计 5 天内送达。"),
    ],
)
def test_a_changed_unit_is_rejected(language: str, text: str) -> None:
    assert "units" in verify_reply(text, track_plan(language)).failed_rules


def test_a_changed_currency_is_rejected() -> None:
    report = verify_reply(
        "The Lumen Desk Lamp costs 45 元 and the Ember Burr Grinder $89.99.", compare_plan()
    )
    assert "units" in report.failed_rules


def test_a_number_moved_between_fields_is_rejected() -> None:
    plan = ReplyPlan(
        intent="complaint",
        language="en",
        facts=[
            Fact(key="ticket.id", value="1", source_id="ticket:1"),
            Fact(key="support.days", value="2", source_id="policy:support"),
        ],
        template_reply="I've recorded your complaint (ticket 1); we reply within 2 business days.",
    )
    lie = "I've recorded your complaint (ticket 2); we reply within 1 business days."
    assert "units" in verify_reply(lie, plan).failed_rules


@pytest.mark.parametrize(
    ("language", "text", "rule"),
    [
        (
            "en",
            "The Lumen Desk Lamp is a luxury lamp at $45.00; the Ember Burr Grinder is $89.99.",
            "invented_qualities",
        ),
        (
            "en",
            "The Lumen Desk Lamp ($45.00) is perfect for reading; the Ember Burr Grinder is $89.99.",
            "invented_qualities",
        ),
        (
            "zh",
            "Lumen Desk Lamp 是最好的台灯，$45.00；Ember Burr Grinder $89.99。",
            "invented_qualities",
        ),
        (
            "en",
            "Product title: Lumen Desk Lamp - Product price: $45.00 - Ember Burr Grinder $89.99",
            "field_labels",
        ),
    ],
)
def test_invented_qualities_and_fact_labels_are_rejected(
    language: str, text: str, rule: str
) -> None:
    assert rule in verify_reply(text, compare_plan(language)).failed_rules


def test_best_regards_is_not_praise() -> None:
    plan = track_plan()
    text = plan.template_reply + " Best regards!"
    assert "invented_qualities" not in verify_reply(text, plan).failed_rules


def test_the_customer_name_only_where_the_template_has_it() -> None:
    plan = track_plan()
    plan.customer_name = "Mara Quinn"
    text = "Mara, " + plan.template_reply
    assert verify_reply(text, plan).failed_rules == ["customer_name"]
    plan.template_reply = "Hi Mara Quinn! " + plan.template_reply
    assert verify_reply("Hi Mara Quinn! " + track_plan().template_reply, plan).ok


def test_the_streaming_gate_checks_a_sentence_in_the_context_of_the_ones_before() -> None:
    plan = compare_plan()
    shown: list[str] = []
    gate = _SentenceGate(Verifier(plan), shown.append, plan.max_chars)
    assert gate.feed("The Lumen Desk Lamp is a desk lamp. ")
    assert not gate.feed("It costs $89.99. ")
    assert shown == ["The Lumen Desk Lamp is a desk lamp."]
    assert gate.failure is not None and "relations" in gate.failure.failed_rules


def test_template_copies_are_recognised() -> None:
    template = "Order 10073 is in transit. Estimated delivery: 2026-12-02."
    assert is_template_copy(template, template)
    assert is_template_copy("Order 10073 is in transit. Estimated delivery: 2026-12-02!", template)
    assert not is_template_copy(
        "Good news: your order 10073 is on its way and should reach you on 2026-12-02.", template
    )


def test_a_dropped_negating_prefix_and_prompt_talk_are_rejected() -> None:
    plan = ReplyPlan(
        intent="policy",
        language="en",
        template_reply="Items must be unused, in their original packaging.",
    )
    assert (
        "negation"
        in verify_reply("Items must be used, in their original packaging.", plan).failed_rules
    )
    talk = "Here you go again. Rewrite it: items must be unused, in their original packaging."
    assert "prompt_artifacts" in verify_reply(talk, plan).failed_rules


def test_no_problem_is_not_a_negation() -> None:
    plan = ReplyPlan(
        intent="cancel",
        language="en",
        template_reply="Okay, I've stopped the cancellation. Is there anything else I can help with?",
    )
    ok = verify_reply(
        "No problem, I've stopped the cancellation. Can I help with anything else?", plan
    )
    assert "negation" not in ok.failed_rules
    bad = verify_reply("Okay, I've not stopped the cancellation. Is there anything else?", plan)
    assert "negation" in bad.failed_rules


def test_a_name_the_template_uses_must_be_kept() -> None:
    plan = track_plan()
    plan.customer_name = "Liam Chen"
    plan.template_reply = "Hello Liam! " + plan.template_reply
    dropped = verify_reply(track_plan().template_reply, plan)
    assert "customer_name" in dropped.failed_rules
    assert verify_reply("Hi Liam! " + track_plan().template_reply, plan).ok


def test_a_chinese_date_role_after_the_date_is_checked() -> None:
    plan = ReplyPlan(
        intent="track_order",
        action="order.tracked",
        language="zh",
        facts=[
            Fact(key="order.number", value="10074", source_id="order:10074"),
            Fact(key="shipment.latest_event_date", value="2026-11-29", source_id="shipment:61"),
            Fact(key="shipment.estimated_delivery", value="2026-12-01", source_id="shipment:61"),
        ],
        template_reply="订单 10074 运输中。最新动态（2026-11-29）：配送延误。预计送达日期：2026-12-01。",
    )
    # An accepted reply of the bundled model on the dev suite: the delivery date called
    # the latest update.
    bad = "您的订单 10074 正在运输中。2026-12-01 的最新动态是配送延误，预计送达日期：2026-12-01。"
    good = "您的订单 10074 正在运输中。2026-11-29 的最新动态是配送延误，预计 2026-12-01 送达。"
    assert "units" in verify_reply(bad, plan).failed_rules
    assert "units" not in verify_reply(good, plan).failed_rules
