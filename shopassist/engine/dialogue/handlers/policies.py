"""Policy and help-page answers: cancellation fee, delivery, payment, refunds,
warranty, general how-to questions about an order task, FAQs."""

from __future__ import annotations

import re

from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.access import check_order_access
from shopassist.engine.dialogue.actions import cancellation_fee_cents
from shopassist.engine.dialogue.context import FlowContext, handler, order_source
from shopassist.engine.dialogue.handlers.base import (
    _policy,
)
from shopassist.engine.dialogue.lexicon import lexicon, matches
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.templates import render
from shopassist.engine.privacy import mask_pii
from shopassist.engine.turn_result import Source
from shopassist.kb import conversations
from shopassist.kb.orders import get_policy

# --- policies and FAQs --------------------------------------------------------------------


def _faq_answer(ctx: FlowContext, out: Outcome, *, strong_only: bool = False) -> bool:
    hits = [h for h in ctx.faq_hits if h.language == ctx.language] or list(ctx.faq_hits)
    if ctx.intent:
        hits = [h for h in hits if h.intent == ctx.intent] or hits
    if strong_only:
        hits = [h for h in hits if h.match in ("all", "sku")]
    if not hits:
        return False
    hit = hits[0]
    out.source(
        Source(
            id=hit.source_id,
            kind="faq",
            title=hit.question,
            snippet=hit.answer[:200],
            score=hit.score,
        )
    )
    answer = _without_bare_yes(hit.answer, ctx.text)
    out.say("faq.answer", answer=out.fact("faq.answer", answer, hit.source_id, required=False))
    return True


_BARE_YES = re.compile(r"^(?:yes|是的)\s*[:：,，]\s*", re.IGNORECASE)
_WH_QUESTION = re.compile(
    r"^\s*(?:what|which|how|where|when|who|why|tell me)\b|什么|哪些|怎么|如何", re.I
)


def _without_bare_yes(answer: str, question: str) -> str:
    """A help page answering "Are there items...?" starts "Yes: ..."; asked "what's your
    policy for sale items?", that yes answers nothing, so the rest of the sentence stands."""
    m = _BARE_YES.match(answer)
    if m is None or not _WH_QUESTION.search(question):
        return answer
    rest = answer[m.end() :]
    return rest[:1].upper() + rest[1:]


@handler("act", "check_cancellation_fee")
def cancellation_fee(ctx: FlowContext, out: Outcome) -> Outcome:
    p = _policy(ctx, out, "cancellation", {})
    sid = "policy:cancellation"
    out.action = "policy.cancellation_fee"
    out.say(
        "fee.policy",
        free_hours=out.fact("cancel.free_window_hours", p.get("free_window_hours", 24), sid),
        fee_percent=out.fact("cancel.fee_percent", f"{p.get('fee_percent', 0)}%", sid),
        fee_max=out.fact("cancel.fee_max", fmt.money(p.get("fee_max_cents", 0)), sid),
    )
    if "free_cancellation" in ctx.flags:
        out.say("fee.vip")
    entity = ctx.nlu.first("order_number")
    if entity is not None and ctx.state.verified:
        # Only for the customer's own order; otherwise the general policy is the answer,
        # worded the same whether or not the order exists.
        access = check_order_access(ctx.db, ctx.state, str(entity.value or entity.text), ctx.claim)
        order = access.order
        if (
            access.status == "granted"
            and order is not None
            and order["status"] in p.get("cancellable_statuses", [])
        ):
            osid = f"order:{order['number']}"
            out.source(order_source(order))
            fee = cancellation_fee_cents(order, ctx.flags, p)
            out.say(
                "fee.order",
                order_number=out.fact("order.number", order["number"], osid),
                fee=out.fact("cancel.fee", fmt.money(fee, order["currency"]), sid),
            )
    return out


@handler("act", "delivery_options")
def delivery_options(ctx: FlowContext, out: Outcome) -> Outcome:
    methods = _policy(ctx, out, "shipping_methods", [])
    sid = "policy:shipping_methods"
    lang = ctx.language
    lines = []
    for m in methods:
        name = out.fact(f"shipping.{m['code']}.name", fmt.localised(m, "name", lang), sid)
        price = out.fact(f"shipping.{m['code']}.price", fmt.money(m.get("price_cents", 0)), sid)
        days = (
            f"{m['days_min']}"
            if m["days_min"] == m["days_max"]
            else f"{m['days_min']}–{m['days_max']}"
        )
        days = out.fact(f"shipping.{m['code']}.days", days, sid)
        line_key = "delivery.line_one_day" if days == "1" else "delivery.line"
        line = render(line_key, lang, {"name": name, "price": price, "days": days})
        if m.get("free_over_cents"):
            line += render(
                "delivery.free_over",
                lang,
                {
                    "free_over": out.fact(
                        f"shipping.{m['code']}.free_over",
                        fmt.money(m["free_over_cents"]),
                        sid,
                        required=False,
                    )
                },
            )
        lines.append(line)
    out.action = "policy.delivery"
    dispatch = get_policy(ctx.db, "dispatch_days", 1)
    out.say(
        "delivery.options",
        methods="\n" + "\n".join(lines) + "\n",
        dispatch_days=out.fact("policy.dispatch_days", dispatch, "policy:dispatch_days"),
        business_days=fmt.business_days(dispatch, lang),
    )
    if "free_return_shipping" in ctx.flags:
        out.say("delivery.vip")
    return out


@handler("act", "payment_methods")
def payment_methods(ctx: FlowContext, out: Outcome) -> Outcome:
    p = _policy(ctx, out, "payment_methods", {})
    lang = ctx.language
    accepted = [
        fmt.inline_name(fmt.localised(m, "name", lang), lang) for m in p.get("accepted", [])
    ]
    refused = [
        fmt.inline_name(m.get(lang) or m.get("en", ""), lang) for m in p.get("not_accepted", [])
    ]
    out.action = "policy.payment_methods"
    return out.say(
        "payment.methods",
        methods=out.fact(
            "payment.accepted", fmt.list_join(accepted, lang), "policy:payment_methods"
        ),
        not_accepted=out.fact(
            "payment.not_accepted",
            fmt.list_join(refused, lang, conjunction="or"),
            "policy:payment_methods",
            required=False,
        ),
    )


@handler("act", "payment_issue")
def payment_issue(ctx: FlowContext, out: Outcome) -> Outcome:
    p = _policy(ctx, out, "payment_issues", {})
    sid = "policy:payment_issues"
    out.action = "policy.payment_issue"
    if not _faq_answer(ctx, out, strong_only=True):
        out.say(
            "payment.issue",
            release_days=out.fact(
                "payment.authorisation_release_days", p.get("authorisation_release_days", 5), sid
            ),
            retry_limit=out.fact(
                "payment.retry_limit", p.get("retry_limit", 3), sid, required=False
            ),
        )
    return out.say("offer.human")


def _refund_policy_template(ctx: FlowContext, out: Outcome) -> None:
    window = _policy(ctx, out, "return_window_days", 30)
    days = _policy(ctx, out, "refund_processing_days", 5)
    out.say(
        "refund.policy",
        window_days=out.fact("policy.return_window_days", window, "policy:return_window_days"),
        refund_days=out.fact(
            "policy.refund_processing_days", days, "policy:refund_processing_days"
        ),
    )
    if matches(lexicon().non_returnable, ctx.text):
        # "哪些商品不能退货": what cannot be returned, from the same policy.
        returns = _policy(ctx, out, "returns", {})
        items = [
            str(i.get("zh" if ctx.language == "zh" else "en") or i.get("en") or "")
            for i in returns.get("non_returnable", [])
            if isinstance(i, dict)
        ]
        if items:
            out.say(
                "refund.non_returnable",
                items=out.fact(
                    "returns.non_returnable", fmt.list_join(items, ctx.language), "policy:returns"
                ),
            )
    if "vip_return_window" in ctx.flags:
        vip = get_policy(ctx.db, "vip", {})
        out.say(
            "refund.vip_window",
            vip_window_days=out.fact(
                "vip.return_window_days", vip.get("return_window_days", window), "policy:vip"
            ),
        )


@handler("act", "refund_policy")
def refund_policy(ctx: FlowContext, out: Outcome) -> Outcome:
    """The return window and refund time from policy; a help-page answer only when it
    matches the whole question ("are there items I can't return?"), since a partial
    match answers some other question about returns."""
    out.action = "policy.refund"
    if not _faq_answer(ctx, out, strong_only=True):
        _refund_policy_template(ctx, out)
    elif "vip_return_window" in ctx.flags:
        _policy(ctx, out, "vip", {})
        vip = get_policy(ctx.db, "vip", {})
        out.say(
            "refund.vip_window",
            vip_window_days=out.fact(
                "vip.return_window_days", vip.get("return_window_days", 45), "policy:vip"
            ),
        )
    return out


@handler("act", "warranty")
def warranty(ctx: FlowContext, out: Outcome) -> Outcome:
    """The warranty from policy; for a named kind of product, which period applies to it."""
    p = _policy(ctx, out, "warranty", {})
    sid = "policy:warranty"
    out.action = "policy.warranty"
    out.resolved = True
    electronics = out.fact("warranty.electronics_months", p.get("electronics_months", 24), sid)
    default = out.fact("warranty.default_months", p.get("default_months", 12), sid)
    req = ctx.product_request
    if req is not None and req.category:
        top = req.category.split(" > ")[0]
        is_electronic = top in p.get("electronics_categories", [])
        word = (
            req.category_word
            if ctx.language == "zh" and req.category_word
            else req.category.split(" > ")[-1].lower()
        )
        out.say(
            "warranty.category", category=word, months=electronics if is_electronic else default
        )
    else:
        out.say("warranty.policy", electronics_months=electronics, default_months=default)
    return out.say("warranty.claim")


@handler("act", "howto")
def howto(ctx: FlowContext, out: Outcome) -> Outcome:
    """A general question about an order task, answered from policy; the task is offered."""
    task = ctx.task or "track_order"
    out.action = f"policy.howto.{task}"
    out.resolved = True
    lang = ctx.language
    if task == "cancel_order":
        cancellation_fee(ctx, out)
        out.action = f"policy.howto.{task}"
    elif task == "get_refund":
        _refund_policy_template(ctx, out)
    elif task == "track_refund":
        days = _policy(ctx, out, "refund_processing_days", 5)
        out.say(
            "refund.processing",
            refund_days=out.fact(
                "policy.refund_processing_days", days, "policy:refund_processing_days"
            ),
        )
    elif task == "get_invoice":
        inv = _policy(ctx, out, "invoices", {})
        out.say(
            "howto.invoice",
            invoice_where=out.fact(
                "policy.invoice_where", fmt.localised(inv, "where", lang), "policy:invoices"
            ),
        )
    elif task == "change_order":
        out.say("howto.change")
    elif task == "change_shipping_address":
        out.say("howto.address")
    else:
        days = _policy(ctx, out, "dispatch_days", 1)
        out.say(
            "howto.track",
            dispatch_days=out.fact("policy.dispatch_days", days, "policy:dispatch_days"),
            business_days=fmt.business_days(days, lang),
        )
    return out.say(f"howto.offer.{task}")


@handler("act", "faq")
def faq(ctx: FlowContext, out: Outcome) -> Outcome:
    out.action = f"faq.{ctx.intent}"
    answered = _faq_answer(ctx, out)
    lex = lexicon()
    asks_how = matches(lex.general_question, ctx.text) and not matches(lex.own_request, ctx.text)
    if ctx.intent == "delete_account" and not (answered and asks_how):
        # "How do I delete my account?" gets the answer; "delete my account" the request.
        accounts = get_policy(ctx.db, "accounts", {})
        summary = f"Delete account request. Customer id: {ctx.state.customer_id or 'unknown'}; verified: {ctx.state.verified}. Message: {mask_pii(ctx.text)[:300]}"
        ticket = conversations.create_ticket(
            ctx.db,
            conversation_id=ctx.session_id,
            customer_id=ctx.state.customer_id,
            order_id=None,
            kind="account",
            summary=summary,
        )
        out.action = "ticket.created"
        out.handoff = False
        # The FAQ explains how to ask for deletion; the request is made now, so the ticket
        # reply replaces it ("Ask here and we'll open a request. I've asked our team...").
        out.parts = [p for p in out.parts if p.template != "faq.answer"]
        out.facts = [f for f in out.facts if f.key != "faq.answer"]
        return out.say(
            "account.delete_ticket",
            ticket_id=out.fact("ticket.id", ticket, f"ticket:{ticket}"),
            deletion_days=out.fact(
                "accounts.deletion_days", accounts.get("deletion_days", 30), "policy:accounts"
            ),
        )
    if not answered:
        out.resolved = False
        return out.say("faq.none")
    return out
