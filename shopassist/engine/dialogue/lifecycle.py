"""The order lifecycle as real exports tell it, in replies: shipped on a date, refunds from the
financial status, and where a return window starts.

A Shopify export never says "delivered": a fulfilled order has a ``Fulfilled at`` date and no
tracking events. Such an order is "shipped on <date>", and its return window counts from that
date, which the reply names; refunds come from ``Financial Status`` and ``Refunded Amount``
(``kb/orders.py`` accessors), not from our own returns table alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.policy_facts import policy_value
from shopassist.engine.dialogue.templates import render
from shopassist.engine.turn_result import Source
from shopassist.kb import orders


def window_start(order: dict[str, Any]) -> tuple[date, str] | None:
    """(first day, "delivery" | "fulfilment") a return window counts from, or None while the
    parcel is on its way with carrier tracking (the delivery date will be known)."""
    start, basis = orders.return_window_start(order)
    day = fmt.parse_day(start)
    if day is None or basis is None:
        return None
    if basis == "fulfilment":
        shipment = order.get("shipment") or {}
        if shipment.get("latest_event") or shipment.get("estimated_delivery"):
            return None  # tracked by a carrier: wait for the delivery event
    return day, basis


def basis_word(basis: str, language: str) -> str:
    return render(f"lifecycle.basis_{basis}", language)


def say_window(
    ctx: FlowContext,
    out: Outcome,
    key: str,
    values: dict[str, Any],
    start: tuple[date, str],
    window: tuple[int, str],
) -> Outcome:
    """Say ``key`` with the window's length, what it counts from, and its first/last day."""
    sid = f"order:{ctx.order['number']}"
    day, basis = start
    end = day + timedelta(days=window[0])
    out.say(
        key,
        **values,
        basis=basis_word(basis, ctx.language),
        start_date=out.fact(f"order.{basis}_date", fmt.day(day.isoformat()), sid),
        end_date=out.fact("return.window_end", fmt.day(end.isoformat()), sid),
        window_days=out.fact("policy.return_window_days", window[0], f"policy:{window[1]}"),
    )
    if basis == "fulfilment":
        out.say("lifecycle.counted_from_fulfilment")
    return out


def shipped_on(ctx: FlowContext, out: Outcome) -> Outcome | None:
    """Say "It was shipped on <date>" for a fulfilled order with no carrier tracking; None when
    that does not apply."""
    order = ctx.order
    shipment = order.get("shipment") or {}
    if order["status"] in ("pending", "paid", "cancelled") or orders.delivered_at(order):
        return None
    if shipment.get("latest_event") or shipment.get("estimated_delivery"):
        return None
    fulfilled = orders.fulfilled_at(order)
    if not fulfilled:
        return None
    when = out.fact("order.fulfilled_at", fmt.day(fulfilled), f"order:{order['number']}")
    if shipment.get("carrier") and shipment.get("tracking_number"):
        # An export's tracking columns with no carrier events: the carrier and number are
        # still what the customer needs to follow the parcel.
        ssid = f"shipment:{shipment['id']}"
        out.source(
            Source(
                id=ssid,
                kind="shipment",
                title=f"Shipment of order {order['number']}",
                snippet=f"{shipment['carrier']} {shipment['tracking_number']}",
            )
        )
        return out.say(
            "lifecycle.shipped_on_tracked",
            shipped_on=when,
            carrier=out.fact("shipment.carrier", carrier_name(ctx, out, shipment), ssid),
            tracking_number=out.fact("shipment.tracking_number", shipment["tracking_number"], ssid),
        )
    return out.say("lifecycle.shipped_on", shipped_on=when)


def carrier_name(ctx: FlowContext, out: Outcome, shipment: dict[str, Any]) -> str:
    """The carrier as the shop's policy names it in the reply's language, else as stored."""
    carriers = {c.code: c for c in policy_value(ctx, out, "shipping.carriers") or []}
    carrier = carriers.get(shipment["carrier"])
    if carrier is not None and carrier.name:
        return str(carrier.name.text(ctx.language))
    return str(shipment["carrier"])


def refund_from_financial_status(
    ctx: FlowContext, out: Outcome, values: dict[str, Any]
) -> Outcome | None:
    """The refund as the shop's export records it (refunded / partially_refunded), or None."""
    order = ctx.order
    if not (orders.is_refunded(order) or orders.is_partially_refunded(order)):
        return None
    cents = orders.refunded_cents(order)
    if orders.is_partially_refunded(order) and not cents:
        return None  # no amount exported: the caller's own record (fee, RMA) says more
    sid = f"order:{order['number']}"
    if orders.is_refunded(order) and not cents:
        cents = int(order["total_cents"])
    refunded = out.fact("order.refunded", fmt.money(cents, order["currency"]), sid)
    out.action = "refund.tracked"
    if orders.is_refunded(order):
        return out.say("lifecycle.refunded", **values, refunded=refunded)
    return out.say("lifecycle.partially_refunded", **values, refunded=refunded)
