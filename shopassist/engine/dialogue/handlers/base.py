"""Helpers the answering handlers share: policy look-ups with their source, product
details, titles, prices, variant choice and the product list."""

from __future__ import annotations

from typing import Any

from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext
from shopassist.engine.dialogue.lexicon import colour_matches
from shopassist.engine.dialogue.outcome import LowStock, Outcome
from shopassist.engine.dialogue.product_query import (
    matching_variants,
    size_matches,
    sizes_in_text,
)
from shopassist.engine.dialogue.rules import rule_param
from shopassist.engine.dialogue.state import MentionedProduct
from shopassist.engine.dialogue.templates import has_template, render
from shopassist.engine.turn_result import Source
from shopassist.kb.search import ProductDetail, get_product_cached, search_products

MAX_LIST = 3


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
        p = get_product_cached(ctx.db, pid)
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
    sizes = _asked_sizes(ctx, p)
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


def _asked_sizes(ctx: FlowContext, p: ProductDetail | None) -> list[str]:
    """The sizes the message asks for: as understood, else in the product's own size
    system ("US 8", "a 32 waist"), read from its catalog labels."""
    sizes = [str(e.value) for e in ctx.nlu.entities if e.type == "size"]
    if ctx.product_request is not None:
        sizes = list(ctx.product_request.sizes)
    if not sizes and p is not None:
        sizes = sizes_in_text(ctx.text, p, ctx.nlu)
    if p is not None and not any(v.size for v in p.variants):
        return []  # "all day long" is no size of a kettle sold in one size
    return sizes


def _wanted_text(ctx: FlowContext, p: ProductDetail | None = None) -> str:
    lang = ctx.language
    colours = list(
        dict.fromkeys(
            fmt.colour_name(str(e.value), lang, inline=True)
            for e in ctx.nlu.entities
            if e.type == "colour"
        )
    )
    sizes = _asked_sizes(ctx, p)
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


def _currency_name(ctx: FlowContext) -> str:
    """The shop's currency as a reply names it ("US dollars", "美元"), from its code."""
    code = ctx.product_request.currency if ctx.product_request is not None else ""
    key = f"currency_name.{code}" if code else "currency_name.unknown"
    if not has_template(key, ctx.language):
        return str(code)
    return render(key, ctx.language)


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
            fmt.money(round(float(limit or 0) * 100), req.currency or ""),
            "policy:exchange_rates",
        )
        key = "product.budget_converted" if req.max_price is not None else "product.floor_converted"
        out.say(key, asked=req.asked_money, price=usd, currency=_currency_name(ctx))
    else:
        out.say("product.budget_unconverted", asked=req.asked_money, currency=_currency_name(ctx))
