"""Who may see or change an order, and how many wrong guesses anyone gets.

A conversation is bound to a customer (the operator said so), or becomes verified when
the customer gives an order number together with the email or phone on that order (in
one message or across several). Claiming an email proves nothing by itself: it only
names whose orders the next order number must belong to. Until then nothing about an
order is revealed, not even whether it exists: every denial has one wording per
situation that is identical for a missing order and someone else's order.

Every failed owner check counts - a wrong email or phone for an order, a wrong order
number for a claimed customer - in ``verification_failures``: per conversation (for
good: after the limit no later message in it verifies) and per order and per customer
across conversations within a time window (so new conversations do not buy new guesses).
Limits come from the settings (``verification_*``), see docs/security.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, Field

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.kb import customers, orders, verification

AccessStatus = Literal[
    "no_number",  # no order number known yet
    "granted",  # the order is the customer's own
    "needs_verification",  # anonymous and no email/phone given yet
    "mismatch",  # anonymous; the email/phone given does not match (or no such order)
    "not_on_account",  # known customer; not one of their orders (or no such order)
    "locked",  # too many failed checks: this conversation (or the target) cannot verify
]


class VerificationLimits(BaseModel):
    """How many failed owner checks are allowed (defaults mirror ``Settings``)."""

    max_failures: int = 3  # per conversation, for good
    max_target_failures: int = 5  # per order number and per customer, within the window
    window_minutes: int = 1440

    @classmethod
    def from_settings(cls, settings: Any) -> VerificationLimits:
        return cls(
            max_failures=settings.verification_max_failures,
            max_target_failures=settings.verification_max_target_failures,
            window_minutes=settings.verification_window_minutes,
        )


class _Scope(BaseModel):
    limits: VerificationLimits = Field(default_factory=VerificationLimits)
    session_id: str | None = None


_SCOPE: ContextVar[_Scope | None] = ContextVar("shopassist_verification_scope", default=None)


@contextmanager
def verification_scope(settings: Any, session_id: str) -> Iterator[None]:
    """The limits and the conversation id the checks of one turn count against."""
    token = _SCOPE.set(
        _Scope(limits=VerificationLimits.from_settings(settings), session_id=session_id)
    )
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _scope() -> _Scope:
    return _SCOPE.get() or _Scope()


# Kept for callers that show the default; the limit in force is the setting.
MAX_VERIFICATION_FAILURES = VerificationLimits().max_failures


class Claim(BaseModel):
    """An email or phone typed in this message, resolved to the customer it belongs to."""

    given: bool = False
    customer_id: int | None = None  # None when it matches no customer
    kind: Literal["email", "phone", "name_postcode"] | None = None
    # The typed value, to compare with the order's own customer; never serialised.
    value: str | None = Field(default=None, exclude=True, repr=False)


class OrderAccess(BaseModel):
    number: str | None = None
    status: AccessStatus = "no_number"
    # Only ever set when status == "granted"; never serialised into results.
    order: dict[str, Any] | None = Field(default=None, exclude=True)
    verified_customer_id: int | None = None  # set when this check verified the conversation
    # A failed owner check to count: (order number tried, customer claimed or owning it).
    failed: bool = Field(default=False, exclude=True)
    failed_customer_id: int | None = Field(default=None, exclude=True)


def claim_from_message(db: sqlite_utils.Database, nlu: NLUResult) -> Claim:
    for entity in nlu.entities:
        if entity.type == "email":
            value = str(entity.value or entity.text)
            found = customers.find_by_email(db, value)
            return Claim(
                given=True, customer_id=found["id"] if found else None, kind="email", value=value
            )
        if entity.type == "phone":
            value = str(entity.value or entity.text)
            found = customers.find_by_phone(db, value)
            return Claim(
                given=True, customer_id=found["id"] if found else None, kind="phone", value=value
            )
    text = nlu.text
    for entity in nlu.entities:  # an order number is not a postcode
        if entity.type == "order_number" and entity.text:
            text = text.replace(entity.text, " ")
    return _name_and_postcode_claim(db, text)


def _name_and_postcode_claim(db: sqlite_utils.Database, text: str) -> Claim:
    """A customer's full name with the postcode of their address identifies them.

    A known name with some other postcode is a claim too (one that matches nobody), so a
    wrong postcode counts as a failed check like a wrong email; a name without any
    postcode is just a name.
    """
    named = customers.named_in(db, text)
    if not named:
        return Claim()
    matching = [c for c in named if c["postcode_given"]]
    if len(matching) == 1:
        return Claim(given=True, customer_id=int(matching[0]["id"]), kind="name_postcode")
    from shopassist.engine.address import _rules as address_rules

    if matching or address_rules()["_postcodes"]["any"].search(text):
        # Two customers with one name and one postcode: neither is identified.
        return Claim(given=True, customer_id=None, kind="name_postcode")
    return Claim()


def _claim_matches_owner(db: sqlite_utils.Database, order: dict[str, Any], claim: Claim) -> bool:
    """The email or phone typed now is the one on the order's own customer record."""
    if not claim.given or not claim.value or order.get("customer_id") is None:
        return False
    owner = customers.get_customer(db, int(order["customer_id"]))
    if owner is None:
        return False
    if claim.kind == "email":
        return bool(owner.get("email")) and customers.normalise_email(
            owner["email"]
        ) == customers.normalise_email(claim.value)
    return bool(owner.get("phone")) and customers.phones_match(owner["phone"], claim.value)


def _since(limits: VerificationLimits) -> str:
    at = clock.now() - timedelta(minutes=limits.window_minutes)
    return at.replace(microsecond=0).isoformat() + "Z"


def is_locked(
    db: sqlite_utils.Database,
    state: DialogueState,
    *,
    order_number: str | None = None,
    customer_id: int | None = None,
) -> bool:
    """Whether this conversation, or the order / customer being claimed, is out of guesses."""
    scope = _scope()
    limits = scope.limits
    if state.verification_failures >= limits.max_failures:
        return True
    counts = verification.failure_counts(
        db,
        conversation_id=scope.session_id or "",
        order_number=order_number,
        customer_id=customer_id,
        since=_since(limits),
    )
    if scope.session_id and counts.conversation >= limits.max_failures:
        return True
    return counts.order >= limits.max_target_failures or (
        counts.customer >= limits.max_target_failures
    )


def check_order_access(
    db: sqlite_utils.Database, state: DialogueState, number: str | None, claim: Claim
) -> OrderAccess:
    """Decide whether this conversation may see order ``number``; loads it only if so."""
    if not number:
        return OrderAccess()
    number = orders.normalise_order_number(number)
    order = orders.find_order(db, number)
    if state.customer_id is not None and state.verified:
        if state.bound:
            # The operator vouched for this customer: no guessing is involved.
            if order is not None and order["customer_id"] == state.customer_id:
                return OrderAccess(
                    number=number, status="granted", order=orders.load_order_details(db, order)
                )
            return OrderAccess(number=number, status="not_on_account")
        if is_locked(db, state, order_number=number, customer_id=state.customer_id):
            return OrderAccess(number=number, status="locked")
        if order is not None and order["customer_id"] == state.customer_id:
            return OrderAccess(
                number=number, status="granted", order=orders.load_order_details(db, order)
            )
        # Verified by proof, now asking about another order: a guess like any other.
        return OrderAccess(
            number=number,
            status="not_on_account",
            failed=True,
            failed_customer_id=state.customer_id,
        )
    claimed = claim.customer_id if claim.given else state.claimed_customer_id
    if claimed is None and not claim.given:
        given_before = state.claimed_customer_id is None and state.verification_failures > 0
        if not given_before:
            return OrderAccess(number=number, status="needs_verification")
        if is_locked(db, state, order_number=number):
            return OrderAccess(number=number, status="locked")
        return OrderAccess(number=number, status="mismatch")
    # An owner check is made: refuse before comparing anything once out of guesses.
    if is_locked(db, state, order_number=number, customer_id=claimed):
        return OrderAccess(number=number, status="locked")
    if order is not None and (
        (claimed is not None and order["customer_id"] == claimed)
        or _claim_matches_owner(db, order, claim)
    ):
        return OrderAccess(
            number=number,
            status="granted",
            order=orders.load_order_details(db, order),
            verified_customer_id=int(order["customer_id"]),
        )
    return OrderAccess(number=number, status="mismatch", failed=True, failed_customer_id=claimed)


def apply_access(
    db: sqlite_utils.Database, state: DialogueState, access: OrderAccess, claim: Claim
) -> None:
    """Update verification in the state after an access check, and count a failed one.

    A failure that reaches a limit turns ``access`` into ``locked`` at once, so the reply
    to the last allowed guess already stops trying.
    """
    if claim.given and not state.verified:
        state.claimed_customer_id = claim.customer_id
    if (
        access.status == "granted"
        and access.verified_customer_id is not None
        and not state.verified
    ):
        customer = customers.get_customer(db, access.verified_customer_id)
        state.customer_id = access.verified_customer_id
        state.claimed_customer_id = access.verified_customer_id
        state.verified = True
        if customer:
            state.customer_name = customer["name"]
            state.customer_tier = customer["tier"]
        return
    if not access.failed:
        return
    state.verification_failures += 1
    scope = _scope()
    verification.record_failure(
        db,
        conversation_id=scope.session_id or "",
        order_number=access.number,
        customer_id=access.failed_customer_id,
        at=clock.now_iso(),
    )
    access.failed = False  # counted once, even if the check is looked at again
    if is_locked(db, state, order_number=access.number, customer_id=access.failed_customer_id):
        access.status = "locked"
