"""Complaints and hand-off to a person."""

from __future__ import annotations

from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.handlers.base import (
    _policy,
)
from shopassist.engine.dialogue.handoff import build_handoff_summary
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.privacy import mask_pii
from shopassist.kb import conversations

# --- complaint and hand-off ---------------------------------------------------------------


@handler("act", "complaint")
def complaint(ctx: FlowContext, out: Outcome) -> Outcome:
    support = _policy(ctx, out, "support", {})
    order_id = None
    if ctx.access.status == "granted" and ctx.access.order:
        order_id = ctx.access.order["id"]
    ticket = conversations.create_ticket(
        ctx.db,
        conversation_id=ctx.session_id,
        customer_id=ctx.state.customer_id,
        order_id=order_id,
        kind="complaint",
        summary=f"Complaint: {mask_pii(ctx.text)[:500]}",
    )
    out.action = "complaint.recorded"
    out.guidance.append("Apologise sincerely first.")
    return out.say(
        "complaint.ack",
        ticket_id=out.fact("ticket.id", ticket, f"ticket:{ticket}"),
        reply_days=out.fact(
            "support.complaint_reply_business_days",
            support.get("complaint_reply_business_days", 2),
            "policy:support",
        ),
    )


@handler("act", "handoff")
def handoff(ctx: FlowContext, out: Outcome) -> Outcome:
    support = _policy(ctx, out, "support", {})
    ctx.state.handoff = True
    out.handoff = True
    out.action = "handoff"
    out.resolved = False
    summary = build_handoff_summary(ctx.db, ctx.state, ctx.text)
    conversations.create_ticket(
        ctx.db,
        conversation_id=ctx.session_id,
        customer_id=ctx.state.customer_id,
        order_id=None,
        kind="handoff",
        summary=summary,
    )
    out.say(
        "handoff.done",
        hours=out.fact(
            "support.hours",
            fmt.localised(support, "hours", ctx.language),
            "policy:support",
            required=False,
        ),
    )
    if ctx.intent == "contact_customer_service":
        phone = (
            support.get("vip_phone") if ctx.state.customer_tier == "vip" else support.get("phone")
        )
        out.say(
            "handoff.contact",
            email=out.fact("support.email", support.get("email", ""), "policy:support"),
            phone=out.fact("support.phone", phone or "", "policy:support"),
        )
    return out
