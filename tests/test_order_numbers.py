"""Order numbers as the shop writes them, and the numbers that are never orders (en + zh).

The shapes are learned from a shop's stored numbers (kb.order_numbers) and handed to the
extractor; every expected value is the number as stored, so look-ups find the order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shopassist.engine.nlu.entities import EntityExtractor
from shopassist.engine.nlu.order_numbers import is_cn_id_number
from shopassist.kb.order_numbers import learn_shapes

FIXTURES = Path(__file__).parent / "fixtures" / "import"

# Stored numbers of four shops (Shopify '#W...' is stored without the '#').
SHOPS = {
    "letters": ["W8665881", "W8665902", "W8670011"],
    "dashed": ["SA-5107", "SA-5108", "SA-5230"],
    "dated": ["ORD-2024-00012", "ORD-2024-00013", "ORD-2025-00001"],
    "amazon": ["112-1234567-1234567", "113-7654321-7654321", "114-1111111-2222222"],
    "plain": ["10023", "10024", "10099"],
}


def orders_in(shop: str | None, text: str) -> list[str]:
    shapes = learn_shapes(SHOPS[shop]) if shop else None
    extractor = EntityExtractor(order_shapes=shapes)
    return [e.value for e in extractor.extract(text) if e.type == "order_number"]


@pytest.mark.parametrize(
    ("shop", "text", "expected"),
    [
        # Letters + digits, with or without '#', spaces, case, glued to order / 订单.
        ("letters", "where is order #W8665881?", "W8665881"),
        ("letters", "where is my order w8665881", "W8665881"),
        ("letters", "W 8665881 hasn't arrived yet", "W8665881"),
        ("letters", "order#W8665881 status please", "W8665881"),
        ("letters", "我的订单W8665881到哪了", "W8665881"),
        ("letters", "订单号：#w8665881，还没发货", "W8665881"),
        ("letters", "can I cancel W8665902", "W8665902"),
        # A not-order word further back does not hide the shop's own letter shape.
        ("letters", "return the gift card from W8665902 please", "W8665902"),
        # A dropped letter prefix after an order word is still the shop's number.
        ("letters", "my order number is 8665881", "W8665881"),
        # Prefix, dash, digits.
        ("dashed", "order SA-5107 is late", "SA-5107"),
        ("dashed", "has sa5107 shipped?", "SA-5107"),
        ("dashed", "refund for SA 5107 please", "SA-5107"),
        ("dashed", "订单SA-5107能退货吗", "SA-5107"),
        ("dashed", "订单sa5107到哪了", "SA-5107"),
        # Letters, year and serial.
        ("dated", "where is ORD-2024-00012", "ORD-2024-00012"),
        ("dated", "order ord 2024 00012 please", "ORD-2024-00012"),
        ("dated", "订单号 ORD-2024-00012 的物流", "ORD-2024-00012"),
        # Amazon's 3-7-7 digits.
        ("amazon", "where is 112-1234567-1234567", "112-1234567-1234567"),
        ("amazon", "order # 112-1234567-1234567 never came", "112-1234567-1234567"),
        ("amazon", "订单112-1234567-1234567还没到", "112-1234567-1234567"),
        # Plain numbers keep working.
        ("plain", "where is order 10023", "10023"),
        ("plain", "#10023 hasn't arrived", "10023"),
        ("plain", "订单10023到哪了", "10023"),
        ("plain", "it's 10024", "10024"),
        # No shapes known (a database without orders): letter codes after an order word.
        (None, "where is order #W8665881?", "W8665881"),
        (None, "订单号SA-5107", "SA-5107"),
        (None, "my order 112-1234567-1234567", "112-1234567-1234567"),
        (None, "where is order 10023", "10023"),
    ],
)
def test_reads_the_shops_order_numbers(shop, text, expected):
    assert orders_in(shop, text) == [expected]


@pytest.mark.parametrize(
    ("shop", "text"),
    [
        # Postcodes: after a US state, after a street, after postcode words.
        ("plain", "ship it to 4000 15th Ave NE, Seattle, WA 98195 please, it's late"),
        ("plain", "my new address is Seattle, WA 98195-1234, can you update my order"),
        (None, "please send the order to Seattle WA 98195"),
        ("plain", "送到北京市朝阳区建国路88号 100022，还没到"),
        ("plain", "邮编100022，我的订单还没到"),
        ("plain", "the zip is 98195 for my order"),
        # Phone numbers.
        ("plain", "call me at 206-555-0101 about my order"),
        ("plain", "my phone number is 2065550101, where is my order"),
        ("plain", "电话13800138000，订单还没到"),
        # Chinese ID numbers, with or without the word 身份证.
        ("plain", "身份证号11010519491231002X，订单还没到"),
        (None, "my order needs 11010519491231002X for customs"),
        ("letters", "身份证 110105194912310021 订单"),
        # Invoice numbers: INV-2026-10001 is not order 2026 (nor 10001).
        ("plain", "I need invoice INV-2026-10001 for my order"),
        (None, "where is my order INV-2026-10001"),
        ("dated", "发票INV-2026-10001开错了，订单在哪"),
        ("plain", "invoice number 2026-10001 for my order"),
        # Tracking numbers.
        ("plain", "tracking number 1Z999AA10123456784 shows nothing for my order"),
        ("dashed", "the tracking RR123456789PT for my order is stuck"),
        ("plain", "快递单号SF1234567890123查不到，订单呢"),
        ("plain", "快递单号 7712345678901 一直没更新"),
        # Other shops' shapes are not this shop's: a bare number of the wrong length.
        ("letters", "it's 10096"),
        ("dashed", "where is 20261103"),
    ],
)
def test_never_reads_these_as_order_numbers(shop, text):
    assert orders_in(shop, text) == []


@pytest.mark.parametrize(
    ("shop", "text", "expected"),
    [
        ("plain", "ship order 10023 to 4000 15th Ave NE, Seattle, WA 98195", ["10023"]),
        ("plain", "订单10023送到北京市朝阳区建国路88号 100022", ["10023"]),
        ("letters", "order W8665881, phone 206-555-0101, zip 98195", ["W8665881"]),
        ("dated", "ORD-2024-00012 发票INV-2026-10001 身份证11010519491231002X", ["ORD-2024-00012"]),
    ],
)
def test_only_the_order_among_other_numbers(shop, text, expected):
    assert orders_in(shop, text) == expected


def test_order_beside_an_invoice_and_a_postcode_keeps_only_the_order():
    text = "order SA-5107: invoice INV-2026-10001, ship to Seattle, WA 98195"
    assert orders_in("dashed", text) == ["SA-5107"]
    extractor = EntityExtractor(order_shapes=learn_shapes(SHOPS["dashed"]))
    invoices = [e.value for e in extractor.extract(text) if e.type == "invoice_number"]
    assert invoices == ["INV-2026-10001"]


def test_span_covers_what_the_customer_typed():
    extractor = EntityExtractor(order_shapes=learn_shapes(SHOPS["dashed"]))
    (entity,) = [e for e in extractor.extract("has sa 5107 shipped?") if e.type == "order_number"]
    assert (entity.text, entity.value) == ("sa 5107", "SA-5107")


@pytest.mark.parametrize(
    ("number", "valid"),
    [("11010519491231002X", True), ("11010519491231002x", True), ("110101199003077777", False),
     ("110105194913310021", False), ("1101051949123100", False)],
)  # fmt: skip
def test_chinese_id_check_digit(number, valid):
    assert is_cn_id_number(number) is valid


def test_shop_prefix_that_looks_like_another_document_is_still_the_shops():
    """A shop numbering its orders 'REF-1234' keeps them, though REF is a not-order prefix."""
    shapes = learn_shapes(["REF-1234", "REF-1235"])
    extractor = EntityExtractor(order_shapes=shapes)
    found = [e.value for e in extractor.extract("where is REF-1234") if e.type == "order_number"]
    assert found == ["REF-1234"]


def test_understander_learns_the_shapes_from_the_database(db, tmp_path):
    from pathlib import Path

    from shopassist.engine.nlu.understand import Understander
    from shopassist.kb.importers.orders import import_orders

    fixtures = Path(__file__).parent / "fixtures" / "import"
    import_orders(db, fixtures / "woocommerce_orders.csv")
    understander = Understander.load(db=db)
    result = understander.understand("订单sa 5102到哪了")
    assert [(e.value, e.text) for e in result.entities if e.type == "order_number"] == [
        ("SA-5102", "sa 5102")
    ]


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("my zip is 98195, where is my order?", None),
        ("Seattle, WA 98195 - where is my order?", None),
        ("身份证11010519491231002X，我的订单到哪了", None),
        ("invoice INV-2026-10001, where is my order?", None),
        ("any update on sa 5102?", "SA-5102"),
        ("订单sa5103还没发货吗", "SA-5103"),
        # The last group of a card or an SSN fits the shop's digits (SA- dropped), but it is
        # part of a longer number. A number the customer calls an order is read as written
        # even when it fits none of the shop's shapes: the look-up then says it is not on
        # their account, instead of asking again for the number they gave.
        ("my card 5555 5555 5555 5102 expired, where is my order?", None),
        ("my ssn is 123-45-5102, where is my order?", None),
        ("where is my order 510299?", "510299"),
    ],
)
def test_dialogue_takes_only_order_numbers_from_a_request(tmp_path, text, slot):
    """End to end (`ask --json` on a shop built from a WooCommerce orders export): the
    dialogue's own bare-number fallback respects the same not-an-order rules."""
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from shopassist.cli import app

    runner = CliRunner()
    db = tmp_path / "shop.db"
    orders = Path(__file__).parent / "fixtures" / "import" / "woocommerce_orders.csv"
    assert runner.invoke(app, ["init", "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["import-orders", str(orders), "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["ask", text, "--db", str(db), "--no-llm", "--json"])
    assert result.exit_code == 0, result.output
    turn = json.loads(result.output)
    assert turn["state"]["slots"].get("order_number") == slot


# --- numbers that are parts of other numbers, or fit none of the shop's shapes -----------


@pytest.mark.parametrize(
    "text",
    [
        "my card 5555 5555 5555 4444 expired, where is my order",
        "my ssn is 123-45-6789 and my order is late",
        "order status? IBAN DE89 3704 0044 0532 0130 00",
        "where is my order, call 206 555 0142",
        "where is my order? my account is 100 23456 78901",  # groups of another number
    ],
)
def test_parts_of_longer_numbers_and_other_shapes_are_not_orders(text):
    assert orders_in("plain", text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is order 4444", "4444"),  # 4 digits at a shop numbering 10023..10099
        ("#100231 hasn't arrived", "100231"),
        ("订单4444到哪了", "4444"),
    ],
)
def test_a_number_called_an_order_is_read_even_in_another_shape(text, expected):
    """Said after "order", 订单 or "#", the number is the customer's: reading it lets the
    reply say no such order is on their account, where ignoring it would ask for it again."""
    assert orders_in("plain", text) == [expected]


@pytest.mark.parametrize(
    ("shop", "text", "expected"),
    [
        ("plain", "order 10023 2 items are missing", "10023"),  # one digit: a count
        ("plain", "I placed order 10023 10 days ago", "10023"),  # two groups, a space: a count
        ("amazon", "where is 112-1234567-1234567", "112-1234567-1234567"),  # the whole run
        ("dated", "order ord 2024 00012 please", "ORD-2024-00012"),
    ],
)
def test_a_run_that_is_the_whole_order_number_is_kept(shop, text, expected):
    assert orders_in(shop, text) == [expected]


def test_bare_number_rules_know_the_shops_shapes():
    """The dialogue's own bare-number reading (manager.bare_numbers) asks the same rules,
    with the shop's shapes: a part of a card never, a number of the wrong length only
    without shapes."""
    from shopassist.engine.nlu.order_numbers import OrderNumberReader, is_not_order_number

    shop = OrderNumberReader(learn_shapes(SHOPS["plain"]))
    card = "my card 5555 5555 5555 4444 expired"
    last = card.index("4444")
    assert is_not_order_number(card, last, last + 4)
    assert is_not_order_number(card, last, last + 4, shop)
    text = "where is 4444"
    assert not is_not_order_number(text, 9, 13)  # no shapes known: may be an order
    assert is_not_order_number(text, 9, 13, shop)
    text = "where is 10024"
    assert not is_not_order_number(text, 9, 14, shop)
    # A letters + digits shop: the digits without the letters may still be one of its numbers.
    letters = OrderNumberReader(learn_shapes(SHOPS["letters"]))
    text = "where is 8665881"
    assert not is_not_order_number(text, 9, 16, letters)


def test_reader_for_a_database_follows_its_imports(db):
    from shopassist.engine.nlu.order_numbers import reader_for
    from shopassist.kb.importers.orders import import_orders

    assert reader_for(db).shapes == []
    import_orders(db, FIXTURES / "woocommerce_orders.csv")
    assert reader_for(db).shop_prefixes == frozenset({"SA"})


# --- an invoice names its order; only its own number is not an order ----------------------


@pytest.mark.parametrize(
    ("shop", "text", "expected"),
    [
        ("plain", "and can I get the invoice for 10086", ["10086"]),
        ("plain", "I need the receipt of 10024 please", ["10024"]),
        ("plain", "the invoice for order 10023 is wrong", ["10023"]),
        ("plain", "invoice 10024 is missing", []),  # the invoice's own number
        ("plain", "invoice no. 10024 is missing", []),
        ("plain", "发票号 10024 开错了", []),
        ("dashed", "can I get the invoice for SA-5107", ["SA-5107"]),
    ],
)
def test_invoice_for_an_order_names_the_order(shop, text, expected):
    assert orders_in(shop, text) == expected
