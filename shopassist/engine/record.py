"""The record stage: the turn, the dialogue state and any action, committed together.

Runs before the reply is returned, so a crash after a reply was shown can never lose the
turn. Everything stored is masked by ``shopassist.pii`` (emails, phones, cards, ID
numbers, addresses): the customer text, the NLU JSON with every entity's text and value,
the reply, the sources and the dialogue state. The real values live only in the customer
and order tables. The one exception is a new address the customer is giving on purpose,
kept in the state's ``new_address`` slot until the flow that asked for it ends.

The turn's index is allocated inside the write transaction (``begin immediate``), so two
processes writing to one session never collide; a write that finds the database busy is
retried within a bound, and a turn that still cannot be stored raises to the caller.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
import weakref
from collections.abc import Callable
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field

from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.turn_result import Fact, Provenance, Source
from shopassist.kb import conversations
from shopassist.pii import (
    EMAIL_MASK,
    PHONE_MASK,
    IdentifierCheck,
    fold,
    mask_pii,
    mask_value,
)

# How long a turn keeps retrying a busy database on top of SQLite's own busy timeout.
# A merge import (import-catalog without --replace, import-orders) holds the write lock
# for its whole transaction (atomic imports); a --replace builds its catalog without the
# lock and holds it only for the swap (kb/importers/staging.py). Five minutes covers a
# long merge import with room; a longer wait is still an error the caller sees, never a
# silent loss. A web request waits less (``set_write_wait``, serve_write_wait_seconds).
RECORD_RETRY_SECONDS = 300.0
# Per-connection bounds set with set_write_wait (weak: they go with the Database object).
_write_waits: weakref.WeakKeyDictionary[sqlite_utils.Database, float] = weakref.WeakKeyDictionary()


class WriteWaitExceeded(sqlite3.OperationalError):
    """The database stayed locked by another writer for the whole bound: nothing stored."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"database is locked: another process held the write lock for over "
            f"{seconds:g} s (an import?); this turn was not stored"
        )
        self.seconds = seconds


def set_write_wait(db: sqlite_utils.Database, seconds: float) -> None:
    """Bound how long turns on this connection wait for the write lock, in all.

    SQLite's own busy timeout is lowered to fit inside it, so one ``begin immediate``
    cannot block past the bound. Used by ``serve``: a web request should fail fast with a
    503 the page can retry rather than hang for minutes.
    """
    seconds = max(0.0, min(float(seconds), RECORD_RETRY_SECONDS))
    _write_waits[db] = seconds
    current = int(db.conn.execute("pragma busy_timeout").fetchone()[0])
    db.conn.execute(f"pragma busy_timeout = {min(current, math.ceil(seconds * 1000))}")


def write_wait(db: sqlite_utils.Database) -> float:
    return _write_waits.get(db, RECORD_RETRY_SECONDS)


_ENTITY_MASKS = {"email": EMAIL_MASK, "phone": PHONE_MASK}
_KEPT_SLOTS = ("new_address",)  # values the customer gives on purpose, see above


def mask_text(text: str, is_identifier: IdentifierCheck = None) -> str:
    """The strong masker (shopassist.pii); the generate stage masks prompts with it too."""
    return mask_pii(text or "", is_identifier=is_identifier)


def known_identifier(db: sqlite_utils.Database) -> Callable[[str], bool]:
    """Whether a number is one of the shop's order, invoice or tracking numbers.

    A number after the word "order" is kept in stored text only when it is one: a phone
    or card number the dialogue took for an order number is masked like any other.
    """
    seen: dict[str, bool] = {}

    def check(value: str) -> bool:
        if value not in seen:
            forms = [value.strip(), "".join(ch for ch in fold(value) if ch.isalnum())]
            row = db.execute(
                "select exists(select 1 from orders where number in (?, ?) "
                "or invoice_number in (?, ?)) "
                "or exists(select 1 from shipments where tracking_number in (?, ?))",
                [*forms, *forms, *forms],
            ).fetchone()
            seen[value] = bool(row and row[0])
        return seen[value]

    return check


def masked_nlu(nlu: NLUResult, is_identifier: IdentifierCheck = None) -> dict[str, Any]:
    """The NLU result with the message and every entity's text, value and meta masked."""
    data = nlu.model_dump(mode="json")
    data["text"] = mask_pii(data.get("text") or "", is_identifier=is_identifier)
    for entity in data.get("entities", []):
        mask = _ENTITY_MASKS.get(str(entity.get("type")))
        if mask is not None:
            entity["text"] = mask
            entity["value"] = mask
            continue
        entity["text"] = mask_pii(str(entity.get("text") or ""), is_identifier=is_identifier)
        entity["value"] = mask_value(entity.get("value"), is_identifier=is_identifier)
        entity["meta"] = mask_value(entity.get("meta") or {}, is_identifier=is_identifier)
    return data


def masked_state(state: DialogueState, is_identifier: IdentifierCheck = None) -> str:
    """The state as stored: masked, except the slots the customer fills with PII on purpose."""
    data = state.model_dump(mode="json")
    slots = data.get("slots") or {}
    kept = {k: slots[k] for k in _KEPT_SLOTS if k in slots}
    data = mask_value(data, is_identifier=is_identifier)
    for key, value in kept.items():
        data["slots"][key] = mask_pii(value, addresses=False) if isinstance(value, str) else value
    return json.dumps(data, ensure_ascii=False)


class RecordInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_id: str
    text: str  # unmasked; masked here
    reply: str
    language: str
    nlu: NLUResult
    action: str | None = None
    provenance: Provenance
    sources: list[Source] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    latency_ms: float = 0.0
    resolved: bool | None = None
    state: DialogueState
    handoff: bool = False
    handoff_summary: str | None = None
    channel: str = "chat"
    # What the reply rephrased (the plan's template reply) and the facts it rests on,
    # stored masked so export-training can pair an accepted model reply with its draft.
    draft: str | None = None
    facts: list[Fact] = Field(default_factory=list)


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def begin_write(db: sqlite_utils.Database) -> None:
    """BEGIN IMMEDIATE, waiting while another process holds the write lock.

    SQLite's busy timeout waits once; this retries on top of it with a growing pause,
    up to ``RECORD_RETRY_SECONDS`` (or the connection's ``set_write_wait`` bound), then
    raises ``WriteWaitExceeded`` (the caller reports the turn as not stored). Used by the decide stage, whose flows write, and by the record stage.
    """
    bound = write_wait(db)
    deadline = time.monotonic() + bound
    delay = 0.05
    while True:
        try:
            db.conn.execute("begin immediate")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WriteWaitExceeded(bound) from exc
            time.sleep(min(delay, left))
            delay = min(delay * 2, 1.0)


def record_turn(
    db: sqlite_utils.Database,
    inp: RecordInput,
    also: Callable[[int], None] | None = None,
) -> int:
    """Write the turn and the conversation state in one transaction; returns the turn's index.

    When the decide stage already opened the transaction (a flow changed the database),
    the turn joins it and commits it. Otherwise this opens its own with ``begin_write``,
    which waits while the database is busy, up to ``RECORD_RETRY_SECONDS``.
    ``also(turn_index)`` writes more rows in the same transaction (the web channel's log
    for the customer's page): if it raises, the turn is rolled back with it.
    """
    if not db.conn.in_transaction:
        begin_write(db)
    with db.conn:
        turn_index = _write(db, inp)
        if also is not None:
            also(turn_index)
        return turn_index


def _write(db: sqlite_utils.Database, inp: RecordInput) -> int:
    known = known_identifier(db)
    conversations.upsert_conversation(
        db,
        inp.session_id,
        customer_id=inp.state.customer_id,
        verified=inp.state.verified,
        language=inp.language,
        state_json=masked_state(inp.state, known),
        handoff=inp.handoff or inp.state.handoff,
        handoff_summary=(
            mask_pii(inp.handoff_summary, is_identifier=known) if inp.handoff_summary else None
        ),
        channel=inp.channel,
    )
    return conversations.insert_turn(
        db,
        {
            "conversation_id": inp.session_id,
            "user_text": mask_text(inp.text, known),
            "reply": mask_pii(inp.reply, is_identifier=known),
            "language": inp.language,
            "intent": inp.nlu.intent.name,
            "confidence": inp.nlu.intent.confidence,
            "nlu": json.dumps(masked_nlu(inp.nlu, known), ensure_ascii=False),
            "action": inp.action,
            "provenance": inp.provenance.kind,
            "rejection_reason": mask_pii(inp.provenance.reason or "", is_identifier=known) or None,
            "sources": json.dumps(
                mask_value([s.model_dump(mode="json") for s in inp.sources], is_identifier=known),
                ensure_ascii=False,
            ),
            "timings": json.dumps(inp.timings),
            "latency_ms": round(inp.latency_ms, 3),
            "sentiment": inp.nlu.sentiment.label,
            "sentiment_score": inp.nlu.sentiment.score,
            "resolved": None if inp.resolved is None else int(inp.resolved),
            "draft": mask_pii(inp.draft, is_identifier=known) if inp.draft else None,
            "facts": json.dumps(
                mask_value([f.model_dump(mode="json") for f in inp.facts], is_identifier=known),
                ensure_ascii=False,
            ),
        },
    )
