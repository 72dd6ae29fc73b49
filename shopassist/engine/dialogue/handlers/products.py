"""Product questions: search, one product's details, comparison, recommendation."""

from __future__ import annotations

from typing import Any

from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext, handler
from shopassist.engine.dialogue.handlers.base import (
    MAX_LIST,
    _chosen_variant,
    _details,
    _fitting_variants,
    _foreign_budget_note,
    _list_products,
    _low_stock,
    _price_text,
    _product_source,
    _remember,
    _say_variant_options,
    _search,
    _title,
    _variant_label,
    _wanted_text,
)
from shopassist.engine.dialogue.interpret import says, split_on
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.references import (
    named_product_ids,
    points_at_one,
)
from shopassist.engine.dialogue.templates import render
from shopassist.engine.turn_result import Source
from shopassist.kb import customers
from shopassist.kb.search import ProductDetail, catalog, search_products


def _say_not_carried(ctx: FlowContext, out: Outcome) -> Outcome:
    name = str(ctx.unknown_name)
    out.allowed_values.append(name)  # the customer's own words
    out.resolved = False
    out.action = "product.not_carried"
    out.say("product.not_carried", name=name)
    req = ctx.product_request
    if req is not None and req.category and ctx.product_hits:
        nearest = _details(ctx, [h.id for h in ctx.product_hits])
        _list_products(ctx, out, nearest, "product.nearest_kind")
        out.action = "product.not_carried"
    return out


def _kind_word(req: Any, language: str) -> str:
    if language == "zh" and req.category_word:
        return str(req.category_word)
    if not req.category:
        return render("product.kind_unnamed", language)
    return str(req.category).split(" > ")[-1].lower()


def _say_nearest(ctx: FlowContext, out: Outcome, req: Any) -> Outcome:
    """Nothing satisfies every constraint: say which one fails, then the nearest items,
    introduced as the nearest and never as matches."""
    lang = ctx.language
    out.resolved = False
    attributes = fmt.list_join(list(req.attributes), lang)
    out.allowed_values.extend(req.attributes)  # the customer's own words
    nearest = _details(ctx, [h.id for h in ctx.nearest])
    values: dict[str, Any] = {"kind": _kind_word(req, lang), "attributes": attributes}
    if ctx.unmet == "price" and req.max_price is not None:
        values["price"] = fmt.money(round(req.max_price * 100), req.currency or "USD")
        out.allowed_values.append(values["price"])
        intro = (
            "product.nearest_over_budget" if req.attributes else "product.nearest_kind_over_budget"
        )
    else:
        intro = "product.none_with_attribute"
    out.action = "products.nearest"
    return _list_products(ctx, out, nearest, intro, **values)


@handler("act", "product_search")
def product_search(ctx: FlowContext, out: Outcome) -> Outcome:
    products = _search(ctx)
    req = ctx.product_request
    lang = ctx.language
    _foreign_budget_note(ctx, out)
    out.action = "products.listed"
    if not products and ctx.unmet and ctx.nearest and req is not None:
        return _say_nearest(ctx, out, req)
    if ctx.unknown_name and not ctx.product_ids:
        return _say_not_carried(ctx, out)
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


def _say_price_limit(ctx: FlowContext, out: Outcome, p: ProductDetail, title: str) -> None:
    """A product asked about with a budget ("a robot vacuum under 100 dollars") that it does
    not meet is said to be over it (or under a floor) before its details: it is never shown
    as if it matched."""
    req = ctx.product_request
    if req is None or (req.max_price is None and req.min_price is None):
        return
    prices = [v.price_cents for v in p.variants] or [p.min_price_cents or 0]
    currency = req.currency or p.currency
    if req.max_price is not None and min(prices) > round(req.max_price * 100):
        key, limit = "product.over_budget", req.max_price
    elif req.min_price is not None and max(prices) < round(req.min_price * 100):
        key, limit = "product.under_floor", req.min_price
    else:
        return
    price = fmt.money(round(limit * 100), currency)
    out.allowed_values.append(price)  # the customer's own number, echoed back
    out.resolved = False
    out.say(key, title=title, price=price)


@handler("act", "product_info")
def product_info(ctx: FlowContext, out: Outcome) -> Outcome:
    req = ctx.product_request
    if (
        not ctx.product_ids
        and req is not None
        and req.category
        and (len(ctx.product_hits) > 1 or (ctx.unmet and ctx.nearest))
    ):
        # "有耳机吗？" names a kind of product, not one product: list them (or, when none
        # meets every constraint, say which fails and show the nearest).
        ctx.intent = "product_search"
        return product_search(ctx, out) or out
    products = _details(ctx, ctx.product_ids[:1])
    if not products and ctx.unknown_name:
        # "the black 7 Chakra Bracelet": a product we do not carry. Say so, and show what
        # there is of the kind named, never a product sharing only a colour with it, nor
        # the product talked about before.
        return _say_not_carried(ctx, out)
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
    _say_price_limit(ctx, out, p, title)
    wanted = _wanted_text(ctx, p)
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
            _say_other_sizes(out, p, variant, lang)
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
        # Per size, whether any variant of it is in stock: "the 750 ml is sold out". A
        # product in stock lists only the sizes that are, so a sold-out size is never
        # listed as if it could be bought.
        sold_out = [s for s in sizes if not any(v.stock > 0 for v in p.variants if v.size == s)]
        if sizes and sold_out and p.in_stock:
            available = [s for s in sizes if s not in sold_out]
            out.say(
                "product.sizes_in_stock",
                sizes=out.fact(
                    "variant.sizes_in_stock", fmt.list_join(available, lang), p.source_id
                ),
            )
        elif sizes:
            out.say(
                "product.sizes",
                sizes=out.fact(
                    "product.sizes", fmt.list_join(sizes, lang), p.source_id, required=False
                ),
            )
        if sold_out and p.in_stock:
            out.say(
                "product.sizes_sold_out",
                sizes=out.fact(
                    "product.sizes_sold_out", fmt.list_join(sold_out, lang), p.source_id
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


def _say_other_sizes(out: Outcome, p: ProductDetail, variant: Any, lang: str) -> None:
    """The variant asked for is sold out: the sizes its colour is still in stock in."""
    others = [
        v
        for v in p.variants
        if v.stock > 0 and v.size and v.id != variant.id and v.colour == variant.colour
    ]
    if not others:
        return
    sizes = list(dict.fromkeys(str(v.size) for v in others))
    out.say(
        "product.sizes_in_stock",
        sizes=out.fact("variant.sizes_in_stock", fmt.list_join(sizes, lang), p.source_id),
    )


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
        for part in split_on("compare_split", ctx.text):
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
    searched: list[int] = []  # "推荐个保温水壶": products the request itself names come first
    if seed and not says("similar_to", ctx.text):
        searched = [p.id for p in seed]
    if not seed:
        hits = [h for h in (ctx.product_hits or []) if h.match in ("sku", "all")][:1]
        seed = _details(ctx, [h.id for h in hits])
        searched = [p.id for p in seed]
    bought: set[int] = set()
    if ctx.state.customer_id is not None and ctx.state.verified:
        bought = customers.purchased_product_ids(db, ctx.state.customer_id)
    req = ctx.product_request
    category_ids: list[int] = []
    if seed:
        category_id = catalog.product_category_id(db, seed[0].id)
    elif req is not None and req.category:
        # "a gift for my dad, he likes coffee": the kind of product asked for.
        category_ids = catalog.category_ids_under(db, req.category)
    elif ctx.state.customer_id is not None and ctx.state.verified:
        history = customers.purchased_category_ids(db, ctx.state.customer_id)
        if history:
            category_id = history[0]
            intro = "product.recommend_history"
    # A kind of product asked for ("a speaker under $60") is a hard limit: search hits of
    # that kind may be listed themselves, and nothing of another kind fills the list.
    asked_kind = req is not None and bool(req.category) and not ctx.product_ids
    exclude = bought | (set() if asked_kind else {p.id for p in seed})
    if category_id is not None:
        category_ids = [category_id]
    price = round(req.max_price * 100) if req is not None and req.max_price is not None else None
    narrowed = bool(category_ids) or price is not None
    rows = catalog.best_stocked_product_ids(db, category_ids=category_ids, max_price_cents=price)
    ids = [r for r in rows if r not in exclude][:MAX_LIST]
    if searched:
        ids = [i for i in searched if i not in bought] + [i for i in ids if i not in searched]
        ids = ids[:MAX_LIST]
    if not ids and narrowed and not asked_kind:  # everything in that category is theirs: widen
        rows = catalog.best_stocked_product_ids(db)
        ids = [r for r in rows if r not in exclude][:MAX_LIST]
    products = _details(ctx, ids)
    out.action = "products.recommended"
    _foreign_budget_note(ctx, out)
    if not products:
        out.resolved = False
        return out.say("product.none")
    return _list_products(ctx, out, products, intro)
