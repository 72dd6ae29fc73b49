"""Failed ownership checks, stored so limits hold across conversations and processes.

One row per failed check (a wrong email or phone for an order, a wrong order number for
a claimed customer). A conversation's rows count for as long as it lives; an order's or a
customer's rows count within a time window, so an attacker who opens new conversations
still runs out of guesses. Staff clear rows with ``shopassist unlock``; a cleared row is
kept (``cleared_at``) as the audit trail. Order numbers and customer ids are stored, never
the email or phone that was tried.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
from pydantic import BaseModel


class FailureCounts(BaseModel):
    conversation: int = 0
    order: int = 0
    customer: int = 0


def record_failure(
    db: sqlite_utils.Database,
    *,
    conversation_id: str,
    order_number: str | None,
    customer_id: int | None,
    at: str,
) -> None:
    """Add a failed check; joins the caller's transaction (the turn commits it)."""
    db.execute(
        "insert into verification_failures (conversation_id, order_number, customer_id, at) "
        "values (?, ?, ?, ?)",
        [conversation_id, order_number, customer_id, at],
    )


def failure_counts(
    db: sqlite_utils.Database,
    *,
    conversation_id: str,
    order_number: str | None,
    customer_id: int | None,
    since: str,
) -> FailureCounts:
    """Uncleared failures: all of this conversation's, and the order's and customer's since ``since``."""

    def count(sql: str, params: list[Any]) -> int:
        return int(db.execute(sql, params).fetchone()[0])

    base = "select count(*) from verification_failures where cleared_at is null and "
    return FailureCounts(
        conversation=count(base + "conversation_id = ?", [conversation_id]),
        order=count(base + "order_number = ? and at >= ?", [order_number, since])
        if order_number
        else 0,
        customer=count(base + "customer_id = ? and at >= ?", [customer_id, since])
        if customer_id is not None
        else 0,
    )


def clear_failures(
    db: sqlite_utils.Database,
    *,
    at: str,
    conversation_id: str | None = None,
    order_number: str | None = None,
    customer_id: int | None = None,
) -> int:
    """Clear the uncleared failures of one conversation, order or customer; returns how many."""
    where: list[str] = []
    params: list[Any] = []
    if conversation_id is not None:
        where.append("conversation_id = ?")
        params.append(conversation_id)
    if order_number is not None:
        where.append("order_number = ?")
        params.append(order_number)
    if customer_id is not None:
        where.append("customer_id = ?")
        params.append(customer_id)
    if not where:
        raise ValueError("name a conversation, an order or a customer to clear")
    with db.conn:
        cur = db.execute(
            "update verification_failures set cleared_at = ? where cleared_at is null and ("
            + " or ".join(where)
            + ")",
            [at, *params],
        )
    return int(cur.rowcount or 0)


def list_failures(db: sqlite_utils.Database, *, since: str = "") -> list[dict[str, Any]]:
    """Uncleared failures per conversation, order and customer (orders and customers
    counted since ``since``), most recent first."""
    cur = db.execute(
        """
        select 'conversation' as kind, conversation_id as target, count(*) as failures,
            max(at) as last_at
        from verification_failures where cleared_at is null group by conversation_id
        union all
        select 'order', order_number, count(*), max(at) from verification_failures
        where cleared_at is null and order_number is not null and at >= ? group by order_number
        union all
        select 'customer', cast(customer_id as text), count(*), max(at) from verification_failures
        where cleared_at is null and customer_id is not null and at >= ? group by customer_id
        order by last_at desc
        """,
        [since, since],
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
