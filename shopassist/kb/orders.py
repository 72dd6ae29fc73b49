"""Orders, shipments and returns: the reads and writes the after-sales flows need.

Writes here never commit themselves: the dialogue engine runs them inside the turn's
transaction and commits the action together with the turn that caused it, so a crash can
never leave a cancelled order without its conversation.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

SHIPPED_STATUSES = ("shipped", "in_transit", "delivered", "returned")


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def normalise_order_number(number: str | int) -> str:
    text = str(number).strip().lstrip("#").strip()
    return re.sub(r"\s+", "", text)


def _rows(db: sqlite_utils.Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _json(value: Any, default: Any) -> Any:
    try:
        return json.loads(value) if isinstance(value, str) and value else default
    except ValueError:
        return default


def find_order(db: sqlite_utils.Database, number: str | int) -> dict[str, Any] | None:
    """The bare order row by the number the customer quotes (with or without '#')."""
    number = normalise_order_number(number)
    if not number:
        return None
    rows = _rows(db, "select * from orders where number = ?", [number])
    if not rows and number.isdigit():
        rows = _rows(db, "select * from orders where number = ?", ["#" + number])
    if not rows:
        # 'sa5107' for 'SA-5107': the same letters and digits, other case or separators.
        compact = _compact(number)
        if compact and compact != number:
            rows = _rows(
                db,
                "select * from orders where number = ? collate nocase or "
                "upper(replace(replace(replace(number, '-', ''), ' ', ''), '#', '')) = ?",
                [number, compact],
            )
            rows = rows[:1] if len(rows) == 1 else []  # two candidates: not this one
    if not rows:
        return None
    order = rows[0]
    order["shipping_address"] = _json(order.get("shipping_address"), {})
    order["billing_address"] = _json(order.get("billing_address"), {})
    return order


def _compact(number: str) -> str:
    return re.sub(r"[\s#-]+", "", number).upper()


def load_order_details(db: sqlite_utils.Database, order: dict[str, Any]) -> dict[str, Any]:
    """Attach items, the latest shipment with its latest event, and returns to an order row."""
    order_id = order["id"]
    order["items"] = _rows(
        db,
        """
        select oi.*, v.product_id, v.colour, v.size, v.title as variant_title
        from order_items oi left join variants v on v.id = oi.variant_id
        where oi.order_id = ? order by oi.id
        """,
        [order_id],
    )
    shipments = _rows(db, "select * from shipments where order_id = ? order by id desc", [order_id])
    shipment = shipments[0] if shipments else None
    if shipment is not None:
        events = _rows(
            db,
            "select * from tracking_events where shipment_id = ? order by at desc, id desc limit 1",
            [shipment["id"]],
        )
        shipment["latest_event"] = events[0] if events else None
    order["shipment"] = shipment
    order["returns"] = _rows(db, "select * from returns where order_id = ? order by id", [order_id])
    return order


def customer_orders(
    db: sqlite_utils.Database, customer_id: int, limit: int = 10
) -> list[dict[str, Any]]:
    return _rows(
        db,
        "select id, number, status, total_cents, currency, placed_at from orders "
        "where customer_id = ? order by placed_at desc limit ?",
        [customer_id, limit],
    )


# --- the order's lifecycle as the shop's export tells it (m005_order_lifecycle) -------------
# ``order`` is a row from find_order (with load_order_details for the per-line readers).

REFUND_STATUSES = ("refunded", "partially_refunded")


def financial_status(order: dict[str, Any]) -> str | None:
    """The payment state the shop exported: 'paid', 'pending', 'authorized', 'refunded',
    'partially_refunded', 'voided' ... (lower-case, '_' for spaces), or None if unknown."""
    value = order.get("financial_status")
    if not value:
        return None
    return "_".join(str(value).strip().lower().replace("-", " ").split()) or None


def is_refunded(order: dict[str, Any]) -> bool:
    """Fully refunded, per the financial status."""
    return financial_status(order) == "refunded"


def is_partially_refunded(order: dict[str, Any]) -> bool:
    return financial_status(order) == "partially_refunded"


def refunded_cents(order: dict[str, Any]) -> int:
    """Money refunded on the order, as exported (Shopify ``Refunded Amount``; a fully
    refunded order without an amount counts its total). 0 when nothing is known."""
    return int(order.get("refunded_cents") or 0)


def shop_status(order: dict[str, Any]) -> str | None:
    """The shop's own status word, as exported ('on-hold', 'completed', 'processing' ...)."""
    value = order.get("shop_status")
    return str(value) if value else None


def payment_method(order: dict[str, Any]) -> str | None:
    """How the order was paid, as exported (Shopify ``Payment Method``, WooCommerce
    ``payment_method_title``), or None."""
    value = order.get("payment_method")
    return str(value) if value else None


def fulfilled_at(order: dict[str, Any]) -> str | None:
    """When the order was fulfilled (handed to the carrier): the export's ``Fulfilled at``,
    else the latest shipment's ``shipped_at`` (needs load_order_details)."""
    if order.get("fulfilled_at"):
        return str(order["fulfilled_at"])
    shipment = order.get("shipment") or {}
    if shipment.get("shipped_at"):
        return str(shipment["shipped_at"])
    return None


def is_fulfilled(order: dict[str, Any]) -> bool:
    """Shipped by the shop: a fulfilment date, a fulfilled status or a shipped-like status."""
    status = str(order.get("fulfillment_status") or "").lower()
    return (
        fulfilled_at(order) is not None
        or status in ("fulfilled", "shipped", "delivered", "in_transit")
        or order.get("status") in SHIPPED_STATUSES
    )


def line_fulfilment(item: dict[str, Any]) -> tuple[str | None, str | None]:
    """(status, fulfilled_at) of one line of ``order['items']``: Shopify's ``Lineitem
    fulfillment status`` ('fulfilled', 'pending', ...) and the date, None when unknown."""
    status = item.get("fulfillment_status")
    at = item.get("fulfilled_at")
    return (str(status) if status else None, str(at) if at else None)


def return_window_start(order: dict[str, Any]) -> tuple[str | None, str | None]:
    """(date, basis) a return window counts from: ('…', 'delivery') when delivery is
    known, else ('…', 'fulfilment') when only the fulfilment date is, else (None, None).
    Needs load_order_details."""
    delivered = delivered_at(order)
    if delivered:
        return delivered, "delivery"
    fulfilled = fulfilled_at(order)
    if fulfilled:
        return fulfilled, "fulfilment"
    return None, None


def billing_address(order: dict[str, Any]) -> dict[str, Any]:
    value = order.get("billing_address")
    return value if isinstance(value, dict) else _json(value, {})


def customer_default_address(db: sqlite_utils.Database, customer_id: int) -> dict[str, Any]:
    """The customer's default address (``customers.address``: at import, the shipping or
    billing address of their latest order). {} when none is known."""
    row = db.execute("select address from customers where id = ?", [customer_id]).fetchone()
    return _json(row[0], {}) if row else {}


def set_payment_method(
    db: sqlite_utils.Database, order_id: int, method: str, *, at: str | None = None
) -> None:
    db.execute(
        "update orders set payment_method = ?, updated_at = ? where id = ?",
        [method, at or now_iso(), order_id],
    )


def carrier_tracking(order: dict[str, Any]) -> tuple[str | None, str] | None:
    """(carrier, tracking number) of the latest shipment, or None without a tracking number.
    Given whether or not the carrier sent any tracking events: an export carries the carrier
    and number of a fulfilled order, never its events. The carrier may be None (a number
    without a company). Needs load_order_details."""
    shipment = order.get("shipment") or {}
    number = str(shipment.get("tracking_number") or "").strip()
    if not number:
        return None
    carrier = str(shipment.get("carrier") or "").strip()
    return (carrier or None, number)


def delivered_at(order: dict[str, Any]) -> str | None:
    shipment = order.get("shipment") or {}
    if shipment.get("delivered_at"):
        return str(shipment["delivered_at"])
    event = shipment.get("latest_event") or {}
    if event.get("status") == "delivered":
        return str(event["at"])
    return None


def cancel_order(
    db: sqlite_utils.Database, order_id: int, fee_cents: int | None, *, at: str | None = None
) -> str:
    """``at``: the engine passes its own clock, so a frozen "now" is what gets stored."""
    at = at or now_iso()
    db.execute(
        "update orders set status = 'cancelled', cancelled_at = ?, cancellation_fee_cents = ?, "
        "updated_at = ? where id = ?",
        [at, fee_cents, at, order_id],
    )
    return at


def set_shipping_address(
    db: sqlite_utils.Database, order_id: int, address: dict[str, Any], *, at: str | None = None
) -> None:
    db.execute(
        "update orders set shipping_address = ?, updated_at = ? where id = ?",
        [json.dumps(address, ensure_ascii=False), at or now_iso(), order_id],
    )


def change_item(
    db: sqlite_utils.Database,
    order_id: int,
    item_id: int,
    *,
    quantity: int | None = None,
    variant: dict[str, Any] | None = None,
    at: str | None = None,
) -> None:
    """Change one line's quantity and/or variant, then recompute the order's totals."""
    if variant is not None:
        db.execute(
            "update order_items set variant_id = ?, sku = ?, unit_price_cents = ? where id = ? and order_id = ?",
            [variant["id"], variant.get("sku"), variant["price_cents"], item_id, order_id],
        )
    if quantity is not None:
        db.execute(
            "update order_items set quantity = ? where id = ? and order_id = ?",
            [quantity, item_id, order_id],
        )
    subtotal = db.execute(
        "select coalesce(sum(quantity * unit_price_cents), 0) from order_items where order_id = ?",
        [order_id],
    ).fetchone()[0]
    db.execute(
        "update orders set subtotal_cents = ?, "
        "total_cents = max(0, ? + shipping_cents + tax_cents - discount_cents), updated_at = ? "
        "where id = ?",
        [subtotal, subtotal, at or now_iso(), order_id],
    )


def variants_of(db: sqlite_utils.Database, product_id: int) -> list[dict[str, Any]]:
    return _rows(
        db, "select * from variants where product_id = ? order by position, id", [product_id]
    )


def next_rma(
    db: sqlite_utils.Database, order_number: str, fmt: str = "RMA-{order_number}-{n}"
) -> str:
    """The next free RMA number for an order, following the policy's format."""
    n = 1
    while True:
        rma = fmt.format(order_number=normalise_order_number(order_number), n=n)
        if db.execute("select 1 from returns where rma = ?", [rma]).fetchone() is None:
            return rma
        n += 1


def create_return(
    db: sqlite_utils.Database,
    *,
    order_id: int,
    rma: str,
    reason: str,
    items: list[dict[str, Any]],
    refund_cents: int,
    refund_method: str,
    free_return_shipping: bool,
    at: str | None = None,
) -> int:
    cur = db.execute(
        "insert into returns (rma, order_id, status, reason, items, refund_cents, refund_method, "
        "free_return_shipping, created_at) values (?, ?, 'requested', ?, ?, ?, ?, ?, ?)",
        [
            rma,
            order_id,
            reason,
            json.dumps(items, ensure_ascii=False),
            refund_cents,
            refund_method,
            int(free_return_shipping),
            at or now_iso(),
        ],
    )
    return int(cur.lastrowid or 0)
