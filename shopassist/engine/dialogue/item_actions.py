"""Item-level order actions in the dialogue: which lines a return covers, and addresses read
into fields.

The ``resolve:<slot>`` steps of flows.toml call the resolvers here (registered as checks
named ``<flow>:<slot>``): each reads what the customer wrote into structured slots, or says
what is still missing, and the flow asks for that slot again. The writes are in
``kb/order_actions.py``, one transaction per action.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shopassist.engine.address import FIELDS, ParsedAddress, format_address, parse_address
from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.item_lines import line_title, lines_text
from shopassist.engine.dialogue.lexicon import lexicon
from shopassist.engine.dialogue.lifecycle import (
    refund_from_financial_status,
    say_window,
    shipped_on,
    window_start,
)
from shopassist.engine.dialogue.order_items import (
    colour_option_names,
    match_lines,
    size_words,
    split_target,
)
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.policy_facts import policy_value, say_unknown
from shopassist.engine.dialogue.reason_text import MASKED_CONTACT, clean_reason
from shopassist.engine.dialogue.templates import render
from shopassist.engine.turn_result import Source
from shopassist.kb import order_actions, orders

# --- which lines a return covers ----------------------------------------------------------


@handler("check", "get_refund:items")
def resolve_return_items(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Which lines the return covers: named in the request or in the answer to "which?",
    the only line left to return, or asked for. Never the whole order by default. Units
    already on an earlier return of the order are not offered again: naming a line that
    has fully come back is refused with what was returned."""
    slots = ctx.state.slots
    if slots.get("return_lines"):
        return None
    known = order_actions.returnable_lines(ctx.db, int(ctx.order["id"]))
    # A line's quantity is what can still come back; a line fully returned keeps its
    # ordered quantity only so that naming it ("the two t-shirts") is still understood.
    lines = [{**line, "quantity": line["remaining"] or line["quantity"]} for line in known]
    open_lines = [line for line in lines if line["remaining"] > 0]
    # The answer to "which items?", this message (its entities give quantities: "one of the
    # two"), then the message that started the return.
    for text in (slots.get("items"), ctx.text, slots.get("request")):
        if not text:
            continue
        entities = ctx.nlu.entities if text == ctx.text else []
        match = match_lines(lines, str(text), entities)
        if match.ambiguous:
            return _ask_which(ctx, out, "order_items.ambiguous", match.ambiguous[0])
        if match.selections and not (match.all_items and len(open_lines) < len(lines)):
            chosen = [s.item for s in match.selections]
            barred = _already_returned(ctx, out, chosen, open_lines)
            if barred is None:
                barred = _not_returnable(ctx, out, chosen)
            if barred is None:
                barred = _not_shipped(ctx, out, chosen)
            if barred is not None:
                return barred
            slots["return_lines"] = [
                [s.item["id"], min(s.quantity, s.item["remaining"])] for s in match.selections
            ]
            slots["items"] = str(text)
            return None
        if match.all_items and open_lines:
            slots["return_lines"] = [[line["id"], line["remaining"]] for line in open_lines]
            slots["items"] = str(text)
            return None
    if len(open_lines) == 1:
        # One line left to return: all of what is left of it, unless a smaller quantity is
        # named ("return one of the two").
        only = open_lines[0]
        match = match_lines([only], ctx.text, ctx.nlu.entities)
        qty = match.selections[0].quantity if match.selections else int(only["remaining"])
        barred = _not_returnable(ctx, out, [only])
        if barred is not None:
            if len(lines) == 1:
                ctx.state.end_flow()  # nothing else on the order could be returned instead
                barred.resolved = True
            return barred
        slots["return_lines"] = [[only["id"], min(qty, int(only["remaining"]))]]
        slots["items"] = only["title"]
        return None
    return _ask_which(ctx, out, "order_items.which_return", open_lines)


def _already_returned(
    ctx: FlowContext,
    out: Outcome,
    items: list[dict[str, Any]],
    open_lines: list[dict[str, Any]],
) -> Outcome | None:
    """A named line whose every unit is already on a return of this order is refused, with
    the quantity returned and what else could still come back."""
    for item in items:
        if item["remaining"] > 0:
            continue
        out.action = "return.refused"
        sid = f"order:{ctx.order['number']}"
        returned = out.fact(
            "order.item_returned", lines_text(ctx, [(item, int(item["returned"]))]), sid
        )
        if not open_lines:
            ctx.state.end_flow()
            out.resolved = True
            return out.say(
                "order_items.already_returned_all",
                item=returned,
                order_number=ctx.order["number"],
            )
        out.say("order_items.already_returned", item=returned, order_number=ctx.order["number"])
        return _ask_which(ctx, out, "order_items.which_return", open_lines)
    return None


def _not_shipped(ctx: FlowContext, out: Outcome, items: list[dict[str, Any]]) -> Outcome | None:
    """An item of a partly fulfilled order that has not shipped cannot come back yet."""
    for item in items:
        status, _at = orders.line_fulfilment(item)
        if status is not None and status.lower() not in ("fulfilled", "shipped", "delivered"):
            out.action = "return.refused"
            sid = f"order:{ctx.order['number']}"
            return out.say(
                "order_items.not_shipped",
                item=out.fact("order.item", line_title(ctx, item), sid),
                order_number=ctx.order["number"],
            )
    return None


def _not_returnable(ctx: FlowContext, out: Outcome, items: list[dict[str, Any]]) -> Outcome | None:
    """Refuse an item the shop's policy lists as not returnable ("gift cards"), naming it."""
    rules = policy_value(ctx, out, "returns.non_returnable") or []
    for item in items:
        words = " ".join(
            str(item.get(k) or "") for k in ("title", "product_title", "product_type", "category")
        ).lower()
        for rule in rules:
            phrase = " ".join(_singular(w) for w in str(rule.en).lower().split())
            if phrase and re.search(rf"(?<![a-z]){re.escape(phrase)}s?(?![a-z])", words):
                out.action = "return.refused"
                sid = f"order:{ctx.order['number']}"
                return out.say(
                    "order_items.not_returnable",
                    item=out.fact("order.item", line_title(ctx, item), sid),
                    rule=out.fact(
                        "policy.non_returnable", rule.text(ctx.language), "policy:returns"
                    ),
                )
    return None


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


def address_in_request(request: str) -> str | None:
    """The address in a request that carries one ("change the address on NW1011 to 455
    Granville St, ...", "收货地址改一下：上海市..."): the part after the last ":" or "to",
    without an email or phone given beside it; None when that part is no full address."""
    text = MASKED_CONTACT.sub(" ", request).strip(" ,，-")
    colon = max(text.rfind("："), text.rfind(":"))
    part = text[colon + 1 :] if colon >= 0 else split_target(text)[1]
    parsed = parse_address(part) if part else None
    if parsed is None or not parsed.line1 or not re.search(r"\d", parsed.line1):
        return None
    return part.strip() if parsed.city or parsed.postal_code else None


def _resolve_address(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Read the typed address into fields (slot ``address_fields``); a follow-up fills what
    was missing; a missing street, city or postcode is asked for. An address given with the
    request itself is used without asking for it again."""
    slots = ctx.state.slots
    text = str(slots.get("new_address") or "")
    if not text and slots.get("request"):
        text = address_in_request(str(slots["request"])) or ""
        if text:
            slots["new_address"] = text
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
    sid = f"order:{order['number']}"
    new_address = out.fact("order.shipping_address", format_address(fields, ctx.language), sid)
    return out.say("address.done", **values, new_address=new_address)


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
    new_address = out.fact(
        "customer.address",
        format_address(fields, ctx.language),
        f"customer:{ctx.state.customer_id}",
    )
    return out.say("account_address.done", new_address=new_address)


# --- changing an item to another variant: before shipping, or as an exchange after ---------


def _attr_pattern(value: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in value.lower().split()]
    return re.compile(r"(?<![a-z0-9])" + r"\s*".join(words) + r"(?![a-z0-9])", re.IGNORECASE)


def _named(value: str, attr: str, text: str) -> bool:
    if not value:
        return False
    if _attr_pattern(value).search(text):
        return True
    if attr == "colour":
        zh = lexicon().colour_names_zh.get(value.lower())
        return zh is not None and (zh in text or zh.rstrip("色") in text)
    return False


def variant_options(variant: dict[str, Any]) -> dict[str, str]:
    """A variant's option values by option name (lower case): the shop's own options
    ("band size": "S") with the colour and size columns added when no option holds them."""
    opts: dict[str, str] = {}
    raw = variant.get("options")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        opts = {str(k).lower(): str(v) for k, v in parsed.items() if v not in (None, "")}
    for attr in ("colour", "size"):
        value = str(variant.get(attr) or "")
        if value and not any(v.lower() == value.lower() for v in opts.values()):
            opts[attr] = value
    return opts


def _size_word_values(text: str) -> set[str]:
    """The option values size words in the text stand for ("small" -> S, "大号" -> L; data:
    order_items.toml ``size_words``), to be matched against the product's own values."""
    low = text.lower()
    found: set[str] = set()
    for word, values in sorted(size_words().items(), key=lambda kv: -len(kv[0])):
        # The longest first, its words taken out: "extra large" is not also "large".
        pattern = _attr_pattern(word) if word.isascii() else re.compile(re.escape(word))
        if pattern.search(low):
            found |= {str(v).lower() for v in values}
            low = pattern.sub(" ", low)
    return found


def _wanted(
    ctx: FlowContext, line: dict[str, Any], variants: list[dict[str, Any]], text: str
) -> dict[str, str]:
    """The option values the text asks for ("to black XL", "换成L码", "the small band"),
    among the values the product comes in, by option name; the NLU's colour/size entities
    in that part as a fallback ("large"). Options not named keep the line's own value."""
    wanted: dict[str, str] = {}
    current = variant_options(
        next((v for v in variants if v["id"] == line.get("variant_id")), line)
    )
    by_name: dict[str, set[str]] = {}
    for v in variants:
        for name, value in variant_options(v).items():
            by_name.setdefault(name, set()).add(value)
    size_values = _size_word_values(text)
    for name, values in by_name.items():
        attr = (
            "colour" if name in ("colour", "color") or name == _colour_option(by_name) else "size"
        )
        found = [v for v in sorted(values) if _named(v, attr, text)]
        if not found and attr == "size":
            found = [v for v in sorted(values) if v.lower() in size_values]
        mine = current.get(name, "").lower()
        other = [v for v in found if v.lower() != mine]
        if other or found:
            wanted[name] = (other or found)[0]
    if wanted:
        return wanted
    start = ctx.text.find(text) if text else -1
    for attr in ("colour", "size"):
        for e in ctx.nlu.entities:
            if e.type == attr and (start < 0 or e.start >= start):
                value = str(e.value or e.text).lower()
                same = [(n, v) for n, vals in by_name.items() for v in vals if v.lower() == value]
                # A size the product does not come in is still what was asked for: the
                # reply then lists what it does come in.
                if same:
                    wanted[same[0][0]] = same[0][1]
                else:
                    wanted[attr] = str(e.value or e.text)
                break
    return wanted


def _colour_option(by_name: dict[str, set[str]]) -> str | None:
    """The option that holds colours: named so ("color", "colour", "颜色") or with values
    the lexicon knows as colours."""
    colours = set(lexicon().colour_names_zh) | set(lexicon().colour_families)
    for name, values in by_name.items():
        if name in colour_option_names() or any(v.lower() in colours for v in values):
            return name
    return None


def variant_label(ctx: FlowContext, variant: dict[str, Any]) -> str:
    """A variant as the reply's language names it: "Black / L", or "黑色 L"."""
    if ctx.language != "zh" or not (variant.get("colour") or variant.get("size")):
        return str(variant.get("title") or "")
    parts = [fmt.colour_name(str(variant["colour"]), "zh")] if variant.get("colour") else []
    if variant.get("size"):
        parts.append(str(variant["size"]))
    return " ".join(parts)


def _options_text(ctx: FlowContext, variants: list[dict[str, Any]]) -> str:
    return fmt.list_join([variant_label(ctx, v) for v in variants], ctx.language) or "-"


@handler(
    "check",
    "cancel_order:refused",
    "change_shipping_address:refused",
    "change_payment_method:refused",
)
def refused_after_shipping(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """A refusal because the order has shipped says when, for a fulfilled order; for an
    order already cancelled, what the shop's export says was refunded."""
    if ctx.order["status"] == "cancelled":
        from shopassist.engine.dialogue.actions import order_basics

        values = order_basics(ctx, Outcome())  # the refusal already holds these facts
        return refund_from_financial_status(ctx, out, values)
    if window_start(ctx.order) is not None:
        # Delivered, or fulfilled with no carrier tracking: its return window already
        # runs, so "once it arrives" would contradict the date said next.
        out.parts = [
            part.model_copy(update={"template": "cancel.not_allowed_arrived"})
            if part.template == "cancel.not_allowed"
            else part
            for part in out.parts
        ]
    return shipped_on(ctx, out) or out


@handler("check", "change_order")
def change_check(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Unshipped: items can be changed. Delivered (or fulfilled with no delivery date) and
    inside the return window: an exchange. Otherwise refused, with what is possible instead."""
    from shopassist.engine.dialogue.actions import _return_window, order_basics

    order, slots = ctx.order, ctx.state.slots
    status = order["status"]
    if status in ("pending", "paid"):
        slots["change_kind"] = "change"
        return None
    start = window_start(order)
    values = order_basics(ctx, out)
    out.action = "change_order.refused"
    if status in ("cancelled", "returned") or (
        status in ("shipped", "in_transit") and start is None
    ):
        window = _return_window(ctx, out) if status != "cancelled" else None
        if status in ("shipped", "in_transit") and window is not None:
            return out.say(
                "exchange.not_delivered",
                **values,
                window_days=out.fact("policy.return_window_days", window[0], f"policy:{window[1]}"),
            )
        return out.say("change.not_allowed", **values)
    window = _return_window(ctx, out)
    if window is None:
        return say_unknown(ctx, out, "returns.window_days")
    if start is not None and (clock.now().date() - start[0]).days > window[0]:
        return say_window(ctx, out, "lifecycle.window_passed", values, start, window)
    slots["change_kind"] = "exchange"
    return None


@handler("check", "change_order:change_request")
def resolve_item_change(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Which line changes to which variant of the same product, and how many; in stock."""
    slots = ctx.state.slots
    if slots.get("item_change") or slots.get("item_change_free"):
        return None
    text = str(slots.get("change_request") or "")
    if not text:
        return None
    lines = order_actions.order_lines(ctx.db, int(ctx.order["id"]))
    which, target = split_target(text)
    named = match_lines(lines, which, ctx.nlu.entities) if target else match_lines(lines, text)
    if named.ambiguous:
        return _ask_which(ctx, out, "order_items.ambiguous", named.ambiguous[0])
    if named.selections:
        line, qty = named.selections[0].item, named.selections[0].quantity
    elif len(lines) == 1:
        line, qty = lines[0], int(lines[0]["quantity"])
    else:
        return _ask_which(ctx, out, "order_items.which_change", lines)
    if not line.get("product_id"):
        slots["item_change_free"] = True
        return None
    variants = orders.variants_of(ctx.db, int(line["product_id"]))
    wanted = _wanted(ctx, line, variants, target or text)
    if not wanted:
        # Not a colour or size ("add gift wrapping", a quantity): the general change path.
        slots["item_change_free"] = True
        return None
    here = next((v for v in variants if v["id"] == line.get("variant_id")), line)
    keep = variant_options(here)  # the line's own colour when only the size is named
    keep.update(wanted)
    matches = [
        v
        for v in variants
        if all(variant_options(v).get(a, "").lower() == keep[a].lower() for a in keep if keep[a])
    ]
    matches = [v for v in matches if v["id"] != line.get("variant_id")]
    sid = f"order:{ctx.order['number']}"
    item = out.fact("order.item", line_title(ctx, line), sid)
    in_stock = [v for v in variants if v["id"] != line.get("variant_id") and v["stock"] >= qty]
    out.action = "items.asked"
    if not matches:
        return out.say(
            "item_change.no_variant",
            item=item,
            wanted=" ".join(wanted.values()),
            options=out.fact("product.options", _options_text(ctx, variants), sid),
        )
    variant = matches[0]
    if int(variant["stock"]) < qty:
        out.action = "change.out_of_stock"
        if not in_stock:
            return out.say("item_change.none_in_stock", item=item)
        return out.say(
            "item_change.out_of_stock",
            item=item,
            variant=out.fact("change.variant", variant_label(ctx, variant), sid),
            options=out.fact("product.options_in_stock", _options_text(ctx, in_stock), sid),
        )
    slots["item_change"] = {"line_id": line["id"], "variant_id": variant["id"], "quantity": qty}
    return None


def _planned(ctx: FlowContext) -> tuple[dict[str, Any], dict[str, Any], int] | None:
    plan = ctx.state.slots.get("item_change")
    if not plan:
        return None
    lines = {int(i["id"]): i for i in order_actions.order_lines(ctx.db, int(ctx.order["id"]))}
    line = lines.get(int(plan["line_id"]))
    row = ctx.db.execute("select * from variants where id = ?", [plan["variant_id"]])
    cols = [c[0] for c in row.description]
    found = row.fetchone()
    if line is None or found is None:
        return None
    return line, dict(zip(cols, found, strict=True)), int(plan["quantity"])


def _price_note(
    ctx: FlowContext, out: Outcome, section: str, diff: int, new_total: int | None = None
) -> str:
    order = ctx.order
    sid = f"order:{order['number']}"
    kind = "more" if diff > 0 else "less" if diff < 0 else "same"
    values: dict[str, Any] = {}
    if diff:
        values["difference"] = out.fact(
            "change.price_difference", fmt.money(abs(diff), order["currency"]), sid
        )
    if new_total is not None and diff:
        values["new_total"] = out.fact(
            "order.new_total", fmt.money(new_total, order["currency"]), sid
        )
    return render(f"{section}.{kind}", ctx.language, values)


@handler("confirm", "change_order")
def change_confirm(ctx: FlowContext, out: Outcome) -> Outcome | None:
    from shopassist.engine.dialogue import actions

    plan = _planned(ctx)
    if plan is None:
        return actions.change_confirm(ctx, out)
    line, variant, qty = plan
    values = actions.order_basics(ctx, out)
    sid = f"order:{ctx.order['number']}"
    diff = (int(variant["price_cents"]) - int(line["unit_price_cents"])) * qty
    common = {
        "quantity": out.fact("change.quantity", qty, sid),
        "item": out.fact("order.item", line_title(ctx, line), sid),
        "variant": out.fact("change.variant", variant_label(ctx, variant), sid),
    }
    if ctx.state.slots.get("change_kind") == "exchange":
        note = _price_note(ctx, out, "exchange", diff)
        return out.say("exchange.confirm", **values, **common, price_note=note)
    note = _price_note(ctx, out, "item_change", diff, int(ctx.order["total_cents"]) + diff)
    return out.say("item_change.confirm", **values, **common, price_note=note)


@handler("act", "change_order")
def change_act(ctx: FlowContext, out: Outcome) -> Outcome | None:
    from shopassist.engine.dialogue import actions

    plan = _planned(ctx)
    if plan is None:
        return actions.change_act(ctx, out)
    line, variant, qty = plan
    order = ctx.order
    values = actions.order_basics(ctx, out)
    sid = f"order:{order['number']}"
    diff = (int(variant["price_cents"]) - int(line["unit_price_cents"])) * qty
    common = {
        "quantity": out.fact("change.quantity", qty, sid),
        "item": out.fact("order.item", line_title(ctx, line), sid),
        "variant": out.fact("change.variant", variant_label(ctx, variant), sid),
    }
    try:
        if ctx.state.slots.get("change_kind") == "exchange":
            exchange_id = order_actions.create_exchange(
                ctx.db,
                order_id=int(order["id"]),
                line=line,
                variant=variant,
                quantity=qty,
                price_difference_cents=diff,
                reason=clean_reason(str(ctx.state.slots.get("change_request", ""))),
                at=clock.now_iso(),
            )
            out.action = "exchange.created"
            esid = f"exchange:{exchange_id}"
            out.source(Source(id=esid, kind="order", title=f"Exchange {exchange_id}"))
            return out.say(
                "exchange.done",
                **values,
                **common,
                exchange_id=out.fact("exchange.id", exchange_id, esid),
                price_note=_price_note(ctx, out, "exchange", diff),
            )
        total = order_actions.change_line_variant(
            ctx.db,
            order_id=int(order["id"]),
            line=line,
            variant=variant,
            quantity=qty,
            at=clock.now_iso(),
        )
    except order_actions.OrderActionError:
        out.action = "change.out_of_stock"
        return out.say("item_change.none_in_stock", item=common["item"])
    out.action = "order.changed"
    return out.say(
        "item_change.done",
        **values,
        **common,
        new_total=out.fact("order.new_total", fmt.money(total, order["currency"]), sid),
    )


# --- the payment method of an unshipped order ---------------------------------------------


def _method_words(name: str) -> list[str]:
    """ "Credit or debit card (Visa, Mastercard)" -> the names inside it a customer types."""
    parts = re.split(r"[(),/、，（）]| or ", name)
    return [p.strip().lower() for p in parts if len(p.strip()) >= 3] or [name.lower()]


def _named_method(text: str, methods: list[Any], current: str = "") -> tuple[Any, str] | None:
    """The policy entry (LocalText) the text names, and the words that named it; a method
    other than ``current`` first ("with my Mastercard instead of the bank transfer")."""
    low = text.lower()
    current = current.lower()
    best: tuple[Any, str] | None = None
    best_rank: tuple[bool, int] = (False, -1)
    for method in methods:
        for lang_name in (method.en, method.zh):
            if not lang_name:
                continue
            for word in _method_words(str(lang_name)):
                hit = (
                    word in low
                    if _CJK_TEXT.search(word)
                    else re.search(rf"(?<![a-z]){re.escape(_singular(word))}s?(?![a-z])", low)
                )
                if not hit:
                    continue
                is_current = bool(current) and (
                    current in str(method.en).lower() or str(method.en).lower() in current
                )
                rank = (not is_current, len(word))
                if best is None or rank > best_rank:
                    best, best_rank = (method, word), rank
    return best


_CJK_TEXT = re.compile(r"[\u4e00-\u9fff]")


def _singular(word: str) -> str:
    """ "cheques" also names "cheque"."""
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


@handler("check", "change_payment_method")
def payment_change_check(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Without the shop's list of accepted methods a change cannot be checked: hand off."""
    if policy_value(ctx, out, "payments.accepted") is None:
        return say_unknown(ctx, out, "payments.accepted")
    return None


@handler("check", "change_payment_method:payment_method")
def resolve_payment_method(ctx: FlowContext, out: Outcome) -> Outcome | None:
    slots = ctx.state.slots
    if slots.get("payment_method_chosen"):
        return None
    accepted = policy_value(ctx, out, "payments.accepted") or []
    refused = policy_value(ctx, out, "payments.not_accepted") or []
    accepted_text = fmt.list_join([m.text(ctx.language) for m in accepted], ctx.language)
    for text in (slots.get("payment_method"), slots.get("request")):
        if not text:
            continue
        found = _named_method(str(text), accepted, orders.payment_method(ctx.order) or "")
        if found is not None:
            # Stored as the shop's own (English) name; shown in the reply's language.
            slots["payment_method_chosen"] = found[0].en
            slots["payment_method_label"] = found[0].text(ctx.language)
            slots["payment_method"] = str(text)
            return None
        named_refused = _named_method(str(text), refused)
        if named_refused is not None or text == slots.get("payment_method"):
            out.action = "payment_change.not_accepted"
            return out.say(
                "payment_change.not_accepted",
                method=named_refused[0].text(ctx.language) if named_refused else str(text),
                accepted=out.fact("policy.payments_accepted", accepted_text, "policy:payments"),
            )
    return out.say(
        "payment_change.ask",
        order_number=ctx.order["number"],
        accepted=out.fact("policy.payments_accepted", accepted_text, "policy:payments"),
    )


@handler("confirm", "change_payment_method")
def payment_change_confirm(ctx: FlowContext, out: Outcome) -> Outcome:
    from shopassist.engine.dialogue.actions import order_basics

    values = order_basics(ctx, out)
    sid = f"order:{ctx.order['number']}"
    method = out.fact("order.new_payment_method", ctx.state.slots["payment_method_label"], sid)
    old = orders.payment_method(ctx.order)
    if old:
        return out.say(
            "change_payment_method.confirm_from",
            **values,
            method=method,
            old_method=out.fact("order.payment_method", old, sid),
        )
    return out.say("change_payment_method.confirm", **values, method=method)


@handler("act", "change_payment_method")
def payment_change_act(ctx: FlowContext, out: Outcome) -> Outcome:
    from shopassist.engine.dialogue.actions import order_basics

    order = ctx.order
    values = order_basics(ctx, out)
    method = str(ctx.state.slots["payment_method_chosen"])
    order_actions.set_payment_method(ctx.db, int(order["id"]), method, clock.now_iso())
    out.action = "order.payment_method_changed"
    sid = f"order:{order['number']}"
    label = str(ctx.state.slots.get("payment_method_label") or method)
    return out.say(
        "payment_change.done", **values, method=out.fact("order.new_payment_method", label, sid)
    )
