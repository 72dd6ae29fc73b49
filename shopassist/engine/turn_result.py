"""What one turn returns: the contract between the engine and the TUI, CLI and tests.

Everything here is JSON-serialisable (``model_dump(mode="json")``), and that JSON is the
documented output of ``shopassist ask --json`` and ``shopassist converse --jsonl``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from shopassist.engine.nlu.result import NLUResult

SourceKind = Literal[
    "product", "variant", "faq", "policy", "order", "shipment", "return", "customer", "rule"
]


class Source(BaseModel):
    """One piece of retrieved knowledge the reply may rest on."""

    id: str  # stable and citable: "product:42", "faq:returns-window:en", "order:10023"
    kind: SourceKind
    title: str
    snippet: str = ""
    score: float | None = None


class Fact(BaseModel):
    """A fact the reply must (required) or may state, with the source that backs it."""

    key: str  # "order.status", "product.price" ...
    value: str  # as it must appear to the customer: "$49.99", "10023", "2026-12-03"
    source_id: str
    required: bool = True
    # What the fact is about ("product:42", "order:10023"), so the verifier can check a
    # value is said of the right thing. None: derived from the key or source id
    # (engine/relations.py).
    subject: str | None = None


ProvenanceKind = Literal["template", "llm", "llm_rejected"]


class Provenance(BaseModel):
    kind: ProvenanceKind
    reason: str | None = None  # why an LLM reply was rejected, or why no LLM was used
    model: str | None = None
    checks: list[dict[str, Any]] = Field(default_factory=list)  # verifier report, rule by rule


class TurnResult(BaseModel):
    session_id: str
    turn_index: int
    text: str  # the customer's message after cleaning (unmasked; the stored copy is masked)
    reply: str
    language: Literal["en", "zh"]
    nlu: NLUResult
    sources: list[Source] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    # What the turn did: "order.cancelled", "return.created", "handoff" ... (docs/turn-json.md)
    action: str | None = None
    state: dict[str, Any] = Field(default_factory=dict)  # the dialogue state after the turn
    provenance: Provenance
    template_reply: str = ""  # the grounded template reply (always computed)
    llm_reply: str | None = None  # the raw LLM text, whether accepted or not
    prompt: list[dict[str, str]] | None = None  # chat messages sent to the LLM, masked
    handoff: bool = False
    handoff_summary: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)  # stage -> milliseconds
    channel: str = "chat"  # 'chat', 'assist', 'api'
    # True when this turn completed what the customer asked (an answer or an action), False
    # for fallbacks and hand-offs, None while a flow is still collecting information.
    resolved: bool | None = None
    latency_ms: float = 0.0  # the whole turn, record included
    rules: list[str] = Field(default_factory=list)  # business rules that fired (rules.toml names)
    # Interpret-stage rules that fired, "rule id -> command" (dialogue/data/interpret_rules.toml)
    interpret: list[str] = Field(default_factory=list)


# --- Agent-assist, history and session listings (added by the dialogue engine) ---

SuggestionKind = Literal["grounded", "llm", "clarify", "faq"]


class Suggestion(BaseModel):
    """One reply a staff member may send as is, edit, or ignore."""

    rank: int  # 1-based, best first
    text: str
    kind: SuggestionKind
    sources: list[Source] = Field(default_factory=list)
    confidence: float = 0.0


class Suggestions(BaseModel):
    """What ``Assistant.suggest`` returns: the recorded turn plus up to three ranked replies."""

    turn: TurnResult
    suggestions: list[Suggestion] = Field(default_factory=list)


class StoredTurn(BaseModel):
    """A turn as stored (masked customer text), used to resume a session."""

    turn_index: int
    created_at: str
    text: str  # masked
    reply: str
    language: str | None = None
    intent: str | None = None
    confidence: float | None = None
    action: str | None = None
    provenance: str | None = None
    rejection_reason: str | None = None
    sources: list[dict[str, Any]] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    latency_ms: float | None = None
    sentiment: str | None = None
    channel: str | None = None


class SessionInfo(BaseModel):
    session_id: str
    customer_id: int | None = None
    customer_name: str | None = None
    verified: bool = False
    language: str | None = None
    channel: str = "chat"
    turns: int = 0
    handoff: bool = False
    started_at: str
    updated_at: str
    last_text: str | None = None  # masked
