"""The live channel's message log: what a web customer sees, and what staff must answer.

Every message of a web conversation is one row of ``live_events``, in order of its
``id`` (``autoincrement``, so ids only grow and work as a polling cursor across
processes): the customer's message (masked, as stored in ``turns``), the bot's reply,
and staff replies. A bot reply that must wait for a person (review mode, or a
conversation already handed off) is stored ``pending``; the customer sees it only when
staff approve or replace it, which appends a new ``sent`` row.

Several server processes and several staff terminals share one database file (WAL):
nothing here keeps state in memory, so every process sees the others' writes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from shopassist.kb.orders import now_iso

LIVE_CHANNEL = "web"


def database_path(db: sqlite_utils.Database) -> Path | None:
    """The file behind a connection (None for an in-memory database)."""
    for _seq, name, file in db.conn.execute("pragma database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def _rows(db: sqlite_utils.Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def conversation_info(db: sqlite_utils.Database, conversation_id: str) -> dict[str, Any] | None:
    """Channel and hand-off flag of a stored conversation (None when it does not exist)."""
    rows = _rows(
        db,
        "select id, channel, handoff, language from conversations where id = ?",
        [conversation_id],
    )
    if not rows:
        return None
    row = rows[0]
    row["handoff"] = bool(row["handoff"])
    return row


def record_exchange(
    db: sqlite_utils.Database,
    conversation_id: str,
    turn_index: int,
    *,
    customer_text: str,
    reply: str,
    held: bool,
    suggestions: list[dict[str, Any]] | None = None,
) -> tuple[int, int]:
    """Log one customer message and the bot's reply; returns (customer id, reply id).

    Writes inside the caller's open transaction and does not commit: the web channel
    calls it from the record stage, so the turn and what the page shows of it are
    committed together or not at all.
    ``held``: the reply waits for a person (``pending``) instead of going out.
    ``suggestions``: the ranked replies staff pick from, stored with the bot's row.
    """
    if not db.conn.in_transaction:
        raise RuntimeError("record_exchange must run inside the turn's write transaction")
    at = now_iso()
    customer_id = _insert(db, conversation_id, turn_index, "customer", customer_text, "sent", at)
    reply_id = _insert(
        db,
        conversation_id,
        turn_index,
        "bot",
        reply,
        "pending" if held else "sent",
        at,
        suggestions=json.dumps(suggestions or [], ensure_ascii=False),
    )
    return customer_id, reply_id


def send_staff_reply(
    db: sqlite_utils.Database,
    conversation_id: str,
    text: str,
    *,
    turn_index: int | None,
    approved: bool,
    staff: str | None = None,
) -> int:
    """Append a staff reply the customer sees at once; settles any pending bot reply.

    ``approved``: the staff member sent the pending bot reply as it was (else they
    edited or replaced it). Returns the new row's id.
    """
    if not text.strip():
        raise ValueError("a staff reply cannot be empty")
    if conversation_info(db, conversation_id) is None:
        raise LookupError(f"no conversation {conversation_id!r}")
    with db.conn:
        db.execute(
            "update live_events set status = ? where conversation_id = ? and status = 'pending'",
            ["approved" if approved else "replaced", conversation_id],
        )
        row_id = _insert(
            db, conversation_id, turn_index, "staff", text, "sent", now_iso(), staff=staff
        )
        db.execute(
            "update conversations set updated_at = ? where id = ?", [now_iso(), conversation_id]
        )
    return row_id


def _insert(
    db: sqlite_utils.Database,
    conversation_id: str,
    turn_index: int | None,
    author: str,
    text: str,
    status: str,
    at: str,
    *,
    suggestions: str | None = None,
    staff: str | None = None,
) -> int:
    cur = db.execute(
        "insert into live_events (conversation_id, turn_idx, author, text, status, suggestions, "
        "staff, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [conversation_id, turn_index, author, text, status, suggestions, staff, at],
    )
    return int(cur.lastrowid or 0)


def visible_events(
    db: sqlite_utils.Database, conversation_id: str, after: int = 0, limit: int = 200
) -> list[dict[str, Any]]:
    """What the customer's page shows, after the cursor ``after``, oldest first."""
    return _rows(
        db,
        "select id, author, text, created_at from live_events "
        "where conversation_id = ? and id > ? and status = 'sent' order by id limit ?",
        [conversation_id, int(after), int(limit)],
    )


def history(
    db: sqlite_utils.Database, conversation_id: str, after: int = 0
) -> list[dict[str, Any]]:
    """Every row of a conversation for staff, pending replies and suggestions included."""
    rows = _rows(
        db,
        "select id, turn_idx, author, text, status, suggestions, staff, created_at "
        "from live_events where conversation_id = ? and id > ? order by id",
        [conversation_id, int(after)],
    )
    for row in rows:
        row["suggestions"] = json.loads(row["suggestions"]) if row["suggestions"] else []
    return rows


def awaiting_person(db: sqlite_utils.Database, conversation_id: str) -> bool:
    """True when the customer waits for staff: a pending reply, or a hand-off not yet answered."""
    rows = queue(db, only=conversation_id)
    return bool(rows and rows[0]["awaiting"])


def queue(
    db: sqlite_utils.Database,
    *,
    limit: int = 50,
    only: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Web conversations, newest activity first, with what staff need to pick one.

    Each row: session_id, language, sentiment (of the last customer message), handoff,
    pending (a bot reply awaits approval), awaiting (someone must answer), waiting_s
    (seconds since the unanswered customer message, else None), last_text, turns.
    """
    where = "c.channel = ?" + (" and c.id = ?" if only else "")
    params: list[Any] = [LIVE_CHANNEL] + ([only] if only else []) + [int(limit)]
    rows = _rows(
        db,
        f"""
        select c.id as session_id, c.language, c.handoff, c.customer_id,
            (select t.sentiment from turns t where t.conversation_id = c.id
                order by t.idx desc limit 1) as sentiment,
            (select count(*) from turns t where t.conversation_id = c.id) as turns,
            (select max(e.id) from live_events e where e.conversation_id = c.id) as last_event,
            (select max(e.id) from live_events e where e.conversation_id = c.id
                and e.author = 'customer') as last_customer,
            (select e.text from live_events e where e.conversation_id = c.id
                and e.author = 'customer' order by e.id desc limit 1) as last_text,
            (select e.created_at from live_events e where e.conversation_id = c.id
                and e.author = 'customer' order by e.id desc limit 1) as last_customer_at,
            (select max(e.id) from live_events e where e.conversation_id = c.id
                and e.author = 'staff') as last_staff,
            exists(select 1 from live_events e where e.conversation_id = c.id
                and e.status = 'pending') as pending
        from conversations c
        where {where}
        order by last_event desc nulls last, c.updated_at desc
        limit ?
        """,
        params,
    )
    clock = now or datetime.now(UTC)
    for row in rows:
        row["handoff"] = bool(row["handoff"])
        row["pending"] = bool(row["pending"])
        unanswered_handoff = row["handoff"] and (row["last_staff"] or 0) < (
            row["last_customer"] or 0
        )
        row["awaiting"] = row["pending"] or unanswered_handoff
        row["waiting_s"] = (
            _seconds_since(row["last_customer_at"], clock) if row["awaiting"] else None
        )
    return rows


def _seconds_since(stamp: str | None, clock: datetime) -> float | None:
    if not stamp:
        return None
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (clock - then).total_seconds())


def stored_turn_count(db: sqlite_utils.Database, *, channel: str = LIVE_CHANNEL) -> int:
    """Turns stored for one channel (the load test checks that none was lost)."""
    row = db.execute(
        "select count(*) from turns t join conversations c on c.id = t.conversation_id "
        "where c.channel = ?",
        [channel],
    ).fetchone()
    return int(row[0])


__all__ = [
    "LIVE_CHANNEL",
    "awaiting_person",
    "conversation_info",
    "database_path",
    "history",
    "queue",
    "record_exchange",
    "send_staff_reply",
    "stored_turn_count",
    "visible_events",
]
