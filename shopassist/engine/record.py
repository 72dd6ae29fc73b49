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
import sqlite3
import time
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field

from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.turn_result import Provenance, Source
from shopassist.kb import conversations
from shopassist.pii import EMAIL_MASK, PHONE_MASK, mask_pii, mask_value

# How long a turn keeps retrying a busy database on top of SQLite's own busy timeout.
RECORD_RETRY_SECONDS = 60.0
_ENTITY_MASKS = {"email": EMAIL_MASK, "phone": PHONE_MASK}
_KEPT_SLOTS = ("new_address",)  # values the customer gives on purpose, see above


def mask_text(text: str) -> str:
    """The strong masker (shopassist.pii); the generate stage masks prompts with it too."""
    return mask_pii(text or "")


def masked_nlu(nlu: NLUResult) -> dict[str, Any]:
    """The NLU result with the message and every entity's text, value and meta masked."""
    data = nlu.model_dump(mode="json")
    data["text"] = mask_pii(data.get("text") or "")
    for entity in data.get("entities", []):
        mask = _ENTITY_MASKS.get(str(entity.get("type")))
        if mask is not None:
            entity["text"] = mask
            entity["value"] = mask
            continue
        entity["text"] = mask_pii(str(entity.get("text") or ""))
        entity["value"] = mask_value(entity.get("value"))
        entity["meta"] = mask_value(entity.get("meta") or {})
    return data


def masked_state(state: DialogueState) -> str:
    """The state as stored: masked, except the slots the customer fills with PII on purpose."""
    data = state.model_dump(mode="json")
    slots = data.get("slots") or {}
    kept = {k: slots[k] for k in _KEPT_SLOTS if k in slots}
    data = mask_value(data)
    for key, value in kept.items():
        data["slots"][key] = mask_pii(value, addresses=False) if isinstance(value, str) else value
    return json.dumps(data, ensure_ascii=False)


class RecordInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_id: str
    turn_index: int
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


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def record_turn(db: sqlite_utils.Database, inp: RecordInput) -> int:
    """Write the turn and the conversation state in one transaction; returns the turn's index.

    When the decide stage already opened the transaction (a flow changed the database),
    the turn joins it and commits it. Otherwise this opens its own with ``begin immediate``
    and retries while the database is busy, up to ``RECORD_RETRY_SECONDS``.
    """
    if db.conn.in_transaction:
        with db.conn:
            return _write(db, inp)
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    delay = 0.05
    while True:
        try:
            db.conn.execute("begin immediate")
            with db.conn:
                return _write(db, inp)
        except sqlite3.OperationalError as exc:
            if db.conn.in_transaction:
                db.conn.rollback()
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _write(db: sqlite_utils.Database, inp: RecordInput) -> int:
    conversations.upsert_conversation(
        db,
        inp.session_id,
        customer_id=inp.state.customer_id,
        verified=inp.state.verified,
        language=inp.language,
        state_json=masked_state(inp.state),
        handoff=inp.handoff or inp.state.handoff,
        handoff_summary=mask_pii(inp.handoff_summary) if inp.handoff_summary else None,
        channel=inp.channel,
    )
    return conversations.insert_turn(
        db,
        {
            "conversation_id": inp.session_id,
            "user_text": mask_text(inp.text),
            "reply": mask_pii(inp.reply),
            "language": inp.language,
            "intent": inp.nlu.intent.name,
            "confidence": inp.nlu.intent.confidence,
            "nlu": json.dumps(masked_nlu(inp.nlu), ensure_ascii=False),
            "action": inp.action,
            "provenance": inp.provenance.kind,
            "rejection_reason": mask_pii(inp.provenance.reason or "") or None,
            "sources": json.dumps(
                mask_value([s.model_dump(mode="json") for s in inp.sources]), ensure_ascii=False
            ),
            "timings": json.dumps(inp.timings),
            "latency_ms": round(inp.latency_ms, 3),
            "sentiment": inp.nlu.sentiment.label,
            "sentiment_score": inp.nlu.sentiment.score,
            "resolved": None if inp.resolved is None else int(inp.resolved),
        },
    )
