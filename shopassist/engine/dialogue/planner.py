"""The planner: turns a flow's outcome into the ReplyPlan that generation must follow."""

from __future__ import annotations

from typing import Literal

from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.dialogue.templates import join_parts, render
from shopassist.engine.plan import ReplyPlan

# Room for a rephrasing to be a little longer than the template it rephrases.
DEFAULT_MAX_CHARS = 700
LENGTH_SLACK = 1.3


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
    template = join_parts(rendered, lang)
    use_llm, reason = outcome.use_llm, None
    if use_llm:
        reason = _list_like(template)
        use_llm = reason is None
    return ReplyPlan(
        intent=intent,
        action=outcome.action,
        language=lang,
        facts=outcome.facts,
        template_reply=template,
        allowed_values=[a for a in allowed if a],
        customer_name=state.customer_name,
        guidance=outcome.guidance,
        use_llm=use_llm,
        template_reason=reason,
        max_chars=max(DEFAULT_MAX_CHARS, int(len(template) * LENGTH_SLACK)),
    )


def _list_like(template: str) -> str | None:
    """Why a reply is kept as its template: a list, or more sentences than a rephrasing may have.

    A product list, delivery options or promotions are structured lines; a small model's
    rephrasing of them only loses lines or merges them (and a list is longer than the
    verifier's sentence limit anyway), so the grounded list is shown as it is.
    """
    from shopassist.engine.verify import MAX_SENTENCES, split_sentences

    lines = [line for line in template.splitlines() if line.strip()]
    if len(lines) >= 3:
        return f"a {len(lines)}-line list is shown as written"
    count = len(split_sentences(template))
    if count > MAX_SENTENCES:
        return f"{count} sentences, more than a rephrasing may have ({MAX_SENTENCES})"
    return None
