"""Promotion codes from the shop's policy."""

from __future__ import annotations

import re
from typing import Any

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.policy_facts import policy_value, say_unknown, shop_policy
from shopassist.engine.dialogue.templates import render


def named_promo_codes(db: Any, text: str) -> list[str]:
    """Promotion codes from policy that the message names ("is CYBER20 still valid?")."""
    promos = shop_policy(db).get("promotions") or []
    upper = text.upper()
    return [
        p.code
        for p in promos
        if re.search(rf"(?<![A-Z0-9]){re.escape(p.code.upper())}(?![A-Z0-9])", upper)
    ]


@handler("act", "promotions")
def promotions(ctx: FlowContext, out: Outcome) -> Outcome:
    out.action = "promotions.listed"
    promos = policy_value(ctx, out, "promotions")
    if not promos:
        return say_unknown(ctx, out, "promotions")
    sid = "policy:promotions"
    # The dialogue clock: a frozen run (evaluation, tests) sees the same live promotions.
    today = clock.today()
    live = [p for p in promos if p.valid_until is None or p.valid_until >= today]
    named = set(named_promo_codes(ctx.db, ctx.text))
    for p in promos:
        if p.code in named and p not in live:
            out.say(
                "promo.expired",
                code=out.fact(f"promo.{p.code}.code", p.code, sid),
                valid_until=out.fact(f"promo.{p.code}.valid_until", str(p.valid_until), sid),
            )
    # "CYBER20能用在耳机上吗" asks about that code: show it alone when it is live.
    live = [p for p in live if p.code in named] or live
    if not live:
        return out.say("promo.none")
    lines = []
    for p in live:
        values = {"code": out.fact(f"promo.{p.code}.code", p.code, sid)}
        key = "promo.line_code"
        if p.description is not None:
            values["description"] = out.fact(
                f"promo.{p.code}.description",
                p.description.text(ctx.language),
                sid,
                required=False,
            )
            key = "promo.line_described"
        if p.valid_until is not None:
            values["valid_until"] = out.fact(
                f"promo.{p.code}.valid_until", str(p.valid_until), sid, required=False
            )
            key = "promo.line" if p.description is not None else "promo.line_until"
        lines.append(render(key, ctx.language, values))
    return out.say("promo.list", promotions="\n" + "\n".join(lines))
