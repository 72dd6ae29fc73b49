"""Small talk and the out-of-scope fallback."""

from __future__ import annotations

from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.outcome import Outcome

# --- small talk and fallbacks --------------------------------------------------------------


@handler("act", "smalltalk")
def smalltalk(ctx: FlowContext, out: Outcome) -> Outcome:
    out.action = ctx.intent
    key = {
        "greet": "greet.hello",
        "thank": "thank.reply",
        "goodbye": "goodbye.reply",
        "affirm": "affirm.nothing_pending",
        "deny": "deny.nothing_pending",
    }.get(ctx.intent, "greet.hello")
    return out.say(key)


@handler("act", "out_of_scope")
def out_of_scope(ctx: FlowContext, out: Outcome) -> Outcome:
    ctx.state.failures += 1
    out.resolved = False
    out.action = "fallback"
    if ctx.state.failures >= 2:
        out.action = "fallback.offer_human"
        return out.say("fallback.offer_human")
    return out.say("fallback.first")
