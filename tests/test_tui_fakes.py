"""A scripted stand-in for ``Assistant`` so layout tests and snapshots do not depend on
the classifier's exact scores. Integration tests use the real engine with ``FakeLLM``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shopassist.engine.nlu.result import Entity, IntentScore, NLUResult, Sentiment
from shopassist.engine.turn_result import (
    Provenance,
    Source,
    StoredTurn,
    Suggestion,
    Suggestions,
    TurnResult,
)


def make_result(
    text: str,
    *,
    reply: str = "Order **10023** shipped on 2026-11-20 with UPS.",
    session_id: str = "s-fixed",
    turn_index: int = 0,
    provenance: str = "llm",
    reason: str | None = None,
    handoff: bool = False,
    snippet: str = "Ships in 2 days.",
) -> TurnResult:
    entities = []
    at = text.find("10023")
    if at >= 0:
        entities.append(
            Entity(type="order_number", value="10023", text="10023", start=at, end=at + 5)
        )
    nlu = NLUResult(
        text=text,
        language="en",
        intent=IntentScore(name="track_order", confidence=0.91),
        ranking=[
            IntentScore(name="track_order", confidence=0.91),
            IntentScore(name="delivery_period", confidence=0.05),
            IntentScore(name="cancel_order", confidence=0.02),
        ],
        entities=entities,
        sentiment=Sentiment(label="neutral", score=0.0),
    )
    return TurnResult(
        session_id=session_id,
        turn_index=turn_index,
        text=text,
        reply=reply,
        language="en",
        nlu=nlu,
        sources=[
            Source(id="order:10023", kind="order", title="Order 10023", snippet=snippet, score=0.93)
        ],
        state={
            "flow": "track_order",
            "step": "done",
            "slots": {"order_number": "10023"},
            "verified": True,
            "customer_id": 4,
            "customer_name": "Alice Chen",
            "customer_tier": "vip",
            "sentiment": [0.0],
        },
        provenance=Provenance(
            kind=provenance,
            reason=reason,
            checks=[{"rule": "numbers", "ok": True, "detail": "all supported"}],
        ),  # type: ignore[arg-type]
        template_reply=reply,
        llm_reply=reply,
        prompt=[
            {"role": "system", "content": "You are ShopAssist."},
            {"role": "user", "content": text},
        ],
        handoff=handoff,
        handoff_summary="Customer wants a human." if handoff else None,
        timings={
            "understand": 1.5,
            "retrieve": 2.0,
            "decide": 0.5,
            "generate": 10.0,
            "verify": 0.4,
            "record": 1.1,
        },
    )


class StubAssistant:
    """Replies with ``replies`` in order (streamed as word chunks), records feedback calls."""

    def __init__(self, replies: list[dict[str, Any]] | None = None, *, delay: float = 0.0) -> None:
        self.replies = list(replies or [])
        self.delay = delay
        self.turns: dict[str, list[TurnResult]] = {}
        self.choices: list[tuple[Any, ...]] = []
        self.relabels: list[tuple[Any, ...]] = []
        self.llm: Any = None
        self.closed = False
        self.db: Any = None
        self._ids = iter(f"s{i:03d}" for i in range(1000))

    @property
    def llm_enabled(self) -> bool:
        return self.llm is not None

    def set_llm(self, backend: Any) -> None:
        self.llm = backend

    def new_session_id(self) -> str:
        return next(self._ids)

    def turn(
        self,
        session_id: str,
        text: str,
        *,
        customer: Any = None,
        channel: str = "chat",
        on_token: Any = None,
        cancel: threading.Event | None = None,
    ) -> TurnResult:
        spec = self.replies.pop(0) if self.replies else {}
        index = len(self.turns.get(session_id, []))
        result = make_result(text, session_id=session_id, turn_index=index, **spec)
        if on_token is not None:
            for word in result.reply.split(" "):
                if cancel is not None and cancel.is_set():
                    break
                on_token(word + " ")
                if self.delay:
                    time.sleep(self.delay)
        if cancel is not None and cancel.is_set():
            result = result.model_copy(
                update={
                    "reply": result.template_reply,
                    "provenance": Provenance(kind="template", reason="cancelled"),
                }
            )
        self.turns.setdefault(session_id, []).append(result)
        return result

    def suggest(self, session_id: str, text: str, *, customer: Any = None) -> Suggestions:
        result = self.turn(session_id, text, customer=customer, channel="assist")
        suggestions = [
            Suggestion(
                rank=1, text=result.reply, kind="grounded", sources=result.sources, confidence=0.9
            ),
            Suggestion(rank=2, text="Your parcel is on its way.", kind="llm", confidence=0.7),
            Suggestion(rank=3, text="Which order do you mean?", kind="clarify", confidence=0.4),
        ]
        return Suggestions(turn=result, suggestions=suggestions)

    def record_choice(
        self,
        session_id: str,
        turn_index: int,
        kind: str,
        final_text: str,
        suggestion_rank: int | None = None,
    ) -> None:
        self.choices.append((session_id, turn_index, kind, final_text, suggestion_rank))

    def relabel(self, session_id: str, turn_index: int, intent: str) -> None:
        self.relabels.append((session_id, turn_index, intent))

    def intents(self) -> list[str]:
        return ["get_refund", "out_of_scope", "track_order"]

    def history(self, session_id: str) -> list[StoredTurn]:
        return [
            StoredTurn(
                turn_index=r.turn_index,
                created_at="2026-11-29 10:00:00",
                text=r.text,
                reply=r.reply,
                intent=r.nlu.intent.name,
                confidence=r.nlu.intent.confidence,
                provenance=r.provenance.kind,
                rejection_reason=r.provenance.reason,
            )
            for r in self.turns.get(session_id, [])
        ]

    def sessions(self, limit: int = 20) -> list[Any]:
        return []

    def state(self, session_id: str) -> dict[str, Any]:
        turns = self.turns.get(session_id)
        return turns[-1].state if turns else {}

    def handoff_summary(self, session_id: str) -> str | None:
        return None

    def close(self) -> None:
        self.closed = True
