"""Policy and help-page answers: cancellation fee, delivery, payment, refunds,
warranty, general how-to questions about an order task, FAQs."""

from __future__ import annotations

import re
from typing import Any

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.access import check_order_access
from shopassist.engine.dialogue.actions import cancellable_statuses, cancellation_fee_cents
from shopassist.engine.dialogue.context import FlowContext, handler, order_source
from shopassist.engine.dialogue.flows import load_flows
from shopassist.engine.dialogue.lexicon import lexicon, matches
from shopassist.engine.dialogue.outcome import Outcome, Part
from shopassist.engine.dialogue.policy_facts import (
    display,
    policy_fact,
    policy_money,
    policy_value,
    record_policy_gap,
    say_unknown,
    shop_policy,
    tier_benefit,
)
from shopassist.engine.dialogue.policy_questions import (
    asked_courier,
    asks_cost,
    asks_pending_payment,
    asks_refund_time,
    asks_time,
    carrier_is,
    country_in,
    country_name,
    destination_place,
    mentions,
    non_returnable_in,
    resolve_country,
    shop_carrier_in,
)
from shopassist.engine.dialogue.templates import render
from shopassist.engine.privacy import mask_pii
from shopassist.engine.turn_result import Source
from shopassist.kb import conversations
from shopassist.kb.knowledge_gaps import record_gap
from shopassist.kb.search import search_faqs

# --- policies and FAQs --------------------------------------------------------------------


def _faq_answer(
    ctx: FlowContext, out: Outcome, *, strong_only: bool = False, same_intent: bool = False
) -> bool:
    hits = [h for h in ctx.faq_hits if h.language == ctx.language] or list(ctx.faq_hits)
    if same_intent:
        # A page the shop wrote for this intent that the question's words match (not one
        # returned only for sharing the intent: "return label fees" is no return window).
        hits = [h for h in hits if h.intent == ctx.intent and h.match in ("all", "sku")]
    elif ctx.intent:
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


def _unknown(ctx: FlowContext, out: Outcome, key: str, topic: str | None = None) -> Outcome:
    """The shop's policy file does not say. A help page the shop wrote for this kind of
    question (``import-faq``) answers it instead; else say so, offer a colleague and record
    the knowledge gap."""
    if not any(p.template == "faq.answer" for p in out.parts) and ctx.intent:
        if not ctx.faq_hits:  # retrieval searches help pages only for some intents
            ctx.faq_hits = search_faqs(ctx.db, ctx.text, intent=ctx.intent, limit=3)
        if _faq_answer(ctx, out, same_intent=True):
            out.resolved = True
            return out
    return say_unknown(ctx, out, key, topic=topic)


def tier_label(ctx: FlowContext) -> str:
    """The customer's tier as the shop's customer data names it ("vip" reads "VIP")."""
    tier = str(ctx.state.customer_tier or "")
    return tier.upper() if len(tier) <= 3 else tier.capitalize()


@handler("act", "check_cancellation_fee")
def cancellation_fee(ctx: FlowContext, out: Outcome) -> Outcome:
    """The cancellation rules the shop has set, sentence by sentence; unknown when none."""
    out.action = "policy.cancellation_fee"
    statuses = policy_value(ctx, out, "cancellation.free_statuses")
    free_hours = policy_fact(
        ctx, out, "cancellation.free_hours", fact_key="cancel.free_window_hours"
    )
    percent = policy_value(ctx, out, "cancellation.fee_percent")
    if percent is None and free_hours is None:
        return _unknown(ctx, out, "cancellation.fee_percent")
    if statuses:
        labels = [fmt.status_label(s, ctx.language) for s in statuses]
        out.say("fee.free_statuses", statuses=fmt.list_join(labels, ctx.language, conjunction="or"))
    if free_hours is not None:
        out.say("fee.free_window_others" if statuses else "fee.free_window", free_hours=free_hours)
    if percent is not None:
        fee_percent = out.fact(
            "cancel.fee_percent", f"{display(percent, ctx)}%", "policy:cancellation.fee_percent"
        )
        fee_max = policy_fact(
            ctx, out, "cancellation.fee_max", fact_key="cancel.fee_max", money=True
        )
        after = "_after" if free_hours is not None else ""
        if fee_max is not None:
            out.say(f"fee.percent_capped{after}", fee_percent=fee_percent, fee_max=fee_max)
        else:
            out.say(f"fee.percent{after}", fee_percent=fee_percent)
    out.say("fee.shipped")
    if tier_benefit(ctx, out, "free_cancellation"):
        out.say("fee.vip", tier=tier_label(ctx))
    entity = ctx.nlu.first("order_number")
    if entity is not None and ctx.state.verified:
        # Only for the customer's own order; otherwise the general policy is the answer,
        # worded the same whether or not the order exists.
        access = check_order_access(ctx.db, ctx.state, str(entity.value or entity.text), ctx.claim)
        order = access.order
        if (
            access.status == "granted"
            and order is not None
            and order["status"] in cancellable_statuses()
        ):
            osid = f"order:{order['number']}"
            out.source(order_source(order))
            fee = cancellation_fee_cents(ctx, out, order)
            if fee is not None:
                out.say(
                    "fee.order",
                    order_number=out.fact("order.number", order["number"], osid),
                    fee=out.fact(
                        "cancel.fee",
                        fmt.money(fee, order["currency"]),
                        "policy:cancellation.fee_percent",
                    ),
                )
    return out


@handler("act", "delivery_options")
def delivery_options(ctx: FlowContext, out: Outcome) -> Outcome:
    """The shipping methods the shop has set, with price, days and free-over threshold; a
    question about a courier or a destination is answered from the shop's carriers and
    countries instead of with the whole list."""
    out.action = "policy.delivery"
    if _courier_question(ctx, out) or _destination_question(ctx, out):
        return out
    _delivery_methods(ctx, out)
    return out


def _courier_question(ctx: FlowContext, out: Outcome) -> bool:
    """ "能发顺丰吗" / "can you ship with UPS?": yes or no from ``shipping.carriers``."""
    listed = shop_policy(ctx.db).get("shipping.carriers") or []
    aliases = asked_courier(ctx.text)
    own = shop_carrier_in(ctx.text, listed)
    if aliases is None and own is None:
        return False
    carriers = policy_value(ctx, out, "shipping.carriers")
    if not carriers:
        _unknown(ctx, out, "shipping.carriers", topic="carriers")
        return True
    lang, sid = ctx.language, "policy:shipping.carriers"

    def name(carrier: Any) -> str:
        return str(carrier.name.text(lang) if carrier.name else carrier.code)

    names = out.fact("shipping.carriers", fmt.list_join([name(c) for c in carriers], lang), sid)
    match = own or next((c for c in carriers if aliases and carrier_is(c, aliases)), None)
    if match is not None:
        out.say("delivery.carrier_yes", carrier=name(match), carriers=names)
    else:
        said = next(a for a in aliases or () if mentions(ctx.text, a))
        out.allowed_values.append(said)
        out.say("delivery.carrier_no", carrier=said, carriers=names)
    out.resolved = True
    return True


def _destination_question(ctx: FlowContext, out: Outcome) -> bool:
    """ "do you ship to Mexico?" from ``shipping.countries``; "how much is shipping to
    Alaska?" (a place the policy prices nothing for) gets the listed prices, said to be
    only those, and is recorded as a gap."""
    code = country_in(ctx.text)
    place = None if code is not None else destination_place(ctx.text)
    if code is None and place is None:
        return False
    lang = ctx.language
    if place is not None:
        out.allowed_values.append(place)
        if not (asks_cost(ctx.text) or asks_time(ctx.text)):
            _unknown(ctx, out, "shipping.methods.regions", topic="regions")
        elif _delivery_methods(ctx, out):
            out.say("delivery.listed_prices", place=place)
            record_policy_gap(ctx, "shipping.methods.regions")
        return True
    countries = policy_value(ctx, out, "shipping.countries")
    if not countries:
        _unknown(ctx, out, "shipping.countries", topic="destinations")
        return True
    assert code is not None
    sid = "policy:shipping.countries"
    codes = [resolve_country(str(c)) or str(c) for c in countries]
    country = out.fact("shipping.country", country_name(code, lang), sid)
    if code not in codes:
        listed = fmt.list_join([country_name(c, lang) for c in codes], lang)
        out.say(
            "delivery.not_ships_to",
            country=country,
            countries=out.fact("shipping.countries", listed, sid),
        )
        out.resolved = True
        return True
    out.say("delivery.ships_to", country=country)
    out.resolved = True
    # Yes, and how: the methods whose regions serve that country, with price and days.
    policy = shop_policy(ctx.db)
    methods = policy.get("shipping.methods") or []
    if not methods and not (asks_cost(ctx.text) or asks_time(ctx.text)):
        return True  # the yes is all the shop's data says
    if methods and not _serving_methods(ctx, code):
        _unknown(ctx, out, "shipping.methods.regions", topic="regions")
        return True
    _delivery_methods(ctx, out, country=code, country_text=country)
    return True


def _serving_methods(ctx: FlowContext, country: str) -> list[Any]:
    """The shop's methods that deliver to ``country`` (an alpha-2 code the shop ships to):
    their ``regions`` read against the shop's home country (docs/policies.md)."""
    policy = shop_policy(ctx.db)
    home = policy.home_country()
    home_code = resolve_country(home) if home else None
    return [m for m in policy.get("shipping.methods") or [] if m.serves(country, home_code)]


def _delivery_methods(
    ctx: FlowContext,
    out: Outcome,
    *,
    country: str | None = None,
    country_text: str | None = None,
) -> bool:
    """Say the shop's shipping methods (only those serving ``country`` when one is asked
    about); False, with the don't-know reply, when the shop has set none."""
    methods = policy_value(ctx, out, "shipping.methods")
    if methods and country is not None:
        methods = _serving_methods(ctx, country)
    dispatch = policy_fact(ctx, out, "shipping.dispatch_days", fact_key="policy.dispatch_days")
    if not methods:
        _unknown(ctx, out, "shipping.methods")
        if dispatch is not None:
            out.parts.insert(
                0,
                Part(
                    template="delivery.dispatch",
                    values={
                        "dispatch_days": dispatch,
                        "business_days": fmt.business_days(dispatch, ctx.language),
                    },
                ),
            )
        return False
    sid = "policy:shipping.methods"
    lang = ctx.language
    lines = []
    for n, m in enumerate(methods, 1):
        code = m.code or str(n)
        values = {"name": out.fact(f"shipping.{code}.name", m.name.text(lang), sid)}
        line_key = "delivery.line"
        if m.price is not None:
            values["price"] = out.fact(f"shipping.{code}.price", policy_money(ctx, m.price), sid)
            line_key += "_price"
        if m.days is not None:
            values["days"] = out.fact(f"shipping.{code}.days", str(m.days), sid)
            line_key += "_one_day" if values["days"] == "1" else "_days"
        line = render(line_key, lang, values)
        if m.free_over is not None:
            line += render(
                "delivery.free_over",
                lang,
                {
                    "free_over": out.fact(
                        f"shipping.{code}.free_over",
                        policy_money(ctx, m.free_over),
                        sid,
                        required=False,
                    )
                },
            )
        lines.append(line)
    methods_text = "\n" + "\n".join(lines) + "\n"
    if country_text is not None:
        out.say("delivery.options_to", country=country_text, methods=methods_text)
        if dispatch is not None:
            out.say(
                "delivery.dispatch",
                dispatch_days=dispatch,
                business_days=fmt.business_days(dispatch, lang),
            )
    elif dispatch is not None:
        out.say(
            "delivery.options",
            methods=methods_text,
            dispatch_days=dispatch,
            business_days=fmt.business_days(dispatch, lang),
        )
    else:
        out.say("delivery.options_no_dispatch", methods=methods_text)
    if tier_benefit(ctx, out, "free_standard_shipping"):
        out.say("delivery.vip", tier=tier_label(ctx))
    return True


@handler("act", "payment_methods")
def payment_methods(ctx: FlowContext, out: Outcome) -> Outcome:
    out.action = "policy.payment_methods"
    lang = ctx.language
    accepted = policy_value(ctx, out, "payments.accepted")
    if not accepted:
        return _unknown(ctx, out, "payments.accepted")
    names = [fmt.inline_name(m.text(lang), lang) for m in accepted]
    out.say(
        "payment.methods",
        methods=out.fact(
            "payment.accepted", fmt.list_join(names, lang), "policy:payments.accepted"
        ),
    )
    refused = policy_value(ctx, out, "payments.not_accepted")
    if refused:
        out.say(
            "payment.not_accepted",
            not_accepted=out.fact(
                "payment.not_accepted",
                fmt.list_join(
                    [fmt.inline_name(m.text(lang), lang) for m in refused], lang, conjunction="or"
                ),
                "policy:payments.not_accepted",
                required=False,
            ),
        )
    return out


@handler("act", "payment_issue")
def payment_issue(ctx: FlowContext, out: Outcome) -> Outcome:
    out.action = "policy.payment_issue"
    if asks_pending_payment(ctx.text):
        return _pending_payment(ctx, out)
    if not _faq_answer(ctx, out, strong_only=True):
        release = policy_fact(
            ctx,
            out,
            "payments.authorisation_release_days",
            fact_key="payment.authorisation_release_days",
        )
        retries = policy_fact(
            ctx, out, "payments.retry_limit", fact_key="payment.retry_limit", required=False
        )
        if release is None and retries is None:
            return _unknown(ctx, out, "payments.authorisation_release_days")
        out.say("payment.issue_sorry")
        if release is not None:
            out.say("payment.issue_release", release_days=release)
        if retries is not None:
            out.say("payment.issue_retry", retry_limit=retries)
    return out.say("offer.human")


def _pending_payment(ctx: FlowContext, out: Outcome) -> Outcome:
    """ "my order says pending payment": how long the shop holds an unpaid order
    (``payments.pending_hold_hours``); else a help page the shop wrote for it, else unknown."""
    hours = policy_fact(ctx, out, "payments.pending_hold_hours", fact_key="payment.pending_hold")
    if hours is None:
        # A help page the shop wrote about unpaid orders (its own words name them) answers.
        hits = ctx.faq_hits or search_faqs(ctx.db, ctx.text, intent=ctx.intent, limit=3)
        pages = [h for h in hits if asks_pending_payment(f"{h.question} {h.answer}")]
        if pages:
            ctx.faq_hits = pages
            if _faq_answer(ctx, out):
                return out.say("offer.human")
        return say_unknown(ctx, out, "payments.pending_hold_hours", topic="pending_payment")
    out.say("payment.pending_hold", hold_hours=hours)
    statuses = shop_policy(ctx.db).get("cancellation.free_statuses") or []
    if "pending" in statuses:
        policy_value(ctx, out, "cancellation.free_statuses")
        out.say("payment.pending_cancel_free")
    return out.say("offer.human")


def _return_window(ctx: FlowContext, out: Outcome) -> str | None:
    return policy_fact(ctx, out, "returns.window_days", fact_key="policy.return_window_days")


def _non_returnable_answer(ctx: FlowContext, out: Outcome) -> bool:
    """ "can I return gift cards?": the shop's own ``returns.non_returnable`` entry that the
    question names answers it."""
    entries = shop_policy(ctx.db).get("returns.non_returnable")
    entry = non_returnable_in(ctx.text, entries) if entries else None
    if entry is None:
        return False
    policy_value(ctx, out, "returns.non_returnable")
    item = out.fact(
        "returns.non_returnable_item", entry.text(ctx.language), "policy:returns.non_returnable"
    )
    out.say("refund.non_returnable_item", item=item)
    out.resolved = True
    return True


def _refund_policy_template(ctx: FlowContext, out: Outcome) -> None:
    if _non_returnable_answer(ctx, out):
        return
    # "how long until I get my refund?" needs returns.refund_days; its gap names that key.
    refund_time = asks_refund_time(ctx.text)
    window = _return_window(ctx, out)
    days = policy_fact(ctx, out, "returns.refund_days", fact_key="policy.refund_processing_days")
    if window is not None:
        out.say("refund.policy_window", window_days=window)
    elif not refund_time:
        _unknown(ctx, out, "returns.window_days")
    if days is not None:
        out.say("refund.processing_policy", refund_days=days)
    elif refund_time:
        _unknown(ctx, out, "returns.refund_days")
    if matches(lexicon().return_shipping, ctx.text):
        _return_shipping(ctx, out)
    if matches(lexicon().non_returnable, ctx.text):
        # "哪些商品不能退货": what cannot be returned, from the same policy.
        items = policy_fact(ctx, out, "returns.non_returnable", fact_key="returns.non_returnable")
        if items is not None:
            out.say("refund.non_returnable", items=items)
        else:
            _unknown(ctx, out, "returns.non_returnable")
    _tier_window(ctx, out)


def _return_shipping(ctx: FlowContext, out: Outcome) -> None:
    """Who pays for sending a return back: the shop's own words, its label fee, and the
    customer's tier benefit; unknown when the shop has said none of it."""
    text = policy_fact(ctx, out, "returns.return_shipping", fact_key="returns.return_shipping")
    fee_amount = policy_value(ctx, out, "returns.return_shipping_fee")
    if text is not None:
        out.say("refund.return_shipping", return_shipping=text)
    if fee_amount is not None:
        out.say(
            "refund.label_fee_policy",
            label_fee=out.fact(
                "policy.return_shipping_fee",
                policy_money(ctx, fee_amount),
                "policy:returns.return_shipping_fee",
            ),
        )
    if tier_benefit(ctx, out, "free_return_shipping"):
        out.say("refund.tier_free_return", tier=tier_label(ctx))
    elif text is None and fee_amount is None:
        _unknown(ctx, out, "returns.return_shipping")


def _tier_window(ctx: FlowContext, out: Outcome) -> None:
    """The customer's tier return window: the one source for it is ``tiers.<tier>``."""
    tier = ctx.state.customer_tier
    if not tier or tier_benefit(ctx, out, "return_window_days") is None:
        return
    key = f"tiers.{tier}.return_window_days"
    out.say(
        "refund.vip_window",
        tier=tier_label(ctx),
        vip_window_days=policy_fact(ctx, out, key, fact_key="vip.return_window_days"),
    )


@handler("act", "refund_policy")
def refund_policy(ctx: FlowContext, out: Outcome) -> Outcome:
    """The return window and refund time from policy; a help-page answer only when it
    matches the whole question ("are there items I can't return?"), since a partial
    match answers some other question about returns."""
    out.action = "policy.refund"
    if _non_returnable_answer(ctx, out):
        return out
    if not _faq_answer(ctx, out, strong_only=True):
        _refund_policy_template(ctx, out)
    else:
        _tier_window(ctx, out)
    return out


# Benefits a tier can carry, in the order a reply lists them: (key, template, value name).
_TIER_BENEFITS = (
    ("return_window_days", "tier_benefits.return_window", "days"),
    ("free_return_shipping", "tier_benefits.free_return_shipping", None),
    ("free_cancellation", "tier_benefits.free_cancellation", None),
    ("free_standard_shipping", "tier_benefits.free_standard_shipping", None),
    ("phone", "tier_benefits.phone", "phone"),
)


def _tier_name(tier: str) -> str:
    return tier.upper() if len(tier) <= 3 else tier.capitalize()


@handler("act", "tier_benefits")
def tier_benefits(ctx: FlowContext, out: Outcome) -> Outcome:
    """ "what do VIP members get?" / "会员权益": the benefits the shop lists under
    ``tiers.<tier>`` (the tier the question names, else the customer's, else every tier);
    no tiers set: don't know + colleague + gap ``tiers``."""
    out.action = "policy.tier_benefits"
    tiers = shop_policy(ctx.db).get("tiers")
    if not tiers:
        return _unknown(ctx, out, "tiers")
    named = [t for t in tiers if mentions(ctx.text, t)]
    own = [t for t in tiers if t == ctx.state.customer_tier]
    lang = ctx.language
    for tier in named or own or list(tiers):
        label = _tier_name(tier)
        out.allowed_values.append(label)
        items = []
        for key, template, value_name in _TIER_BENEFITS:
            value = policy_value(ctx, out, f"tiers.{tier}.{key}")
            if value is None or value is False:
                continue
            values = {}
            if value_name is not None:
                values[value_name] = out.fact(
                    f"tier.{tier}.{key}", display(value, ctx), f"policy:tiers.{tier}.{key}"
                )
            items.append(render(template, lang, values))
        if items:
            out.say("tier_benefits.benefits", tier=label, benefits=fmt.list_join(items, lang))
        else:
            out.say("tier_benefits.none_listed", tier=label)
            record_policy_gap(ctx, f"tiers.{tier}")
            out.resolved = False
        spend = policy_value(ctx, out, f"tiers.{tier}.qualify_spend")
        if spend is not None:
            amount = out.fact(
                f"tier.{tier}.qualify_spend",
                policy_money(ctx, spend),
                f"policy:tiers.{tier}.qualify_spend",
            )
            out.say("tier_benefits.qualify", tier=label, amount=amount)
    return out


@handler("act", "warranty")
def warranty(ctx: FlowContext, out: Outcome) -> Outcome:
    """The warranty from policy; for a named kind of product, which period applies to it."""
    out.action = "policy.warranty"
    out.resolved = True
    months = policy_fact(ctx, out, "warranty.months", fact_key="warranty.default_months")
    by_category = policy_value(ctx, out, "warranty.by_category") or []
    if months is None and not by_category:
        return _unknown(ctx, out, "warranty.months")
    sid = "policy:warranty.by_category"
    req = ctx.product_request
    if req is not None and req.category:
        top = req.category.split(" > ")[0]
        special = next(
            (c for c in by_category if top in c.categories or req.category in c.categories), None
        )
        word = (
            req.category_word
            if ctx.language == "zh" and req.category_word
            else req.category.split(" > ")[-1].lower()
        )
        if special is not None:
            category_months = out.fact(f"warranty.{top}.months", special.months, sid)
        elif months is not None:
            category_months = months
        else:
            return _unknown(ctx, out, "warranty.months")
        out.say("warranty.category", category=word, months=category_months)
    else:
        for rule in by_category:
            out.say(
                "warranty.by_category",
                # The shop's own category names: facts, so the verifier accepts them.
                categories=out.fact(
                    f"warranty.{rule.categories[0]}.categories",
                    fmt.list_join([_category_word(ctx, c) for c in rule.categories], ctx.language),
                    sid,
                    required=False,
                ),
                months=out.fact(f"warranty.{rule.categories[0]}.months", rule.months, sid),
            )
        if months is not None:
            out.say("warranty.other" if by_category else "warranty.policy", months=months)
        else:
            _unknown(ctx, out, "warranty.months")
    covers = policy_fact(ctx, out, "warranty.covers", fact_key="warranty.covers", required=False)
    if covers is not None:
        out.say("warranty.covers", covers=covers)
    return out.say("warranty.claim")


def _category_word(ctx: FlowContext, category: str) -> str:
    """A category as the catalog names it in the reply's language ("audio", "音频")."""
    name = category.split(" > ")[-1]
    if ctx.language != "zh":
        return name.lower()
    row = ctx.db.execute(
        "select name_zh from categories where path = ? or name = ? order by path = ? desc",
        [category, name, category],
    ).fetchone()
    return str(row[0]) if row and row[0] else name


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
        if _non_returnable_answer(ctx, out):
            return out  # "can I return gift cards?": no, so no return is offered
        _refund_policy_template(ctx, out)
    elif task == "track_refund":
        days = policy_fact(
            ctx, out, "returns.refund_days", fact_key="policy.refund_processing_days"
        )
        if days is None:
            _unknown(ctx, out, "returns.refund_days")
        else:
            out.say("refund.processing", refund_days=days)
    elif task == "get_invoice":
        where = policy_fact(ctx, out, "invoices.where", fact_key="policy.invoice_where")
        if where is None:
            _unknown(ctx, out, "invoices.where")
        else:
            out.say("howto.invoice", invoice_where=where)
    elif task == "change_order":
        out.say("howto.change")
    elif task == "change_shipping_address":
        out.say("howto.address")
    else:
        days = policy_fact(ctx, out, "shipping.dispatch_days", fact_key="policy.dispatch_days")
        out.say("howto.track_email")
        if days is not None:
            out.say(
                "howto.track_dispatch",
                dispatch_days=days,
                business_days=fmt.business_days(days, lang),
            )
    return out.say(f"howto.offer.{task}")


@handler("act", "faq")
def faq(ctx: FlowContext, out: Outcome) -> Outcome:
    out.action = f"faq.{ctx.intent}"
    answered = _faq_answer(ctx, out)
    lex = lexicon()
    asks_how = matches(lex.general_question, ctx.text) and not matches(lex.own_request, ctx.text)
    # flows.toml [flows.faq] handoff_intents: requests staff must act on open a ticket.
    ticket_intents = load_flows()["faq"].handoff_intents
    if ctx.intent in ticket_intents and not (answered and asks_how):
        # "How do I delete my account?" gets the answer; "delete my account" the request.
        # Account-level: the email (phone, name + postcode) alone identifies the account
        # the request is about; the summary says it was claimed, not verified.
        account = ctx.state.customer_id or ctx.state.claimed_customer_id
        summary = f"Delete account request. Customer id: {account or 'unknown'}; verified: {ctx.state.verified}. Message: {mask_pii(ctx.text)[:300]}"
        ticket = conversations.create_ticket(
            ctx.db,
            conversation_id=ctx.session_id,
            customer_id=account,
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
        ticket_id = out.fact("ticket.id", ticket, f"ticket:{ticket}")
        days = policy_fact(ctx, out, "accounts.deletion_days", fact_key="accounts.deletion_days")
        if days is None:
            return out.say("account.delete_ticket_no_days", ticket_id=ticket_id)
        return out.say("account.delete_ticket", ticket_id=ticket_id, deletion_days=days)
    if not answered:
        out.resolved = False
        # No help page answers it: the shop's FAQ is missing this intent.
        record_gap(
            ctx.db,
            kind="faq",
            answer_key=ctx.intent or "unknown",
            question=mask_pii(ctx.text)[:500],
            conversation_id=ctx.session_id,
            language=ctx.language,
            intent=ctx.intent,
            at=clock.now_iso(),
        )
        return out.say("faq.none")
    return out
