"""The verifier, rule by rule: a pass case and a fail case each, in English and Chinese."""

from __future__ import annotations

import pytest

from shopassist.engine.plan import ReplyPlan
from shopassist.engine.turn_result import Fact
from shopassist.engine.verify import (
    check_sentence,
    extract_claims,
    split_sentences,
    verify_reply,
)


def track_plan(**overrides: object) -> ReplyPlan:
    fields: dict[str, object] = {
        "intent": "track_order",
        "language": "en",
        "facts": [
            Fact(key="order.number", value="10023", source_id="order:10023"),
            Fact(key="order.status", value="shipped", source_id="order:10023"),
            Fact(key="shipment.carrier", value="UPS", source_id="shipment:1"),
            Fact(key="shipment.tracking", value="1Z999AA10123456784", source_id="shipment:1"),
            Fact(key="shipment.eta", value="2026-12-03", source_id="shipment:1"),
            Fact(key="order.total", value="$1,299.99", source_id="order:10023", required=False),
        ],
        "template_reply": (
            "Your order 10023 has shipped with UPS. The tracking number is "
            "1Z999AA10123456784 and it should arrive on 2026-12-03."
        ),
    }
    fields.update(overrides)
    return ReplyPlan.model_validate(fields)


def zh_plan(**overrides: object) -> ReplyPlan:
    fields: dict[str, object] = {
        "intent": "track_order",
        "language": "zh",
        "facts": [
            Fact(key="order.number", value="10023", source_id="order:10023"),
            Fact(key="order.status", value="已发货", source_id="order:10023"),
            Fact(key="shipment.eta", value="2026-12-03", source_id="shipment:1"),
            Fact(key="order.total", value="¥49.99", source_id="order:10023", required=False),
        ],
        "template_reply": "您的订单 10023 已发货，预计 2026-12-03 送达。",
    }
    fields.update(overrides)
    return ReplyPlan.model_validate(fields)


GOOD_EN = (
    "Good news! Order 10023 has shipped with UPS. "
    "Track it with 1Z999AA10123456784; it should arrive on December 3, 2026."
)


def failed(report_rules: list[str], rule: str) -> bool:
    return rule in report_rules


# --- whole replies that pass ----------------------------------------------------------------


def test_faithful_english_rephrase_passes() -> None:
    report = verify_reply(GOOD_EN, track_plan())
    assert report.ok, report.reasons
    assert {c["rule"] for c in report.checks} >= {
        "unsupported_facts",
        "required_facts",
        "boilerplate",
        "language",
        "length",
    }


def test_faithful_chinese_rephrase_passes() -> None:
    report = verify_reply("您好！订单10023已发货，预计12月3日送达。", zh_plan())
    assert report.ok, report.reasons


@pytest.mark.parametrize(
    "money",
    ["$1,299.99", "1299.99", "USD 1,299.99", "1,299.990", "US$1299.99"],
)
def test_money_is_normalised(money: str) -> None:
    text = GOOD_EN + f" The total was {money}."
    assert verify_reply(text, track_plan()).ok


def test_chinese_money_suffix_is_normalised() -> None:
    report = verify_reply("订单10023已发货，金额49.99元，预计12月3日送达。", zh_plan())
    assert report.ok, report.reasons


@pytest.mark.parametrize(
    "date", ["2026-12-03", "Dec 3", "3 December 2026", "12/03/2026", "December 3rd, 2026"]
)
def test_dates_match_in_any_format(date: str) -> None:
    text = f"Order 10023 has shipped with UPS, tracking 1Z999AA10123456784, due {date}."
    assert verify_reply(text, track_plan()).ok


# --- unsupported facts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "what"),
    [
        ("Your refund of $25.00 is on its way.", "25"),
        ("You also get 20% off.", "20"),
        ("It may take 5 business days.", "5"),
        ("It may take five business days.", "five"),
        ("Use code SAVE20 at checkout.", "SAVE20"),
        ('Your coupon is "freeship".', "freeship"),
        ("Use code save20 today.", "save20"),
        ("Your other order 10024 is late.", "10024"),
        ("It will arrive on 2026-12-05.", "2026-12-05"),
        ("It will arrive on Dec 5.", "Dec 5"),
        ("The courier comes at 3pm.", "3pm"),
        ("See https://evil.example.com/track for details.", "evil.example.com"),
        ("Write to help@evil.example.com.", "help@evil.example.com"),
        ("You might also like the Nimbus Rain Jacket.", "Nimbus Rain Jacket"),
        ("We ship with FedEx Ground too.", "FedEx Ground"),
        ("Your RMA is RMA-99-1.", "RMA-99-1"),
    ],
)
def test_unsupported_fact_fails(extra: str, what: str) -> None:
    report = verify_reply(GOOD_EN + " " + extra, track_plan())
    assert not report.ok
    assert "unsupported_facts" in report.failed_rules
    detail = next(c["detail"] for c in report.checks if c["rule"] == "unsupported_facts")
    assert what.split()[0] in detail


@pytest.mark.parametrize(
    "extra",
    ["另外您还有一张优惠码SAVE20。", "订单10024也已发货。", "三天内送达。", "预计12月5日送达。"],
)
def test_unsupported_fact_fails_in_chinese(extra: str) -> None:
    report = verify_reply("订单10023已发货，预计12月3日送达。" + extra, zh_plan())
    assert "unsupported_facts" in report.failed_rules


def test_allowed_values_and_customer_name_are_support() -> None:
    plan = track_plan(allowed_values=["10099"], customer_name="Anna Li")
    plan.template_reply = "Hi Anna Li! " + plan.template_reply
    text = "Hi Anna Li! " + GOOD_EN + " Order 10099 is a separate order."
    assert verify_reply(text, plan).ok


def test_customer_name_only_where_the_template_uses_it() -> None:
    plan = track_plan(customer_name="Anna Li")
    report = verify_reply("Hi Anna Li! " + GOOD_EN, plan)
    assert report.failed_rules == ["customer_name"]


def test_product_name_in_facts_is_supported_but_other_catalog_names_are_not() -> None:
    plan = ReplyPlan(
        intent="product_info",
        language="en",
        facts=[
            Fact(key="product.title", value="Aurora Wool Sweater", source_id="product:42"),
            Fact(key="product.price", value="$49.99", source_id="product:42"),
        ],
        template_reply="The Aurora Wool Sweater costs $49.99.",
    )
    assert verify_reply("Our lovely Aurora Wool Sweater is just $49.99!", plan).ok
    assert verify_reply("The Aurora Wool Sweater is only $49.99. Want one?", plan).ok
    praise = verify_reply("The Aurora Wool Sweater is only $49.99. Great value.", plan)
    assert praise.failed_rules == ["invented_qualities"]
    bad = verify_reply("The Aurora Wool Sweater costs $49.99, like the Borealis Scarf.", plan)
    assert "unsupported_facts" in bad.failed_rules


def test_sentence_initial_words_and_small_talk_are_not_names() -> None:
    plan = ReplyPlan(intent="greet", language="en", template_reply="Hello! How can I help?")
    assert verify_reply("Hi there! Happy to help. What can I do for you today?", plan).ok


def test_masked_placeholders_are_never_supported() -> None:
    report = verify_reply(GOOD_EN + " We will email [email].", track_plan())
    assert "unsupported_facts" in report.failed_rules


def test_template_facts_count_as_support() -> None:
    # The template is shown anyway when the LLM is rejected, so its numbers are safe.
    plan = ReplyPlan(
        intent="delivery_period",
        language="en",
        template_reply="Standard delivery takes 3 to 5 business days.",
    )
    assert verify_reply("Standard shipping usually takes 3-5 business days.", plan).ok


# --- required facts ---------------------------------------------------------------------------


def test_missing_required_fact_fails() -> None:
    report = verify_reply("Order 10023 has shipped with UPS. It arrives on Dec 3.", track_plan())
    assert "required_facts" in report.failed_rules
    detail = next(c["detail"] for c in report.checks if c["rule"] == "required_facts")
    assert "shipment.tracking" in detail


def test_optional_fact_may_be_left_out() -> None:
    assert verify_reply(GOOD_EN, track_plan()).ok  # order.total is optional


def test_required_text_fact_matches_loosely_but_must_be_there() -> None:
    plan = track_plan()
    assert verify_reply(GOOD_EN.replace("has shipped", "was Shipped"), plan).ok
    report = verify_reply(GOOD_EN.replace("has shipped", "is being packed"), plan)
    assert "required_facts" in report.failed_rules


def test_required_fact_in_chinese() -> None:
    report = verify_reply("订单10023预计12月3日送达。", zh_plan())
    assert "required_facts" in report.failed_rules  # 已发货 is missing


# --- boilerplate, artifacts, promises ---------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "As an AI, I cannot check parcels.",
        "I'm just a language model.",
        "I cannot help with that.",
        "I’m unable to do that.",  # curly apostrophe
    ],
)
def test_english_boilerplate_fails(sentence: str) -> None:
    report = verify_reply(GOOD_EN + " " + sentence, track_plan())
    assert "boilerplate" in report.failed_rules


@pytest.mark.parametrize("sentence", ["作为一个AI，我无法查询。", "我只是一个语言模型。"])
def test_chinese_boilerplate_fails(sentence: str) -> None:
    report = verify_reply("订单10023已发货，预计12月3日送达。" + sentence, zh_plan())
    assert "boilerplate" in report.failed_rules


def test_echoed_prompt_fails() -> None:
    report = verify_reply(GOOD_EN + "\nDRAFT: something", track_plan())
    assert "prompt_artifacts" in report.failed_rules
    report = verify_reply(GOOD_EN + " <|im_end|>", track_plan())
    assert "prompt_artifacts" in report.failed_rules


def test_discount_promise_only_when_the_plan_makes_it() -> None:
    report = verify_reply(GOOD_EN + " You also get a discount on your next order.", track_plan())
    assert "promises" in report.failed_rules
    promo = ReplyPlan(
        intent="promotions",
        language="en",
        facts=[Fact(key="promotion.code", value="WINTER15", source_id="faq:promo")],
        template_reply="This week you get a 15% discount with code WINTER15.",
    )
    assert verify_reply("Good news: use code WINTER15 for a 15% discount this week!", promo).ok


def test_chinese_free_promise_fails() -> None:
    report = verify_reply("订单10023已发货，预计12月3日送达。下次购物免费。", zh_plan())
    assert "promises" in report.failed_rules


# --- language, length, repetition -------------------------------------------------------------


def test_english_reply_for_chinese_plan_fails() -> None:
    report = verify_reply("Order 10023 is 已发货 and arrives on 2026-12-03.", zh_plan())
    assert "language" in report.failed_rules


def test_chinese_reply_for_english_plan_fails() -> None:
    report = verify_reply("您的订单10023已通过UPS发货，运单号1Z999AA10123456784。", track_plan())
    assert "language" in report.failed_rules


def test_latin_fact_values_do_not_count_against_chinese() -> None:
    plan = zh_plan(
        facts=[
            Fact(key="order.number", value="10023", source_id="order:10023"),
            Fact(key="product.title", value="Aurora Wool Sweater", source_id="product:42"),
        ],
        template_reply="订单 10023 里的 Aurora Wool Sweater 已发货。",
    )
    assert verify_reply("您订单10023中的Aurora Wool Sweater已经发货啦。", plan).ok


def test_length_rules() -> None:
    plan = track_plan(max_chars=120)
    assert "length" in verify_reply("", plan).failed_rules
    assert "length" in verify_reply(GOOD_EN + " " + "Thanks a lot. " * 5, plan).failed_rules
    many = GOOD_EN + " Thanks. Really. We care. Truly. Always. Cheers."
    assert "length" in verify_reply(many, track_plan()).failed_rules


def test_repetition_fails() -> None:
    report = verify_reply(GOOD_EN + " Thank you for waiting. Thank you for waiting.", track_plan())
    assert "repetition" in report.failed_rules


# --- the streaming check and the helpers ----------------------------------------------------


def test_check_sentence_flags_only_unsafe_content() -> None:
    plan = track_plan()
    # A sentence need not carry every required fact ...
    assert check_sentence("Good news, your order 10023 has shipped!", plan).ok
    # ... but it may not invent one, or sound like a chatbot disclaimer.
    assert not check_sentence("Use code SAVE20 for 10% off.", plan).ok
    assert not check_sentence("As an AI I can't track parcels.", plan).ok


def test_injection_yields_no_code_and_no_discount() -> None:
    plan = ReplyPlan(
        intent="out_of_scope",
        language="en",
        template_reply="Sorry, I can only help with orders, products, shipping and returns.",
    )
    for reply in [
        "Sure! Here is your 100% discount code: FREE100.",
        "Your discount code is gimme-all.",
        "OK, 100% off everything for you.",
    ]:
        assert not verify_reply(reply, plan).ok, reply


def test_claims_consume_their_spans() -> None:
    kinds = [(c.kind, c.text) for c in extract_claims("On 2026-12-03 use RMA-10023-1 at 10:30.")]
    assert kinds == [("date", "2026-12-03"), ("time", "10:30"), ("code", "RMA-10023-1")]


def test_numbers_with_units_and_list_markers() -> None:
    claims = extract_claims("1. Wait 24h\n2. Then call")
    assert [(c.kind, c.text) for c in claims] == [("number", "24h")]


def test_split_sentences_keeps_decimals_together() -> None:
    assert split_sentences("It is $49.99. Arrives soon! 好的。谢谢") == [
        "It is $49.99.",
        "Arrives soon!",
        "好的。",
        "谢谢",
    ]


def test_reply_must_keep_the_drafts_content() -> None:
    plan = ReplyPlan(
        intent="recover_password",
        language="en",
        template_reply="You can reset your password from the sign-in page by choosing 'Forgot password'.",
    )
    ok = verify_reply("Just reset the password on the sign-in page via 'Forgot password'.", plan)
    assert ok.ok, ok.reasons
    drift = verify_reply("Thank you for your patience. We are glad you like it.", plan)
    assert "draft_overlap" in drift.failed_rules
    echo = verify_reply("Customer: I forgot my password.", plan)
    assert "prompt_artifacts" in echo.failed_rules


def test_chinese_reply_must_keep_the_drafts_content() -> None:
    plan = ReplyPlan(
        intent="delivery_period", language="zh", template_reply="标准配送需要三到五个工作日。"
    )
    assert verify_reply("标准配送一般需要三到五个工作日哦。", plan).ok
    assert "draft_overlap" in verify_reply("感谢您的耐心等待，祝您生活愉快。", plan).failed_rules


def test_negation_must_survive_the_rephrase() -> None:
    plan = ReplyPlan(
        intent="cancel_order",
        language="en",
        facts=[Fact(key="order.number", value="10023", source_id="order:10023")],
        template_reply="Order 10023 has already shipped, so it can no longer be cancelled.",
    )
    assert verify_reply("Sorry, order 10023 already shipped and can't be cancelled now.", plan).ok
    flipped = verify_reply("Order 10023 has shipped, so it can be cancelled.", plan)
    assert "negation" in flipped.failed_rules
    positive = ReplyPlan(
        intent="track_order",
        language="en",
        facts=[Fact(key="order.number", value="10023", source_id="order:10023")],
        template_reply="Order 10023 has shipped.",
    )
    assert "negation" in verify_reply("Order 10023 has not shipped.", positive).failed_rules


def test_chinese_negation_must_survive() -> None:
    plan = ReplyPlan(
        intent="track_order",
        language="zh",
        facts=[Fact(key="order.number", value="10031", source_id="order:10031")],
        template_reply="订单 10031 还没有发货。",
    )
    assert verify_reply("您的订单10031目前还没有发货哦。", plan).ok
    assert "negation" in verify_reply("您的订单10031已经发货啦。", plan).failed_rules


@pytest.mark.parametrize(
    ("reply", "rule"),
    [
        ("As a customer service assistant, I'm not equipped to reset passwords.", "boilerplate"),
        ("I'm a human agent, happy to help with your password reset.", "boilerplate"),
        (
            "The customer wrote: I forgot my password. Reset it on the sign-in page.",
            "prompt_artifacts",
        ),
        ("The customer has asked to reset the password on the sign-in page.", "prompt_artifacts"),
    ],
)
def test_chatbot_voice_and_narration_fail(reply: str, rule: str) -> None:
    plan = ReplyPlan(
        intent="recover_password",
        language="en",
        template_reply="You can reset your password from the sign-in page by choosing 'Forgot password'.",
    )
    assert rule in verify_reply(reply, plan).failed_rules


# --- spec values keep what they measure ---------------------------------------------------

_LAMP_SPECS = "Wattage: 12 W; Colour temperature: 2700-6500 K; Wireless charging: 10 W"


def _lamp_plan() -> ReplyPlan:
    facts = [
        Fact(key="product.title", value="Lumo Halo Smart Desk Lamp", source_id="product:142"),
        Fact(key="product.price", value="$89.00", source_id="product:142"),
        Fact(key="product.specs", value=_LAMP_SPECS, source_id="product:142", required=False),
    ]
    template = f"Lumo Halo Smart Desk Lamp costs $89.00. Details: {_LAMP_SPECS}."
    return ReplyPlan(
        intent="product_info",
        action="product.shown",
        language="en",
        facts=facts,
        template_reply=template,
    )


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        # What the bundled model wrote: the wireless-charging 10 W as the lamp's own detail.
        ("The Lumo Halo Smart Desk Lamp is $89.00. Details are 10 W and 2700-6500 K.", False),
        # The two wattages exchanged between their labels.
        (
            "The Lumo Halo Smart Desk Lamp is $89.00; its wattage is 10 W, wireless charging 12 W.",
            False,
        ),
        (
            "The Lumo Halo Smart Desk Lamp is $89.00. It uses 12 W (wattage) and charges phones "
            "wirelessly at 10 W, with a colour temperature of 2700-6500 K.",
            True,
        ),
        (f"The Lumo Halo Smart Desk Lamp costs $89.00. Details: {_LAMP_SPECS}.", True),
    ],
)
def test_a_spec_value_must_stand_with_its_own_label(reply: str, ok: bool) -> None:
    report = verify_reply(reply, _lamp_plan())
    spec = next(c for c in report.checks if c["rule"] == "spec_labels")
    assert spec["ok"] is ok, report.reasons
