"""Item-level order actions end to end through `shopassist converse --jsonl --no-llm`, with
the database effect checked (issue 8, items 5 and 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlite_utils
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.engine.dialogue.order_items import match_lines, split_target
from shopassist.kb.order_actions import OrderActionError, change_line_variant, order_lines

runner = CliRunner()


def converse(db: Path, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    result = runner.invoke(app, ["converse", "--jsonl", "--no-llm", "--db", str(db)], input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def _order_id(db: sqlite_utils.Database, number: str) -> int:
    return int(db.execute("select id from orders where number = ?", [number]).fetchone()[0])


def test_a_return_covers_only_the_named_item(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "r",
                "customer": 9,
                "text": "I want to return just the hair dryer from order 10053",
            },
            {"session": "r", "text": "it's too loud"},
            {"session": "r", "text": "yes"},
        ],
    )
    assert "Hair Dryer" in out[1]["reply"] and "Smart Bulb" not in out[1]["reply"]
    assert out[2]["action"] == "return.created"
    db = sqlite_utils.Database(demo_db_path)
    items, refund = db.execute(
        "select items, refund_cents from returns where rma = 'RMA-10053-1'"
    ).fetchone()
    assert [i["sku"] for i in json.loads(items)] == ["SLK-DRY-ROS"]
    # The dryer's share of what was paid, less the label fee - not the whole order.
    assert 0 < refund < 21769


def test_a_return_of_a_multi_item_order_asks_which_items(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {"session": "w", "customer": 15, "text": "I'd like to return order 10038"},
            {"session": "w", "text": "the yoga mat"},
            {"session": "w", "text": "it's too thin"},
            {"session": "w", "text": "yes"},
        ],
    )
    assert out[0]["action"] == "items.asked"
    assert "Vela Watch" in out[0]["reply"] and "Yoga Mat" in out[0]["reply"]
    assert out[3]["action"] == "return.created"
    db = sqlite_utils.Database(demo_db_path)
    (items,) = db.execute("select items from returns where rma = 'RMA-10038-1'").fetchone()
    assert [i["sku"] for i in json.loads(items)] == ["IFM-YGM-SGE"]


def test_a_new_address_typed_in_chat_is_stored_in_fields(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {"session": "a", "customer": 18, "text": "change the shipping address on order 10110"},
            {"session": "a", "text": "The new address is 445 Maple Drive, Springfield"},
            {"session": "a", "text": "445 Maple Drive, Springfield, IL 62704"},
            {"session": "a", "text": "yes"},
        ],
    )
    assert out[1]["action"] == "address.incomplete" and "postcode" in out[1]["reply"]
    assert "street: 445 Maple Drive" in out[2]["reply"]
    assert out[3]["action"] == "order.address_changed"
    db = sqlite_utils.Database(demo_db_path)
    stored = json.loads(
        db.execute("select shipping_address from orders where number = '10110'").fetchone()[0]
    )
    assert stored == {
        "name": "Charlotte Wright",
        "line1": "445 Maple Drive",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62704",
        "country": "US",
    }


def test_a_chinese_address_is_stored_in_fields(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {"session": "z", "customer": 3, "text": "我想修改订单10113的收货地址"},
            {"session": "z", "text": "广东省深圳市南山区科技园南路88号 518057"},
            {"session": "z", "text": "是的"},
        ],
    )
    assert out[2]["action"] == "order.address_changed"
    db = sqlite_utils.Database(demo_db_path)
    stored = json.loads(
        db.execute("select shipping_address from orders where number = '10113'").fetchone()[0]
    )
    assert (stored["region"], stored["city"], stored["postal_code"]) == (
        "广东省",
        "深圳市",
        "518057",
    )
    assert stored["line1"] == "南山区科技园南路88号"


def test_items_are_named_as_customers_name_them(demo_db: sqlite_utils.Database) -> None:
    lines = order_lines(demo_db, _order_id(demo_db, "10108"))
    picked = match_lines(lines, "退壶铃和头盔").selections
    assert sorted(s.item["sku"] for s in picked) == ["IFM-KTB-24", "VLC-AER-BLK-M"]
    lines = order_lines(demo_db, _order_id(demo_db, "10003"))
    assert [s.item["sku"] for s in match_lines(lines, "the navy shoes").selections] == [
        "PTW-CNV-NVY-9"
    ]
    assert match_lines(lines, "the shoes").ambiguous  # two pairs: colour tells them apart
    lines = order_lines(demo_db, _order_id(demo_db, "10023"))
    # A colour the order does not have names nothing on it.
    assert not match_lines(lines, "the black XL t-shirt").selections
    assert split_target("change the t-shirt to black XL") == ("change the t-shirt", "black XL")


def test_a_variant_change_moves_stock_in_one_transaction(demo_db: sqlite_utils.Database) -> None:
    oid = _order_id(demo_db, "10114")
    line = order_lines(demo_db, oid)[0]
    target = demo_db.execute(
        "select * from variants where product_id = ? and id != ? and stock = 0",
        [line["product_id"], line["variant_id"]],
    ).fetchone()
    if target is None:  # make one sold out, to check the refusal rolls everything back
        vid = demo_db.execute(
            "select id from variants where product_id = ? and id != ?",
            [line["product_id"], line["variant_id"]],
        ).fetchone()[0]
        demo_db.execute("update variants set stock = 0 where id = ?", [vid])
    else:
        vid = target[0]
    variant = dict(
        demo_db.execute("select * from variants where id = ?", [vid]).fetchone()
        and next(demo_db.query("select * from variants where id = ?", [vid]))
    )
    before = demo_db.execute("select total_cents from orders where id = ?", [oid]).fetchone()
    try:
        change_line_variant(demo_db, order_id=oid, line=line, variant=variant, quantity=1)
    except OrderActionError:
        pass
    else:
        raise AssertionError("a sold-out variant must be refused")
    assert (
        demo_db.execute("select total_cents from orders where id = ?", [oid]).fetchone() == before
    )
    assert order_lines(demo_db, oid)[0]["variant_id"] == line["variant_id"]


def test_an_unshipped_item_changes_to_the_named_variant(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "v",
                "customer": 29,
                "text": "change the sheet set in order 10108 to white king",
            },
            {"session": "v", "text": "yes"},
        ],
    )
    assert "$20.00 more" in out[0]["reply"] and "$373.00" in out[0]["reply"]
    assert out[1]["action"] == "order.changed"
    db = sqlite_utils.Database(demo_db_path)
    skus = {
        r[0]
        for r in db.execute(
            "select sku from order_items where order_id = (select id from orders where number = '10108')"
        ).fetchall()
    }
    assert "LNL-PSS-WHT-K" in skus and "LNL-PSS-PBL-Q" not in skus
    assert (
        db.execute("select total_cents from orders where number = '10108'").fetchone()[0] == 37300
    )


def test_a_delivered_item_is_exchanged_with_the_price_difference(demo_db_path: Path) -> None:
    db = sqlite_utils.Database(demo_db_path)
    stock = db.execute("select stock from variants where sku = 'VLA-WTS-45-BLK'").fetchone()
    out = converse(
        demo_db_path,
        [
            {
                "session": "x",
                "customer": 15,
                "text": "can I exchange the watch in order 10038 for the 45 mm one",
            },
            {"session": "x", "text": "yes"},
        ],
    )
    assert "$30.00 more" in out[0]["reply"]
    assert out[1]["action"] == "exchange.created"
    row = db.execute(
        "select quantity, price_difference_cents from exchanges where order_id = "
        "(select id from orders where number = '10038')"
    ).fetchone()
    assert row == (1, 3000)
    after = db.execute("select stock from variants where sku = 'VLA-WTS-45-BLK'").fetchone()
    assert after[0] == stock[0] - 1  # the new watch is reserved


def test_a_size_the_product_does_not_come_in_lists_what_it_does(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [{"session": "n", "customer": 7, "text": "change order 10114 to size XS"}],
    )
    assert "XS" in out[0]["reply"] and "Black / S" in out[0]["reply"]
    db = sqlite_utils.Database(demo_db_path)
    assert (
        db.execute(
            "select sku from order_items where order_id = (select id from orders where number = '10114')"
        ).fetchone()[0]
        == "NFD-DPJ-BLK-XL"
    )


def test_a_shipped_order_cannot_be_changed_but_can_be_exchanged_later(
    demo_db_path: Path,
) -> None:
    out = converse(
        demo_db_path,
        [{"session": "s", "customer": 18, "text": "I want to modify my order 10084"}],
    )
    assert out[0]["action"] == "change_order.refused"
    assert "shipped" in out[0]["reply"] and "exchange" in out[0]["reply"]


def test_the_payment_method_of_an_unpaid_order_changes_to_an_accepted_one(
    demo_db_path: Path,
) -> None:
    out = converse(
        demo_db_path,
        [
            {"session": "p", "customer": 23, "text": "订单10104换成支付宝付款"},
            {"session": "p", "text": "是的"},
            {
                "session": "b",
                "customer": 18,
                "text": "can I pay for order 10099 with a cheque instead?",
            },
        ],
    )
    assert "支付宝" in out[0]["reply"]
    assert out[1]["action"] == "order.payment_method_changed"
    # Not accepted: refused, with the methods the shop does accept.
    assert out[2]["action"] == "payment_change.not_accepted" and "PayPal" in out[2]["reply"]
    db = sqlite_utils.Database(demo_db_path)
    methods = dict(
        db.execute(
            "select number, payment_method from orders where number in ('10104', '10099')"
        ).fetchall()
    )
    assert methods["10104"] == "Alipay"  # the shop's own name, whatever the language
    assert methods["10099"] != "cheques"


def test_a_shipped_order_s_payment_method_is_not_changed(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "s",
                "customer": 18,
                "text": "can I pay for order 10084 with Apple Pay instead?",
            }
        ],
    )
    assert out[0]["action"] == "change_payment_method.refused"


def test_a_cancellation_keeps_the_reason_given(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "c",
                "customer": 1,
                "text": "cancel order 10118 because I ordered the wrong size",
            },
            {"session": "c", "text": "yes"},
        ],
    )
    assert out[1]["action"] == "order.cancelled" and "wrong size" in out[1]["reply"]
    db = sqlite_utils.Database(demo_db_path)
    row = db.execute("select status, cancel_reason from orders where number = '10118'").fetchone()
    assert row == ("cancelled", "I ordered the wrong size")


def test_an_address_given_with_the_request_is_not_asked_for_again(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "a",
                "customer": 18,
                "text": "please change the shipping address on order 10110 to 88 Queen St W, "
                "Toronto, ON M5H 2N2, Canada",
            },
            {"session": "a", "text": "yes"},
        ],
    )
    assert "postcode: M5H 2N2" in out[0]["reply"] and "city: Toronto" in out[0]["reply"]
    assert out[1]["action"] == "order.address_changed"
    db = sqlite_utils.Database(demo_db_path)
    stored = json.loads(
        db.execute("select shipping_address from orders where number = '10110'").fetchone()[0]
    )
    assert (stored["city"], stored["region"], stored["country"]) == ("Toronto", "ON", "CA")


def test_the_payment_method_named_is_the_new_one_not_the_one_it_replaces(
    demo_db: sqlite_utils.Database,
) -> None:
    from shopassist.engine.dialogue.item_actions import _named_method
    from shopassist.kb.policies import LocalText

    methods = [LocalText(en="Mastercard"), LocalText(en="Bank transfer", zh="银行转账")]
    text = "can I pay with my Mastercard instead of the bank transfer?"
    found = _named_method(text, methods, current="Bank transfer")
    assert found is not None and found[0].en == "Mastercard"


def test_a_fulfilled_order_without_tracking_is_shipped_on_its_date(demo_db_path: Path) -> None:
    # As a Shopify export leaves it: fulfilled on a date, no shipment rows, no delivery.
    db = sqlite_utils.Database(demo_db_path)
    oid = _order_id(db, "10084")
    db.execute("delete from shipments where order_id = ?", [oid])
    db.execute("update orders set fulfilled_at = '2026-11-25T10:00:00Z' where id = ?", [oid])
    db.conn.commit()
    out = converse(
        demo_db_path,
        [
            {"session": "t", "customer": 18, "text": "where is my order 10084?"},
            {"session": "c", "customer": 18, "text": "cancel order 10084"},
        ],
    )
    assert "shipped on 2026-11-25" in out[0]["reply"]
    assert "hasn't shipped" not in out[0]["reply"]
    assert out[1]["action"] == "cancel_order.refused"
    assert "2026-11-25" in out[1]["reply"] and "return" in out[1]["reply"]


def test_a_quantity_named_with_the_item_returns_only_that_many(
    demo_db: sqlite_utils.Database,
) -> None:
    from shopassist.engine.nlu.result import Entity

    lines = order_lines(demo_db, _order_id(demo_db, "10029"))  # 2 x the light strip
    text = "I want to send back one of the light strips"
    one = Entity(
        type="quantity", value=1, text="one", start=text.index("one"), end=text.index("one") + 3
    )
    picked = match_lines(lines, text, [one]).selections
    assert [(s.item["sku"], s.quantity) for s in picked] == [("LUM-LS-2M", 1)]
    # Without a quantity, the whole line.
    picked = match_lines(lines, "the light strips").selections
    assert [(s.item["sku"], s.quantity) for s in picked] == [("LUM-LS-2M", 2)]


def test_another_item_of_an_order_can_be_returned_after_the_first(demo_db_path: Path) -> None:
    """One return per order was the old limit: the next item gets the next RMA, and only an
    item already fully returned is refused, saying how many came back."""
    session = [
        {
            "session": "m",
            "customer": 9,
            "text": "I'd like to return the snow boots from order 10042",
        },
        {"session": "m", "text": "they're too small"},
        {"session": "m", "text": "yes"},
        {"session": "m", "text": "I also want to return the robot vacuum from order 10042"},
        {"session": "m", "text": "it's too loud"},
        {"session": "m", "text": "yes"},
        {"session": "m", "text": "and return the snow boots from order 10042 too"},
    ]
    out = converse(demo_db_path, session)
    assert out[2]["action"] == "return.created" and out[5]["action"] == "return.created"
    # The boots are refused by name and quantity; what is left (the smart plug) is offered.
    assert "1 x Alder Women's Insulated Snow Boot" in out[6]["reply"]
    assert "already on a return" in out[6]["reply"] and "Smart Plug" in out[6]["reply"]
    assert out[6]["action"] == "items.asked"
    db = sqlite_utils.Database(demo_db_path)
    rows = db.execute(
        "select rma, items, refund_cents from returns where order_id = ? order by id",
        [_order_id(db, "10042")],
    ).fetchall()
    assert [r[0] for r in rows] == ["RMA-10042-1", "RMA-10042-2"]
    titles = [[i["title"] for i in json.loads(r[1])] for r in rows]
    assert "Snow Boot" in titles[0][0] and "Vacuum" in titles[1][0] and len(titles[1]) == 1
    (total,) = db.execute("select total_cents from orders where number = '10042'").fetchone()
    assert sum(r[2] for r in rows) < total


def test_the_last_item_returned_refunds_what_is_left_of_the_total(demo_db_path: Path) -> None:
    """Returns of every line, one after the other, refund the order total together."""
    out = converse(
        demo_db_path,
        [
            {
                "session": "t",
                "customer": 15,
                "text": "I'd like to return the yoga mat from order 10038",
            },
            {"session": "t", "text": "it's too thin"},
            {"session": "t", "text": "yes"},
            {"session": "t", "text": "I also want to return the watch from order 10038"},
            {"session": "t", "text": "it's too big"},
            {"session": "t", "text": "yes"},
            {"session": "t", "text": "I want to return the watch from order 10038"},
        ],
    )
    assert out[2]["action"] == "return.created" and out[5]["action"] == "return.created"
    assert out[6]["action"] == "return.refused"  # nothing left on the order to return
    db = sqlite_utils.Database(demo_db_path)
    refunds = [
        r[0]
        for r in db.execute(
            "select refund_cents from returns where order_id = ?", [_order_id(db, "10038")]
        ).fetchall()
    ]
    (total,) = db.execute("select total_cents from orders where number = '10038'").fetchone()
    # Each refund is less its label fee, if the shop charges one: never more than the total.
    assert len(refunds) == 2 and total - 2000 <= sum(refunds) <= total


def test_a_reason_that_starts_with_not_is_the_reason_not_a_no(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "n",
                "customer": 9,
                "text": "I want to return the hair dryer from order 10053",
            },
            {"session": "n", "text": "not what I expected"},
            {"session": "n", "text": "yes"},
        ],
    )
    assert out[1]["action"] != "reprompt" and "not what I expected" in out[1]["reply"]
    assert out[2]["action"] == "return.created"
    db = sqlite_utils.Database(demo_db_path)
    (reason,) = db.execute("select reason from returns where rma = 'RMA-10053-1'").fetchone()
    assert reason == "not what I expected"


def test_a_reason_given_with_contact_details_keeps_none_of_them(demo_db_path: Path) -> None:
    """The email said after the reason is neither stored nor repeated as "[email]"."""
    out = converse(
        demo_db_path,
        [
            {
                "session": "e",
                "text": "I want to return the hair dryer from order 10053 because it's too "
                "loud, my email is "
                + str(
                    sqlite_utils.Database(demo_db_path)
                    .execute(
                        "select c.email from orders o join customers c on c.id = o.customer_id "
                        "where o.number = '10053'"
                    )
                    .fetchone()[0]
                ),
            },
            {"session": "e", "text": "yes"},
        ],
    )
    assert "[email]" not in out[0]["reply"]
    assert out[1]["action"] == "return.created"
    db = sqlite_utils.Database(demo_db_path)
    (reason,) = db.execute("select reason from returns where rma = 'RMA-10053-1'").fetchone()
    assert reason == "it's too loud"


def test_a_cancellation_reason_without_because_is_kept(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "k",
                "customer": 1,
                "text": "please cancel order 10118, I found it cheaper elsewhere",
            },
            {"session": "k", "text": "yes"},
        ],
    )
    assert out[1]["action"] == "order.cancelled"
    db = sqlite_utils.Database(demo_db_path)
    row = db.execute("select cancel_reason from orders where number = '10118'").fetchone()
    assert row == ("I found it cheaper elsewhere",)


def test_chinese_kind_words_name_lines_with_english_titles() -> None:
    """ "耳机和手表" names the lines of a shop whose titles are only English (data:
    zh_kind_words), and not the t-shirt."""
    lines = [
        {
            "id": 1,
            "title": "Aero Wireless Headphones - Black",
            "product_type": "Headphones",
            "quantity": 1,
        },
        {
            "id": 2,
            "title": "Pulse Smart Watch - Graphite / L",
            "product_type": "Watches",
            "quantity": 1,
        },
        {
            "id": 3,
            "title": "Merino Crew T-Shirt - L / Black",
            "product_type": "T-Shirts",
            "quantity": 2,
        },
    ]
    picked = match_lines(lines, "我想退耳机和手表").selections
    assert sorted(s.item["id"] for s in picked) == [1, 2]


def test_a_size_word_keeps_the_colour_and_reads_the_shop_s_own_options(
    demo_db_path: Path,
) -> None:
    """ "the large one" for a Black / M helmet is Black / L, not White / L, even when the size
    lives only in the shop's own option ("Helmet Size", as Shopify's "Band Size") and the
    size column is empty; "large" is matched against the product's value "L" (data)."""
    db = sqlite_utils.Database(demo_db_path)
    db.execute(
        "update variants set size = null, options = json_object('Color', colour, "
        "'Helmet Size', substr(title, -1)) where product_id = "
        "(select product_id from variants where id = 316)"
    )
    db.conn.commit()
    out = converse(
        demo_db_path,
        [
            {
                "session": "h",
                "customer": 29,
                "text": "can I change the helmet in order 10108 to the large one?",
            },
            {"session": "h", "text": "yes"},
        ],
    )
    assert "Black / L" in out[0]["reply"], out[0]["reply"]
    assert out[1]["action"] == "order.changed"
    line = db.execute(
        "select variant_id from order_items where order_id = "
        "(select id from orders where number = '10108') and title like 'Velocity Aero%'"
    ).fetchone()
    assert line == (317,)


def test_an_exported_carrier_and_tracking_number_are_said_without_events(
    demo_db_path: Path,
) -> None:
    """A WooCommerce export's tracking columns give a shipment with a carrier and number but
    no carrier events: the reply gives both, as facts of the shipment."""
    db = sqlite_utils.Database(demo_db_path)
    oid = _order_id(db, "10084")
    db.execute(
        "delete from tracking_events where shipment_id in "
        "(select id from shipments where order_id = ?)",
        [oid],
    )
    db.execute("delete from shipments where order_id = ?", [oid])
    db.execute(
        "insert into shipments (order_id, carrier, tracking_number, status, shipped_at) "
        "values (?, 'Correios', 'BR123456789BR', 'shipped', '2026-11-25 10:00:00')",
        [oid],
    )
    db.execute("update orders set fulfilled_at = '2026-11-25T10:00:00Z' where id = ?", [oid])
    db.conn.commit()
    out = converse(
        demo_db_path, [{"session": "t", "customer": 18, "text": "where is order 10084?"}]
    )
    reply = out[0]["reply"]
    assert "shipped on 2026-11-25" in reply
    assert "Correios" in reply and "BR123456789BR" in reply
    facts = {f["key"]: f["value"] for f in out[0].get("facts", [])}
    assert facts.get("shipment.tracking_number") == "BR123456789BR"


def test_a_partial_refund_is_answered_in_follow_ups_about_the_order(demo_db_path: Path) -> None:
    """After an order was discussed, "was anything refunded on it?" and "how much was
    refunded?" are answered from its financial status and refunded amount, not with the
    return policy or a return-window refusal."""
    db = sqlite_utils.Database(demo_db_path)
    db.execute(
        "update orders set financial_status = 'partially_refunded', refunded_cents = 1800 "
        "where number = '10042'"
    )
    db.conn.commit()
    out = converse(
        demo_db_path,
        [
            {"session": "p", "customer": 9, "text": "where is my order 10042?"},
            {"session": "p", "text": "was anything refunded on it?"},
            {"session": "p", "text": "how much was refunded?"},
        ],
    )
    for turn in out[1:]:
        assert "$18.00" in turn["reply"] and turn["action"] == "refund.tracked", turn["reply"]
    assert db.execute(
        "select count(*) from returns where order_id = ?", [_order_id(db, "10042")]
    ).fetchone() == (0,)


def test_pay_order_n_with_a_method_instead_changes_that_order(demo_db_path: Path) -> None:
    """ "can I pay order N with X instead? <email>": the order's payment changes (the words
    that ask it are data: payment_change), not a list of accepted methods."""
    out = converse(
        demo_db_path,
        [
            {
                "session": "y",
                "text": "can I pay order 10099 with PayPal instead? charlotte.wright@example.net",
            },
            {"session": "y", "text": "yes"},
        ],
    )
    assert "PayPal" in out[0]["reply"] and out[0]["action"] != "policy.payment_methods"
    assert out[1]["action"] == "order.payment_method_changed"
    db = sqlite_utils.Database(demo_db_path)
    row = db.execute("select payment_method from orders where number = '10099'").fetchone()
    assert row == ("PayPal",)


def test_a_new_address_for_an_order_given_with_the_request_changes_it(demo_db_path: Path) -> None:
    out = converse(
        demo_db_path,
        [
            {
                "session": "s",
                "text": "please ship order 10099 to 445 Maple Drive, Apt 3B, Portland, OR 97205 "
                "instead. charlotte.wright@example.net",
            },
            {"session": "s", "text": "yes"},
        ],
    )
    assert "97205" in out[0]["reply"]
    assert out[1]["action"] == "order.address_changed"
    db = sqlite_utils.Database(demo_db_path)
    (address,) = db.execute("select shipping_address from orders where number = '10099'").fetchone()
    assert json.loads(address)["postal_code"] == "97205"
    assert db.execute("select count(*) from tickets").fetchone() == (0,)


def test_the_default_address_given_with_the_email_is_kept_until_identified(
    demo_db_path: Path,
) -> None:
    """The address in the request survives the extra message that identifies the customer
    (only the order number is asked for, the email having been given), and the order number
    given then identifies them: no loop asking for both."""
    out = converse(
        demo_db_path,
        [
            {
                "session": "d",
                "text": "please update my default address to 77 Pine St, Boston, MA 02110. "
                "my email is charlotte.wright@example.net",
            },
            {"session": "d", "text": "order 10099"},
            {"session": "d", "text": "yes"},
        ],
    )
    assert "order number" in out[0]["reply"] and "email" not in out[0]["reply"].split(":")[0]
    assert "02110" in out[1]["reply"]
    assert out[2]["action"] == "customer.address_set"
    db = sqlite_utils.Database(demo_db_path)
    (address,) = db.execute("select address from customers where id = 18").fetchone()
    assert json.loads(address)["city"] == "Boston"


def test_a_return_request_on_a_refunded_return_says_what_was_refunded(
    demo_db_path: Path,
) -> None:
    out = converse(
        demo_db_path,
        [{"session": "f", "customer": 18, "text": "I want to return order 10015"}],
    )
    reply = out[0]["reply"]
    assert "RMA-10015-1" in reply and "$424.44" in reply and "2026-10-07" in reply, reply
    assert out[0]["action"] == "refund.tracked"
    db = sqlite_utils.Database(demo_db_path)
    assert db.execute(
        "select count(*) from returns where order_id = ?", [_order_id(db, "10015")]
    ).fetchone() == (1,)


def test_a_reason_clause_without_reason_words_is_taken_from_the_request(
    demo_db_path: Path,
) -> None:
    """ "..., I ordered two and only need one" is the reason: the request's clause that is
    not the request (no return word, no order number, not the contact details)."""
    out = converse(
        demo_db_path,
        [
            {
                "session": "q",
                "customer": 9,
                "text": "can I send back the hair dryer from order 10053? "
                "I got one as a gift already",
            },
            {"session": "q", "text": "yes"},
        ],
    )
    assert "I got one as a gift already" in out[0]["reply"], out[0]["reply"]
    assert out[1]["action"] == "return.created"
    db = sqlite_utils.Database(demo_db_path)
    (reason,) = db.execute("select reason from returns where rma = 'RMA-10053-1'").fetchone()
    assert reason == "I got one as a gift already"


def test_a_default_address_given_while_identifying_is_kept(demo_db_path: Path) -> None:
    """The address typed while we wait for the order number is not "didn't catch that": it
    is kept, only the order number is asked for again, and then it is saved."""
    out = converse(
        demo_db_path,
        [
            {
                "session": "i",
                "text": "I moved. can you change the address on my account? "
                "charlotte.wright@example.net",
            },
            {"session": "i", "text": "77 Pine St, Boston, MA 02110"},
            {"session": "i", "text": "10099"},
            {"session": "i", "text": "yes"},
        ],
    )
    assert out[1]["action"] != "reprompt" and "order number" in out[1]["reply"]
    assert "02110" in out[2]["reply"]
    assert out[3]["action"] == "customer.address_set"
    db = sqlite_utils.Database(demo_db_path)
    (address,) = db.execute("select address from customers where id = 18").fetchone()
    assert json.loads(address)["postal_code"] == "02110"


def test_a_cancel_refusal_of_an_order_that_arrived_does_not_say_once_it_arrives(
    demo_db_path: Path,
) -> None:
    out = converse(demo_db_path, [{"session": "z", "customer": 4, "text": "cancel order 10023"}])
    assert out[0]["action"] == "cancel_order.refused"
    assert "once it arrives" not in out[0]["reply"].lower() and "return" in out[0]["reply"]
    out = converse(demo_db_path, [{"session": "y", "customer": 1, "text": "cancel order 10118"}])
    assert out[0]["action"] != "cancel_order.refused"  # an unshipped order is still cancellable
