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
        return None
    order = rows[0]
    order["shipping_address"] = _json(order.get("shipping_address"), {})
    return order


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


def delivered_at(order: dict[str, Any]) -> str | None:
    shipment = order.get("shipment") or {}
    if shipment.get("delivered_at"):
        return str(shipment["delivered_at"])
    event = shipment.get("latest_event") or {}
    if event.get("status") == "delivered":
        return str(event["at"])
    return None


def cancel_order(
    db: sqlite_utils.Database, order_id: int, fee_cents: int, *, at: str | None = None
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


def get_policy(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    row = db.execute("select value from policies where key = ?", [key]).fetchone()
    if row is None:
        return default
    return _json(row[0], default)
