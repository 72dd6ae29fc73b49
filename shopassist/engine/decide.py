"""The decide stage: dialogue state update, flows, business rules, and the reply plan.

Order of work: update what the state knows about the customer (language, sentiment,
identity claims), evaluate the "before" rules (flags such as VIP free returns), let the
dialogue manager pick and run a flow, apply the "after" rules (apology first, low stock,
greeting by name), then build the ReplyPlan. Database changes a flow makes here are not
committed: the record stage commits them together with the turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field

from shopassist.engine.dialogue.flows import FlowContext, load_flows, load_offers
from shopassist.engine.dialogue.handoff import build_handoff_summary
from shopassist.engine.dialogue.manager import DialogueManager
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.planner import build_plan
from shopassist.engine.dialogue.requests import requests_in
from shopassist.engine.dialogue.rules import apply_after, flags_before
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.retrieve import Retrieval, RetrieveInput, retrieve
from shopassist.engine.turn_result import Source
from shopassist.text import CJK_CHAR, CJK_RANGES

_CJK = CJK_CHAR
_MANAGER = DialogueManager()
_NOT_AN_ANSWER = frozenset({"fallback", "reprompt"})


class DecideInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_id: str
    text: str
    nlu: NLUResult
    state: DialogueState
    retrieval: Retrieval
    channel: str = "chat"
    # The understand stage, to read each request of a long message on its own (None: the
    # message is always read whole).
    understand: Callable[[str], NLUResult] | None = None


class Decision(BaseModel):
    plan: ReplyPlan
    state: DialogueState
    action: str | None = None
    sources: list[Source] = Field(default_factory=list)
    resolved: bool | None = None
    handoff: bool = False
    handoff_summary: str | None = None
    rules_fired: list[str] = Field(default_factory=list)
    interpret: list[str] = Field(default_factory=list)  # interpret rules fired: "id -> command"
    wrote: bool = False  # the flow changed the database (uncommitted until record)


_WORDS = re.compile(f"[A-Za-z{CJK_RANGES}]")


def reply_language(nlu: NLUResult, state: DialogueState, text: str) -> str:
    """Answer in the language the customer writes; mixed text follows its Chinese, if any.

    A message that is only an email, a phone or an order number says nothing about the
    language, so the conversation keeps its own.
    """
    rest = text
    for entity in sorted(nlu.entities, key=lambda e: -e.start):
        rest = rest[: entity.start] + " " + rest[entity.end :]
    if state.turns > 0 and len(_WORDS.findall(rest)) < 2:
        return state.language
    if nlu.language in ("en", "zh"):
        return nlu.language
    if _CJK.search(text):
        return "zh"
    return state.language


def decide(db: sqlite_utils.Database, inp: DecideInput) -> Decision:
    changes_before = db.conn.total_changes
    state = inp.state.model_copy(deep=True)
    nlu = inp.nlu
    if inp.text.strip():
        state.language = reply_language(nlu, state, inp.text)  # type: ignore[assignment]
        state.push_sentiment(nlu.sentiment.score)
        state.push_intent(nlu.intent.name)
    state.turns += 1
    claim = inp.retrieval.claim
    if claim.given and not state.verified:
        state.claimed_customer_id = claim.customer_id

    flow = load_flows()
    active_or_new = state.flow or nlu.intent.name
    context: dict[str, Any] = {
        "intent": nlu.intent.name,
        "flow": active_or_new if active_or_new in flow else None,
        "tier": state.customer_tier if state.verified else None,
        "language": state.language,
    }
    flags, fired = flags_before(context)

    def context_for(text: str, nlu: NLUResult, retrieval: Retrieval) -> FlowContext:
        return FlowContext(
            db=db,
            session_id=inp.session_id,
            state=state,
            nlu=nlu,
            text=text,
            language=state.language,
            claim=claim,
            flags=flags,
            product_ids=retrieval.product_ids,
            product_hits=retrieval.product_hits,
            faq_hits=retrieval.faq_hits,
            product_request=retrieval.request,
            variant_found=retrieval.variant_found,
            unmet=retrieval.unmet,
            nearest=retrieval.nearest,
            unknown_name=retrieval.unknown_name,
            intent=nlu.intent.name,
            channel=inp.channel,
        )

    failures_before = state.failures
    extra_sources: list[Source] = []
    parts = requests_in(inp.text, inp.understand) if inp.understand and not state.flow else []
    if parts:
        # Several requests in one message: each answered in the order written, the state
        # each leaves (an order verified, a product shown) the context of the next.
        ctx, outcome = _answer_each(db, parts, state, context_for, extra_sources)
    else:
        ctx = context_for(inp.text, nlu, inp.retrieval)
        outcome = _MANAGER.decide(ctx)
    context["tier"] = state.customer_tier if state.verified else None

    frustrated = bool(nlu.sentiment.frustrated or state.frustrated_trend)
    after_context = {
        **context,
        "intent": ctx.intent,
        "action": outcome.action,
        "frustrated": frustrated,
        "low_stock": bool(outcome.low_stock),
        "known_name": bool(state.customer_name),
        "handoff": outcome.handoff,
    }
    values: dict[str, Any] = {"name": _first_name(state.customer_name or "", state.language)}
    if outcome.low_stock:
        low = outcome.low_stock[0]
        values["low_stock_title"] = low.title
        values["low_stock_count"] = outcome.fact("product.low_stock", low.stock, low.source_id)
    fired += apply_after(outcome, after_context, values)

    if state.failures == failures_before and outcome.resolved is not False:
        state.failures = 0  # only consecutive misses count
    state.last_action = outcome.action
    offers = load_offers()
    state.offer = next(
        (offers[p.template] for p in reversed(outcome.parts) if p.template in offers), None
    )
    if outcome.handoff:
        state.handoff = True
    summary = build_handoff_summary(db, state, inp.text) if outcome.handoff else None
    if outcome.handoff:
        # A person takes over (the summary names the open request): the assistant must
        # not pick the old task up again with "Back to your order change: ...".
        state.end_flow()
        state.suspended.clear()
        resume = next((i for i, p in enumerate(outcome.parts) if p.template == "flow.resume"), None)
        if resume is not None:
            outcome.parts = outcome.parts[:resume]

    wrote = db.conn.total_changes != changes_before
    if wrote:
        # This turn changed the database; its exact template wording is the record, and no
        # write lock may be held while a model generates.
        outcome.use_llm = False
    plan = build_plan(
        outcome, intent=ctx.intent, language=state.language, state=state, customer_text=inp.text
    )
    sources = list(inp.retrieval.sources)
    for s in extra_sources + outcome.sources:
        if all(s.id != t.id for t in sources):
            sources.append(s)
    return Decision(
        plan=plan,
        state=state,
        action=outcome.action,
        sources=sources,
        resolved=outcome.resolved,
        handoff=outcome.handoff,
        handoff_summary=summary,
        rules_fired=fired,
        interpret=[
            f"{c.rule} -> {c.kind}{' ' + c.intent if c.intent else ''}" for c in ctx.commands
        ],
        wrote=wrote,
    )


def _answer_each(
    db: sqlite_utils.Database,
    parts: list[tuple[str, NLUResult]],
    state: DialogueState,
    context_for: Callable[[str, NLUResult, Retrieval], FlowContext],
    sources: list[Source],
) -> tuple[FlowContext, Outcome]:
    """Run the dialogue manager on each request of the message in turn and join the
    replies; the first request's context stands for the turn (its intent, and the rules
    that fired in every part)."""
    answered: list[tuple[FlowContext, Outcome]] = []
    for text, part_nlu in parts:
        retrieval = retrieve(
            db, RetrieveInput(text=text, nlu=part_nlu, state=state, language=state.language)
        )
        sources.extend(s for s in retrieval.sources if all(s.id != t.id for t in sources))
        ctx = context_for(text, part_nlu, retrieval)
        answered.append((ctx, _MANAGER.decide(ctx)))
    # A part the dialogue could not place at all is context, not a question: its "I didn't
    # understand" is left out while another part was answered.
    placed = [(c, a) for c, a in answered if a.action not in _NOT_AN_ANSWER] or answered[:1]
    first, outcome = placed[0]
    for ctx, answer in placed[1:]:
        first.commands.extend(ctx.commands)
        outcome.merge(answer)
        if answer.resolved is False:
            outcome.resolved = False
    return first, outcome


def _first_name(name: str, language: str) -> str:
    if language == "zh" or _CJK.search(name):
        return name
    return name.split()[0] if name.split() else name


__all__ = ["DecideInput", "Decision", "Outcome", "decide", "reply_language"]
