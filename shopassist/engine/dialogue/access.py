"""Who may see or change an order.

A conversation is bound to a customer (the operator said so), or becomes verified when
the customer gives the email or phone on an order. Until then nothing about an order is
revealed, not even whether it exists: every denial below has one wording per situation
that is identical for a missing order and someone else's order.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, Field

from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.kb import customers, orders

AccessStatus = Literal[
    "no_number",  # no order number known yet
    "granted",  # the order is the customer's own
    "needs_verification",  # anonymous and no email/phone given yet
    "mismatch",  # anonymous; the email/phone given does not match (or no such order)
    "not_on_account",  # known customer; not one of their orders (or no such order)
]

MAX_VERIFICATION_FAILURES = 3


class Claim(BaseModel):
    """An email or phone typed in this message, resolved to the customer it belongs to."""

    given: bool = False
    customer_id: int | None = None  # None when it matches no customer


class OrderAccess(BaseModel):
    number: str | None = None
    status: AccessStatus = "no_number"
    # Only ever set when status == "granted"; never serialised into results.
    order: dict[str, Any] | None = Field(default=None, exclude=True)
    verified_customer_id: int | None = None  # set when this check verified the conversation


def claim_from_message(db: sqlite_utils.Database, nlu: NLUResult) -> Claim:
    for entity in nlu.entities:
        if entity.type == "email":
            found = customers.find_by_email(db, str(entity.value or entity.text))
            return Claim(given=True, customer_id=found["id"] if found else None)
        if entity.type == "phone":
            found = customers.find_by_phone(db, str(entity.value or entity.text))
            return Claim(given=True, customer_id=found["id"] if found else None)
    return Claim()


def check_order_access(
    db: sqlite_utils.Database, state: DialogueState, number: str | None, claim: Claim
) -> OrderAccess:
    """Decide whether this conversation may see order ``number``; loads it only if so."""
    if not number:
        return OrderAccess()
    number = orders.normalise_order_number(number)
    order = orders.find_order(db, number)
    if state.customer_id is not None and state.verified:
        if order is not None and order["customer_id"] == state.customer_id:
            return OrderAccess(
                number=number, status="granted", order=orders.load_order_details(db, order)
            )
        return OrderAccess(number=number, status="not_on_account")
    claimed = claim.customer_id if claim.given else state.claimed_customer_id
    if claimed is None:
        given_before = state.claimed_customer_id is None and state.verification_failures > 0
        return OrderAccess(
            number=number,
            status="mismatch" if (claim.given or given_before) else "needs_verification",
        )
    if order is not None and order["customer_id"] == claimed:
        return OrderAccess(
            number=number,
            status="granted",
            order=orders.load_order_details(db, order),
            verified_customer_id=claimed,
        )
    return OrderAccess(number=number, status="mismatch")


def apply_access(
    db: sqlite_utils.Database, state: DialogueState, access: OrderAccess, claim: Claim
) -> None:
    """Update verification in the state after an access check."""
    if claim.given and not state.verified:
        state.claimed_customer_id = claim.customer_id
    if (
        access.status == "granted"
        and access.verified_customer_id is not None
        and not state.verified
    ):
        customer = customers.get_customer(db, access.verified_customer_id)
        state.customer_id = access.verified_customer_id
        state.verified = True
        state.verification_failures = 0
        if customer:
            state.customer_name = customer["name"]
            state.customer_tier = customer["tier"]
    elif access.status == "mismatch" and claim.given:
        state.verification_failures += 1
