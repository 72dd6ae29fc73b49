"""The record stage: the turn, the dialogue state and any action, committed together.

Runs before the reply is returned, so a crash after a reply was shown can never lose the
turn. Customer text is masked (emails, phones, cards) in the stored turn and NLU JSON;
the real values live only in the customer and order tables.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field

from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.privacy import mask_pii
from shopassist.engine.turn_result import Provenance, Source
from shopassist.kb import conversations


def mask_text(text: str) -> str:
    return mask_pii(text or "")


def masked_nlu(nlu: NLUResult) -> dict[str, Any]:
    """The NLU result with the message and every PII entity's text and value masked."""
    data = nlu.model_dump(mode="json")
    data["text"] = mask_pii(data.get("text") or "")
    for entity in data.get("entities", []):
        if entity.get("type") in ("email", "phone"):
            mask = "[email]" if entity["type"] == "email" else "[phone]"
            entity["text"] = mask
            entity["value"] = mask
        else:
            entity["text"] = mask_pii(str(entity.get("text") or ""))
    return data


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


def record_turn(db: sqlite_utils.Database, inp: RecordInput) -> int:
    """Write the turn and the conversation state in one transaction; returns the turn row id."""
    state_json = inp.state.model_dump_json()
    if not db.conn.in_transaction:
        # sqlite-utils autocommits each write outside a transaction; one turn is one commit.
        db.conn.execute("begin")
    with db.conn:  # commits this turn together with any action the decide stage made
        conversations.upsert_conversation(
            db,
            inp.session_id,
            customer_id=inp.state.customer_id,
            verified=inp.state.verified,
            language=inp.language,
            state_json=state_json,
            handoff=inp.handoff or inp.state.handoff,
            handoff_summary=inp.handoff_summary,
            channel=inp.channel,
        )
        return conversations.insert_turn(
            db,
            {
                "conversation_id": inp.session_id,
                "idx": inp.turn_index,
                "user_text": mask_text(inp.text),
                "reply": inp.reply,
                "language": inp.language,
                "intent": inp.nlu.intent.name,
                "confidence": inp.nlu.intent.confidence,
                "nlu": json.dumps(masked_nlu(inp.nlu), ensure_ascii=False),
                "action": inp.action,
                "provenance": inp.provenance.kind,
                "rejection_reason": inp.provenance.reason,
                "sources": json.dumps(
                    [s.model_dump(mode="json") for s in inp.sources], ensure_ascii=False
                ),
                "timings": json.dumps(inp.timings),
                "latency_ms": round(inp.latency_ms, 3),
                "sentiment": inp.nlu.sentiment.label,
                "sentiment_score": inp.nlu.sentiment.score,
                "resolved": None if inp.resolved is None else int(inp.resolved),
            },
        )
