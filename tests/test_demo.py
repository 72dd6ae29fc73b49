"""The demo shop: enough data of every kind, internally consistent, loaded all-or-nothing."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from typer.testing import CliRunner

from shopassist.kb import demo, search_index
from shopassist.kb.db import get_meta, open_db
from shopassist.kb.demo import DemoCatalogError, catalog_dir, load_demo
from shopassist.kb.policies import cents, load_policy

ORDER_STATUSES = ("pending", "paid", "shipped", "in_transit", "delivered", "cancelled", "returned")
SHIPPED = ("shipped", "in_transit", "delivered", "returned")
INTENTS = {
    "cancel_order", "change_order", "place_order", "track_order", "check_cancellation_fee",
    "change_shipping_address", "set_up_shipping_address", "delivery_options", "delivery_period",
    "check_invoice", "get_invoice", "check_payment_methods", "payment_issue",
    "check_refund_policy", "get_refund", "track_refund", "complaint", "review",
    "contact_customer_service", "contact_human_agent", "create_account", "delete_account",
    "edit_account", "switch_account", "recover_password", "registration_problems",
    "newsletter_subscription", "promotions", "product_info",
}  # fmt: skip
# The demo data is written relative to this day; tests must not depend on the real clock.
DEMO_TODAY = datetime(2026, 11, 29, tzinfo=UTC)
CJK = re.compile(r"[\u4e00-\u9fff]")


def rows(db: sqlite_utils.Database, sql: str, params: list[Any] | None = None) -> list[dict]:
    cur = db.execute(sql, params or [])
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def scalar(db: sqlite_utils.Database, sql: str, params: list[Any] | None = None) -> Any:
    return db.execute(sql, params or []).fetchone()[0]


def policy(db: sqlite_utils.Database, key: str) -> Any:
    """A policy value as replies read it: through the one typed accessor."""
    return load_policy(db).get(key)


def cents_of(db: sqlite_utils.Database, key: str) -> int:
    value = cents(policy(db, key))
    assert value is not None, key
    return value


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- amounts ------------------------------------------------------------------------------


def test_counts_meet_the_minimums(demo_db: sqlite_utils.Database) -> None:
    assert scalar(demo_db, "select count(*) from products") >= 150
    assert scalar(demo_db, "select count(*) from categories where parent_id is null") >= 8
    assert scalar(demo_db, "select count(distinct key) from faqs") >= 40
    assert scalar(demo_db, "select count(*) from customers") >= 30
    assert scalar(demo_db, "select count(*) from orders") >= 100
    per_top = rows(
        demo_db,
        "select coalesce(parent.path, c.path) top, count(*) n from products p "
        "join categories c on c.id = p.category_id left join categories parent on parent.id = c.parent_id "
        "group by top",
    )
    assert len(per_top) >= 8
    assert all(r["n"] >= 10 for r in per_top), per_top


def test_load_returns_counts_that_match_the_tables(db: sqlite_utils.Database) -> None:
    counts = load_demo(db)
    for table in ("products", "variants", "faqs", "customers", "orders", "policies"):
        assert counts[table] == scalar(db, f"select count(*) from {table}"), table


def test_every_order_status_has_about_ten_orders(demo_db: sqlite_utils.Database) -> None:
    by_status = {
        r["status"]: r["n"]
        for r in rows(demo_db, "select status, count(*) n from orders group by status")
    }
    assert set(by_status) == set(ORDER_STATUSES)
    assert min(by_status.values()) >= 10, by_status


def test_order_numbers_are_five_digit_and_start_at_10001(demo_db: sqlite_utils.Database) -> None:
    numbers = [r["number"] for r in rows(demo_db, "select number from orders order by placed_at")]
    assert numbers[0] == "10001"
    assert all(re.fullmatch(r"\d{5}", n) for n in numbers)
    assert numbers == sorted(numbers), "order numbers grow with the order date"


# --- products -----------------------------------------------------------------------------


def test_the_search_examples_product_exists(demo_db: sqlite_utils.Database) -> None:
    product = rows(demo_db, "select * from products where title = 'AeroBuds Pro'")
    assert len(product) == 1 and product[0]["brand"] == "Sonique"
    skus = {
        r["sku"]
        for r in rows(demo_db, "select sku from variants where product_id = ?", [product[0]["id"]])
    }
    assert "SNQ-ABP-BLK" in skus


def test_every_product_is_bilingual_with_specs_and_tags(demo_db: sqlite_utils.Database) -> None:
    for p in rows(demo_db, "select * from products"):
        assert CJK.search(p["title_zh"] or ""), p["handle"]
        assert CJK.search(p["description_zh"] or ""), p["handle"]
        assert p["description"].count(".") >= 2, p["handle"]
        assert isinstance(json.loads(p["specs"]), dict) and json.loads(p["specs"]), p["handle"]
    untagged = scalar(
        demo_db,
        "select count(*) from products where id not in (select product_id from product_tags)",
    )
    assert untagged == 0
    assert (
        scalar(demo_db, "select count(*) from categories where name_zh is null or name_zh = ''")
        == 0
    )


def test_variants_cover_stock_levels_sales_sizes_and_colours(
    demo_db: sqlite_utils.Database,
) -> None:
    assert scalar(demo_db, "select count(*) from variants where stock = 0") >= 10
    assert scalar(demo_db, "select count(*) from variants where stock between 1 and 3") >= 10
    assert (
        scalar(demo_db, "select count(*) from variants where compare_at_cents > price_cents") >= 10
    )
    assert scalar(demo_db, "select count(*) from variants where barcode is not null") >= 20
    assert (
        scalar(demo_db, "select count(*) from variants where size in ('S', 'M', 'L', 'XL')") >= 40
    )
    assert scalar(demo_db, "select count(*) from variants where size like 'US % / EU %'") >= 40
    multi = scalar(
        demo_db,
        "select count(*) from (select product_id from variants group by product_id having count(*) > 1)",
    )
    assert multi >= 75
    for v in rows(demo_db, "select sku, options, colour, size, title from variants"):
        options = json.loads(v["options"])
        assert options.get("Color") == v["colour"] and options.get("Size") == v["size"], v["sku"]
        assert v["title"] == (" / ".join(options.values()) or "Default")


def test_barcodes_have_valid_check_digits(demo_db: sqlite_utils.Database) -> None:
    for (code,) in demo_db.execute("select barcode from variants where barcode is not null"):
        assert re.fullmatch(r"\d{13}", code)
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(code[:12]))
        assert (10 - total % 10) % 10 == int(code[12]), code


# --- FAQs and policies --------------------------------------------------------------------


def test_every_faq_key_has_english_and_chinese(demo_db: sqlite_utils.Database) -> None:
    langs = rows(demo_db, "select key, group_concat(language) langs from faqs group by key")
    assert all(sorted(r["langs"].split(",")) == ["en", "zh"] for r in langs), langs
    for f in rows(demo_db, "select * from faqs where language = 'zh'"):
        assert CJK.search(f["question"]) and CJK.search(f["answer"]), f["key"]
    for f in rows(demo_db, "select * from faqs where language = 'en'"):
        assert not CJK.search(f["answer"]), f["key"]


def test_faqs_cover_every_after_sales_intent(demo_db: sqlite_utils.Database) -> None:
    intents = {r["intent"] for r in rows(demo_db, "select distinct intent from faqs")}
    assert intents <= INTENTS
    assert INTENTS - {"product_info"} <= intents
    assert scalar(demo_db, "select count(*) from faqs where tags = ''") == 0


def faq_answer(db: sqlite_utils.Database, key: str, language: str = "en") -> str:
    return str(
        scalar(db, "select answer from faqs where key = ? and language = ?", [key, language])
    )


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def test_policy_faqs_state_the_policy_values(demo_db: sqlite_utils.Database) -> None:
    """The assistant quotes both, so a changed policy with a stale FAQ must fail here."""
    window = policy(demo_db, "returns.window_days")
    assert f"{window} days" in faq_answer(demo_db, "return-policy")
    assert f"{window} 天" in faq_answer(demo_db, "return-policy", "zh")
    assert f"{policy(demo_db, 'tiers.vip.return_window_days')} days" in faq_answer(
        demo_db, "return-policy"
    )
    fee = money(cents_of(demo_db, "returns.return_shipping_fee"))
    assert fee in faq_answer(demo_db, "return-shipping-cost")
    assert fee.lstrip("$") in faq_answer(demo_db, "return-shipping-cost", "zh")
    days = policy(demo_db, "returns.refund_days")
    assert f"{days} business days" in faq_answer(demo_db, "refund-timing")
    assert f"{policy(demo_db, 'returns.refund_bank_days')} more business days" in faq_answer(
        demo_db, "refund-timing"
    )
    text = faq_answer(demo_db, "cancellation-fee")
    assert f"{policy(demo_db, 'cancellation.free_hours')} hours" in text
    assert f"{policy(demo_db, 'cancellation.fee_percent')}%" in text
    assert money(cents_of(demo_db, "cancellation.fee_max")) in text
    shipping = faq_answer(demo_db, "shipping-options")
    for m in policy(demo_db, "shipping.methods"):
        price = cents(m.price)
        assert price is not None and money(price) in shipping, m.code
        assert money(price).lstrip("$") in faq_answer(demo_db, "shipping-options", "zh")
        if m.free_over is not None:
            assert f"${m.free_over}" in shipping, m.code
    for value in (
        policy(demo_db, "contact.phone"),
        policy(demo_db, "tiers.vip.phone"),
        policy(demo_db, "contact.email"),
    ):
        assert value in faq_answer(demo_db, "contact-customer-service")
    promos = faq_answer(demo_db, "current-promotions")
    for promo in policy(demo_db, "promotions"):
        assert promo.code in promos and f"{promo.percent}%" in promos
    methods = faq_answer(demo_db, "payment-methods")
    assert all(m.en.split(" (")[0] in methods for m in policy(demo_db, "payments.accepted")[1:])


def test_promotions_are_current_and_well_formed(demo_db: sqlite_utils.Database) -> None:
    for promo in policy(demo_db, "promotions"):
        assert re.fullmatch(r"[A-Z]+\d+", promo.code)
        assert 0 < promo.percent < 100
        assert promo.valid_until >= DEMO_TODAY.date()
        assert CJK.search(promo.description.zh)


def test_shipping_methods_and_payment_methods_are_bilingual(demo_db: sqlite_utils.Database) -> None:
    for m in policy(demo_db, "shipping.methods"):
        assert m.code and m.price is not None and m.days is not None
        assert CJK.search(m.name.zh or "")
    accepted = policy(demo_db, "payments.accepted")
    assert {"支付宝", "微信支付"} <= {m.text("zh") for m in accepted}


# --- customers and orders -----------------------------------------------------------------


def test_customers_include_vips_chinese_speakers_and_both_phone_styles(
    demo_db: sqlite_utils.Database,
) -> None:
    customers = rows(demo_db, "select * from customers")
    assert sum(c["tier"] == "vip" for c in customers) >= 5
    chinese = [c for c in customers if c["language"] == "zh"]
    assert len(chinese) >= 5 and all(CJK.search(c["name"]) for c in chinese)
    assert any(re.fullmatch(r"\+1 \d{3} 555 \d{4}", c["phone"]) for c in customers)
    assert any(re.fullmatch(r"1[3-9]\d{9}", c["phone"]) for c in customers)
    for c in customers:
        address = json.loads(c["address"])
        assert {"line1", "city", "postal_code", "country"} <= set(address), c["id"]
    several = scalar(
        demo_db,
        "select count(*) from (select customer_id from orders group by customer_id having count(*) >= 3)",
    )
    assert several >= 10, "recommendations need purchase histories"


def test_every_order_item_is_a_real_sku_at_its_price(demo_db: sqlite_utils.Database) -> None:
    items = rows(
        demo_db,
        "select i.sku, i.unit_price_cents, i.variant_id, v.price_cents, v.sku vsku from order_items i "
        "left join variants v on v.id = i.variant_id",
    )
    assert items
    for item in items:
        assert item["vsku"] == item["sku"], item
        assert item["unit_price_cents"] == item["price_cents"], item
    assert (
        scalar(
            demo_db,
            "select count(*) from orders where id not in (select order_id from order_items)",
        )
        == 0
    )


def test_order_totals_add_up(demo_db: sqlite_utils.Database) -> None:
    tax_rate = int(policy(demo_db, "tax.rate_percent"))
    for o in rows(demo_db, "select * from orders"):
        subtotal = scalar(
            demo_db,
            "select sum(quantity * unit_price_cents) from order_items where order_id = ?",
            [o["id"]],
        )
        assert o["subtotal_cents"] == subtotal, o["number"]
        assert o["total_cents"] == (
            o["subtotal_cents"] + o["shipping_cents"] + o["tax_cents"] - o["discount_cents"]
        ), o["number"]
        country = json.loads(o["shipping_address"])["country"]
        expected_tax = (subtotal - o["discount_cents"]) * tax_rate // 100 if country == "US" else 0
        assert o["tax_cents"] == expected_tax, o["number"]


def test_shipping_charges_follow_the_policy(demo_db: sqlite_utils.Database) -> None:
    methods = {
        m.code: {"price_cents": cents(m.price), "free_over_cents": cents(m.free_over) or 10**12}
        for m in policy(demo_db, "shipping.methods")
    }
    for o in rows(
        demo_db, "select o.*, c.tier from orders o join customers c on c.id = o.customer_id"
    ):
        m = methods[o["shipping_method"]]
        free = o["subtotal_cents"] >= m["free_over_cents"] or (
            o["tier"] == "vip" and o["shipping_method"] == "standard"
        )
        assert o["shipping_cents"] == (0 if free else m["price_cents"]), o["number"]


def test_paid_orders_have_invoices_and_unpaid_ones_do_not(demo_db: sqlite_utils.Database) -> None:
    for o in rows(demo_db, "select * from orders"):
        if o["paid_at"]:
            assert o["invoice_number"] == f"INV-{o['placed_at'][:4]}-{o['number']}", o["number"]
        else:
            assert o["invoice_number"] is None and o["status"] in ("pending", "cancelled"), o[
                "number"
            ]
    assert (
        scalar(demo_db, "select count(*) from orders where status != 'pending' and paid_at is null")
        >= 1
    )


def test_every_shipped_order_has_a_tracked_shipment(demo_db: sqlite_utils.Database) -> None:
    carriers = {c.code for c in policy(demo_db, "shipping.carriers")}
    for o in rows(demo_db, "select * from orders"):
        shipments = rows(demo_db, "select * from shipments where order_id = ?", [o["id"]])
        if o["status"] not in SHIPPED:
            assert shipments == [], o["number"]
            continue
        assert len(shipments) == 1, o["number"]
        ship = shipments[0]
        assert (
            ship["carrier"] in carriers and ship["tracking_number"] and ship["estimated_delivery"]
        )
        assert ship["tracking_number"] in ship["tracking_url"]
        events = rows(
            demo_db, "select * from tracking_events where shipment_id = ? order by at", [ship["id"]]
        )
        assert 2 <= len(events) <= 6, o["number"]
        assert events[0]["status"] == "label_created"
        assert all(when(e["at"]) <= DEMO_TODAY + timedelta(hours=12) for e in events), o["number"]
        if o["status"] in ("delivered", "returned"):
            assert events[-1]["status"] == "delivered" and ship["delivered_at"] == events[-1]["at"]
        else:
            assert ship["delivered_at"] is None and events[-1]["status"] != "delivered"
    assert {
        s["carrier"] for s in rows(demo_db, "select distinct carrier from shipments")
    } == carriers


def test_delivered_orders_fall_both_inside_and_outside_the_return_window(
    demo_db: sqlite_utils.Database,
) -> None:
    window = timedelta(days=policy(demo_db, "returns.window_days"))
    delivered = [
        DEMO_TODAY - when(r["delivered_at"])
        for r in rows(
            demo_db,
            "select s.delivered_at from orders o join shipments s on s.order_id = o.id where o.status = 'delivered'",
        )
    ]
    assert sum(age <= window for age in delivered) >= 8
    assert sum(age > window for age in delivered) >= 8


def test_cancelled_orders_carry_the_policy_fee(demo_db: sqlite_utils.Database) -> None:
    free_hours = policy(demo_db, "cancellation.free_hours")
    fee_percent = int(policy(demo_db, "cancellation.fee_percent"))
    fee_max = cents_of(demo_db, "cancellation.fee_max")
    fees = []
    for o in rows(
        demo_db,
        "select o.*, c.tier from orders o join customers c on c.id = o.customer_id where status = 'cancelled'",
    ):
        hours = (when(o["cancelled_at"]) - when(o["placed_at"])).total_seconds() / 3600
        free = not o["paid_at"] or o["tier"] == "vip" or hours <= free_hours
        expected = 0 if free else min(o["total_cents"] * fee_percent // 100, fee_max)
        assert o["cancellation_fee_cents"] == expected, o["number"]
        fees.append(expected)
    assert any(fees) and not all(fees)


def test_returned_orders_have_refund_records(demo_db: sqlite_utils.Database) -> None:
    returned = rows(demo_db, "select * from orders where status = 'returned'")
    statuses = set()
    for o in returned:
        rets = rows(demo_db, "select * from returns where order_id = ?", [o["id"]])
        assert len(rets) == 1, o["number"]
        ret = rets[0]
        statuses.add(ret["status"])
        assert ret["rma"] == f"RMA-{o['number']}-1"
        assert 0 < ret["refund_cents"] <= o["total_cents"]
        items = json.loads(ret["items"])
        skus = {
            r["sku"]
            for r in rows(demo_db, "select sku from order_items where order_id = ?", [o["id"]])
        }
        assert items and {i["sku"] for i in items} <= skus
        assert (ret["refunded_at"] is not None) == (ret["status"] == "refunded")
    assert "refunded" in statuses and statuses - {"refunded"}, (
        "some refunds should still be in progress"
    )
    assert (
        scalar(
            demo_db,
            "select count(*) from returns r join orders o on o.id = r.order_id where o.status != 'returned'",
        )
        == 0
    )


def test_committed_orders_match_the_generator() -> None:
    """orders.jsonl is generated from the products, customers and policies: keep them in step."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_demo_orders.py"
    spec = importlib.util.spec_from_file_location("make_demo_orders", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = [json.loads(json.dumps(o)) for o in module.OrderMaker().make_all()]
    committed = demo.read_orders(catalog_dir())
    assert generated == committed, "run scripts/make_demo_orders.py and commit catalog/orders.jsonl"


# --- loading ------------------------------------------------------------------------------


def test_rows_are_marked_as_demo(demo_db: sqlite_utils.Database) -> None:
    assert get_meta(demo_db, "demo_catalog") == "1"
    for table in ("products", "faqs", "customers", "orders"):
        assert scalar(demo_db, f"select count(*) from {table} where source != 'demo'") == 0, table


def test_loading_builds_the_search_index(demo_db: sqlite_utils.Database) -> None:
    assert scalar(demo_db, "select count(*) from products_fts") == scalar(
        demo_db, "select count(*) from products"
    )
    assert scalar(demo_db, "select count(*) from faqs_fts") == scalar(
        demo_db, "select count(*) from faqs"
    )


@pytest.mark.parametrize(
    ("module", "step"),
    [(demo, "_insert_orders"), (demo, "set_meta"), (search_index, "rebuild_faq_index")],
    ids=["orders", "meta", "search-index"],
)
def test_a_failing_load_leaves_the_database_empty(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch, module: object, step: str
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, step, broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        load_demo(db)
    for table in (
        "categories", "products", "variants", "faqs", "policies", "customers", "orders",
        "shipments", "tracking_events", "returns", "products_fts",
    ):  # fmt: skip
        assert scalar(db, f"select count(*) from {table}") == 0, table
    assert get_meta(db, "demo_catalog") is None
    monkeypatch.undo()
    assert load_demo(db)["orders"] >= 100  # and a clean retry works


def test_loading_into_a_non_empty_database_is_refused(demo_db: sqlite_utils.Database) -> None:
    before = scalar(demo_db, "select count(*) from products")
    with pytest.raises(DemoCatalogError, match="only into an empty database"):
        load_demo(demo_db)
    assert scalar(demo_db, "select count(*) from products") == before


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(catalog_dir(), tmp_path / "catalog"))


def test_a_malformed_catalog_file_is_named_in_the_error(
    db: sqlite_utils.Database, catalog_copy: Path
) -> None:
    (catalog_copy / "faqs.toml").write_text("[[faq]\nkey = ", encoding="utf-8")
    with pytest.raises(DemoCatalogError, match=r"faqs\.toml"):
        load_demo(db, catalog_copy)
    assert scalar(db, "select count(*) from products") == 0


def test_an_order_for_an_unknown_sku_is_rejected(
    db: sqlite_utils.Database, catalog_copy: Path
) -> None:
    path = catalog_copy / "orders.jsonl"
    orders = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(orders[0])
    first["items"][0]["sku"] = "NO-SUCH-SKU"
    path.write_text("\n".join([json.dumps(first), *orders[1:]]), encoding="utf-8")
    with pytest.raises(DemoCatalogError, match="NO-SUCH-SKU"):
        load_demo(db, catalog_copy)
    assert scalar(db, "select count(*) from products") == 0


def test_a_faq_without_its_translation_is_rejected(
    db: sqlite_utils.Database, catalog_copy: Path
) -> None:
    path = catalog_copy / "faqs.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('zh.q = "你们有哪些配送方式？运费是多少？"\n', "", 1), encoding="utf-8"
    )
    with pytest.raises(DemoCatalogError, match="shipping-options has no zh"):
        load_demo(db, catalog_copy)


def test_catalog_dir_points_at_the_bundled_data() -> None:
    root = catalog_dir()
    assert (root / "policies.toml").is_file() and (root / "products").is_dir()


def test_init_demo_creates_a_demo_database(tmp_path: Path) -> None:
    from shopassist.cli import app

    path = tmp_path / "shop.db"
    result = CliRunner().invoke(app, ["init", "--demo", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "demo shop" in result.output and "products" in result.output
    kb = open_db(path)
    assert scalar(kb, "select count(*) from products") >= 150
    assert get_meta(kb, "demo_catalog") == "1"
    kb.conn.close()

    again = CliRunner().invoke(app, ["init", "--demo", "--db", str(path)])
    assert again.exit_code != 0
    forced = CliRunner().invoke(app, ["init", "--demo", "--force", "--db", str(path)])
    assert forced.exit_code == 0, forced.output
    kb = open_db(path)
    assert scalar(kb, "select count(*) from orders") == scalar(
        kb, "select count(distinct number) from orders"
    )


def test_init_without_demo_creates_an_empty_database(tmp_path: Path) -> None:
    from shopassist.cli import app

    path = tmp_path / "empty.db"
    result = CliRunner().invoke(app, ["init", "--db", str(path)])
    assert result.exit_code == 0, result.output
    kb = open_db(path)
    assert scalar(kb, "select count(*) from products") == 0
    assert get_meta(kb, "demo_catalog") is None
