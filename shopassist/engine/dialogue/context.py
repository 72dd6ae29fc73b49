"""What every step and handler of a turn receives, and the handler registry.

Kept apart from ``flows.py`` so handler modules (``actions.py``, ``handlers/``) depend on
this module only, and the flow engine looks handlers up in the tables without importing
the modules that fill them (``handlers.register_all`` imports those, once, explicitly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlite_utils

from shopassist.engine.dialogue.access import (
    Claim,
    OrderAccess,
    apply_access,
    check_order_access,
)
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.turn_result import Source


@dataclass
class FlowContext:
    """Everything a step or handler may use for this turn."""

    db: sqlite_utils.Database
    session_id: str
    state: DialogueState
    nlu: NLUResult
    text: str
    language: str
    claim: Claim
    flags: set[str] = field(default_factory=set)
    product_ids: list[int] = field(default_factory=list)  # resolved references and names
    product_hits: list[Any] = field(default_factory=list)  # search hits from retrieval
    faq_hits: list[Any] = field(default_factory=list)
    product_request: Any = None  # product_query.ProductRequest for product questions
    variant_found: bool = True  # a hit has the colour/size asked for
    unmet: str | None = None  # the constraint nothing satisfies ("price", "attribute")
    nearest: list[Any] = field(default_factory=list)  # nearest hits, shown as such
    unknown_name: str | None = None  # a product name no product has, the customer's words
    access: OrderAccess = field(default_factory=OrderAccess)
    intent: str = "out_of_scope"
    channel: str = "chat"
    task: str | None = None  # the order task a general "how do I ...?" question is about
    commands: list[Any] = field(default_factory=list)  # interpret.Command, rules that fired

    def ensure_access(self) -> OrderAccess:
        """Check access for the order in the slot (re-checked when the slot changed)."""
        number = self.state.slots.get("order_number")
        if self.access.number != number or self.access.status == "no_number":
            self.access = check_order_access(self.db, self.state, number, self.claim)
            apply_access(self.db, self.state, self.access, self.claim)
            if self.access.verified_customer_id is not None:
                # Verified just now: the customer's tier may switch rules on (VIP benefits).
                from shopassist.engine.dialogue.rules import flags_before

                self.flags |= flags_before(
                    {"tier": self.state.customer_tier, "intent": self.intent}
                )[0]
        return self.access

    @property
    def order(self) -> dict[str, Any]:
        assert self.access.status == "granted" and self.access.order is not None
        return self.access.order


Handler = Callable[[FlowContext, Outcome], Outcome | None]
CHECKS: dict[str, Handler] = {}
CONFIRMS: dict[str, Handler] = {}
ACTS: dict[str, Handler] = {}
# Template values a flow step needs from a handler module ("order_basics" for a refusal),
# filled by handlers.register_all, so flows.py imports no handler module.
VALUE_PROVIDERS: dict[str, Callable[[FlowContext, Outcome], dict[str, Any]]] = {}


def handler(kind: Literal["check", "confirm", "act"], *names: str) -> Callable[[Handler], Handler]:
    table = {"check": CHECKS, "confirm": CONFIRMS, "act": ACTS}[kind]

    def register(fn: Handler) -> Handler:
        for name in names:
            # A second handler for the same step would silently replace the first, by
            # import order: refuse it, so a module cannot shadow another's handler.
            if name in table and table[name] is not fn:
                first = table[name]
                raise RuntimeError(
                    f"two {kind} handlers for {name!r}: {first.__module__}.{first.__name__} "
                    f"and {fn.__module__}.{fn.__name__}"
                )
            table[name] = fn
        return fn

    return register


def order_source(order: dict[str, Any]) -> Source:
    return Source(
        id=f"order:{order['number']}",
        kind="order",
        title=f"Order {order['number']}",
        snippet=f"status {order['status']}",
    )
