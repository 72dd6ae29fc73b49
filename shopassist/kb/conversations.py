"""Conversations, turns, feedback and tickets as stored rows.

The engine masks text before it reaches these functions; ticket summaries are masked
again here, as the last door before the file. The engine opens one transaction per turn (``begin`` ... commit) so the turn, the
state and any action land together; outside a transaction sqlite-utils autocommits.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from shopassist.kb.orders import now_iso
from shopassist.pii import mask_pii


def _rows(db: sqlite_utils.Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def get_conversation(db: sqlite_utils.Database, conversation_id: str) -> dict[str, Any] | None:
    rows = _rows(db, "select * from conversations where id = ?", [conversation_id])
    return rows[0] if rows else None


def upsert_conversation(
    db: sqlite_utils.Database,
    conversation_id: str,
    *,
    customer_id: int | None,
    verified: bool,
    language: str | None,
    state_json: str,
    handoff: bool,
    handoff_summary: str | None,
    channel: str,
) -> None:
    at = now_iso()
    db.execute(
        """
        insert into conversations (id, customer_id, verified, language, state, handoff,
            handoff_summary, channel, started_at, updated_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        on conflict(id) do update set customer_id = excluded.customer_id,
            verified = excluded.verified, language = excluded.language, state = excluded.state,
            handoff = max(conversations.handoff, excluded.handoff),
            handoff_summary = coalesce(excluded.handoff_summary, conversations.handoff_summary),
            updated_at = excluded.updated_at
        """,
        [
            conversation_id,
            customer_id,
            int(verified),
            language,
            state_json,
            int(handoff),
            handoff_summary,
            channel,
            at,
            at,
        ],
    )


def insert_turn(db: sqlite_utils.Database, row: dict[str, Any]) -> int:
    """Insert a turn at the conversation's next index; returns that index.

    The index is computed by the insert itself, inside the caller's write transaction, so
    two processes writing to one session can never pick the same one (a value computed
    before the transaction could be taken by the time it is written).
    """
    row = {k: v for k, v in row.items() if k != "idx"}
    cols = list(row)
    db.execute(
        f"insert into turns ({', '.join(cols)}, idx) values ({', '.join('?' for _ in cols)}, "
        "(select coalesce(max(idx), -1) + 1 from turns where conversation_id = ?))",
        [*(row[c] for c in cols), row["conversation_id"]],
    )
    found = db.execute(
        "select idx from turns where rowid = last_insert_rowid()",
    ).fetchone()
    return int(found[0])


def create_ticket(
    db: sqlite_utils.Database,
    *,
    conversation_id: str | None,
    customer_id: int | None,
    order_id: int | None,
    kind: str,
    summary: str,
) -> int:
    """A ticket for staff; its summary is masked here too (staff look customers up by id)."""
    summary = mask_pii(summary)
    cur = db.execute(
        "insert into tickets (conversation_id, customer_id, order_id, kind, summary, created_at) "
        "values (?, ?, ?, ?, ?, ?)",
        [conversation_id, customer_id, order_id, kind, summary, now_iso()],
    )
    return int(cur.lastrowid or 0)


def ensure_conversation(db: sqlite_utils.Database, conversation_id: str, channel: str) -> None:
    """Make sure a row exists so tickets written mid-turn can reference it."""
    db.execute(
        "insert or ignore into conversations (id, channel, started_at, updated_at) values (?, ?, ?, ?)",
        [conversation_id, channel, now_iso(), now_iso()],
    )


def list_turns(db: sqlite_utils.Database, conversation_id: str) -> list[dict[str, Any]]:
    rows = _rows(
        db,
        """
        select t.idx as turn_index, t.created_at, t.user_text as text, t.reply, t.language,
            t.intent, t.confidence, t.action, t.provenance, t.rejection_reason, t.sources,
            t.timings, t.latency_ms, t.sentiment, c.channel
        from turns t join conversations c on c.id = t.conversation_id
        where t.conversation_id = ? order by t.idx
        """,
        [conversation_id],
    )
    for row in rows:
        row["sources"] = json.loads(row["sources"] or "[]")
        row["timings"] = json.loads(row["timings"] or "{}")
    return rows


def list_conversations(db: sqlite_utils.Database, limit: int = 20) -> list[dict[str, Any]]:
    rows = _rows(
        db,
        """
        select c.id as session_id, c.customer_id, cu.name as customer_name, c.verified,
            c.language, c.channel, c.handoff, c.started_at, c.updated_at,
            (select count(*) from turns t where t.conversation_id = c.id) as turns,
            (select t.user_text from turns t where t.conversation_id = c.id
                order by t.idx desc limit 1) as last_text
        from conversations c left join customers cu on cu.id = c.customer_id
        order by c.updated_at desc, c.rowid desc limit ?
        """,
        [max(1, int(limit))],
    )
    for row in rows:
        row["verified"] = bool(row["verified"])
        row["handoff"] = bool(row["handoff"])
    return rows


def get_handoff_summary(db: sqlite_utils.Database, conversation_id: str) -> str | None:
    row = db.execute(
        "select handoff_summary from conversations where id = ?", [conversation_id]
    ).fetchone()
    return None if row is None else row[0]


def _turn(db: sqlite_utils.Database, conversation_id: str, turn_index: int) -> dict[str, Any]:
    rows = _rows(
        db,
        "select id, user_text, reply, intent from turns where conversation_id = ? and idx = ?",
        [conversation_id, turn_index],
    )
    if not rows:
        raise LookupError(f"session {conversation_id!r} has no turn {turn_index}")
    return rows[0]


def record_feedback(
    db: sqlite_utils.Database,
    conversation_id: str,
    turn_index: int,
    *,
    kind: str,
    final_text: str,
    suggestion_rank: int | None = None,
    suggested_text: str | None = None,
) -> int:
    turn = _turn(db, conversation_id, turn_index)
    with db.conn:
        cur = db.execute(
            "insert into feedback (turn_id, conversation_id, kind, suggestion_rank, suggested_text, "
            "final_text, created_at) values (?, ?, ?, ?, ?, ?, ?)",
            [
                turn["id"],
                conversation_id,
                kind,
                suggestion_rank,
                suggested_text if suggested_text is not None else turn["reply"],
                final_text,
                now_iso(),
            ],
        )
    return int(cur.lastrowid or 0)


def relabel_turn(
    db: sqlite_utils.Database, conversation_id: str, turn_index: int, intent: str
) -> str:
    """Record the corrected intent; returns the (masked) customer text to train on."""
    turn = _turn(db, conversation_id, turn_index)
    with db.conn:
        db.execute(
            "insert into feedback (turn_id, conversation_id, kind, corrected_intent, created_at) "
            "values (?, ?, 'relabelled', ?, ?)",
            [turn["id"], conversation_id, intent, now_iso()],
        )
    return str(turn["user_text"])
