"""Handlers for flows that answer at once: products, policies, FAQs, small talk, hand-off."""

from __future__ import annotations

import re
from typing import Any

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.access import check_order_access
from shopassist.engine.dialogue.actions import cancellation_fee_cents
from shopassist.engine.dialogue.flows import FlowContext, handler, order_source
from shopassist.engine.dialogue.handoff import build_handoff_summary
from shopassist.engine.dialogue.lexicon import colour_matches, lexicon, matches
from shopassist.engine.dialogue.outcome import LowStock, Outcome
from shopassist.engine.dialogue.product_query import matching_variants, size_matches
from shopassist.engine.dialogue.references import named_product_ids, points_at_one
from shopassist.engine.dialogue.rules import rule_param
from shopassist.engine.dialogue.state import MentionedProduct
from shopassist.engine.dialogue.templates import render
from shopassist.engine.privacy import mask_pii
from shopassist.engine.turn_result import Source
from shopassist.kb import conversations, customers
from shopassist.kb.orders import get_policy
from shopassist.kb.search import ProductDetail, get_product, search_products

MAX_LIST = 3
_COMPARE_SPLIT = re.compile(
    r"\s+(?:and|or|vs\.?|versus|compared to|against)\s+|[,，、？?]|和|与|跟|还是|对比|比较|哪个|哪款",
    re.IGNORECASE,
)


def _policy(ctx: FlowContext, out: Outcome, key: str, default: Any) -> Any:
    out.source(Source(id=f"policy:{key}", kind="policy", title=key.replace("_", " ")))
    return get_policy(ctx.db, key, default)


def _title(p: Any, language: str) -> str:
    if language == "zh" and getattr(p, "title_zh", None):
        return str(p.title_zh)
    return str(p.title)


def _product_source(p: Any, language: str) -> Source:
    return Source(
        id=p.source_id,
        kind="product",
        title=_title(p, language),
        snippet=(getattr(p, "snippet", "") or "")[:200],
        score=getattr(p, "score", None),
    )


def _remember(ctx: FlowContext, products: list[ProductDetail], *, shown: bool) -> None:
    ctx.state.remember_products(
        [
            MentionedProduct(
                product_id=p.id,
                title=p.title,
                colours=sorted({v.colour for v in p.variants if v.colour}),
            )
            for p in products
        ]
    )
    if shown:
        ctx.state.shown = [p.id for p in products]


def _details(ctx: FlowContext, ids: list[int]) -> list[ProductDetail]:
    found = []
    for pid in ids:
        p = get_product(ctx.db, pid)
        if p is not None and p.status == "active":
            found.append(p)
    return found


def _price_text(p: ProductDetail) -> str:
    prices = sorted({v.price_cents for v in p.variants}) or [p.min_price_cents or 0]
    if len(prices) > 1:
        return f"{fmt.money(prices[0], p.currency)}–{fmt.money(prices[-1], p.currency)}"
    return fmt.money(prices[0], p.currency)


def _chosen_variant(ctx: FlowContext, p: ProductDetail) -> Any:
    """The variant a message names by colour and/or size ("the blue one in M"), if any."""
    fitting = _fitting_variants(ctx, p)
    # Prefer one in stock when several fit ("navy" and "midnight blue" both say blue).
    return next((v for v in fitting if v.stock > 0), fitting[0] if fitting else None)


def _fitting_variants(ctx: FlowContext, p: ProductDetail) -> list[Any]:
    """Every variant with the colour and/or size the message asks for ([] when none asked)."""
    colours = [str(e.value) for e in ctx.nlu.entities if e.type == "colour"]
    sizes = [str(e.value) for e in ctx.nlu.entities if e.type == "size"]
    if ctx.product_request is not None:
        sizes = list(ctx.product_request.sizes)
    if not colours and sizes and p.id in ctx.state.shown:
        colours = list(ctx.state.shown_colours)  # the colour the list was narrowed to
    if not colours and not sizes:
        return []
    fitting = [
        v
        for v in p.variants
        if (not colours or any(colour_matches(c, v.colour) for c in colours))
        and (not sizes or any(size_matches(s, v.size) for s in sizes))
    ]
    if not fitting and colours and sizes and not any(e.type == "colour" for e in ctx.nlu.entities):
        # The list's colour does not come in that size: any colour in the size asked for.
        fitting = [v for v in p.variants if any(size_matches(s, v.size) for s in sizes)]
    return fitting


def _say_variant_options(
    ctx: FlowContext, out: Outcome, p: ProductDetail, title: str, fitting: list[Any]
) -> bool:
    """ "The blue one" of a jacket sold in five sizes: the colour's price and the sizes it
    is in stock in, rather than one arbitrary size. False when one variant answers it."""
    colours = {v.colour for v in fitting if v.colour}
    sizes = list(dict.fromkeys(v.size for v in fitting if v.size))
    if len(fitting) < 2 or (len(colours) < 2 and len(sizes) < 2):
        return False
    lang = ctx.language
    by_size = len(colours) < 2  # one colour asked for: what sizes does it come in?
    if by_size:
        wanted = fmt.colour_name(next(iter(colours)), lang, inline=True) if colours else ""
    else:
        wanted = sizes[0] if len(sizes) == 1 else ""
    if not wanted:
        return False
    for v in fitting:
        out.source(Source(id=v.source_id, kind="variant", title=v.title))
    out.say(
        "product.variant_price",
        title=title,
        variant=out.fact("variant.wanted", wanted, p.source_id),
        price=out.fact("variant.price", _prices_text(fitting, p), p.source_id),
    )
    in_stock = [v for v in fitting if v.stock > 0]
    if not in_stock:
        out.say("product.out_of_stock")
        return True
    if by_size:
        options = list(dict.fromkeys(str(v.size) for v in in_stock))
        key, name = "product.sizes_in_stock", "sizes"
    else:
        options = sorted({fmt.colour_name(v.colour, lang) for v in in_stock if v.colour})
        key, name = "product.colours_in_stock", "colours"
    out.say(
        key,
        **{name: out.fact(f"variant.{name}_in_stock", fmt.list_join(options, lang), p.source_id)},
    )
    return True


def _wanted_text(ctx: FlowContext) -> str:
    lang = ctx.language
    colours = [
        fmt.colour_name(str(e.value), lang, inline=True)
        for e in ctx.nlu.entities
        if e.type == "colour"
    ]
    sizes = [str(e.value) for e in ctx.nlu.entities if e.type == "size"]
    if ctx.product_request is not None:
        sizes = list(ctx.product_request.sizes)
    parts = [fmt.list_join(colours, lang)] if colours else []
    if sizes:
        parts.append(render("product.wanted_size", lang, {"size": fmt.list_join(sizes, lang)}))
    return (
        render("product.wanted_join", lang, {"a": parts[0], "b": parts[1]})
        if len(parts) == 2
        else (parts[0] if parts else "")
    )


def _list_products(
    ctx: FlowContext, out: Outcome, products: list[ProductDetail], intro: str, **intro_values: Any
) -> Outcome:
    lang = ctx.language
    req = ctx.product_request
    by_variant = req is not None and req.wants_variant and ctx.variant_found
    lines = []
    for i, p in enumerate(products[:MAX_LIST], start=1):
        out.source(_product_source(p, lang))
        title = out.fact(f"product.{p.id}.title", _title(p, lang), p.source_id)
        variants = matching_variants(p, req) if by_variant else []
        if variants:
            # Only the variants asked for ("in Navy"), with their own price and stock.
            names = list(dict.fromkeys(_variant_name(v, req, lang) for v in variants))
            shown = out.fact(
                f"product.{p.id}.variants", fmt.list_join(names, lang), p.source_id, required=False
            )
            price = out.fact(f"product.{p.id}.price", _prices_text(variants, p), p.source_id)
            in_stock = any(v.stock > 0 for v in variants)
            key = (
                "product.line_variant_in_stock" if in_stock else "product.line_variant_out_of_stock"
            )
            values = {"n": i, "title": title, "variants": shown, "price": price}
        else:
            price = out.fact(f"product.{p.id}.price", _price_text(p), p.source_id)
            key = "product.line_in_stock" if p.in_stock else "product.line_out_of_stock"
            values = {"n": i, "title": title, "price": price}
        lines.append(render(key, lang, values))
        _low_stock(out, p, lang)
    _remember(ctx, products[:MAX_LIST], shown=True)
    ctx.state.shown_colours = list(req.colours) if by_variant and req is not None else []
    out.say(intro, **intro_values, products="\n" + "\n".join(lines) + "\n")
    if len(lines) > 1:
        out.say("product.list_outro")
    return out


def _variant_name(v: Any, req: Any, language: str) -> str:
    parts = []
    if req.colours and v.colour:
        parts.append(fmt.colour_name(v.colour, language, inline=True))
    if req.sizes and v.size:
        parts.append(v.size)
    return " ".join(parts) or str(v.title)


def _variant_label(v: Any, language: str) -> str:
    """ "Moss / L" as the catalog has it; in Chinese, the colour in Chinese ("苔藓绿 / L")."""
    if language != "zh" or not v.colour:
        return str(v.title)
    parts = [fmt.colour_name(v.colour, "zh")] + ([str(v.size)] if v.size else [])
    return " / ".join(parts)


def _prices_text(variants: list[Any], p: ProductDetail) -> str:
    prices = sorted({v.price_cents for v in variants})
    if len(prices) > 1:
        return f"{fmt.money(prices[0], p.currency)}–{fmt.money(prices[-1], p.currency)}"
    return fmt.money(prices[0], p.currency)


def _low_stock(out: Outcome, p: ProductDetail, language: str, variant: Any = None) -> None:
    limit = int(rule_param("low_stock_note", "max_stock", 3))
    stock = variant.stock if variant is not None else p.total_stock
    if 0 < stock <= limit:
        out.low_stock.append(
            LowStock(title=_title(p, language), stock=stock, source_id=(variant or p).source_id)
        )


# --- products -----------------------------------------------------------------------------


def _search(ctx: FlowContext, limit: int = 5, *, strict: bool = False) -> list[ProductDetail]:
    """Search hits for the message; ``strict`` keeps only hits matching every query word,
    for answering about "the" product when the customer did not name one."""
    hits = ctx.product_hits
    if not hits and ctx.product_request is None:
        # Retrieval did not search (an intent read in context): search the message now.
        hits = search_products(ctx.db, ctx.text, limit=limit, language=ctx.language)
    if strict:
        hits = [h for h in hits if h.match in ("sku", "all")]
    return _details(ctx, [h.id for h in hits[:limit]])


def _foreign_budget_note(ctx: FlowContext, out: Outcome) -> None:
    """Say how a budget in another currency was read: "200元（约 $28.00）以内", or that
    prices are in the shop's currency and the list is not filtered by price."""
    req = ctx.product_request
    if req is None or not req.asked_money:
        return
    out.allowed_values.append(req.asked_money)  # the customer's own words
    if req.rate and (req.max_price is not None or req.min_price is not None):
        out.source(Source(id="policy:exchange_rates", kind="policy", title="exchange rates"))
        limit = req.max_price if req.max_price is not None else req.min_price
        usd = out.fact(
            "price.converted_limit",
            fmt.money(round(float(limit or 0) * 100), req.currency or "USD"),
            "policy:exchange_rates",
        )
        key = "product.budget_converted" if req.max_price is not None else "product.floor_converted"
        out.say(key, asked=req.asked_money, price=usd)
    else:
        out.say("product.budget_unconverted", asked=req.asked_money)


@handler("act", "product_search")
def product_search(ctx: FlowContext, out: Outcome) -> Outcome:
    products = _search(ctx)
    req = ctx.product_request
    lang = ctx.language
    _foreign_budget_note(ctx, out)
    out.action = "products.listed"
    if not products:
        out.resolved = False
        if req is not None and req.category:
            kind = (
                req.category_word
                if lang == "zh" and req.category_word
                else req.category.split(" > ")[-1].lower()
            )
            if req.max_price is not None:
                # The customer's own number, echoed back: allowed, not a catalog fact.
                price = fmt.money(round(req.max_price * 100), req.currency or "USD")
                out.allowed_values.append(price)
                return out.say("product.none_within", kind=kind, price=price)
            return out.say("product.none_kind", kind=kind)
        return out.say("product.none")
    if req is not None and req.wants_variant:
        wanted = fmt.list_join(
            [fmt.colour_name(c, lang, inline=True) for c in req.colours] + list(req.sizes), lang
        )
        key = "product.list_intro_variant" if ctx.variant_found else "product.list_intro_no_variant"
        return _list_products(ctx, out, products, key, wanted=wanted)
    return _list_products(ctx, out, products, "product.list_intro")


@handler("act", "product_info")
def product_info(ctx: FlowContext, out: Outcome) -> Outcome:
    req = ctx.product_request
    if not ctx.product_ids and req is not None and req.category and len(ctx.product_hits) > 1:
        # "有耳机吗？" names a kind of product, not one product: list them.
        ctx.intent = "product_search"
        return product_search(ctx, out) or out
    products = _details(ctx, ctx.product_ids[:1])
    if not products and req is not None and req.wants_variant and ctx.state.mentioned:
        # "Is it in stock in M?" with nothing named: the product we were just talking about.
        products = _details(ctx, [ctx.state.mentioned[0].product_id])
    products = products or _search(ctx, limit=1, strict=True)
    if not products:
        out.resolved = False
        return out.say("product.which")
    p = products[0]
    lang = ctx.language
    out.action = "product.shown"
    variant = _chosen_variant(ctx, p)
    if (
        variant is None
        and not named_product_ids(ctx.nlu)
        # "does it come in white?" / "第二个有白色的吗" ask about that one product
        and not points_at_one(ctx.text)
    ):
        # "The blue one in M" points at whichever product just discussed has that variant.
        for m in ctx.state.mentioned:
            other = _details(ctx, [m.product_id])
            found = _chosen_variant(ctx, other[0]) if other else None
            if found is not None:
                p, variant = other[0], found
                break
    out.source(_product_source(p, lang))
    title = out.fact("product.title", _title(p, lang), p.source_id)
    wanted = _wanted_text(ctx)
    if variant is None and wanted:
        out.say("product.no_variant", title=title, wanted=wanted)
    if variant is not None and _say_variant_options(ctx, out, p, title, _fitting_variants(ctx, p)):
        pass
    elif variant is not None:
        out.source(Source(id=variant.source_id, kind="variant", title=variant.title))
        out.say(
            "product.variant_price",
            title=title,
            variant=out.fact("variant.title", _variant_label(variant, lang), variant.source_id),
            price=out.fact(
                "variant.price", fmt.money(variant.price_cents, variant.currency), variant.source_id
            ),
        )
        if variant.stock > 0:
            out.say(
                "product.stock_in",
                stock=out.fact("variant.stock", variant.stock, variant.source_id),
            )
        else:
            out.say("product.out_of_stock")
        _low_stock(out, p, lang, variant)
    else:
        out.say(
            "product.price",
            title=title,
            price=out.fact("product.price", _price_text(p), p.source_id),
        )
        if p.in_stock:
            out.say("product.stock_in", stock=out.fact("product.stock", p.total_stock, p.source_id))
        else:
            out.say("product.out_of_stock")
        colours = sorted({fmt.colour_name(v.colour, lang) for v in p.variants if v.colour})
        sizes = list(dict.fromkeys(v.size for v in p.variants if v.size))
        if colours:
            out.say(
                "product.colours",
                colours=out.fact(
                    "product.colours", fmt.list_join(colours, lang), p.source_id, required=False
                ),
            )
        if sizes:
            out.say(
                "product.sizes",
                sizes=out.fact(
                    "product.sizes", fmt.list_join(sizes, lang), p.source_id, required=False
                ),
            )
        _low_stock(out, p, lang)
    specs = [f"{k}: {v}" for k, v in list(p.specs.items())[:3]]
    if specs:
        out.say(
            "product.specs",
            specs=out.fact("product.specs", "; ".join(specs), p.source_id, required=False),
        )
    _remember(ctx, [p], shown=False)
    return out


@handler("act", "product_compare")
def product_compare(ctx: FlowContext, out: Outcome) -> Outcome:
    ids = list(ctx.product_ids)
    for m in ctx.state.mentioned:
        if len(ids) >= 2:
            break
        if m.product_id not in ids:
            ids.append(m.product_id)
    products = _details(ctx, ids[:2])
    if len(products) < 2:
        # "AeroBuds Pro 和 Tide ANC 哪个好": each side of "and/or/vs/和" names one product.
        for part in _COMPARE_SPLIT.split(ctx.text):
            if len(products) >= 2 or not part.strip():
                continue
            hits = search_products(ctx.db, part, limit=1, language=ctx.language)
            if hits and hits[0].match in ("sku", "all"):
                for p in _details(ctx, [hits[0].id]):
                    if all(p.id != q.id for q in products):
                        products.append(p)
    if len(products) < 2:
        for p in _search(ctx, limit=4, strict=True):
            if len(products) >= 2:
                break
            if all(p.id != q.id for q in products):
                products.append(p)
    if len(products) < 2:
        out.resolved = False
        return out.say("product.compare_which")
    lang = ctx.language
    out.action = "products.compared"
    values: dict[str, Any] = {}
    for tag, p in zip(("a", "b"), products, strict=False):
        out.source(_product_source(p, lang))
        values[f"title_{tag}"] = out.fact(f"product.{p.id}.title", _title(p, lang), p.source_id)
        values[f"price_{tag}"] = out.fact(f"product.{p.id}.price", _price_text(p), p.source_id)
        stock_key = "product.compare_in_stock" if p.in_stock else "product.compare_out_of_stock"
        values[f"stock_{tag}"] = render(stock_key, lang, {"stock": p.total_stock})
        if p.in_stock:
            out.fact(f"product.{p.id}.stock", p.total_stock, p.source_id, required=False)
    out.say("product.compare", **values)
    a, b = products
    shared = [k for k in a.specs if k in b.specs][:3]
    if shared:
        lines = "; ".join(f"{k}: {a.specs[k]} / {b.specs[k]}" for k in shared)
        out.say(
            "product.compare_specs",
            specs=out.fact("product.compare_specs", lines, f"{a.source_id}", required=False),
        )
    _remember(ctx, products, shown=True)
    return out


@handler("act", "recommendation")
def recommendation(ctx: FlowContext, out: Outcome) -> Outcome:
    db = ctx.db
    category_id: int | None = None
    intro = "product.recommend_intro"
    seed = _details(ctx, ctx.product_ids[:1])
    if not seed:
        hits = [h for h in (ctx.product_hits or []) if h.match in ("sku", "all")][:1]
        seed = _details(ctx, [h.id for h in hits])
    bought: set[int] = set()
    if ctx.state.customer_id is not None and ctx.state.verified:
        bought = customers.purchased_product_ids(db, ctx.state.customer_id)
    req = ctx.product_request
    category_ids: list[int] = []
    if seed:
        row = db.execute("select category_id from products where id = ?", [seed[0].id]).fetchone()
        category_id = row[0] if row else None
    elif req is not None and req.category:
        # "a gift for my dad, he likes coffee": the kind of product asked for.
        category_ids = [
            int(r[0])
            for r in db.execute(
                "select id from categories where path = ? or path like ?",
                [req.category, req.category + " > %"],
            )
        ]
    elif ctx.state.customer_id is not None and ctx.state.verified:
        history = customers.purchased_category_ids(db, ctx.state.customer_id)
        if history:
            category_id = history[0]
            intro = "product.recommend_history"
    # A kind of product asked for ("a speaker under $60") is a hard limit: search hits of
    # that kind may be listed themselves, and nothing of another kind fills the list.
    asked_kind = req is not None and bool(req.category) and not ctx.product_ids
    exclude = bought | (set() if asked_kind else {p.id for p in seed})
    sql = (
        "select p.id, sum(v.stock) as stock from products p join variants v on v.product_id = p.id "
        "where p.status = 'active' {where} group by p.id having stock > 0 order by stock desc, p.id limit 12"
    )
    params: list[Any] = []
    where = ""
    if category_id is not None:
        category_ids = [category_id]
    if category_ids:
        where = f"and p.category_id in ({', '.join('?' * len(category_ids))})"
        params.extend(category_ids)
    if req is not None and req.max_price is not None:
        where += " and v.price_cents <= ?"
        params.append(round(req.max_price * 100))
    rows = db.execute(sql.format(where=where), params).fetchall()
    ids = [r[0] for r in rows if r[0] not in exclude][:MAX_LIST]
    if not ids and where and not asked_kind:  # everything in that category is theirs: widen
        rows = db.execute(sql.format(where=""), []).fetchall()
        ids = [r[0] for r in rows if r[0] not in exclude][:MAX_LIST]
    products = _details(ctx, ids)
    out.action = "products.recommended"
    _foreign_budget_note(ctx, out)
    if not products:
        out.resolved = False
        return out.say("product.none")
    return _list_products(ctx, out, products, intro)


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


# --- complaint and hand-off ---------------------------------------------------------------


@handler("act", "complaint")
def complaint(ctx: FlowContext, out: Outcome) -> Outcome:
    support = _policy(ctx, out, "support", {})
    order_id = None
    if ctx.access.status == "granted" and ctx.access.order:
        order_id = ctx.access.order["id"]
    ticket = conversations.create_ticket(
        ctx.db,
        conversation_id=ctx.session_id,
        customer_id=ctx.state.customer_id,
        order_id=order_id,
        kind="complaint",
        summary=f"Complaint: {mask_pii(ctx.text)[:500]}",
    )
    out.action = "complaint.recorded"
    out.guidance.append("Apologise sincerely first.")
    return out.say(
        "complaint.ack",
        ticket_id=out.fact("ticket.id", ticket, f"ticket:{ticket}"),
        reply_days=out.fact(
            "support.complaint_reply_business_days",
            support.get("complaint_reply_business_days", 2),
            "policy:support",
        ),
    )


@handler("act", "handoff")
def handoff(ctx: FlowContext, out: Outcome) -> Outcome:
    support = _policy(ctx, out, "support", {})
    ctx.state.handoff = True
    out.handoff = True
    out.action = "handoff"
    out.resolved = False
    summary = build_handoff_summary(ctx.db, ctx.state, ctx.text)
    conversations.create_ticket(
        ctx.db,
        conversation_id=ctx.session_id,
        customer_id=ctx.state.customer_id,
        order_id=None,
        kind="handoff",
        summary=summary,
    )
    out.say(
        "handoff.done",
        hours=out.fact(
            "support.hours",
            fmt.localised(support, "hours", ctx.language),
            "policy:support",
            required=False,
        ),
    )
    if ctx.intent == "contact_customer_service":
        phone = (
            support.get("vip_phone") if ctx.state.customer_tier == "vip" else support.get("phone")
        )
        out.say(
            "handoff.contact",
            email=out.fact("support.email", support.get("email", ""), "policy:support"),
            phone=out.fact("support.phone", phone or "", "policy:support"),
        )
    return out


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
