"""The headline failures of a shop set up from nothing: no policy value from code ever reaches
a reply; unknown values are said to be unknown, a colleague is offered and the question is
recorded as a knowledge gap; a shop's own policy file answers the same questions in en and zh.

Driven through the real command line (``init``, ``import-policies``, ``converse --jsonl``,
``stats --json``) with the real intent classifier, as a new shop would meet it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopassist.cli import app

QUESTIONS_EN = [
    "can I pay with paypal?",
    "what is your return policy?",
    "how long does shipping take?",
    "what's the warranty?",
    "can I cancel for free?",
    "what are your opening hours?",
]
QUESTIONS_ZH = [
    "可以用支付宝付款吗？",
    "你们的退货政策是什么？",
    "配送需要多长时间？",
    "保修期多久？",
    "可以免费取消订单吗？",
    "你们的营业时间是什么时候",
]
# Values the demo shop's policy and the old code defaults gave; none may appear without a
# policy file, and none of them is in OTHER_SHOP below, so a leftover default is caught.
CODE_VALUES = [
    "30 days", "30 天", "45", "5 business", "5 个工作日", "1 business day", "24", "12 months",
    "12 个月", "Visa", "PayPal", "支付宝", "Apple Pay", "$5.99", "3–5", "5%", "$25", "Standard",
    "标准配送", "Monday", "周一", "support@", "+1 800",
]  # fmt: skip
# The key each question needs; its gap must be listed by `stats --json`.
GAP_KEYS = {
    "payments.accepted",
    "returns.window_days",
    "shipping.methods",
    "warranty.months",
    "cancellation.fee_percent",
    "contact.hours",
}

OTHER_SHOP = """
[shop]
name = "Fjord Supply"
currency = "EUR"

[returns]
window_days = 21
refund_days = 3
return_shipping = { en = "the customer pays the postage", zh = "邮费由顾客承担" }

[shipping]
dispatch_days = 2
[[shipping.methods]]
name = { en = "Ground parcel", zh = "陆运包裹" }
days = "4-6"
price = 7.50

[payments]
accepted = ["Klarna", { en = "bank transfer", zh = "银行转账" }]

[warranty]
months = 18

[cancellation]
free_hours = 6
fee_percent = 10

[contact]
hours = { en = "Tuesday to Saturday 10:00-18:00 CET", zh = "周二至周六 10:00-18:00（中欧时间）" }
email = "hello@fjord.example"
"""

# Per question: what the shop's own file makes the reply say (en, zh).
EXPECTED = [
    (["Klarna", "bank transfer"], ["Klarna", "银行转账"]),
    (["21 days"], ["21 天"]),
    (["Ground parcel", "7.50", "4–6"], ["陆运包裹", "7.50", "4–6"]),
    (["18"], ["18"]),
    (["6 hours", "10%"], ["6 小时", "10%"]),
    (["Tuesday to Saturday 10:00-18:00 CET"], ["周二至周六 10:00-18:00（中欧时间）"]),
]


def _run(args: list[str], stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def _converse(db: Path, questions: list[str]) -> list[dict[str, Any]]:
    lines = "".join(
        json.dumps({"session": f"q{n}", "text": q}, ensure_ascii=False) + "\n"
        for n, q in enumerate(questions)
    )
    out = _run(["converse", "--jsonl", "--no-llm", "--db", str(db)], lines)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def empty_shop(tmp_path: Path) -> Path:
    path = tmp_path / "x.db"
    _run(["init", "--db", str(path)])
    return path


@pytest.mark.parametrize("questions", [QUESTIONS_EN, QUESTIONS_ZH], ids=["en", "zh"])
def test_without_a_policy_file_no_value_from_code_appears(
    empty_shop: Path, questions: list[str]
) -> None:
    turns = _converse(empty_shop, questions)
    assert len(turns) == len(questions)
    for turn in turns:
        reply = turn["reply"]
        leaked = [v for v in CODE_VALUES if v in reply]
        assert leaked == [], (turn["text"], reply)
        assert not any(f["source_id"].startswith("policy:") for f in turn.get("facts", [])), reply
        colleague = ("member of our team", "人工客服")
        assert any(word in reply for word in colleague), (turn["text"], reply)
    stats = json.loads(_run(["stats", "--json", "--db", str(empty_shop)]))
    gaps = {g["answer_key"]: g for g in stats["knowledge_gaps"]}
    assert set(gaps) >= GAP_KEYS, sorted(gaps)
    assert all(g["kind"] == "policy" for g in gaps.values())
    asked = {q for g in gaps.values() for q in g["questions"]}
    assert set(questions) <= asked


def test_a_gap_question_is_stored_masked(empty_shop: Path) -> None:
    _converse(empty_shop, ["can I pay with paypal? my email is jo.doe@example.com"])
    stats = json.loads(_run(["stats", "--json", "--db", str(empty_shop)]))
    (gap,) = [g for g in stats["knowledge_gaps"] if g["answer_key"] == "payments.accepted"]
    assert "jo.doe@example.com" not in json.dumps(gap) and gap["questions"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_shops_own_policy_file_answers_the_same_questions(
    empty_shop: Path, tmp_path: Path, language: str
) -> None:
    policy = tmp_path / "policies.toml"
    policy.write_text(OTHER_SHOP, encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    questions = QUESTIONS_EN if language == "en" else QUESTIONS_ZH
    turns = _converse(empty_shop, questions)
    for turn, (en, zh) in zip(turns, EXPECTED, strict=True):
        reply = turn["reply"]
        for value in en if language == "en" else zh:
            assert value in reply, (turn["text"], reply)
        leaked = [v for v in CODE_VALUES if v in reply]
        assert leaked == [], (turn["text"], reply)
    # Everything asked was answered from the file: no gap for a key it sets.
    stats = json.loads(_run(["stats", "--json", "--db", str(empty_shop)]))
    assert not {g["answer_key"] for g in stats["knowledge_gaps"]} & GAP_KEYS


def test_an_faq_still_answers_what_the_policy_file_does_not_cover(
    empty_shop: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policies.toml"
    policy.write_text(OTHER_SHOP.replace("[payments]", "[unused]").split("[unused]")[0])
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    faq = tmp_path / "faq.csv"
    faq.write_text(
        "key,language,question,answer,intent,tags,kind\n"
        "paying,en,Which payment methods can I use?,"
        "We take iDEAL and Klarna at checkout.,check_payment_methods,payment,faq\n",
        encoding="utf-8",
    )
    _run(["import-faq", str(faq), "--db", str(empty_shop)])
    (turn,) = _converse(empty_shop, ["which payment methods can I use?"])
    assert "iDEAL and Klarna" in turn["reply"]
    assert any(s["kind"] == "faq" for s in turn["sources"])
    stats = json.loads(_run(["stats", "--json", "--db", str(empty_shop)]))
    assert stats["knowledge_gaps"] == []  # answered: no gap recorded


def test_return_shipping_is_answered_from_the_shops_words(empty_shop: Path, tmp_path: Path) -> None:
    (turn,) = _converse(empty_shop, ["who pays for return shipping?"])
    assert "member of our team" in turn["reply"] and "free" not in turn["reply"]
    policy = tmp_path / "policies.toml"
    policy.write_text(OTHER_SHOP, encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    (turn,) = _converse(empty_shop, ["who pays for return shipping?"])
    assert "the customer pays the postage" in turn["reply"], turn["reply"]
    assert any(f["source_id"] == "policy:returns.return_shipping" for f in turn["facts"])


# --- questions the policy answers with yes or no, or can't answer ---------------------------

# A shop that ships to two countries, names one courier, and excludes two kinds of item.
COASTAL = """
[shop]
name = "Coastal Kites"
currency = "USD"

[returns]
window_days = 21
non_returnable = [{ en = "gift cards", zh = "礼品卡" }, { en = "final-sale items", zh = "清仓商品" }]

[shipping]
countries = ["US", "CA"]
[[shipping.methods]]
name = { en = "Ground", zh = "陆运" }
days = "4-6"
price = 7.50
[[shipping.carriers]]
code = "UPS"
name = "UPS"
"""


@pytest.fixture
def coastal(empty_shop: Path, tmp_path: Path) -> Path:
    policy = tmp_path / "coastal.toml"
    policy.write_text(COASTAL, encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    return empty_shop


def _gaps(db: Path) -> set[str]:
    stats = json.loads(_run(["stats", "--json", "--db", str(db)]))
    return {g["answer_key"] for g in stats["knowledge_gaps"]}


def _cites(turn: dict[str, Any], key: str) -> bool:
    return any(f["source_id"] == f"policy:{key}" for f in turn["facts"])


@pytest.mark.parametrize(
    ("yes", "no", "yes_word", "no_word"),
    [
        ("do you ship to Canada?", "do you ship to Mexico?", "Yes", "don't ship to Mexico"),
        ("能寄到加拿大吗", "能寄到墨西哥吗", "可以", "不寄往墨西哥"),
    ],
    ids=["en", "zh"],
)
def test_ship_to_a_country_is_answered_from_the_shops_countries(
    coastal: Path, yes: str, no: str, yes_word: str, no_word: str
) -> None:
    ok, refused = _converse(coastal, [yes, no])
    assert yes_word in ok["reply"] and _cites(ok, "shipping.countries"), ok["reply"]
    # Yes, and how: Coastal's one method has no regions, so it serves every listed country.
    assert ("Ground" in ok["reply"] or "陆运" in ok["reply"]) and "7.50" in ok["reply"]
    assert no_word in refused["reply"] and _cites(refused, "shipping.countries"), refused["reply"]
    assert ("Canada" in refused["reply"]) or ("加拿大" in refused["reply"])  # where it does ship


@pytest.mark.parametrize("question", ["do you ship to Mexico?", "能寄到加拿大吗"])
def test_ship_to_a_country_without_countries_set_is_a_gap(empty_shop: Path, question: str) -> None:
    (turn,) = _converse(empty_shop, [question])
    assert any(w in turn["reply"] for w in ("member of our team", "人工客服")), turn["reply"]
    assert not turn["facts"] and "shipping.countries" in _gaps(empty_shop)


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("can I return gift cards?", "gift cards can't be returned"),
        ("can I return final sale items?", "final-sale items can't be returned"),
        ("清仓的能退吗", "清仓商品不支持退货"),
        ("礼品卡能退吗", "礼品卡不支持退货"),
    ],
)
def test_a_non_returnable_item_is_answered_from_the_shops_list(
    coastal: Path, question: str, item: str
) -> None:
    (turn,) = _converse(coastal, [question])
    assert item in turn["reply"] and _cites(turn, "returns.non_returnable"), turn["reply"]
    assert "21" not in turn["reply"]  # not the general window


def test_a_returnable_question_still_gets_the_window(coastal: Path) -> None:
    (turn,) = _converse(coastal, ["what is your return policy?"])
    assert "21 days" in turn["reply"] and "can't be returned" not in turn["reply"]


@pytest.mark.parametrize(
    ("listed", "other"),
    [("can you ship with UPS?", "can you ship with FedEx?"), ("能发UPS吗", "能发顺丰吗")],
    ids=["en", "zh"],
)
def test_a_courier_is_answered_from_the_shops_carriers(
    coastal: Path, listed: str, other: str
) -> None:
    yes, no = _converse(coastal, [listed, other])
    assert yes["reply"].startswith(("Yes", "可以")) and _cites(yes, "shipping.carriers")
    assert not no["reply"].startswith(("Yes", "可以")) and "UPS" in no["reply"], no["reply"]
    assert "Ground" not in yes["reply"] + no["reply"] and "陆运" not in yes["reply"] + no["reply"]


@pytest.mark.parametrize("question", ["can you ship with UPS?", "能发顺丰吗"])
def test_a_courier_without_carriers_set_is_a_gap(
    empty_shop: Path, tmp_path: Path, question: str
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(COASTAL.split("[[shipping.carriers]]")[0], encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    (turn,) = _converse(empty_shop, [question])
    assert any(w in turn["reply"] for w in ("member of our team", "人工客服")), turn["reply"]
    assert "Ground" not in turn["reply"] and "陆运" not in turn["reply"]
    assert "shipping.carriers" in _gaps(empty_shop)


@pytest.mark.parametrize(
    ("question", "place", "said"),
    [
        ("how much is shipping to Alaska?", "Alaska", "prices and times our delivery options list"),
        ("发新疆运费多少", "新疆", "列出的价格"),
    ],
    ids=["en", "zh"],
)
def test_shipping_cost_to_a_region_gives_the_listed_prices_and_says_so(
    coastal: Path, question: str, place: str, said: str
) -> None:
    (turn,) = _converse(coastal, [question])
    reply = turn["reply"]
    assert "7.50" in reply and said in reply and place in reply, reply
    assert "shipping.methods.regions" in _gaps(coastal)


def test_the_refund_time_question_is_a_gap_in_refund_days(empty_shop: Path) -> None:
    _converse(empty_shop, ["how long until I get my refund?", "什么时候能退款"])
    gaps = _gaps(empty_shop)
    assert "returns.refund_days" in gaps and "returns.window_days" not in gaps, gaps


def test_country_names_come_from_iso_data_in_both_languages() -> None:
    from shopassist.engine.dialogue.policy_questions import (
        country_in,
        country_name,
        destination_place,
        resolve_country,
    )

    assert country_in("do you ship to Mexico?") == "MX"
    assert country_in("能寄到加拿大吗") == "CA"
    assert country_in("do you ship to the UK?") == "GB"
    assert country_in("can you deliver to Viet Nam?") == "VN"  # any ISO country, not a table
    assert country_in("do you ship to New Mexico?") is None  # a state, not Mexico
    assert destination_place("do you ship to New Mexico?") == "New Mexico"
    assert country_in("how long does shipping take?") is None
    assert resolve_country("Canada") == resolve_country("CA") == "CA"
    assert country_name("US", "en") == "the United States" and country_name("MX", "zh") == "墨西哥"


@pytest.mark.parametrize(
    ("question", "place"),
    [("how long does shipping to Texas take?", "Texas"), ("寄新疆要几天", "新疆")],
    ids=["en", "zh"],
)
def test_delivery_time_to_a_region_gives_the_listed_times_and_says_so(
    coastal: Path, question: str, place: str
) -> None:
    (turn,) = _converse(coastal, [question])
    reply = turn["reply"]
    assert "4–6" in reply and place in reply and f"{place} take" not in reply, reply


def test_shipping_to_a_region_without_cost_or_time_is_a_gap(coastal: Path) -> None:
    (turn,) = _converse(coastal, ["do you ship to Alaska?"])
    assert "member of our team" in turn["reply"] and "Ground" not in turn["reply"]
    assert "shipping.methods.regions" in _gaps(coastal)


# --- which methods serve a country: `regions` against the shop's home country -------------------

# A Dutch shop (home: the first listed country) with a domestic, an international and a
# one-country method, and one without regions (every listed country).
TULIP = """
[shop]
currency = "EUR"

[shipping]
countries = ["NL", "BE", "DE"]
[[shipping.methods]]
name = { en = "Bike courier", zh = "自行车快递" }
days = 1
price = 4.25
regions = ["DOMESTIC"]
[[shipping.methods]]
name = { en = "Euro parcel", zh = "欧洲包裹" }
days = "3-4"
price = 12.40
regions = ["INTL"]
[[shipping.methods]]
name = { en = "Belgian pickup point", zh = "比利时自提点" }
days = 2
price = 6.10
regions = ["BE"]
[[shipping.methods]]
name = { en = "Pallet freight", zh = "托盘货运" }
days = "5-9"
price = 80
"""


@pytest.fixture
def tulip(empty_shop: Path, tmp_path: Path) -> Path:
    policy = tmp_path / "tulip.toml"
    policy.write_text(TULIP, encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    return empty_shop


@pytest.mark.parametrize(
    ("question", "serving", "not_serving"),
    [
        ("do you ship to Belgium?", ["Euro parcel", "12.40", "3–4", "Belgian pickup", "6.10", "Pallet"], ["Bike courier", "4.25"]),
        ("do you ship to the Netherlands?", ["Bike courier", "4.25", "Pallet"], ["Euro parcel", "Belgian", "12.40"]),
        ("do you ship to Germany?", ["Euro parcel", "12.40", "Pallet"], ["Bike courier", "Belgian"]),
        ("how much is shipping to Germany?", ["Euro parcel", "12.40"], ["Bike courier", "Belgian"]),
        ("能寄到比利时吗", ["欧洲包裹", "12.40", "比利时自提点", "6.10"], ["自行车快递"]),
        ("寄到荷兰运费多少", ["自行车快递", "4.25", "托盘货运"], ["欧洲包裹", "比利时自提点"]),
    ],
)  # fmt: skip
def test_a_yes_to_a_country_says_the_methods_that_serve_it(
    tulip: Path, question: str, serving: list[str], not_serving: list[str]
) -> None:
    (turn,) = _converse(tulip, [question])
    reply = turn["reply"]
    assert reply.startswith(("Yes", "可以")) and _cites(turn, "shipping.methods"), reply
    assert all(s in reply for s in serving), reply
    assert not any(s in reply for s in not_serving), reply


def test_a_listed_country_no_method_serves_is_a_regions_gap(
    empty_shop: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(TULIP.split('[[shipping.methods]]\nname = { en = "Euro')[0], encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    (turn,) = _converse(empty_shop, ["do you ship to Germany?"])
    assert turn["reply"].startswith("Yes") and "Bike courier" not in turn["reply"], turn["reply"]
    assert "member of our team" in turn["reply"]
    assert "shipping.methods.regions" in _gaps(empty_shop)


@pytest.mark.parametrize(
    ("regions", "error"),
    [
        ('["Netherlands"]', "is not a two-letter ISO country code"),
        ('["nl"]', "is not a two-letter ISO country code"),
    ],
)
def test_regions_are_country_codes_domestic_or_intl(
    empty_shop: Path, tmp_path: Path, regions: str, error: str
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(TULIP.replace('["BE"]', regions), encoding="utf-8")
    result = CliRunner().invoke(app, ["import-policies", str(policy), "--db", str(empty_shop)])
    assert result.exit_code != 0 and error in result.output and "regions" in result.output


def test_domestic_needs_a_home_country(empty_shop: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(TULIP.replace('countries = ["NL", "BE", "DE"]', ""), encoding="utf-8")
    result = CliRunner().invoke(app, ["import-policies", str(policy), "--db", str(empty_shop)])
    assert result.exit_code != 0 and "shop.country" in result.output, result.output
    # shop.country alone is a home country: the file then loads.
    policy.write_text(TULIP.replace('countries = ["NL", "BE", "DE"]', "").replace(
        'currency = "EUR"', 'currency = "EUR"\ncountry = "NL"'), encoding="utf-8")  # fmt: skip
    _run(["import-policies", str(policy), "--db", str(empty_shop)])


# --- an order still waiting for payment: payments.pending_hold_hours ---------------------------


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("how long is a pending order kept before payment?", "36 hours"),
        ("付款没成功，订单显示未支付会怎样", "36 小时"),
    ],
    ids=["en", "zh"],
)
def test_a_pending_order_question_states_the_shops_hold_time(
    empty_shop: Path, tmp_path: Path, question: str, said: str
) -> None:
    (turn,) = _converse(empty_shop, [question])
    assert any(w in turn["reply"] for w in ("member of our team", "人工客服")), turn["reply"]
    assert "36" not in turn["reply"] and "payments.pending_hold_hours" in _gaps(empty_shop)
    policy = tmp_path / "p.toml"
    policy.write_text(
        '[payments]\npending_hold_hours = 36\n[cancellation]\nfree_statuses = ["pending"]\n',
        encoding="utf-8",
    )
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    (turn,) = _converse(empty_shop, [question])
    assert said in turn["reply"] and _cites(turn, "payments.pending_hold_hours"), turn["reply"]
    # cancellation.free_statuses lists pending: cancelling it is free, said from the policy.
    assert "is free" in turn["reply"] or "不收取费用" in turn["reply"], turn["reply"]


# --- what a member tier gets: tiers.<tier> ------------------------------------------------------

TIERED = """
[shop]
currency = "EUR"

[returns]
window_days = 14

[tiers.gold]
return_window_days = 60
free_return_shipping = true
free_cancellation = false
qualify_spend = 750

[tiers.silver]
free_standard_shipping = true

[[promotions]]
code = "SPRING5"
percent = 5
"""


@pytest.mark.parametrize(
    ("question", "said", "not_said"),
    [
        ("what perks do gold members have?", ["Gold members get", "60-day", "free return shipping", "750"], ["Silver", "cancellation"]),
        ("tell me about your membership tiers, what benefits?", ["Gold members get", "Silver members get", "free standard shipping"], []),
        ("会员有哪些权益？", ["Gold 会员享有", "60 天退货期", "免费退货运费", "Silver 会员享有", "标准配送免运费"], ["免费取消"]),
    ],
)  # fmt: skip
def test_tier_benefits_are_answered_from_the_shops_tiers(
    empty_shop: Path, tmp_path: Path, question: str, said: list[str], not_said: list[str]
) -> None:
    (turn,) = _converse(empty_shop, [question])
    reply = turn["reply"]
    assert any(w in reply for w in ("member of our team", "人工客服")), reply
    assert "tiers" in _gaps(empty_shop)
    policy = tmp_path / "p.toml"
    policy.write_text(TIERED, encoding="utf-8")
    _run(["import-policies", str(policy), "--db", str(empty_shop)])
    (turn,) = _converse(empty_shop, [question])
    reply = turn["reply"]
    assert turn["action"] == "policy.tier_benefits", (turn["action"], reply)
    assert all(s in reply for s in said) and not any(s in reply for s in not_said), reply
    assert "SPRING5" not in reply and "14" not in reply  # not promotions, not the base window
