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
    # Fulfilled is all the export says: shipped, neither "in transit" nor "delivered".
    assert shipment == ("UPS", "1Z999AA10123456784", "shipped")
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


# --- the order lifecycle of real exports (m005_order_lifecycle) ------------------------


def _order(db, number):
    from shopassist.kb import orders

    found = orders.find_order(db, number)
    assert found is not None, number
    return orders.load_order_details(db, found)


def test_shopify_full_export_lifecycle(db):
    """Shopify's full orders-export header: financial status, refunds, fulfilment per order
    and per line, payment method and the customer's default address."""
    from shopassist.kb import orders

    report = import_orders(db, FIXTURES / "shopify_orders_full.csv")
    assert report.committed and report.counts["orders"] == 6 and report.counts["items"] == 9
    paid = _order(db, "#W1001")
    assert orders.financial_status(paid) == "paid" and orders.refunded_cents(paid) == 0
    assert orders.fulfilled_at(paid) == "2026-11-11 17:00:00"  # -0800 converted to UTC
    assert orders.payment_method(paid) == "Shopify Payments"
    assert orders.return_window_start(paid) == ("2026-11-11 17:00:00", "fulfilment")
    assert orders.billing_address(paid)["zip"] == "98195"
    partial = _order(db, "W1002")
    assert orders.is_partially_refunded(partial) and orders.refunded_cents(partial) == 2500
    assert not orders.is_refunded(partial) and partial["status"] == "shipped"
    refunded = _order(db, "w1003")  # case does not matter
    assert orders.is_refunded(refunded) and orders.refunded_cents(refunded) == 5900
    assert refunded["status"] == "returned"
    pending = _order(db, "W1004")
    assert orders.financial_status(pending) == "pending" and orders.fulfilled_at(pending) is None
    assert orders.payment_method(pending) == "Cash on Delivery (COD)"
    assert not orders.is_fulfilled(pending)
    split = _order(db, "W1005")  # one line shipped, one still pending
    assert [orders.line_fulfilment(i) for i in split["items"]] == [
        ("fulfilled", "2026-11-22 19:00:00"),
        ("pending", None),
    ]
    voided = _order(db, "W1006")
    assert voided["status"] == "cancelled" and orders.financial_status(voided) == "voided"
    # Ada's default address is her latest order's (W1005, Portland), not her first.
    ada = db.execute("select id from customers where email = 'ada@example.test'").fetchone()[0]
    assert orders.customer_default_address(db, ada)["city"] == "Portland"


def test_woocommerce_order_export_lifecycle(db):
    """A WooCommerce order export: shop statuses, refunded total, payment method title,
    billing names split in two, tracking provider and number."""
    from shopassist.kb import orders

    report = import_orders(db, FIXTURES / "woocommerce_orders.csv")
    assert report.committed and report.counts["orders"] == 6
    expected = {
        # number: (our status, shop status, payment status)
        "SA-5101": ("paid", "processing", "paid"),
        "SA-5102": ("shipped", "completed", "paid"),
        "SA-5103": ("pending", "on-hold", "pending"),
        "SA-5104": ("returned", "refunded", "refunded"),  # refunded after it shipped
        "SA-5105": ("cancelled", "cancelled", None),
        "SA-5106": ("cancelled", "wc-refunded", "refunded"),  # refunded before shipping
    }
    for number, (status, shop, financial) in expected.items():
        found = _order(db, number)
        assert (found["status"], orders.shop_status(found), orders.financial_status(found)) == (
            status,
            shop,
            financial,
        ), number
    completed = _order(db, "sa5102")  # no dash, lower case: still the one order
    assert completed["number"] == "SA-5102"
    assert orders.fulfilled_at(completed) == "2026-11-04 15:30:00"
    assert completed["shipment"]["carrier"] == "CTT"
    assert completed["shipment"]["tracking_number"] == "RR123456789PT"
    assert completed["shipment"]["status"] == "shipped"  # not claimed delivered
    assert orders.refunded_cents(_order(db, "SA-5104")) == 3400
    assert orders.payment_method(_order(db, "SA-5101")) == "Cartão de crédito (Stripe)"
    name = db.execute("select name from customers where email = 'ana@example.test'").fetchone()
    assert name == ("Ana Silva",)  # billing_first_name + billing_last_name
    # order_number wins over WooCommerce's internal order_id.
    assert db.execute("select count(*) from orders where number like 'SA-%'").fetchone()[0] == 6


def test_order_number_shapes_are_learned_at_import(db):
    from shopassist.kb.order_numbers import order_number_shapes

    import_orders(db, FIXTURES / "woocommerce_orders.csv")
    shapes = order_number_shapes(db)
    assert [s["parts"] for s in shapes] == [[["L", "SA"], ["S", "-"], ["D", 4, 4]]]
    stored = db.execute("select value from meta where key = 'order_number_shapes'").fetchone()
    assert stored is not None


def test_unknown_shop_status_names_the_known_ones(db, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_number,placed_at,item_title,quantity,unit_price,status\n"
        "X-1,2024-01-01,Thing,1,5.00,teleported\n"
    )
    report = import_orders(db, path)
    (error,) = report.errors
    assert error.column == "status" and "'teleported' is not a known order status" in error.reason
    assert "on hold" in error.reason and not report.committed


# --- WooCommerce "Customer/Order CSV Export" (one row per item, no unit price) ------------


def test_customer_order_csv_export_derives_unit_prices_from_line_totals(db):
    """The plugin's default one-row-per-item layout has item_quantity, item_subtotal and
    item_total but no unit price: the unit price is the line subtotal / quantity, the order
    subtotal the sum of the line subtotals, and the report says so."""
    report = import_orders(db, FIXTURES / "woocommerce_customer_order_export.csv")
    assert report.committed and report.counts["orders"] == 2 and report.counts["items"] == 3
    assert report.notes == [
        "the file has no unit price column: each unit price is 'item_subtotal' / 'item_quantity'"
    ]
    assert report.as_dict()["notes"] == report.notes
    items = db.execute(
        "select i.sku, i.quantity, i.unit_price_cents from order_items i order by i.id"
    ).fetchall()
    assert items == [("MUG-GRN", 2, 2000), ("SAU-WHT", 3, 1027), ("SPN-1", 3, 333)]
    first = order(db, "WC-3001")
    # The line subtotals (40.00 + 30.80), not 3 x 10.27; the file's own total is kept.
    assert (first["subtotal"], first["shipping"], first["total"]) == (7080, 500, 6980)
    assert first["status"] == "shipped" and first["email"] == "rui@example.test"
    assert order(db, "WC-3002")["subtotal"] == 1000
    shipment = db.execute("select carrier, tracking_number from shipments").fetchall()
    assert shipment == [("CTT", "RR000000001PT")]


def test_a_line_total_is_used_only_without_a_unit_price(db, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_number,placed_at,item_title,quantity,unit_price,item_total\n"
        "P-1,2024-01-01,Thing,2,5.00,8.00\n"
    )
    report = import_orders(db, path)
    assert report.committed and report.notes == []
    assert db.execute("select unit_price_cents from order_items").fetchone()[0] == 500


def test_no_unit_price_nor_line_total_says_how_to_map_it(db, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_number,placed_at,item_title,quantity,cost\nP-1,2024-01-01,T,2,5\n")
    with pytest.raises(ImportFileError, match=r"unit price column \(nor a line total\).*--map"):
        import_orders(db, path)


# --- import-orders --map, the same code path as import-catalog's ---------------------------


def test_map_names_columns_the_importer_does_not_know(db, tmp_path):
    path = tmp_path / "pedidos.csv"
    path.write_text(
        "Pedido,Data,Produto,Qtd,Preço unitário,Código\nPD-9,2024-05-01,Caneca,2,7.50,ABC\n"
    )
    options = ImportOptions(
        mapping={"Pedido": "number", "Data": "placed_at", "Produto": "item_title",
                 "Qtd": "quantity", "Preço unitário": "unit_price", "Código": "ignore"}
    )  # fmt: skip
    report = import_orders(db, path, options)
    assert report.committed
    row = db.execute("select o.number, i.title, i.quantity, i.unit_price_cents, i.sku "
                     "from orders o join order_items i on i.order_id = o.id").fetchone()  # fmt: skip
    assert row == ("PD-9", "Caneca", 2, 750, None)


def test_map_overrides_a_known_header(db, tmp_path):
    """--map wins over the built-in spellings: here the file's 'order_id' is what customers quote."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,order_number,placed_at,item_title,quantity,unit_price\n"
        "555,internal-1,2024-01-01,Thing,1,5.00\n"
    )
    report = import_orders(db, path, ImportOptions(mapping={"order_id": "number",
                                                            "order_number": "ignore"}))  # fmt: skip
    assert report.committed
    assert db.execute("select number from orders").fetchone()[0] == "555"


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("Pedido=numero", "unknown field 'numero'; fields are number, email"),
        ("Nope=number", "the file has no column 'Nope'"),
    ],
)
def test_import_orders_map_errors_exit_2(tmp_path, pair, message):
    from typer.testing import CliRunner

    from shopassist.cli import app

    path = tmp_path / "pedidos.csv"
    path.write_text("Pedido,placed_at,item_title,quantity,unit_price\nPD-1,2024-01-01,T,1,5\n")
    db_path = tmp_path / "shop.db"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", str(db_path)]).exit_code == 0
    result = runner.invoke(app, ["import-orders", str(path), "--db", str(db_path), "--map", pair])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_import_orders_map_on_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from shopassist.cli import app

    path = tmp_path / "pedidos.csv"
    path.write_text("Pedido,placed_at,item_title,quantity,item_total\nPD-1,2024-01-01,T,2,9\n")
    db_path = tmp_path / "shop.db"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", str(db_path)]).exit_code == 0
    result = runner.invoke(
        app, ["import-orders", str(path), "--db", str(db_path), "--map", "Pedido=number"]
    )
    assert result.exit_code == 0, result.output
    assert "each unit price is 'item_total' / 'quantity'" in " ".join(result.output.split())


# --- a shipment's carrier and tracking number without any tracking events ------------------


def test_carrier_and_tracking_number_without_events(db):
    from shopassist.kb.orders import carrier_tracking, find_order, load_order_details

    import_orders(db, FIXTURES / "woocommerce_customer_order_export.csv")
    shipped = load_order_details(db, find_order(db, "WC-3001"))
    assert shipped["shipment"]["latest_event"] is None  # an export has no carrier events
    assert carrier_tracking(shipped) == ("CTT", "RR000000001PT")
    assert carrier_tracking(load_order_details(db, find_order(db, "WC-3002"))) is None
