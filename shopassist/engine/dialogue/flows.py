"""The flow engine: interprets the declarative flows in ``data/flows.toml``.

A flow is a list of steps; each turn the engine walks them in order and the first step
that is not yet satisfied speaks (asks for a slot, asks for verification, asks for
confirmation). Steps that touch the database call the handlers in ``actions.py``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from shopassist.engine.dialogue.access import OrderAccess
from shopassist.engine.dialogue.context import (  # noqa: F401 - re-exported for handler modules
    ACTS,
    CHECKS,
    CONFIRMS,
    VALUE_PROVIDERS,
    FlowContext,
    Handler,
    handler,
    order_source,
)
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.state import PendingConfirmation
from shopassist.engine.privacy import mask_pii
from shopassist.kb.orders import normalise_order_number

DATA = Path(__file__).parent / "data" / "flows.toml"


class FlowSpec(BaseModel):
    name: str
    intents: list[str]
    kind: Literal["task", "info"] = "info"
    steps: list[str]
    requires: dict[str, Any] = Field(default_factory=dict)
    free_text: list[str] = Field(default_factory=list)
    prompts: dict[str, str] = Field(default_factory=dict)
    handler: str | None = None
    handoff_intents: list[str] = Field(default_factory=list)
    howto: str | None = None  # info flow answering a general question about this task

    @property
    def slots(self) -> list[str]:
        return [s.split(":", 1)[1] for s in self.steps if s.startswith("collect:")]

    @property
    def needs_order(self) -> bool:
        return "verify" in self.steps

    def prompt_for(self, slot: str) -> str:
        return self.prompts.get(slot, f"ask.{slot}")


@cache
def load_flows() -> dict[str, FlowSpec]:
    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    return {name: FlowSpec(name=name, **spec) for name, spec in raw["flows"].items()}


@cache
def load_offers() -> dict[str, str]:
    """Template key -> flow a "yes" to that reply starts."""
    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    offers = dict(raw.get("offers", {}))
    unknown = set(offers.values()) - set(load_flows())
    if unknown:
        raise ValueError(f"flows.toml [offers] names unknown flows: {sorted(unknown)}")
    return offers


@cache
def flow_for_intent() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for spec in load_flows().values():
        for intent in spec.intents:
            mapping[intent] = spec.name
    for name in load_flows():
        # A flow without intents of its own ("warranty", "howto") is reached by its name.
        mapping.setdefault(name, name)
    return mapping


def spec_for_intent(intent: str) -> FlowSpec:
    flows = load_flows()
    return flows[flow_for_intent().get(intent, "out_of_scope")]


def _denied(ctx: FlowContext, access: OrderAccess) -> Outcome:
    out = Outcome(use_llm=False)
    number = access.number or ""
    out.allowed_values.append(number)
    state = ctx.state
    if access.status == "needs_verification":
        state.step = "verify"
        return out.say("verify.ask", order_number=number)
    if access.status == "not_on_account":
        if state.lookup_failed:
            # Asked once for a corrected number already: stop asking, offer a person.
            state.end_flow()
            out.resolved = False
            return out.say("verify.not_on_account_again", order_number=number)
        state.slots.pop("order_number", None)
        state.step = "collect:order_number"
        state.lookup_failed = True
        return out.say("verify.not_on_account", order_number=number)
    if access.status == "locked":
        # Out of guesses (access.py counts them): stop trying and hand off to a person.
        state.end_flow()
        out.resolved = False
        out.handoff = True
        out.action = "verify.too_many"  # the rules stage puts the apology in front
        return out.say("verify.too_many")
    state.step = "verify"
    return out.say("verify.mismatch", order_number=number)


def run_flow(spec: FlowSpec, ctx: FlowContext, *, confirmed: bool = False) -> Outcome:
    """Walk the flow's steps; returns what to say this turn (the state is updated in place)."""
    state = ctx.state
    name = spec.handler or spec.name
    if (
        any(s.startswith("resolve:") for s in spec.steps) or "reason" in spec.free_text
    ) and "request" not in state.slots:
        # The message that started the task, for resolvers ("return the headphones" before
        # the order number was known) and for a reason given with it.
        # Addresses are kept (as in the new_address slot); emails and phones are masked.
        state.slots["request"] = mask_pii(ctx.text, addresses=False)[:300]
    for step in spec.steps:
        kind, _, arg = step.partition(":")
        if kind == "resolve":
            # resolve:<slot> - the handler registered as check "<flow>:<slot>" reads the slot
            # (or the request) into structured slots; when it cannot, what it says asks for
            # the slot again.
            resolver = CHECKS.get(f"{name}:{arg}")
            ask = resolver(ctx, Outcome(use_llm=False)) if resolver else None
            if ask is not None:
                state.slots.pop(arg, None)
                state.step = f"collect:{arg}"
                state.pending = None
                return ask
        elif kind == "collect":
            if state.slots.get(arg) in (None, ""):
                state.step = step
                out = Outcome(use_llm=False)
                return out.say(spec.prompt_for(arg), **_prompt_values(ctx))
        elif kind == "verify":
            access = ctx.ensure_access()
            if access.status != "granted":
                return _denied(ctx, access)
            state.last_order = access.number
        elif kind == "identify":
            if not state.verified:
                entity = ctx.nlu.first("order_number")
                if entity is not None and not state.slots.get("order_number"):
                    # The order number asked for ("order SA-5105, email ...") identifies
                    # the customer, though an account task has no order slot of its own.
                    state.slots["order_number"] = normalise_order_number(
                        str(entity.value or entity.text)
                    )
                if state.slots.get("order_number"):
                    access = ctx.ensure_access()
                    if access.status != "granted":
                        return _denied(ctx, access)
                else:
                    state.step = "identify"
                    # An email or phone given already: ask only for what is missing.
                    given = ctx.claim.given or state.claimed_customer_id is not None
                    key = "ask.identify_number" if given else "ask.identify"
                    return Outcome(use_llm=False).say(key)
        elif kind == "check":
            allowed = spec.requires.get("status_in")
            if allowed and ctx.order["status"] not in allowed:
                out = Outcome(use_llm=True, resolved=True, action=f"{spec.name}.refused")
                values = VALUE_PROVIDERS["order_basics"](ctx, out)
                state.end_flow()
                out.say(spec.requires["refuse"], **values)
                # A check named "<flow>:refused" may add what the refusal rests on (the date
                # a fulfilled order was shipped on).
                explain = CHECKS.get(f"{name}:refused")
                return (explain(ctx, out) or out) if explain is not None else out
            check = CHECKS.get(name)
            if check is not None:
                refusal = check(ctx, Outcome(resolved=True))
                if refusal is not None:
                    state.end_flow()
                    return refusal
        elif kind == "confirm":
            if not confirmed:
                state.step = "confirm"
                state.pending = PendingConfirmation(flow=spec.name)
                out = Outcome(use_llm=False)
                confirm = CONFIRMS.get(name)
                result = confirm(ctx, out) if confirm else None
                return result if result is not None else out.say(f"{spec.name}.confirm")
        elif kind == "act":
            act = ACTS[name]
            out = Outcome(resolved=True)
            result = act(ctx, out) or out
            if state.flow == spec.name:
                state.end_flow()
            return result
    state.end_flow()
    return Outcome(resolved=True)


def _prompt_values(ctx: FlowContext) -> dict[str, Any]:
    return {"order_number": ctx.state.slots.get("order_number", "")}
