"""Promotion codes from the shop's policy."""

from __future__ import annotations

import re
from typing import Any

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.handlers.base import (
    _policy,
)
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.templates import render
from shopassist.kb.orders import get_policy


def named_promo_codes(db: Any, text: str) -> list[str]:
    """Promotion codes from policy that the message names ("is CYBER20 still valid?")."""
    promos = get_policy(db, "promotions", []) or []
    upper = text.upper()
    return [
        str(p["code"])
        for p in promos
        if isinstance(p, dict)
        and p.get("code")
        and re.search(rf"(?<![A-Z0-9]){re.escape(str(p['code']).upper())}(?![A-Z0-9])", upper)
    ]


@handler("act", "promotions")
def promotions(ctx: FlowContext, out: Outcome) -> Outcome:
    promos = _policy(ctx, out, "promotions", [])
    # The dialogue clock: a frozen run (evaluation, tests) sees the same live promotions.
    today = clock.today().isoformat()
    live = [p for p in promos if str(p.get("valid_until", "9999")) >= today]
    out.action = "promotions.listed"
    named = set(named_promo_codes(ctx.db, ctx.text))
    for p in promos:
        if p["code"] in named and p not in live:
            out.say(
                "promo.expired",
                code=out.fact(f"promo.{p['code']}.code", p["code"], "policy:promotions"),
                valid_until=out.fact(
                    f"promo.{p['code']}.valid_until", p.get("valid_until", ""), "policy:promotions"
                ),
            )
    # "CYBER20能用在耳机上吗" asks about that code: show it alone when it is live.
    live = [p for p in live if p["code"] in named] or live
    if not live:
        return out.say("promo.none")
    lines = []
    for p in live:
        code = out.fact(f"promo.{p['code']}.code", p["code"], "policy:promotions")
        desc = out.fact(
            f"promo.{p['code']}.description",
            fmt.localised(p, "description", ctx.language),
            "policy:promotions",
            required=False,
        )
        until = out.fact(
            f"promo.{p['code']}.valid_until",
            p.get("valid_until", ""),
            "policy:promotions",
            required=False,
        )
        lines.append(
            render(
                "promo.line",
                ctx.language,
                {"code": code, "description": desc, "valid_until": until},
            )
        )
    return out.say("promo.list", promotions="\n" + "\n".join(lines))
