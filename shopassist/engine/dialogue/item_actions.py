"""Item-level order actions in the dialogue: which lines a return covers, and addresses read
into fields.

The ``resolve:<slot>`` steps of flows.toml call the resolvers here (registered as checks
named ``<flow>:<slot>``): each reads what the customer wrote into structured slots, or says
what is still missing, and the flow asks for that slot again. The writes are in
``kb/order_actions.py``, one transaction per action.
"""

from __future__ import annotations

from typing import Any

from shopassist.engine.address import FIELDS, ParsedAddress, format_address, parse_address
from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.item_lines import lines_text
from shopassist.engine.dialogue.order_items import match_lines
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.templates import render
from shopassist.engine.turn_result import Source
from shopassist.kb import order_actions

# --- which lines a return covers ----------------------------------------------------------


@handler("check", "get_refund:items")
def resolve_return_items(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Which lines the return covers: named in the request or in the answer to "which?",
    the only line of a one-line order, or asked for. Never the whole order by default."""
    slots = ctx.state.slots
    if slots.get("return_lines"):
        return None
    lines = order_actions.order_lines(ctx.db, int(ctx.order["id"]))
    if len(lines) == 1:
        # One line: all of it, unless a smaller quantity is named ("return one of the two").
        match = match_lines(lines, ctx.text, ctx.nlu.entities)
        qty = match.selections[0].quantity if match.selections else int(lines[0]["quantity"])
        slots["return_lines"] = [[lines[0]["id"], qty]]
        slots["items"] = lines[0]["title"]
        return None
    entities = ctx.nlu.entities if ctx.text == slots.get("items") else []
    for text in (slots.get("items"), slots.get("request"), ctx.text):
        if not text:
            continue
        match = match_lines(lines, str(text), entities if text == ctx.text else [])
        if match.ambiguous:
            return _ask_which(ctx, out, "order_items.ambiguous", match.ambiguous[0])
        if match.selections:
            slots["return_lines"] = [[s.item["id"], s.quantity] for s in match.selections]
            slots["items"] = str(text)
            return None
    return _ask_which(ctx, out, "order_items.which_return", lines)


def _ask_which(ctx: FlowContext, out: Outcome, key: str, lines: list[dict[str, Any]]) -> Outcome:
    sid = f"order:{ctx.order['number']}"
    out.action = "items.asked"
    return out.say(
        key,
        order_number=ctx.order["number"],
        items=out.fact(
            "order.items", lines_text(ctx, [(i, int(i["quantity"])) for i in lines]), sid
        ),
    )


# --- addresses ------------------------------------------------------------------------------


def _resolve_address(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Read the typed address into fields (slot ``address_fields``); a follow-up fills what
    was missing; a missing street, city or postcode is asked for."""
    slots = ctx.state.slots
    text = str(slots.get("new_address") or "")
    if not text:
        return None
    if slots.get("address_parsed_from") == text:
        return None
    earlier = ParsedAddress(**(slots.get("address_fields") or {}))
    parsed = earlier.merged_with(parse_address(text)) if earlier.fields() else parse_address(text)
    slots["address_fields"] = parsed.fields()
    if parsed.complete:
        slots["address_parsed_from"] = text
        return None
    out.action = "address.incomplete"
    if not parsed.fields():
        return out.say("address_fields.missing_all")
    missing = fmt.list_join(
        [render(f"address_fields.{f}", ctx.language) for f in parsed.missing], ctx.language
    )
    return out.say(
        "address_fields.missing", address=format_address(parsed, ctx.language), missing=missing
    )


@handler("check", "change_shipping_address:new_address")
def resolve_order_address(ctx: FlowContext, out: Outcome) -> Outcome | None:
    return _resolve_address(ctx, out)


@handler("check", "set_up_shipping_address:new_address")
def resolve_account_address(ctx: FlowContext, out: Outcome) -> Outcome | None:
    return _resolve_address(ctx, out)


def _fields(ctx: FlowContext) -> dict[str, str]:
    return dict(ctx.state.slots.get("address_fields") or {})


def _fields_text(ctx: FlowContext, fields: dict[str, str]) -> str:
    sep = "；" if ctx.language == "zh" else "; "
    return sep.join(
        render(
            "address_fields.field",
            ctx.language,
            {"label": render(f"address_fields.{f}", ctx.language), "value": fields[f]},
        )
        for f in FIELDS
        if fields.get(f)
    )


def _stored_address(fields: dict[str, str], name: Any) -> dict[str, Any]:
    return {"name": name, **fields} if name else dict(fields)


@handler("confirm", "change_shipping_address")
def address_confirm(ctx: FlowContext, out: Outcome) -> Outcome:
    from shopassist.engine.dialogue.actions import order_basics

    values = order_basics(ctx, out)
    fields = _fields(ctx)
    return out.say(
        "address_fields.confirm_order",
        **values,
        new_address=format_address(fields, ctx.language),
        fields=_fields_text(ctx, fields),
    )


@handler("act", "change_shipping_address")
def address_act(ctx: FlowContext, out: Outcome) -> Outcome:
    from shopassist.engine.dialogue.actions import order_basics

    order = ctx.order
    values = order_basics(ctx, out)
    old = order.get("shipping_address") or {}
    name = old.get("name") if isinstance(old, dict) else None
    fields = _fields(ctx)
    order_actions.set_order_address(
        ctx.db, int(order["id"]), _stored_address(fields, name), clock.now_iso()
    )
    out.action = "order.address_changed"
    return out.say("address.done", **values, new_address=format_address(fields, ctx.language))


@handler("confirm", "set_up_shipping_address")
def account_address_confirm(ctx: FlowContext, out: Outcome) -> Outcome:
    fields = _fields(ctx)
    return out.say(
        "address_fields.confirm_account",
        new_address=format_address(fields, ctx.language),
        fields=_fields_text(ctx, fields),
    )


@handler("act", "set_up_shipping_address")
def account_address_act(ctx: FlowContext, out: Outcome) -> Outcome:
    assert ctx.state.customer_id is not None
    fields = _fields(ctx)
    order_actions.set_customer_address(
        ctx.db, ctx.state.customer_id, _stored_address(fields, ctx.state.customer_name)
    )
    out.action = "customer.address_set"
    out.source(
        Source(id=f"customer:{ctx.state.customer_id}", kind="customer", title="Your account")
    )
    return out.say("account_address.done", new_address=format_address(fields, ctx.language))
