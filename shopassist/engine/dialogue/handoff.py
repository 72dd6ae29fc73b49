"""The summary a staff member reads when a conversation is handed over.

Written in English for staff, whatever the customer's language, and masked: it goes into
the tickets table and the conversation row, where PII must not be copied.
"""

from __future__ import annotations

import sqlite_utils

from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.privacy import mask_pii
from shopassist.kb import customers


def build_handoff_summary(db: sqlite_utils.Database, state: DialogueState, last_text: str) -> str:
    if state.customer_id is not None:
        c = customers.get_customer(db, state.customer_id)
        who = (
            f"{c['name']} (customer {c['id']}, {c['tier']})"
            if c
            else f"customer {state.customer_id}"
        )
    else:
        who = "unknown customer"
    how = (
        "bound by operator"
        if state.bound
        else ("verified by order email/phone" if state.verified else "NOT verified")
    )
    lines = [
        f"Customer: {who}; {how}.",
        f"Language: {state.language}.",
        f"Intents so far: {' > '.join(state.intents[-8:]) or 'none'}.",
    ]
    if state.flow or state.suspended:
        open_flows = [state.flow] if state.flow else []
        open_flows += [s.flow for s in state.suspended]
        lines.append(
            f"Open request: {', '.join(f for f in open_flows if f)} (step {state.step or '-'})."
        )
    slots = {k: v for k, v in state.slots.items() if v not in (None, "")}
    if state.last_order and "order_number" not in slots:
        slots["order_number"] = state.last_order
    if slots:
        lines.append(
            "Known details: "
            + ", ".join(f"{k}={mask_pii(str(v))[:80]}" for k, v in slots.items())
            + "."
        )
    if state.sentiment:
        trend = ", ".join(f"{s:+.2f}" for s in state.sentiment)
        lines.append(f"Sentiment trend (oldest first): {trend}.")
    lines.append(f"Last message: {mask_pii(last_text)[:300]}")
    return "\n".join(lines)
