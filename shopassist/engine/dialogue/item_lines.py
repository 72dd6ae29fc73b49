"""The order lines a request covers, as the return and change handlers use them.

Kept apart from the handlers so ``actions.py`` and ``item_actions.py`` can both use it.
"""

from __future__ import annotations

from typing import Any

from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext
from shopassist.engine.dialogue.templates import render
from shopassist.kb import order_actions


def line_title(ctx: FlowContext, item: dict[str, Any]) -> str:
    from shopassist.engine.dialogue.actions import _item_title

    return _item_title(ctx, item)


def lines_text(ctx: FlowContext, lines: list[tuple[dict[str, Any], int]]) -> str:
    parts = [
        render(
            "order_items.line",
            ctx.language,
            {"quantity": qty, "title": line_title(ctx, item)},
        )
        for item, qty in lines
    ]
    return fmt.list_join(parts, ctx.language)


def selected_lines(ctx: FlowContext) -> list[tuple[dict[str, Any], int]]:
    """The (line, quantity) pairs the customer chose (slot ``return_lines``); every line in
    full when the flow chose none (an order with a single line)."""
    lines = order_actions.order_lines(ctx.db, int(ctx.order["id"]))
    chosen = ctx.state.slots.get("return_lines")
    if not chosen:
        return [(item, int(item["quantity"])) for item in lines]
    by_id = {int(item["id"]): item for item in lines}
    return [(by_id[int(i)], int(q)) for i, q in chosen if int(i) in by_id]


def refund_base_cents(ctx: FlowContext, lines: list[tuple[dict[str, Any], int]]) -> int:
    """What the chosen lines cost the customer: the rest of the order total when the last
    units come back, else the lines' share of the total without shipping (their tax and discount
    included, shipping kept)."""
    order = ctx.order
    all_lines = order_actions.order_lines(ctx.db, int(order["id"]))
    everything = sum(int(i["quantity"]) for i in all_lines)
    earlier = sum(order_actions.returned_quantities(ctx.db, int(order["id"])).values())
    if sum(q for _, q in lines) + earlier >= everything:
        # The last units of the order: what is left of the total after earlier returns'
        # refunds, so all the refunds together come to the order total.
        refunded = order_actions.refunded_on_returns(ctx.db, int(order["id"]))
        return max(0, int(order["total_cents"]) - refunded)
    merchandise = sum(int(i["quantity"]) * int(i["unit_price_cents"]) for i in all_lines)
    chosen = sum(q * int(item["unit_price_cents"]) for item, q in lines)
    paid = int(order["total_cents"]) - int(order.get("shipping_cents") or 0)
    if merchandise <= 0:
        return 0
    return max(0, chosen * paid // merchandise)


def selected_return_items(lines: list[tuple[dict[str, Any], int]]) -> list[dict[str, Any]]:
    return [
        {
            "order_item_id": item["id"],
            "sku": item.get("sku"),
            "title": item["title"],
            "quantity": qty,
        }
        for item, qty in lines
    ]
