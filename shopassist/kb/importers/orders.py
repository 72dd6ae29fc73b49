"""``import-orders``: customers, orders, line items and shipments from an orders CSV.

Reads Shopify's orders export (one row per line item; order-level columns are filled on
an order's first row only) and a generic orders CSV whose columns are documented in
docs/importing.md. Rows of one order must be next to each other, as both exports write them.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import sqlite_utils
from pydantic import BaseModel, BeforeValidator, ConfigDict

from shopassist.kb.importers.cleaning import clean_line, parse_count
from shopassist.kb.importers.columns import header_key, mapped_columns
from shopassist.kb.importers.duplicates import SeenKeys
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.report import ImportReport, RejectedRowsFile, rejected_path_for
from shopassist.kb.importers.rows import (
    OptionalLine,
    OptionalMoney,
    Rejection,
    RequiredLine,
    RequiredMoney,
    RowError,
    validate_row,
)
from shopassist.kb.importers.source import CsvSource, ImportFileError, open_source
from shopassist.kb.importers.transaction import DemoDataError, import_transaction
from shopassist.kb.order_numbers import learn_order_number_shapes

ORDER_STATUSES = ("pending", "paid", "shipped", "in_transit", "delivered", "cancelled", "returned")
STATUS_FILE = Path(__file__).parent / "data" / "order_statuses.toml"


@lru_cache(maxsize=1)
def status_words() -> dict[str, dict[str, str]]:
    """``data/order_statuses.toml``: shops' status words -> ours, and the payment they imply."""
    with STATUS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {table: {status_key(k): str(v) for k, v in data.get(table, {}).items()}
            for table in ("status", "refunded_unshipped", "financial")}  # fmt: skip


def status_key(word: str) -> str:
    """'wc-on-hold', 'On Hold', 'on_hold' -> 'on hold'."""
    text = " ".join(re.sub(r"[-_]+", " ", word.strip().lower()).split())
    return text[3:] if text.startswith("wc ") else text


COLUMNS_FILE = Path(__file__).parent / "data" / "order_columns.toml"


@lru_cache(maxsize=1)
def order_columns() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """``data/order_columns.toml``: Shopify header -> field, and field -> generic spellings."""
    with COLUMNS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    shopify = {str(k): str(v) for k, v in data.get("shopify", {}).items()}
    generic = {str(k): tuple(str(x) for x in v) for k, v in data.get("generic", {}).items()}
    return shopify, generic


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: Any) -> str | None:
    text = clean_line(str(value or "")).lower()
    if not text:
        return None
    if not _EMAIL.match(text) or len(text) > 254:
        raise ValueError(f"{text[:60]!r} is not an email address")
    return text


def _timestamp(value: Any) -> str | None:
    """'2024-03-01 14:05:09 +0100', ISO 8601 or a bare date -> 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    text = clean_line(str(value or ""))
    if not text:
        return None
    candidate = re.sub(r"\s+([+-]\d{2}):?(\d{2})$", r"\1:\2", text).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date (use YYYY-MM-DD HH:MM:SS)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _required_timestamp(value: Any) -> str:
    stamp = _timestamp(value)
    if stamp is None:
        raise ValueError("is missing")
    return stamp


def _quantity(value: Any) -> int:
    count = parse_count(str(value or ""))
    if count is None:
        raise ValueError("is missing")
    if count == 0:
        raise ValueError("must be at least 1")
    return count


def _status(value: Any) -> str | None:
    text = clean_line(str(value or ""))
    if not text:
        return None
    key = status_key(text)
    mapped = status_words()["status"].get(key, key.replace(" ", "_"))
    if mapped not in ORDER_STATUSES:
        known = ", ".join(sorted(status_words()["status"]))
        raise ValueError(f"{text[:30]!r} is not a known order status ({known})")
    return text[:60]


Email = Annotated[str | None, BeforeValidator(_email)]
Timestamp = Annotated[str | None, BeforeValidator(_timestamp)]
RequiredTimestamp = Annotated[str, BeforeValidator(_required_timestamp)]
Quantity = Annotated[int, BeforeValidator(_quantity)]
Status = Annotated[str | None, BeforeValidator(_status)]


class OrderFields(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: RequiredLine
    email: Email = None
    customer_name: OptionalLine = None
    phone: OptionalLine = None
    status: Status = None
    financial_status: OptionalLine = None
    fulfillment_status: OptionalLine = None
    placed_at: RequiredTimestamp
    paid_at: Timestamp = None
    shipped_at: Timestamp = None
    cancelled_at: Timestamp = None
    currency: OptionalLine = None
    subtotal: OptionalMoney = None
    shipping: OptionalMoney = None
    tax: OptionalMoney = None
    discount: OptionalMoney = None
    total: OptionalMoney = None
    shipping_method: OptionalLine = None
    ship_name: OptionalLine = None
    address1: OptionalLine = None
    address2: OptionalLine = None
    city: OptionalLine = None
    zip: OptionalLine = None
    province: OptionalLine = None
    country: OptionalLine = None
    ship_phone: OptionalLine = None
    carrier: OptionalLine = None
    tracking_number: OptionalLine = None
    refunded: OptionalMoney = None
    payment_method: OptionalLine = None
    first_name: OptionalLine = None
    last_name: OptionalLine = None
    ship_first_name: OptionalLine = None
    ship_last_name: OptionalLine = None
    billing_address1: OptionalLine = None
    billing_address2: OptionalLine = None
    billing_city: OptionalLine = None
    billing_zip: OptionalLine = None
    billing_province: OptionalLine = None
    billing_country: OptionalLine = None
    billing_phone: OptionalLine = None

    def payment_status(self) -> str | None:
        """Shopify's financial status (lower-case, '_' for spaces), or the one the shop's own
        status implies ('processing' -> paid, 'refunded' -> refunded), else None."""
        if self.financial_status:
            return status_key(self.financial_status).replace(" ", "_")
        if self.status:
            return status_words()["financial"].get(status_key(self.status))
        return None

    def mapped_status(self) -> str:
        """Our status from an explicit one, or Shopify's financial + fulfillment status."""
        if self.status:
            key = status_key(self.status)
            words = status_words()
            mapped = words["status"].get(key, key.replace(" ", "_"))
            if key in words["refunded_unshipped"] and not (self.shipped_at or self.tracking_number):
                return words["refunded_unshipped"][key]
            return mapped
        financial = (self.financial_status or "").lower()
        fulfilment = (self.fulfillment_status or "").lower().replace(" ", "_")
        shipped = fulfilment in ("fulfilled", "partial", "shipped", "in_transit", "delivered")
        if self.cancelled_at or financial in ("voided", "expired"):
            return "cancelled"
        if financial == "refunded":
            return "returned" if shipped else "cancelled"
        if fulfilment == "delivered":
            return "delivered"
        if fulfilment == "in_transit":
            return "in_transit"
        if shipped:
            return "shipped"
        if financial in ("paid", "partially_paid", "partially_refunded"):
            return "paid"
        return "pending"


class ItemFields(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: OptionalLine = None
    item_title: RequiredLine
    quantity: Quantity
    unit_price: RequiredMoney
    item_fulfillment_status: OptionalLine = None

    @property
    def line_cents(self) -> int:
        return self.unit_price * self.quantity


class LineTotalItemFields(BaseModel):
    """A line of an export that gives the line's total, not a unit price (WooCommerce's
    Customer/Order CSV Export: item_subtotal, item_total): the unit price is derived."""

    model_config = ConfigDict(frozen=True)

    sku: OptionalLine = None
    item_title: RequiredLine
    quantity: Quantity
    line_total: RequiredMoney
    item_fulfillment_status: OptionalLine = None

    @property
    def unit_price(self) -> int:
        return round(self.line_total / self.quantity)

    @property
    def line_cents(self) -> int:
        return self.line_total


Item = ItemFields | LineTotalItemFields


@dataclass
class OrderGroup:
    order: OrderFields
    line: int
    cells: list[str]
    items: list[tuple[Item, int, list[str]]] = field(default_factory=list)


def holds_demo_orders(db: sqlite_utils.Database) -> bool:
    row = db.execute(
        "select 1 from orders where source = 'demo' union all "
        "select 1 from customers where source = 'demo' limit 1"
    ).fetchone()
    return row is not None


def import_orders(
    db: sqlite_utils.Database,
    path: Path,
    options: ImportOptions | None = None,
    source: CsvSource | None = None,
) -> ImportReport:
    """Import orders; all or nothing unless ``skip_invalid``. Upserts orders by number and
    customers by email; an order's items and shipment are replaced by the file's."""
    options = options or ImportOptions()
    if source is None:
        source = open_source(path, encoding=options.encoding, delimiter=options.delimiter)
    is_shopify = "lineitem name" in {header_key(h) for h in source.header}
    columns = _column_map(source.header, is_shopify, options.mapping)
    needed_columns = {
        "number": "order number",
        "item_title": "item title",
        "quantity": "quantity",
        "unit_price": "unit price",
    }
    for needed, label in needed_columns.items():
        if needed == "item_title" and "sku" in columns:
            continue
        if needed == "unit_price" and "line_total" in columns:
            continue
        if needed not in columns:
            raise ImportFileError(
                f"cannot find the {label} column"
                + (" (nor a line total)" if needed == "unit_price" else "")
                + "; columns are "
                + ", ".join(repr(h) for h in source.header)
                + f". Name it with --map, e.g. --map 'Your Column={needed}' "
                "(see docs/importing.md for the orders CSV format)"
            )
    report = ImportReport(
        kind="orders",
        path=path,
        format="shopify" if is_shopify else "generic",
        encoding=source.encoding,
        delimiter=source.delimiter_name,
        dry_run=options.dry_run,
    )
    rejects = RejectedRowsFile(rejected_path_for(path), source.header, source.delimiter)
    names = {f: source.header[i] for f, i in columns.items()}
    if "unit_price" not in columns:
        columns.pop("unit_price", None)
        report.notes.append(
            f"the file has no unit price column: each unit price is "
            f"{names['line_total']!r} / {names['quantity']!r}"
        )
    else:
        columns.pop("line_total", None)
    with import_transaction(db) as conn:
        if holds_demo_orders(db) and not options.replace:
            raise DemoDataError(
                "this database still holds the demo orders and customers; re-run with "
                "--replace to replace all orders, customers and shipments with this file"
            )
        if options.replace:
            _clear_orders(conn)
        writer = _OrderWriter(db)
        seen = SeenKeys(conn, "orders")
        try:
            for record in _read_orders(source, columns, names):
                report.rows += 1 if isinstance(record, Rejection) else max(1, len(record.items))
                if isinstance(record, OrderGroup):
                    first = seen.check_and_add([(record.order.number, record.line)]).get(
                        record.line
                    )
                    if first is not None:
                        reason = (
                            f"order {record.order.number!r} already appeared on line {first}; "
                            "the rows of one order must be next to each other"
                        )
                        record = Rejection(
                            record.line,
                            record.cells,
                            [RowError(record.line, names["number"], reason)],
                        )
                if isinstance(record, Rejection):
                    report.add_rejection(record)
                    if options.skip_invalid and not options.dry_run:
                        rejects.write(record)
                    continue
                if report.rejected and not options.skip_invalid:
                    continue
                writer.write(record)
        finally:
            rejects.close()
        seen.drop()
        writer.finish()
        learn_order_number_shapes(db)
        if report.rows == 0:
            raise ImportFileError(f"{path} has a header row but no data rows; nothing to import")
        report.counts = writer.counts
        if rejects.written:
            report.rejected_path = rejects.path
        if options.dry_run or (report.rejected and not options.skip_invalid):
            conn.rollback()
            return report
        conn.commit()
        report.committed = True
    return report


def order_fields() -> tuple[str, ...]:
    """The fields ``--map COLUMN=FIELD`` may name (and 'ignore')."""
    return (*order_columns()[1], "ignore")


def _column_map(
    header: list[str], is_shopify: bool, overrides: dict[str, str] | None = None
) -> dict[str, int]:
    """Field -> column index: the user's ``--map`` first (checked as import-catalog's is),
    then the known headers for the columns the user did not name."""
    shopify_columns, generic_columns = order_columns()
    mapped, claimed = mapped_columns(header, overrides or {}, order_fields())
    columns: dict[str, int] = dict(mapped)
    if is_shopify:
        wanted = {header_key(k): v for k, v in shopify_columns.items()}
        for i, name in enumerate(header):
            field_name = wanted.get(header_key(name))
            if field_name and field_name not in columns and i not in claimed:
                columns[field_name] = i
        return columns
    # Each field takes the header of its earliest spelling: a WooCommerce export has both
    # order_number (what customers quote) and order_id (the database row id).
    lookup = {
        spelling: (f, rank)
        for f, spellings in generic_columns.items()
        for rank, spelling in enumerate(spellings)
    }
    ranks: dict[str, int] = {}
    for i, name in enumerate(header):
        hit = lookup.get(re.sub(r"[^\w]+", "_", header_key(name)).strip("_"))
        if hit is None or i in claimed:
            continue
        field_name, rank = hit
        if field_name in mapped:
            continue
        if field_name not in columns or rank < ranks[field_name]:
            columns[field_name], ranks[field_name] = i, rank
    return columns


def _read_orders(
    source: CsvSource, columns: dict[str, int], names: dict[str, str]
) -> Iterator[OrderGroup | Rejection]:
    item_model: type[ItemFields] | type[LineTotalItemFields] = (
        ItemFields if "unit_price" in columns else LineTotalItemFields
    )
    order_fields = [f for f in OrderFields.model_fields if f in columns]
    item_fields = [f for f in item_model.model_fields if f in columns]
    number_index = columns["number"]
    current: OrderGroup | None = None
    rejected_number: tuple[str, int] | None = None
    for row in source.rows():
        cells = row.cells
        number = clean_line(cells[number_index][:200]).lstrip("#")
        item_data: dict[str, Any] = {f: cells[columns[f]] for f in item_fields}
        if not str(item_data.get("item_title", "")).strip():
            item_data["item_title"] = item_data.get("sku", "")
        item, item_errors = validate_row(item_model, item_data, row.line, names)
        if number and rejected_number and number == rejected_number[0]:
            reason = f"belongs to order {number!r}, rejected on line {rejected_number[1]}"
            yield Rejection(row.line, cells, [RowError(row.line, names["number"], reason)])
            continue
        if current is not None and number == current.order.number:
            if item is None:
                yield Rejection(row.line, cells, item_errors)
            else:
                current.items.append((item, row.line, cells))
            continue
        if current is not None:
            yield current
            current = None
        data: dict[str, Any] = {f: cells[columns[f]] for f in order_fields}
        data["number"] = number
        order, order_errors = validate_row(OrderFields, data, row.line, names)
        if order is None or item is None:
            rejected_number = (number, row.line) if order is None and number else None
            yield Rejection(row.line, cells, order_errors + item_errors)
            continue
        rejected_number = None
        current = OrderGroup(order, row.line, cells, [(item, row.line, cells)])
    if current is not None:
        yield current


def _clear_orders(conn: Any) -> None:
    """--replace: every order, customer, shipment and return goes (tickets and conversations
    keep their text but lose the link)."""
    conn.execute("update tickets set order_id = null, customer_id = null")
    conn.execute("update conversations set customer_id = null")
    for table in ("returns", "tracking_events", "shipments", "order_items", "orders", "customers"):
        conn.execute(f"delete from {table}")


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


def _customer_name(order: OrderFields) -> str | None:
    return order.customer_name or _full_name(order.first_name, order.last_name)


def _address(
    name: str | None,
    address1: str | None,
    address2: str | None,
    city: str | None,
    zip_code: str | None,
    province: str | None,
    country: str | None,
    phone: str | None,
) -> dict[str, str]:
    """An address dict in the stored shape; empty when the file gave no address lines."""
    fields = {"address1": address1, "address2": address2, "city": city, "zip": zip_code,
              "province": province, "country": country}  # fmt: skip
    if not any(fields.values()):
        return {}
    return {k: v for k, v in {"name": name, **fields, "phone": phone}.items() if v}


def _line_fulfilment(item: Item, order: OrderFields, status: str) -> tuple[str | None, str | None]:
    """A line's fulfilment status and date: Shopify's ``Lineitem fulfillment status`` when
    exported (the date is the order's ``Fulfilled at``), else the order's own."""
    line = status_key(item.item_fulfillment_status or "").replace(" ", "_") or None
    if line is None and order.fulfillment_status:
        line = status_key(order.fulfillment_status).replace(" ", "_")
        if line == "partial":
            line = None  # which lines are unknown
    if line is None and status in ("shipped", "in_transit", "delivered", "returned"):
        line = "fulfilled"
    return line, (order.shipped_at if line == "fulfilled" else None)


class _OrderWriter:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn
        self.counts = {
            "orders": 0,
            "items": 0,
            "created": 0,
            "updated": 0,
            "new_customers": 0,
            "shipments": 0,
        }
        self.customers: set[int] = set()

    def write(self, group: OrderGroup) -> None:
        order = group.order
        conn = self.conn
        customer_id = self._customer_id(order)
        status = order.mapped_status()
        subtotal = order.subtotal
        if subtotal is None:
            subtotal = sum(item.line_cents for item, _, _ in group.items)
        shipping, tax, discount = order.shipping or 0, order.tax or 0, order.discount or 0
        total = order.total if order.total is not None else subtotal + shipping + tax - discount
        payment_status = order.payment_status()
        refunded = order.refunded or 0
        if not refunded and payment_status == "refunded":
            refunded = max(total, 0)  # fully refunded, amount not exported: the whole total
        address = _address(
            order.ship_name or _full_name(order.ship_first_name, order.ship_last_name)
            or _customer_name(order),
            order.address1, order.address2, order.city, order.zip, order.province,
            order.country, order.ship_phone,
        )  # fmt: skip
        billing = _address(
            _customer_name(order), order.billing_address1, order.billing_address2,
            order.billing_city, order.billing_zip, order.billing_province,
            order.billing_country, order.billing_phone,
        )  # fmt: skip
        existing = conn.execute(
            "select id from orders where number = ?", (order.number,)
        ).fetchone()
        values = (
            customer_id, status, payment_status, order.fulfillment_status,
            (order.currency or "USD").upper()[:3], subtotal, shipping, tax, discount, max(total, 0),
            order.shipping_method, json.dumps(address, ensure_ascii=False), order.placed_at,
            order.paid_at, order.cancelled_at, order.status, refunded, order.shipped_at,
            order.payment_method, json.dumps(billing, ensure_ascii=False),
        )  # fmt: skip
        if existing is None:
            cursor = conn.execute(
                "insert into orders (customer_id, status, financial_status, fulfillment_status, "
                "currency, subtotal_cents, shipping_cents, tax_cents, discount_cents, total_cents, "
                "shipping_method, shipping_address, placed_at, paid_at, cancelled_at, "
                "shop_status, refunded_cents, fulfilled_at, payment_method, billing_address, "
                "number, source) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'import')",
                (*values, order.number),
            )
            order_id = cursor.lastrowid
            self.counts["created"] += 1
        else:
            order_id = existing[0]
            conn.execute(
                "update orders set customer_id = ?, status = ?, financial_status = ?, "
                "fulfillment_status = ?, currency = ?, subtotal_cents = ?, shipping_cents = ?, "
                "tax_cents = ?, discount_cents = ?, total_cents = ?, shipping_method = ?, "
                "shipping_address = ?, placed_at = ?, paid_at = ?, cancelled_at = ?, "
                "shop_status = ?, refunded_cents = ?, fulfilled_at = ?, payment_method = ?, "
                "billing_address = ?, source = 'import', updated_at = datetime('now') "
                "where id = ?",
                (*values, order_id),
            )
            conn.execute("delete from order_items where order_id = ?", (order_id,))
            self.counts["updated"] += 1
        self.counts["orders"] += 1
        conn.executemany(
            "insert into order_items (order_id, variant_id, sku, title, quantity, unit_price_cents, "
            "fulfillment_status, fulfilled_at) "
            "values (?, (select id from variants where sku = ?), ?, ?, ?, ?, ?, ?)",
            [
                (order_id, item.sku, item.sku, item.item_title, item.quantity, item.unit_price,
                 *_line_fulfilment(item, order, status))
                for item, _, _ in group.items
            ],
        )  # fmt: skip
        self.counts["items"] += len(group.items)
        if order.tracking_number:
            self._write_shipment(order_id, order, status)
        if customer_id is not None:
            self.customers.add(customer_id)

    def finish(self) -> None:
        """Each customer of this file gets the address of their latest order as their default
        (shipping, else billing), as the shop's own customer record would show."""
        self.conn.executemany(
            """
            update customers set address = coalesce((
                select case when o.shipping_address not in ('', '{}') then o.shipping_address
                            else o.billing_address end
                from orders o where o.customer_id = customers.id
                  and (o.shipping_address not in ('', '{}') or o.billing_address not in ('', '{}'))
                order by o.placed_at desc, o.id desc limit 1), address)
            where id = ?
            """,
            [(cid,) for cid in sorted(self.customers)],
        )

    def _customer_id(self, order: OrderFields) -> int | None:
        if not order.email:
            return None
        name = _customer_name(order) or order.ship_name or order.email.split("@")[0]
        phone = order.phone or order.ship_phone or order.billing_phone
        row = self.conn.execute(
            "select id from customers where email = ?", (order.email,)
        ).fetchone()
        if row is not None:
            self.conn.execute(
                "update customers set name = ?, phone = coalesce(?, phone) where id = ?",
                (name, phone, row[0]),
            )
            return int(row[0])
        cursor = self.conn.execute(
            "insert into customers (name, email, phone, source) values (?, ?, ?, 'import')",
            (name, order.email, phone),
        )
        self.counts["new_customers"] += 1
        return cursor.lastrowid

    def _write_shipment(self, order_id: int | None, order: OrderFields, status: str) -> None:
        # Only what the export says: a fulfilled (or refunded after fulfilment) order has
        # shipped; that it is in transit or delivered is known only when a status says so.
        shipment_status = {
            "delivered": "delivered",
            "returned": "shipped",
            "shipped": "shipped",
            "in_transit": "in_transit",
        }.get(status, "label_created")
        self.conn.execute(
            "delete from shipments where order_id = ? and tracking_number = ?",
            (order_id, order.tracking_number),
        )
        self.conn.execute(
            "insert into shipments (order_id, carrier, tracking_number, status, shipped_at) "
            "values (?, ?, ?, ?, ?)",
            (order_id, order.carrier, order.tracking_number, shipment_status, order.shipped_at),
        )
        self.counts["shipments"] += 1
