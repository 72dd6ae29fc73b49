"""Customer look-ups by id, email or phone, compared in normalised form.

Customers quote their email and phone in many shapes ("Ann@Example.com ", "+86 138-0013-8000");
identity checks must compare what the digits and addresses mean, not how they were typed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlite_utils

_NON_DIGITS = re.compile(r"\D+")


def normalise_email(email: str) -> str:
    return (email or "").strip().strip("<>.,;").lower()


def normalise_phone(phone: str) -> str:
    """Digits only, without an international prefix (00 / +) or the Chinese +86 code."""
    digits = _NON_DIGITS.sub("", phone or "")
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def phones_match(a: str, b: str) -> bool:
    """Equal digits, or equal last ten digits when a country code was left off one side."""
    x, y = normalise_phone(a), normalise_phone(b)
    if len(x) < 7 or len(y) < 7:
        return False
    if x == y:
        return True
    return len(x) >= 10 and len(y) >= 10 and x[-10:] == y[-10:]


def _row(db: sqlite_utils.Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    cur = db.execute(sql, params)
    row = cur.fetchone()
    if row is None:
        return None
    return _decode(dict(zip([c[0] for c in cur.description], row, strict=True)))


def _decode(customer: dict[str, Any]) -> dict[str, Any]:
    try:
        customer["address"] = json.loads(customer.get("address") or "{}")
    except (TypeError, ValueError):
        customer["address"] = {}
    return customer


def get_customer(db: sqlite_utils.Database, customer_id: int) -> dict[str, Any] | None:
    return _row(db, "select * from customers where id = ?", [customer_id])


def find_by_email(db: sqlite_utils.Database, email: str) -> dict[str, Any] | None:
    email = normalise_email(email)
    if not email:
        return None
    return _row(db, "select * from customers where lower(trim(email)) = ?", [email])


def find_by_phone(db: sqlite_utils.Database, phone: str) -> dict[str, Any] | None:
    wanted = normalise_phone(phone)
    if len(wanted) < 7:
        return None
    # Phone formats vary too much for an index; the suffix narrows the scan first.
    suffix = wanted[-4:]
    cur = db.execute("select id, phone from customers where phone like ?", [f"%{suffix[-1]}"])
    for customer_id, stored in cur.fetchall():
        if stored and phones_match(stored, wanted):
            return get_customer(db, customer_id)
    return None


def find_customer(db: sqlite_utils.Database, ref: str | int) -> dict[str, Any] | None:
    """A customer by numeric id or by email; None when there is no such customer."""
    if isinstance(ref, int):
        return get_customer(db, ref)
    ref = (ref or "").strip()
    if ref.isdigit():
        return get_customer(db, int(ref))
    if "@" in ref:
        return find_by_email(db, ref)
    return None


def purchased_category_ids(db: sqlite_utils.Database, customer_id: int) -> list[int]:
    """Categories the customer bought from, most bought first (for recommendations)."""
    rows = db.execute(
        """
        select p.category_id, sum(oi.quantity) as n
        from orders o
        join order_items oi on oi.order_id = o.id
        join variants v on v.id = oi.variant_id
        join products p on p.id = v.product_id
        where o.customer_id = ? and p.category_id is not null
        group by p.category_id order by n desc
        """,
        [customer_id],
    ).fetchall()
    return [r[0] for r in rows]


def purchased_product_ids(db: sqlite_utils.Database, customer_id: int) -> set[int]:
    rows = db.execute(
        """
        select distinct v.product_id from orders o
        join order_items oi on oi.order_id = o.id
        join variants v on v.id = oi.variant_id
        where o.customer_id = ?
        """,
        [customer_id],
    ).fetchall()
    return {r[0] for r in rows}


def set_default_address(
    db: sqlite_utils.Database, customer_id: int, address: dict[str, Any]
) -> None:
    """Update without committing: the caller commits it together with the turn record."""
    db.execute(
        "update customers set address = ? where id = ?",
        [json.dumps(address, ensure_ascii=False), customer_id],
    )
