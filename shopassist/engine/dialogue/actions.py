"""Flow handlers that read or change the database: checks, confirmations and actions.

Each handler adds facts (with their source ids) to the outcome and says a template;
every value a template shows comes from a fact, so the verifier can hold an LLM to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext, handler, order_source
from shopassist.engine.dialogue.flows import load_flows
from shopassist.engine.dialogue.item_lines import (
    lines_text,
    refund_base_cents,
    selected_lines,
    selected_return_items,
)
from shopassist.engine.dialogue.lifecycle import (
    refund_from_financial_status,
    say_window,
    shipped_on,
    window_start,
)
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.policy_facts import (
    policy_fact,
    policy_value,
    say_unknown,
    tier_benefit,
)
from shopassist.engine.dialogue.reason_text import (
    asks_what_was_refunded,
    clean_reason,
    reason_in_request,
)
from shopassist.engine.dialogue.templates import render
from shopassist.engine.privacy import mask_pii
from shopassist.engine.turn_result import Source
from shopassist.kb import conversations, order_actions, orders
from shopassist.kb.policies import cents, percent_of_cents

# --- shared pieces ------------------------------------------------------------------------


def order_basics(ctx: FlowContext, out: Outcome) -> dict[str, Any]:
    """The order number, status and total as facts; every order reply starts from these."""
    order = ctx.order
    sid = f"order:{order['number']}"
    out.source(order_source(order))
    return {
        "order_number": out.fact("order.number", order["number"], sid),
        "status": out.fact("order.status", fmt.status_label(order["status"], ctx.language), sid),
        "order_total": out.fact(
            "order.total", fmt.money(order["total_cents"], order["currency"]), sid, required=False
        ),
    }


def cancellable_statuses() -> list[str]:
    """The order statuses the cancel flow accepts (flows.toml ``requires``)."""
    spec = load_flows().get("cancel_order")
    return list(spec.requires.get("status_in", [])) if spec is not None else []


def cancellation_fee_cents(ctx: FlowContext, out: Outcome, order: dict[str, Any]) -> int | None:
    """The fee for cancelling ``order`` now under the shop's cancellation policy; None when
    the policy does not say (no fee percentage, and no free case that applies)."""
    if order["status"] in (policy_value(ctx, out, "cancellation.free_statuses") or []):
        return 0
    if tier_benefit(ctx, out, "free_cancellation"):
        return 0
    try:
        placed_at = datetime.fromisoformat(str(order["placed_at"])[:19].replace("Z", ""))
    except ValueError:
        placed_at = None
    hours = policy_value(ctx, out, "cancellation.free_hours")
    if (
        hours is not None
        and placed_at is not None
        and (clock.now() - placed_at).total_seconds() <= hours * 3600
    ):
        return 0
    percent = policy_value(ctx, out, "cancellation.fee_percent")
    if percent is None:
        return None
    cap = policy_value(ctx, out, "cancellation.fee_max")
    return percent_of_cents(int(order["total_cents"]), percent, cap)  # half-up to the cent


# --- track_order --------------------------------------------------------------------------


@handler("act", "track_order")
def track_order(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    values = order_basics(ctx, out)
    out.action = "order.tracked"
    out.say("track.status", **values)
    shipment = order.get("shipment")
    lang = ctx.language
    if order["status"] == "cancelled":
        sid = f"order:{order['number']}"
        return out.say(
            "track.cancelled",
            cancelled_on=out.fact("order.cancelled_at", fmt.day(order.get("cancelled_at")), sid),
        )
    if shipped_on(ctx, out) is not None:
        return out  # fulfilled, with no carrier tracking: "shipped on <date>"
    if not shipment or order["status"] in ("pending", "paid"):
        days = policy_fact(ctx, out, "shipping.dispatch_days", fact_key="policy.dispatch_days")
        if days is None:
            return out.say("track.not_shipped_yet")
        return out.say(
            "track.not_shipped", dispatch_days=days, business_days=fmt.business_days(days, lang)
        )
    ssid = f"shipment:{shipment['id']}"
    out.source(
        Source(
            id=ssid,
            kind="shipment",
            title=f"Shipment of order {order['number']}",
            snippet=f"{shipment.get('carrier') or ''} {shipment.get('tracking_number') or ''}".strip(),
        )
    )
    if shipment.get("carrier") and shipment.get("tracking_number"):
        carriers = {c.code: c for c in policy_value(ctx, out, "shipping.carriers") or []}
        carrier = carriers.get(shipment["carrier"])
        out.say(
            "track.shipment",
            carrier=out.fact(
                "shipment.carrier",
                carrier.name.text(lang)
                if carrier is not None and carrier.name
                else shipment["carrier"],
                ssid,
            ),
            tracking_number=out.fact("shipment.tracking_number", shipment["tracking_number"], ssid),
        )
    event = shipment.get("latest_event")
    if event:
        description = event.get("description") or ""
        if lang == "zh" or not description:
            description = fmt.status_label(event.get("status") or "", lang)
        if event.get("location"):
            description = (
                f"{description}（{event['location']}）"
                if lang == "zh"
                else f"{description} ({event['location']})"
            )
        out.say(
            "track.latest_event",
            event=out.fact("shipment.latest_event", description, ssid, required=False),
            event_date=out.fact(
                "shipment.latest_event_date", fmt.day(event.get("at")), ssid, required=False
            ),
        )
    delivered = orders.delivered_at(order)
    if order["status"] == "delivered" and delivered:
        out.say(
            "track.delivered",
            delivered_on=out.fact("shipment.delivered_at", fmt.day(delivered), ssid),
        )
    elif shipment.get("estimated_delivery"):
        out.say(
            "track.eta",
            eta=out.fact(
                "shipment.estimated_delivery", fmt.day(shipment["estimated_delivery"]), ssid
            ),
        )
    return out


# --- cancel_order -------------------------------------------------------------------------


@handler("confirm", "cancel_order")
def cancel_confirm(ctx: FlowContext, out: Outcome) -> Outcome:
    values = order_basics(ctx, out)
    fee = cancellation_fee_cents(ctx, out, ctx.order)
    out.facts = [
        f if f.key != "order.total" else f.model_copy(update={"required": True}) for f in out.facts
    ]
    if fee is None:
        say_unknown(ctx, out, "cancellation.fee_percent")
        out.parts = [p for p in out.parts if p.template != "policy.unknown"]
        out.resolved = None
        return out.say("cancel_order.confirm_fee_unknown", **values)
    values["fee"] = out.fact(
        "cancel.fee", fmt.money(fee, ctx.order["currency"]), "policy:cancellation.fee_percent"
    )
    return out.say("cancel_order.confirm", **values)


@handler("act", "cancel_order")
def cancel_act(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    fee = cancellation_fee_cents(ctx, out, order)
    was_paid = order["status"] != "pending"
    values = order_basics(ctx, out)
    # Asked for or given with the request ("..., I found it cheaper elsewhere").
    given = str(ctx.state.slots.get("reason") or "") or reason_in_request(
        str(ctx.state.slots.get("request") or ""), str(order["number"])
    )
    reason = clean_reason(given or "") or None
    order_actions.cancel_with_reason(ctx.db, int(order["id"]), fee, reason, clock.now_iso())
    out.action = "order.cancelled"
    if reason:
        out.say("cancel_reason.noted", reason=reason)
    sid = f"order:{order['number']}"
    if not was_paid:
        return out.say("cancel.done_unpaid", **values)
    if fee is None:
        # The shop has set no cancellation fee: staff settle it; nothing is stated here.
        return out.say("cancel.done_paid_fee_unknown", **values)
    days = policy_fact(ctx, out, "returns.refund_days", fact_key="policy.refund_processing_days")
    refund = out.fact(
        "cancel.refund", fmt.money(max(0, order["total_cents"] - fee), order["currency"]), sid
    )
    fee_text = out.fact(
        "cancel.fee", fmt.money(fee, order["currency"]), "policy:cancellation.fee_percent"
    )
    if days is None:
        return out.say("cancel.done_paid_no_days", **values, refund=refund, fee=fee_text)
    return out.say("cancel.done_paid", **values, refund=refund, fee=fee_text, refund_days=days)


# --- change_order -------------------------------------------------------------------------
# The structured or ticketed change, when item_actions (which handles change_order) finds no
# single line and variant to change.


def _planned_change(ctx: FlowContext) -> dict[str, Any] | None:
    """A structured change (quantity, colour or size of one line) when the request is clear."""
    order = ctx.order
    items = order.get("items") or []
    if not items:
        return None
    slots = ctx.state.slots
    item = items[0]
    wanted_pid = slots.get("product_id")
    if wanted_pid is not None:
        item = next((i for i in items if i.get("product_id") == wanted_pid), item)
    elif len(items) > 1:
        return None
    change: dict[str, Any] = {"item": item}
    if slots.get("quantity"):
        change["quantity"] = int(slots["quantity"])
    colour, size = slots.get("colour"), slots.get("size")
    if (colour or size) and item.get("product_id"):
        for v in orders.variants_of(ctx.db, item["product_id"]):
            ok_colour = not colour or (v.get("colour") or "").lower() == str(colour).lower()
            ok_size = not size or (v.get("size") or "").lower() == str(size).lower()
            keep_colour = colour or item.get("colour")
            keep_size = size or item.get("size")
            if (
                ok_colour
                and ok_size
                and (not keep_colour or (v.get("colour") or "").lower() == str(keep_colour).lower())
                and (not keep_size or (v.get("size") or "").lower() == str(keep_size).lower())
            ):
                if v["id"] != item.get("variant_id") and v["stock"] >= int(
                    change.get("quantity") or item["quantity"]
                ):
                    change["variant"] = v
                break
    return change if ("quantity" in change or "variant" in change) else None


def _change_description(change: dict[str, Any], language: str) -> str:
    parts = []
    if "variant" in change:
        parts.append(change["variant"].get("title") or "")
    if "quantity" in change:
        parts.append(render("change.quantity", language, {"quantity": change["quantity"]}))
    return ", ".join(p for p in parts if p)


def change_confirm(ctx: FlowContext, out: Outcome) -> Outcome:
    values = order_basics(ctx, out)
    change = _planned_change(ctx)
    if change is not None:
        sid = f"order:{ctx.order['number']}"
        return out.say(
            "change_order.confirm_structured",
            **values,
            item=out.fact("order.item", _item_title(ctx, change["item"]), sid),
            change=out.fact("change.description", _change_description(change, ctx.language), sid),
        )
    return out.say(
        "change_order.confirm", **values, change_request=ctx.state.slots.get("change_request", "")
    )


def change_act(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    values = order_basics(ctx, out)
    change = _planned_change(ctx)
    sid = f"order:{order['number']}"
    if change is not None:
        orders.change_item(
            ctx.db,
            order["id"],
            change["item"]["id"],
            quantity=change.get("quantity"),
            variant=change.get("variant"),
            at=clock.now_iso(),
        )
        total = ctx.db.execute(
            "select total_cents from orders where id = ?", [order["id"]]
        ).fetchone()[0]
        out.action = "order.changed"
        return out.say(
            "change.done",
            **values,
            item=out.fact("order.item", _item_title(ctx, change["item"]), sid),
            change=out.fact("change.description", _change_description(change, ctx.language), sid),
            new_total=out.fact("order.new_total", fmt.money(total, order["currency"]), sid),
        )
    request = mask_pii(str(ctx.state.slots.get("change_request", "")))
    ticket = conversations.create_ticket(
        ctx.db,
        conversation_id=ctx.session_id,
        customer_id=ctx.state.customer_id,
        order_id=order["id"],
        kind="change",
        summary=f"Change order {order['number']}: {request}",
    )
    out.action = "ticket.created"
    return out.say(
        "change.ticket", **values, ticket_id=out.fact("ticket.id", ticket, f"ticket:{ticket}")
    )


# --- returns and refunds ------------------------------------------------------------------


def _return_window(ctx: FlowContext, out: Outcome) -> tuple[int, str] | None:
    """The customer's return window in days and its policy key: the tier's own window when
    the shop gives the tier one, else the shop's; None when the shop has set neither."""
    tier_days = tier_benefit(ctx, out, "return_window_days")
    if tier_days is not None:
        return int(tier_days), f"tiers.{ctx.state.customer_tier}.return_window_days"
    days = policy_value(ctx, out, "returns.window_days")
    return None if days is None else (int(days), "returns.window_days")


def _nothing_left_to_return(ctx: FlowContext, order: dict[str, Any]) -> bool:
    """The order is marked returned, or its returns already cover every unit of every line;
    an order with one item returned can still return the others."""
    if order["status"] == "returned":
        return True
    if not order.get("returns"):
        return False
    lines = order_actions.returnable_lines(ctx.db, int(order["id"]))
    return not any(line["remaining"] > 0 for line in lines)


@handler("check", "get_refund")
def refund_check(ctx: FlowContext, out: Outcome) -> Outcome | None:
    order = ctx.order
    values = order_basics(ctx, out)
    status = order["status"]
    out.action = "return.refused"
    if status in ("pending", "paid"):
        return out.say("refund.not_shipped", **values)
    start = window_start(order)  # delivery, or fulfilment when no delivery can be known
    if status in ("shipped", "in_transit") and start is None:
        window = _return_window(ctx, out)
        if window is None:
            return out.say("refund.not_delivered_no_window", **values)
        return out.say(
            "refund.not_delivered",
            **values,
            window_days=out.fact("policy.return_window_days", window[0], f"policy:{window[1]}"),
        )
    if status == "cancelled":
        out.action = "refund.explained"
        # What was refunded, when the shop's export says (a cancelled and refunded order).
        said = refund_from_financial_status(ctx, out, values)
        return said if said is not None else out.say("refund.cancelled", **values)
    if orders.is_refunded(order) and not order.get("returns"):
        out.action = "refund.explained"  # refunded by the shop, per its export
        return refund_from_financial_status(ctx, out, values)
    if orders.is_partially_refunded(order) and asks_what_was_refunded(ctx.text):
        # "was anything refunded on it?" asks about the refund the export records; it does
        # not start a return.
        said = refund_from_financial_status(ctx, out, values)
        if said is not None:
            ctx.state.end_flow()
            said.resolved = True
            return said
    if _nothing_left_to_return(ctx, order):
        ret = (order.get("returns") or [None])[-1]
        if ret and ret["status"] == "refunded":
            # Already refunded: what went back, and when, is the answer.
            out.action = "refund.tracked"
            return say_return_refund(ctx, out, values, ret)
        if ret:
            rsid = f"return:{ret['rma']}"
            out.source(Source(id=rsid, kind="return", title=ret["rma"], snippet=ret["status"]))
            return out.say(
                "refund.existing",
                **values,
                rma=out.fact("return.rma", ret["rma"], rsid),
                return_status=out.fact(
                    "return.status", fmt.status_label(ret["status"], ctx.language), rsid
                ),
            )
        return out.say("refund.already_returned", **values)
    window = _return_window(ctx, out)
    if window is None:
        # Whether the return is still possible is the shop's call: say so, offer a person.
        return say_unknown(ctx, out, "returns.window_days")
    if start is not None and (clock.now().date() - start[0]).days > window[0]:
        # Counted from delivery, or from fulfilment when delivery is unknown: the reply says
        # which, with the dates.
        return say_window(ctx, out, "lifecycle.window_passed", values, start, window)
    return None


def _free_return(ctx: FlowContext, out: Outcome) -> bool:
    """Return shipping is free for the customer's tier when the shop gives it that benefit,
    or for a damaged, defective or wrong item when the shop lists free-return reasons; a
    shop that has said neither is never told "free" by us."""
    if tier_benefit(ctx, out, "free_return_shipping"):
        return True
    reason = str(ctx.state.slots.get("reason", "")).lower()
    from shopassist.engine.dialogue.lexicon import free_return_reason

    if not free_return_reason(reason):
        return False
    return bool(policy_value(ctx, out, "returns.free_return_reasons"))


def _return_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"sku": i.get("sku"), "title": i["title"], "quantity": i["quantity"]}
        for i in order.get("items") or []
    ]


def _item_title(ctx: FlowContext, item: dict[str, Any]) -> str:
    """An order line as the reply's language shows it: a Chinese reply names the product
    by its Chinese title (and colour) when the catalog has one, not the stored English line."""
    if ctx.language != "zh" or not item.get("product_id"):
        return str(item["title"])
    row = ctx.db.execute(
        "select title_zh from products where id = ?", [item["product_id"]]
    ).fetchone()
    if not row or not row[0]:
        return str(item["title"])
    extra = [fmt.colour_name(item["colour"], "zh")] if item.get("colour") else []
    if item.get("size"):
        extra.append(str(item["size"]))
    return f"{row[0]}（{' '.join(extra)}）" if extra else str(row[0])


@handler("confirm", "get_refund")
def refund_confirm(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    values = order_basics(ctx, out)
    # Only the lines the customer chose (item_actions.resolve_return_items), with quantities.
    titles = lines_text(ctx, selected_lines(ctx))
    items = (
        out.fact("order.items", titles, f"order:{order['number']}")
        if titles
        else values["order_number"]
    )
    reason = clean_reason(str(ctx.state.slots.get("reason", "")))
    out.say("get_refund.confirm", **values, items=items, reason=reason)
    if _free_return(ctx, out):
        out.say("refund.free_shipping")
    else:
        fee = policy_value(ctx, out, "returns.return_shipping_fee")
        if fee is not None:
            out.say(
                "refund.label_fee",
                label_fee=out.fact(
                    "policy.return_shipping_fee",
                    fmt.money(cents(fee) or 0, order["currency"]),
                    "policy:returns.return_shipping_fee",
                ),
            )
    return out.say("confirm.question")


@handler("act", "get_refund")
def refund_act(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    values = order_basics(ctx, out)
    free = _free_return(ctx, out)
    label_fee = None if free else policy_value(ctx, out, "returns.return_shipping_fee")
    fee = cents(label_fee) or 0
    lines = selected_lines(ctx)
    refund = max(0, refund_base_cents(ctx, lines) - fee)
    rma_format = policy_value(ctx, out, "returns.rma_format")
    rma = (
        orders.next_rma(ctx.db, order["number"], rma_format)
        if rma_format
        else orders.next_rma(ctx.db, order["number"])
    )
    orders.create_return(
        ctx.db,
        order_id=order["id"],
        rma=rma,
        reason=clean_reason(str(ctx.state.slots.get("reason", ""))),
        items=selected_return_items(lines),
        refund_cents=refund,
        refund_method="original_payment_method",
        free_return_shipping=free,
        at=clock.now_iso(),
    )
    out.action = "return.created"
    rsid = f"return:{rma}"
    out.source(Source(id=rsid, kind="return", title=rma, snippet="requested"))
    days = policy_fact(ctx, out, "returns.refund_days", fact_key="policy.refund_processing_days")
    refund_text = out.fact("return.refund", fmt.money(refund, order["currency"]), rsid)
    rma_text = out.fact("return.rma", rma, rsid)
    if days is None:
        out.say("refund.done_no_days", **values, rma=rma_text, refund=refund_text)
    else:
        out.say("refund.done", **values, rma=rma_text, refund=refund_text, refund_days=days)
    if free:
        out.say("refund.free_shipping")
    return out


def say_return_refund(
    ctx: FlowContext, out: Outcome, values: dict[str, Any], ret: dict[str, Any]
) -> Outcome:
    """A return's state and refund amount, with the day it was refunded or how long a
    refund takes."""
    order = ctx.order
    rsid = f"return:{ret['rma']}"
    out.source(Source(id=rsid, kind="return", title=ret["rma"], snippet=ret["status"]))
    out.say(
        "refund.track",
        **values,
        rma=out.fact("return.rma", ret["rma"], rsid),
        return_status=out.fact(
            "return.status", fmt.status_label(ret["status"], ctx.language), rsid
        ),
        refund=out.fact(
            "return.refund", fmt.money(ret.get("refund_cents") or 0, order["currency"]), rsid
        ),
    )
    if ret.get("refunded_at"):
        out.say(
            "refund.refunded_on",
            refunded_on=out.fact("return.refunded_at", fmt.day(ret["refunded_at"]), rsid),
        )
    else:
        days = policy_fact(
            ctx, out, "returns.refund_days", fact_key="policy.refund_processing_days"
        )
        if days is not None:
            out.say("refund.processing", refund_days=days)
    return out


@handler("act", "track_refund")
def track_refund(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    values = order_basics(ctx, out)
    returns = order.get("returns") or []
    out.action = "refund.tracked"
    if returns:
        return say_return_refund(ctx, out, values, returns[-1])
    # No return of ours on it: the refund as the shop's export records it.
    said = refund_from_financial_status(ctx, out, values)
    if said is not None:
        return said
    if order["status"] == "cancelled":
        sid = f"order:{order['number']}"
        paid = fmt.money(
            max(0, order["total_cents"] - (order.get("cancellation_fee_cents") or 0)),
            order["currency"],
        )
        days = policy_fact(
            ctx, out, "returns.refund_days", fact_key="policy.refund_processing_days"
        )
        refund = out.fact("cancel.refund", paid, sid)
        if days is None:
            return out.say("refund.cancelled_track_no_days", **values, refund=refund)
        return out.say("refund.cancelled_track", **values, refund=refund, refund_days=days)
    if order["status"] in ("pending", "paid", "shipped", "in_transit"):
        # Nothing to refund on an order still on its way: "any update on 10082?" read as
        # a refund question is best answered with where the order is.
        out.facts.clear()
        out.sources.clear()
        return track_order(ctx, out) or out
    out.resolved = True
    return out.say("refund.none", **values)


# --- invoices -----------------------------------------------------------------------------


@handler("act", "get_invoice")
def invoice(ctx: FlowContext, out: Outcome) -> Outcome:
    order = ctx.order
    values = order_basics(ctx, out)
    out.action = "invoice.shown"
    sid = f"order:{order['number']}"
    if order["status"] == "pending" or not order.get("invoice_number"):
        return out.say("invoice.not_yet", **values)
    where = policy_fact(ctx, out, "invoices.where", fact_key="policy.invoice_where", required=False)
    out.facts = [
        f if f.key != "order.total" else f.model_copy(update={"required": True}) for f in out.facts
    ]
    return out.say(
        "invoice.details" if where else "invoice.details_no_where",
        **values,
        invoice_number=out.fact("order.invoice_number", order["invoice_number"], sid),
        invoice_date=out.fact(
            "order.invoice_date", fmt.day(order.get("paid_at") or order.get("placed_at")), sid
        ),
        invoice_where=where or "",
    )
