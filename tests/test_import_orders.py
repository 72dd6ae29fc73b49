"""Orders import: Shopify's line-item rows and the documented generic orders CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopassist.kb.importers.catalog import import_catalog
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.orders import OrderFields, import_orders
from shopassist.kb.importers.source import ImportFileError
from shopassist.kb.importers.transaction import DemoDataError

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def order(db, number: str) -> dict:
    row = db.execute(
        "select o.status, o.financial_status, o.subtotal_cents, o.shipping_cents, o.total_cents, "
        "o.placed_at, o.shipping_address, c.email, c.name from orders o "
        "left join customers c on c.id = o.customer_id where o.number = ?",
        [number],
    ).fetchone()
    assert row is not None, number
    keys = ("status", "financial", "subtotal", "shipping", "total", "placed_at", "address",
            "email", "customer")  # fmt: skip
    return dict(zip(keys, row, strict=True))


def test_shopify_orders_export(db):
    import_catalog(db, FIXTURES / "shopify_products.csv")
    report = import_orders(db, FIXTURES / "shopify_orders.csv")
    assert report.format == "shopify" and report.committed
    assert report.counts["orders"] == 4 and report.counts["items"] == 5
    first = order(db, "1001")  # "#1001" is stored without the hash
    assert first["status"] == "shipped"
    assert (first["subtotal"], first["shipping"], first["total"]) == (9400, 500, 9900)
    assert first["placed_at"] == "2024-03-01 09:00:00"  # +0100 converted to UTC
    assert first["email"] == "mia.lopez@example.test"
    assert json.loads(first["address"])["city"] == "Portsmouth"
    items = db.execute(
        "select i.sku, i.quantity, i.unit_price_cents, v.sku from order_items i "
        "left join variants v on v.id = i.variant_id "
        "join orders o on o.id = i.order_id where o.number = '1001' order by i.id"
    ).fetchall()
    # Items are linked to the catalog's variants by SKU.
    assert items == [("HH-NAVY-S", 1, 4900, "HH-NAVY-S"), ("HH-SAND-M", 1, 4500, "HH-SAND-M")]
    shipment = db.execute("select carrier, tracking_number, status from shipments").fetchone()
    assert shipment == ("UPS", "1Z999AA10123456784", "in_transit")
    assert order(db, "1002")["status"] == "pending"
    assert order(db, "1003")["status"] == "returned"  # refunded after fulfilment
    assert order(db, "1004")["status"] == "cancelled"
    # One customer per email, however many orders.
    assert db.execute("select count(*) from customers").fetchone()[0] == 3


def test_generic_orders_csv(db):
    report = import_orders(db, FIXTURES / "generic_orders.csv")
    assert report.format == "generic"
    a100 = order(db, "A-100")
    assert a100["status"] == "delivered"
    assert a100["subtotal"] == 3 * 499 + 2 * 120  # computed from the items
    assert a100["total"] == a100["subtotal"] + 200 + 50
    assert order(db, "A-101")["status"] == "in_transit"
    assert order(db, "A-101")["placed_at"] == "2024-05-02 09:30:00"
    # Items of unknown SKUs are kept, just not linked.
    assert (
        db.execute("select count(*) from order_items where variant_id is null").fetchone()[0] == 3
    )


def test_reimport_updates_orders_instead_of_duplicating(db):
    import_orders(db, FIXTURES / "shopify_orders.csv")
    report = import_orders(db, FIXTURES / "shopify_orders.csv")
    assert report.counts["updated"] == 4 and report.counts["created"] == 0
    assert db.execute("select count(*) from orders").fetchone()[0] == 4
    assert db.execute("select count(*) from order_items").fetchone()[0] == 5
    assert db.execute("select count(*) from shipments").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("financial", "fulfilment", "cancelled", "expected"),
    [
        ("paid", "", "", "paid"),
        ("authorized", "", "", "pending"),
        ("paid", "fulfilled", "", "shipped"),
        ("paid", "partial", "", "shipped"),
        ("refunded", "", "", "cancelled"),
        ("refunded", "fulfilled", "", "returned"),
        ("paid", "", "2024-01-01", "cancelled"),
        ("voided", "", "", "cancelled"),
    ],
)
def test_status_mapping(financial, fulfilment, cancelled, expected):
    fields = OrderFields.model_validate(
        {
            "number": "1",
            "placed_at": "2024-01-01",
            "financial_status": financial,
            "fulfillment_status": fulfilment,
            "cancelled_at": cancelled,
        }
    )
    assert fields.mapped_status() == expected


def test_bad_order_rows_are_reported_and_nothing_is_written(db, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_number,email,placed_at,sku,item_title,quantity,unit_price,status\n"
        "B-1,ok@example.test,2024-01-01,S1,Thing,1,5.00,paid\n"
        "B-2,not-an-email,2024-01-01,S1,Thing,1,5.00,paid\n"
        "B-3,x@example.test,yesterday,S1,Thing,1,5.00,paid\n"
        "B-4,x@example.test,2024-01-01,S1,Thing,0,5.00,paid\n"
        "B-5,x@example.test,2024-01-01,S1,Thing,1,-5,paid\n"
        "B-6,x@example.test,2024-01-01,S1,Thing,1,5,lost\n"
        "B-1,ok@example.test,2024-01-01,S2,Other,1,5.00,paid\n"
    )
    report = import_orders(db, path)
    errors = {e.line: (e.column, e.reason) for e in report.errors}
    assert errors[3] == ("email", "'not-an-email' is not an email address")
    assert errors[4][0] == "placed_at" and "is not a date" in errors[4][1]
    assert errors[5] == ("quantity", "must be at least 1")
    assert errors[6] == ("unit_price", "must not be negative (got -5)")
    assert errors[7][0] == "status"
    assert errors[8][0] == "order_number" and "next to each other" in errors[8][1]
    assert not report.committed
    assert db.execute("select count(*) from orders").fetchone()[0] == 0


def test_orders_file_without_order_columns(db, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("title,price\nLamp,5\n")
    with pytest.raises(ImportFileError, match="order number column"):
        import_orders(db, path)


def test_demo_orders_are_refused_unless_replaced(db):
    with db.conn:
        db.execute(
            "insert into customers (name, email, source) values ('Demo', 'd@example.test', 'demo')"
        )
        db.execute(
            "insert into orders (number, customer_id, status, placed_at, source) "
            "values ('D1', 1, 'paid', '2024-01-01', 'demo')"
        )
    with pytest.raises(DemoDataError, match="--replace"):
        import_orders(db, FIXTURES / "generic_orders.csv")
    import_orders(db, FIXTURES / "generic_orders.csv", ImportOptions(replace=True))
    numbers = {r[0] for r in db.execute("select number from orders")}
    assert numbers == {"A-100", "A-101"}
    assert db.execute("select count(*) from customers where source = 'demo'").fetchone()[0] == 0
