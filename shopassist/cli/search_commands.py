"""Commands: ``search`` (products) and ``search-faq``, over the same library API the engine uses."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from shopassist.cli.app import DbOption, JsonOption, app, console, fail, open_kb, settings_from

QueryArg = Annotated[str, typer.Argument(help="What a customer would type; any text is safe.")]
LimitOption = Annotated[
    int, typer.Option("--limit", "-n", min=1, max=200, help="How many results to show (1-200).")
]


@app.command("search")
def search(
    query: QueryArg,
    json_output: JsonOption = False,
    limit: LimitOption = 10,
    category: Annotated[
        str | None,
        typer.Option(
            "--category", help="Category name or path, English or Chinese; includes sub-categories."
        ),
    ] = None,
    max_price: Annotated[
        float | None, typer.Option("--max-price", min=0, help="Highest price, in currency units.")
    ] = None,
    in_stock: Annotated[
        bool, typer.Option("--in-stock", help="Only products with a variant in stock.")
    ] = False,
    faq: Annotated[bool, typer.Option("--faq", help="Search FAQs and policies instead.")] = False,
    lang: Annotated[
        str | None, typer.Option("--lang", help="With --faq: only entries in 'en' or 'zh'.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Search the product catalog (BM25 ranking, typo-tolerant, Chinese-aware)."""
    if faq:
        _search_faqs(query, json_output=json_output, limit=limit, lang=lang, db=db)
        return
    from shopassist.kb.search import SearchError, resolve_category, search_products

    kb = open_kb(settings_from(db=db))
    if category is not None and not resolve_category(kb, category):
        known = [r[0] for r in kb.execute("select path from categories order by path").fetchall()]
        hint = f" Known categories: {', '.join(known[:15])}" + (" …" if len(known) > 15 else "")
        message = f"no category matches {category!r}." + (
            hint if known else " The catalog has none."
        )
        fail(message)
    try:
        hits = search_products(
            kb, query, limit=limit, category=category, max_price=max_price, in_stock=in_stock
        )
    except SearchError as exc:
        fail(str(exc), code=2)
    if json_output:
        _print_json([_product_json(h) for h in hits])
        return
    if not hits:
        console.print(f"No products match {query!r}.", highlight=False, markup=False)
        return
    _product_table(hits, query)


@app.command("search-faq")
def search_faq(
    query: QueryArg,
    json_output: JsonOption = False,
    limit: LimitOption = 5,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Only entries in 'en' or 'zh'.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Search FAQ and policy entries, in English and Chinese."""
    _search_faqs(query, json_output=json_output, limit=limit, lang=lang, db=db)


def _search_faqs(query: str, *, json_output: bool, limit: int, lang: str | None, db: Any) -> None:
    from shopassist.kb.search import SearchError, search_faqs

    if lang is not None and lang not in ("en", "zh"):
        fail(f"--lang must be 'en' or 'zh', not {lang!r}", code=2)
    kb = open_kb(settings_from(db=db))
    try:
        hits = search_faqs(kb, query, language=lang, limit=limit)
    except SearchError as exc:
        fail(str(exc), code=2)
    if json_output:
        _print_json([h.model_dump(mode="json") for h in hits])
        return
    if not hits:
        console.print(f"No FAQ entry matches {query!r}.", highlight=False, markup=False)
        return
    from rich.table import Table

    table = Table(title=_plain(f"FAQ matches for {query[:60]!r}"), title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("Source", style="cyan", no_wrap=True)
    table.add_column("Question / answer")
    table.add_column("Score", justify="right")
    for rank, hit in enumerate(hits, 1):
        cell = _plain(hit.question, style="bold")
        cell.append("\n").append_text(_plain(hit.snippet))
        table.add_row(str(rank), _plain(hit.source_id), cell, f"{hit.score:.2f}")
    console.print(table)


def _product_json(hit: Any) -> dict[str, Any]:
    """The documented ``--json`` shape: sku, title, price, stock and score first."""
    return {
        "sku": hit.sku,
        "title": hit.title,
        "price": hit.min_price,
        "stock": hit.total_stock,
        "score": hit.score,
        "id": hit.id,
        "source_id": hit.source_id,
        "snippet": hit.snippet,
        "handle": hit.handle,
        "title_zh": hit.title_zh,
        "brand": hit.brand,
        "category": hit.category,
        "currency": hit.currency,
        "price_cents": hit.min_price_cents,
        "in_stock": hit.in_stock,
        "match": hit.match,
        "variant_id": hit.variant_id,
        "variant_title": hit.variant_title,
        "variant_price_cents": hit.variant_price_cents,
        "variant_stock": hit.variant_stock,
        "variant_matched": hit.variant_matched,
    }


def _plain(text: str | None, style: str = "") -> Any:
    """Catalog and query text as literal rich Text: no markup, no terminal controls.

    A query or a product title containing "[/]" would otherwise be read as rich markup
    and crash the table.
    """
    from rich.text import Text

    from shopassist.safe_text import strip_controls

    return Text(strip_controls(text or "").replace("\n", " "), style=style)


def _print_json(data: list[dict[str, Any]]) -> None:
    # Plain stdout, not rich: JSON must stay byte-exact for scripts.
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _product_table(hits: list[Any], query: str) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=_plain(f"Products matching {query[:60]!r}"), title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("SKU", style="cyan", no_wrap=True)
    table.add_column("Product")
    table.add_column("Price", justify="right")
    table.add_column("Stock", justify="right")
    table.add_column("Score", justify="right")
    for rank, hit in enumerate(hits, 1):
        cell = _plain(hit.title, style="bold")
        if hit.title_zh:
            cell.append("  ").append_text(_plain(hit.title_zh, style="dim"))
        extra = " · ".join(x for x in (hit.brand, hit.category) if x)
        if extra:
            cell.append("\n").append_text(_plain(extra, style="dim"))
        if hit.snippet:
            cell.append("\n").append_text(_plain(hit.snippet, style="italic"))
        price = "—" if hit.min_price is None else f"{hit.min_price:,.2f} {hit.currency}"
        stock = Text(str(hit.total_stock), style="green" if hit.in_stock else "red")
        sku = _plain((hit.sku or "—") + (" ✓" if hit.variant_matched else ""))
        table.add_row(str(rank), sku, cell, _plain(price), stock, f"{hit.score:.2f}")
    console.print(table)
