"""The planner: turns a flow's outcome into the ReplyPlan that generation must follow."""

from __future__ import annotations

from typing import Literal

from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.dialogue.templates import join_parts, render
from shopassist.engine.plan import ReplyPlan


def build_plan(
    outcome: Outcome, *, intent: str, language: str, state: DialogueState, customer_text: str
) -> ReplyPlan:
    lang: Literal["en", "zh"] = "zh" if language == "zh" else "en"
    rendered = [render(p.template, lang, p.values) for p in outcome.parts]
    # Only values the flow vouches for (the order number the customer typed, their name):
    # a number merely typed by the customer ("a 100% discount") licenses nothing.
    allowed = list(dict.fromkeys(outcome.allowed_values))
    if state.customer_name:
        allowed.append(state.customer_name)
    return ReplyPlan(
        intent=intent,
        action=outcome.action,
        language=lang,
        facts=outcome.facts,
        template_reply=join_parts(rendered, lang),
        allowed_values=[a for a in allowed if a],
        customer_name=state.customer_name,
        guidance=outcome.guidance,
        use_llm=outcome.use_llm,
    )
