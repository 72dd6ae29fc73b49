"""Entity spans and normalised values, overlap resolution and the catalog gazetteer."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlite_utils

from shopassist.engine.nlu.entities import Candidate, EntityExtractor, resolve_overlaps
from shopassist.engine.nlu.gazetteer import Gazetteer, ProductRecord, SkuRecord
from shopassist.engine.nlu.understand import catalog_vocabularies

TODAY = dt.date(2026, 11, 25)  # a Wednesday


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def only(extractor: EntityExtractor, text: str, etype: str) -> list[tuple[str, object]]:
    found = extractor.extract(text, TODAY)
    for e in found:
        assert text[e.start : e.end] == e.text
    return [(e.text, e.value) for e in found if e.type == etype]


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("#10023 hasn't arrived", "#10023", "10023"),
        ("where is order 10023?", "10023", "10023"),
        ("order number: 10023", "10023", "10023"),
        ("I want to return purchase 732201349959", "732201349959", "732201349959"),
        ("订单号10023还没发货", "10023", "10023"),
        ("订单 10023 在哪", "10023", "10023"),
        ("order no. 00123842 is wrong", "00123842", "00123842"),
        ("my order #55120 came damaged", "#55120", "55120"),
    ],
)
def test_order_numbers(extractor: EntityExtractor, text: str, span: str, value: str) -> None:
    assert only(extractor, text, "order_number") == [(span, value)]


@pytest.mark.parametrize(
    "text",
    [
        "it cost $100.00 and I want 2 pcs",
        "I ordered it in 2024",
        "call me on 13812345678",
        "I paid 2999 dollars",
        "I'd like 3 items",
    ],
)
def test_numbers_that_are_not_order_numbers(extractor: EntityExtractor, text: str) -> None:
    assert only(extractor, text, "order_number") == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("any update on 10082? still waiting on it", "10082"),
        ("where's 10082", "10082"),
        ("10082 still hasn't come and it's been over a week now", "10082"),
        ("has 10082 shipped yet or not", "10082"),
        ("is there any news about 55120, I've been waiting ages", "55120"),
        ("我的10082怎么还没到啊", "10082"),
        ("10082 到底什么时候发货，等了好久了", "10082"),
    ],
)
def test_bare_numbers_in_an_order_context(extractor: EntityExtractor, text: str, span: str) -> None:
    """Customers often give the number alone ("any update on 10082?"): with words about
    waiting, arriving or status around it, a bare 5+-digit run is the order."""
    assert only(extractor, text, "order_number") == [(span, span)]


@pytest.mark.parametrize(
    "text",
    [
        "any update on delivery to zip code 94103? still waiting",
        "my tracking number is 492564321348 but where is it",
        "still waiting, call me at 4155550134 when it arrives",
        "where can I get 12000 pcs shipped",
        "the parcel weighs 12500 grams, when will it arrive",
        "I've been waiting since 20261103",
        "still waiting for the 25000 mAh power bank to arrive",
        "邮编 100085 能送到吗，还在等",
    ],
)
def test_bare_numbers_that_look_like_something_else(extractor: EntityExtractor, text: str) -> None:
    assert only(extractor, text, "order_number") == []


@pytest.mark.parametrize(
    "text",
    [
        "北京市朝阳区建国路88号 100022",
        "寄到上海市徐汇区漕溪北路，200030，还没到",
        "where is it? it goes to 12 Baker St 10022",
        "still waiting, deliver to 5 Elm Avenue, 60614",
        "new zip 94103 please",
    ],
)
def test_postcode_after_an_address_is_not_an_order(extractor: EntityExtractor, text: str) -> None:
    """A 5-6 digit run right after 号/路/街/区/市 or a street word closes an address."""
    assert only(extractor, text, "order_number") == []


def test_house_number_is_not_a_size(extractor: EntityExtractor) -> None:
    assert only(extractor, "北京市朝阳区建国路88号 100022", "size") == []
    assert only(extractor, "42号的鞋还有吗", "size") == [("42号", "42")]


def test_order_number_after_an_address_still_counts(extractor: EntityExtractor) -> None:
    assert only(extractor, "建国路88号，订单100233还没到", "order_number") == [("100233", "100233")]


def test_invoice_numbers(extractor: EntityExtractor) -> None:
    assert only(extractor, "send INV-2026-10023 again", "invoice_number") == [
        ("INV-2026-10023", "INV-2026-10023")
    ]
    assert only(extractor, "invoice 5521 is missing", "invoice_number") == [("5521", "5521")]
    assert only(extractor, "I need bill #85632", "invoice_number") == [("#85632", "85632")]
    assert only(extractor, "发票号 20261234 开错了", "invoice_number") == [("20261234", "20261234")]


def test_emails_and_phones(extractor: EntityExtractor) -> None:
    assert only(extractor, "write to Jo.Lee+shop@Example.co.uk now", "email") == [
        ("Jo.Lee+shop@Example.co.uk", "jo.lee+shop@example.co.uk")
    ]
    assert only(extractor, "ring +1 415 555 0134", "phone") == [("+1 415 555 0134", "+14155550134")]
    assert only(extractor, "or (415) 555-0134", "phone") == [("(415) 555-0134", "+14155550134")]
    assert only(extractor, "手机13812345678", "phone") == [("13812345678", "+8613812345678")]
    assert only(extractor, "+86 138 1234 5678", "phone") == [
        ("+86 138 1234 5678", "+8613812345678")
    ]
    assert only(extractor, "我的邮箱是foo@x.com谢谢", "email") == [("foo@x.com", "foo@x.com")]


@pytest.mark.parametrize(
    ("text", "span", "amount", "currency"),
    [
        ("it was $49.99", "$49.99", 49.99, "USD"),
        ("I paid 50 dollars", "50 dollars", 50.0, "USD"),
        ("花了50元", "50元", 50.0, "CNY"),
        ("一共¥50", "¥50", 50.0, "CNY"),
        ("refund USD 20 please", "USD 20", 20.0, "USD"),
        ("it was $1,299.50", "$1,299.50", 1299.5, "USD"),
        # 美元, 欧元 and 英镑 end in renminbi's 元: the currency word decides, not its last character.
        ("有没有100美元以下的耳机", "100美元", 100.0, "USD"),
        ("预算 80 美金", "80 美金", 80.0, "USD"),
        ("大概50欧元", "50欧元", 50.0, "EUR"),
        ("20英镑以内", "20英镑", 20.0, "GBP"),
    ],
)
def test_money(
    extractor: EntityExtractor, text: str, span: str, amount: float, currency: str
) -> None:
    assert only(extractor, text, "money") == [(span, {"amount": amount, "currency": currency})]


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("I want two", "two", 2),
        ("2 pcs please", "2 pcs", 2),
        ("我要两件", "两件", 2),
        ("买3个", "3个", 3),
    ],
)
def test_quantities(extractor: EntityExtractor, text: str, span: str, value: int) -> None:
    assert only(extractor, text, "quantity") == [(span, value)]


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("it came yesterday", "yesterday", "2026-11-24"),
        ("I ordered last Monday", "last Monday", "2026-11-23"),
        ("shipped on Nov 3", "Nov 3", "2026-11-03"),
        ("3 days ago", "3 days ago", "2026-11-22"),
        ("上周买的", "上周", {"start": "2026-11-16", "end": "2026-11-22"}),
        ("昨天到的", "昨天", "2026-11-24"),
        ("12月3日能到吗", "12月3日", "2026-12-03"),
        ("ordered on 2026-10-30", "2026-10-30", "2026-10-30"),
        ("in January", None, None),
    ],
)
def test_dates(extractor: EntityExtractor, text: str, span: str | None, value: object) -> None:
    expected = [] if span is None else [(span, value)]
    assert only(extractor, text, "date") == expected


def test_colours_and_sizes(extractor: EntityExtractor) -> None:
    found = {
        (e.type, e.value)
        for e in extractor.extract("a navy hoodie in size M and a 蓝色 one in XL码", TODAY)
    }
    assert {("colour", "Navy"), ("size", "M"), ("colour", "Blue"), ("size", "XL")} <= found
    navy = extractor.extract("navy please", TODAY)[0]
    assert navy.meta["family"] == "Blue"
    assert only(extractor, "加大 size", "size") == [("加大", "XL")]
    assert only(extractor, "I'm sure", "size") == []


def test_overlaps_keep_longest_then_most_confident() -> None:
    chosen = resolve_overlaps(
        [
            Candidate("quantity", 50, 0, 2, 0.9),
            Candidate("money", {"amount": 50, "currency": "CNY"}, 0, 3, 0.9),
            Candidate("phone", "+8613812345678", 5, 16, 0.9),
            Candidate("order_number", "13812345678", 5, 16, 0.97),
        ]
    )
    assert [c.type for c in chosen] == ["money", "order_number"]


def test_order_keyword_beats_phone_reading(extractor: EntityExtractor) -> None:
    found = extractor.extract("order 13812345678 is late", TODAY)
    assert [(e.type, e.value) for e in found] == [("order_number", "13812345678")]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    products = [
        ProductRecord(1, "AeroBuds Pro", "AeroBuds Pro 主动降噪真无线耳机", "Sonique"),
        ProductRecord(2, "AeroBuds Lite", "AeroBuds Lite 轻巧真无线耳机", "Sonique"),
        ProductRecord(3, "Northfold Classic Hoodie", "经典连帽卫衣", "Northfold"),
    ]
    skus = [SkuRecord("NFD-CLH-BLK-S", 3, 31)]
    return Gazetteer(products, skus, common_words=["how", "much", "are", "the", "price"])


def test_gazetteer_exact_fuzzy_zh_and_sku(gazetteer: Gazetteer) -> None:
    def names(text: str) -> list[tuple[str, str, str]]:
        return [
            (c.type, c.value, text[c.start : c.end]) for c in resolve_overlaps(gazetteer.find(text))
        ]

    assert names("is the AeroBuds Lite in stock") == [("product", "AeroBuds Lite", "AeroBuds Lite")]
    assert names("how much are the airbuds pro?") == [("product", "AeroBuds Pro", "airbuds pro")]
    assert names("我想买经典连帽卫衣") == [("product", "Northfold Classic Hoodie", "经典连帽卫衣")]
    assert names("got NFD-CLH-BLK-S?") == [("sku", "NFD-CLH-BLK-S", "NFD-CLH-BLK-S")]
    assert names("how much are the") == []
    fuzzy = resolve_overlaps(gazetteer.find("airbuds pro"))[0]
    assert fuzzy.meta["product_id"] == 1 and 0 < fuzzy.confidence < 0.98


def test_gazetteer_finds_names_inside_chinese_and_unambiguous_partial_titles() -> None:
    products = [
        ProductRecord(1, "AeroBuds Pro", "AeroBuds Pro 主动降噪真无线耳机", "Sonique"),
        ProductRecord(4, "Tide ANC Earbuds", "Tide ANC 降噪耳机", "Orca Acoustics"),
        ProductRecord(54, "Kestrel View 27 4K Monitor", None, "Kestrel"),
        ProductRecord(55, "Kestrel View 34 Curved Ultrawide Monitor", None, "Kestrel"),
        ProductRecord(31, "Northfold Classic Pullover Hoodie", None, "Northfold"),
    ]
    gaz = Gazetteer(products, common_words=["compare", "the", "with", "classic", "pullover"])

    def names(text: str) -> list[tuple[object, str]]:
        return [
            (c.meta.get("product_id"), text[c.start : c.end])
            for c in resolve_overlaps(gaz.find(text))
        ]

    assert names("AeroBuds Pro 和 Tide ANC 哪个好") == [(1, "AeroBuds Pro"), (4, "Tide ANC")]
    assert names("AeroBuds Pro和Tide ANC哪个好") == [(1, "AeroBuds Pro"), (4, "Tide ANC")]
    assert names("compare the aerobuds pro with the tide anc") == [
        (1, "aerobuds pro"),
        (4, "tide anc"),
    ]
    assert names("is the Kestrel View 34 any good") == [(55, "Kestrel View 34")]
    # "Kestrel View" names two monitors: the brand is all that is certain.
    assert [p for p, _ in names("is the kestrel view any good")] == [None]
    # A prefix made only of ordinary words is not a product name.
    assert names("a classic pullover in red") == []
    assert names("the Northfold Classic in red") == [(31, "Northfold Classic")]
    partial = resolve_overlaps(gaz.find("tide anc"))[0]
    assert partial.meta["matched"] == "partial" and 0.75 <= partial.confidence < 0.9


def test_gazetteer_from_db_is_cached_and_refreshed(db: sqlite_utils.Database) -> None:
    db["products"].insert(
        {"id": 7, "handle": "trail-mug", "title": "Trailhead Enamel Mug", "brand": "Camplite"}
    )
    db["variants"].insert(
        {"product_id": 7, "sku": "CL-MUG-RED", "colour": "Signal Red", "price_cents": 1500,
         "options": json.dumps({"Color": "Signal Red"})}
    )  # fmt: skip
    gaz, options = catalog_vocabularies(db)
    assert catalog_vocabularies(db)[0] is gaz
    assert [c.value for c in gaz.find("a trailhead enamel mug")] == ["Trailhead Enamel Mug"]
    found = EntityExtractor(options).extract("the signal red one", TODAY)
    assert [(e.type, e.value) for e in found] == [("colour", "Signal Red")]
    db["products"].insert({"id": 8, "handle": "x", "title": "Summit Flask", "brand": "Camplite"})
    assert catalog_vocabularies(db)[0] is not gaz


def test_gazetteer_scales_without_scanning_every_product() -> None:
    products = [
        ProductRecord(i, f"Model{i} Widget {i % 97}", None, f"Brand{i % 50}") for i in range(10_000)
    ]
    gaz = Gazetteer(products, common_words=["where", "is", "my", "order"])
    hits = resolve_overlaps(gaz.find("do you have the model4242 widget 69"))
    assert hits and hits[0].meta["product_id"] == 4242
    assert resolve_overlaps(gaz.find("where is my order")) == []
