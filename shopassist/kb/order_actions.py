"""Item-level order actions: the database side of returns of chosen lines, exchanges, variant
changes, cancellations with a reason, address and payment-method changes.

Each action runs inside one SAVEPOINT: either every row it touches changes, or (on any error,
such as a variant that sold out a moment ago) none does. Like ``kb/orders.py`` nothing here
commits: the dialogue engine commits the action together with the turn that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from shopassist.kb import orders
from shopassist.kb.orders import now_iso


class OrderActionError(Exception):
    """The action cannot be carried out as asked (the message says why); nothing was written."""


@contextmanager
def _one_action(db: sqlite_utils.Database, name: str) -> Iterator[None]:
    db.execute(f"savepoint {name}")
    try:
        yield
    except BaseException:
        db.execute(f"rollback to {name}")
        db.execute(f"release {name}")
        raise
    db.execute(f"release {name}")


def _rows(db: sqlite_utils.Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def order_lines(db: sqlite_utils.Database, order_id: int) -> list[dict[str, Any]]:
    """The order's lines with the words customers name them by: product title, Chinese
    title, product type and category (path and Chinese name), colour and size."""
    return _rows(
        db,
        """
        select oi.id, oi.order_id, oi.variant_id, oi.sku, oi.title, oi.quantity,
               oi.unit_price_cents, oi.fulfillment_status, oi.fulfilled_at,
               v.product_id, v.colour, v.size, v.title as variant_title,
               p.title as product_title, p.title_zh, p.product_type,
               c.name as category, c.path as category_path, c.name_zh as category_zh
        from order_items oi
        left join variants v on v.id = oi.variant_id
        left join products p on p.id = v.product_id
        left join categories c on c.id = p.category_id
        where oi.order_id = ? order by oi.id
        """,
        [order_id],
    )


def variants_in_stock(
    db: sqlite_utils.Database, product_id: int, quantity: int
) -> list[dict[str, Any]]:
    return _rows(
        db,
        "select * from variants where product_id = ? and stock >= ? order by position, id",
        [product_id, quantity],
    )


def _take_stock(db: sqlite_utils.Database, variant_id: int, quantity: int) -> None:
    cur = db.execute(
        "update variants set stock = stock - ? where id = ? and stock >= ?",
        [quantity, variant_id, quantity],
    )
    if cur.rowcount != 1:
        raise OrderActionError("that variant is no longer in stock")


def _put_back_stock(db: sqlite_utils.Database, variant_id: int | None, quantity: int) -> None:
    if variant_id is not None:
        db.execute("update variants set stock = stock + ? where id = ?", [quantity, variant_id])


def _recompute_totals(db: sqlite_utils.Database, order_id: int, at: str) -> int:
    subtotal = db.execute(
        "select coalesce(sum(quantity * unit_price_cents), 0) from order_items where order_id = ?",
        [order_id],
    ).fetchone()[0]
    db.execute(
        "update orders set subtotal_cents = ?, "
        "total_cents = max(0, ? + shipping_cents + tax_cents - discount_cents), updated_at = ? "
        "where id = ?",
        [subtotal, subtotal, at, order_id],
    )
    return int(db.execute("select total_cents from orders where id = ?", [order_id]).fetchone()[0])


# --- returns of chosen lines -----------------------------------------------------------------
def returned_quantities(db: sqlite_utils.Database, order_id: int) -> dict[int, int]:
    """How many units of each order line (by line id) are already on a return of the order
    that was not rejected. A return stored without line ids (older rows, demo data) is
    matched to its line by SKU, then by title."""
    lines = order_lines(db, order_id)
    by_sku = {str(line["sku"]): int(line["id"]) for line in lines if line.get("sku")}
    by_title = {str(line["title"]): int(line["id"]) for line in lines}
    known = {int(line["id"]) for line in lines}
    taken: dict[int, int] = {}
    rows = db.execute(
        "select items from returns where order_id = ? and status != 'rejected'", [order_id]
    ).fetchall()
    for (raw,) in rows:
        try:
            items = json.loads(raw or "[]")
        except ValueError:
            continue
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            line_id = item.get("order_item_id")
            if line_id is None or int(line_id) not in known:
                line_id = by_sku.get(str(item.get("sku"))) or by_title.get(str(item.get("title")))
            if line_id is None:
                continue
            taken[int(line_id)] = taken.get(int(line_id), 0) + int(item.get("quantity") or 0)
    return taken


def refunded_on_returns(db: sqlite_utils.Database, order_id: int) -> int:
    """The refunds of the order's returns so far (rejected ones left out), in cents."""
    row = db.execute(
        "select coalesce(sum(refund_cents), 0) from returns "
        "where order_id = ? and status != 'rejected'",
        [order_id],
    ).fetchone()
    return int(row[0] or 0)


def returnable_lines(db: sqlite_utils.Database, order_id: int) -> list[dict[str, Any]]:
    """The order's lines with ``returned`` (units already on a return) and ``remaining``
    (units that could still come back) added."""
    taken = returned_quantities(db, order_id)
    out = []
    for line in order_lines(db, order_id):
        done = min(int(line["quantity"]), taken.get(int(line["id"]), 0))
        out.append({**line, "returned": done, "remaining": int(line["quantity"]) - done})
    return out


def create_line_return(
    db: sqlite_utils.Database,
    *,
    order_id: int,
    rma: str,
    reason: str,
    lines: list[tuple[dict[str, Any], int]],
    refund_cents: int,
    refund_method: str,
    free_return_shipping: bool,
    at: str | None = None,
) -> int:
    """A return of exactly ``lines`` (order line, quantity): only they are on the RMA."""
    if not lines:
        raise OrderActionError("no items to return")
    items = []
    for line, qty in lines:
        if qty < 1 or qty > int(line["quantity"]):
            raise OrderActionError(f"{line['title']}: {qty} is more than was ordered")
        items.append(
            {
                "order_item_id": line["id"],
                "sku": line.get("sku"),
                "title": line["title"],
                "quantity": qty,
            }
        )
    with _one_action(db, "line_return"):
        return orders.create_return(
            db,
            order_id=order_id,
            rma=rma,
            reason=reason,
            items=items,
            refund_cents=refund_cents,
            refund_method=refund_method,
            free_return_shipping=free_return_shipping,
            at=at,
        )


# --- variant changes (unshipped) and exchanges (delivered) ------------------------------------


def change_line_variant(
    db: sqlite_utils.Database,
    *,
    order_id: int,
    line: dict[str, Any],
    variant: dict[str, Any],
    quantity: int,
    at: str | None = None,
) -> int:
    """Switch ``quantity`` of an unshipped line to ``variant`` (same product), moving the
    stock reservation; a part of the line is split off into its own line. Returns the new
    order total in cents."""
    at = at or now_iso()
    if quantity < 1 or quantity > int(line["quantity"]):
        raise OrderActionError(f"{line['title']}: {quantity} is more than was ordered")
    with _one_action(db, "line_variant"):
        _take_stock(db, int(variant["id"]), quantity)
        _put_back_stock(db, line.get("variant_id"), quantity)
        title = _variant_line_title(db, variant)
        if quantity == int(line["quantity"]):
            db.execute(
                "update order_items set variant_id = ?, sku = ?, title = ?, unit_price_cents = ? "
                "where id = ? and order_id = ?",
                [
                    variant["id"],
                    variant.get("sku"),
                    title,
                    variant["price_cents"],
                    line["id"],
                    order_id,
                ],
            )
        else:
            db.execute(
                "update order_items set quantity = quantity - ? where id = ? and order_id = ?",
                [quantity, line["id"], order_id],
            )
            db.execute(
                "insert into order_items (order_id, variant_id, sku, title, quantity, "
                "unit_price_cents) values (?, ?, ?, ?, ?, ?)",
                [
                    order_id,
                    variant["id"],
                    variant.get("sku"),
                    title,
                    quantity,
                    variant["price_cents"],
                ],
            )
        return _recompute_totals(db, order_id, at)


def _variant_line_title(db: sqlite_utils.Database, variant: dict[str, Any]) -> str:
    row = db.execute("select title from products where id = ?", [variant["product_id"]]).fetchone()
    product = row[0] if row else ""
    label = variant.get("title") or ""
    return f"{product} - {label}" if product and label and label != "Default" else product


def create_exchange(
    db: sqlite_utils.Database,
    *,
    order_id: int,
    line: dict[str, Any],
    variant: dict[str, Any],
    quantity: int,
    price_difference_cents: int,
    reason: str = "",
    at: str | None = None,
) -> int:
    """Exchange delivered items for another variant: the new one is reserved from stock now
    and ships when the old one is sent back. ``price_difference_cents`` > 0 is charged,
    < 0 refunded."""
    if quantity < 1 or quantity > int(line["quantity"]):
        raise OrderActionError(f"{line['title']}: {quantity} is more than was ordered")
    with _one_action(db, "exchange"):
        _take_stock(db, int(variant["id"]), quantity)
        cur = db.execute(
            "insert into exchanges (order_id, order_item_id, from_variant_id, to_variant_id, "
            "quantity, price_difference_cents, reason, status, created_at) "
            "values (?, ?, ?, ?, ?, ?, ?, 'requested', ?)",
            [
                order_id,
                line["id"],
                line.get("variant_id"),
                variant["id"],
                quantity,
                price_difference_cents,
                reason,
                at or now_iso(),
            ],
        )
    return int(cur.lastrowid or 0)


# --- cancellation, addresses, payment ---------------------------------------------------------


def cancel_with_reason(
    db: sqlite_utils.Database, order_id: int, fee_cents: int | None, reason: str | None, at: str
) -> None:
    """Cancel the order, keeping the fee and the customer's reason."""
    with _one_action(db, "cancel"):
        cur = db.execute(
            "update orders set status = 'cancelled', cancelled_at = ?, "
            "cancellation_fee_cents = ?, cancel_reason = ?, updated_at = ? "
            "where id = ? and status != 'cancelled'",
            [at, fee_cents, reason or None, at, order_id],
        )
        if cur.rowcount != 1:
            raise OrderActionError("the order is already cancelled")


def set_order_address(
    db: sqlite_utils.Database, order_id: int, address: dict[str, Any], at: str
) -> None:
    db.execute(
        "update orders set shipping_address = ?, updated_at = ? where id = ?",
        [json.dumps(address, ensure_ascii=False), at, order_id],
    )


def set_customer_address(
    db: sqlite_utils.Database, customer_id: int, address: dict[str, Any]
) -> None:
    db.execute(
        "update customers set address = ? where id = ?",
        [json.dumps(address, ensure_ascii=False), customer_id],
    )


def set_payment_method(db: sqlite_utils.Database, order_id: int, method: str, at: str) -> None:
    cur = db.execute(
        "update orders set payment_method = ?, updated_at = ? where id = ?",
        [method, at, order_id],
    )
    if cur.rowcount != 1:
        raise OrderActionError("no such order")
