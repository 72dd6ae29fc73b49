"""Complaints and hand-off to a person."""

from __future__ import annotations

from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.handoff import build_handoff_summary
from shopassist.engine.dialogue.outcome import Outcome, Part
from shopassist.engine.dialogue.policy_facts import policy_fact, say_unknown, tier_benefit
from shopassist.engine.privacy import mask_pii
from shopassist.kb import conversations

# --- complaint and hand-off ---------------------------------------------------------------


@handler("act", "complaint")
def complaint(ctx: FlowContext, out: Outcome) -> Outcome:
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
    ticket_id = out.fact("ticket.id", ticket, f"ticket:{ticket}")
    days = policy_fact(
        ctx,
        out,
        "contact.complaint_reply_business_days",
        fact_key="support.complaint_reply_business_days",
    )
    if days is None:
        return out.say("complaint.ack_no_days", ticket_id=ticket_id)
    return out.say("complaint.ack", ticket_id=ticket_id, reply_days=days)


@handler("act", "handoff")
def handoff(ctx: FlowContext, out: Outcome) -> Outcome:
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
    hours = policy_fact(ctx, out, "contact.hours", fact_key="support.hours", required=False)
    if hours is None:
        out.say("handoff.done_no_hours")
    else:
        out.say("handoff.done", hours=hours)
    if ctx.intent == "contact_customer_service":
        email = policy_fact(ctx, out, "contact.email", fact_key="support.email")
        phone = None
        if tier_benefit(ctx, out, "phone") is not None:
            phone = policy_fact(
                ctx, out, f"tiers.{ctx.state.customer_tier}.phone", fact_key="support.phone"
            )
        phone = phone or policy_fact(ctx, out, "contact.phone", fact_key="support.phone")
        if email and phone:
            out.say("handoff.contact", email=email, phone=phone)
        elif email or phone:
            out.say(
                "handoff.contact_email" if email else "handoff.contact_phone",
                email=email,
                phone=phone,
            )
    if hours is None and ctx.intent == "contact_customer_service":
        # "What are your opening hours?": the shop has not said. Say so (the hand-off is
        # the colleague), and record the gap.
        say_unknown(ctx, out, "contact.hours")
        out.parts = [p for p in out.parts if p.template != "policy.unknown"]
        out.parts.insert(0, Part(template="handoff.hours_unknown"))
        out.resolved = False
    return out
