"""Product search, snippets, variant choice and product details."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz, process

from shopassist.kb.search.fts import _Group, _match, _or_expr
from shopassist.kb.search.models import (
    MAX_LIMIT,
    SKU_BONUS,
    SNIPPET_CHARS,
    MatchKind,
    ProductDetail,
    ProductHit,
    SearchError,
    VariantInfo,
)
from shopassist.kb.search.vocabulary import _PARTIAL_COLUMNS, Vocabulary, product_vocabulary
from shopassist.kb.search_index import (
    ensure_search_index,
)
from shopassist.kb.text_tokens import (
    ParsedQuery,
    cjk_grams,
    compact_code,
    has_cjk,
    parse_query,
)
from shopassist.safe_text import clean_text

# --------------------------------------------------------------------------- products


@dataclass
class _Filters:
    category_ids: list[int] | None = None
    max_price_cents: int | None = None
    in_stock: bool = False

    def sql(self, rowid: str) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.category_ids is not None:
            marks = ", ".join("?" for _ in self.category_ids)
            clauses.append(f"(select category_id from products where id = {rowid}) in ({marks})")
            params.extend(self.category_ids)
        if self.max_price_cents is not None or self.in_stock:
            conds = [f"v.product_id = {rowid}"]
            if self.max_price_cents is not None:
                conds.append("v.price_cents <= ?")
                params.append(self.max_price_cents)
            if self.in_stock:
                conds.append("v.stock > 0")
            clauses.append(f"exists (select 1 from variants v where {' and '.join(conds)})")
        return "".join(f" and {c}" for c in clauses), params

    def variant_ok(self, variant: dict[str, Any]) -> bool:
        if self.max_price_cents is not None and variant["price_cents"] > self.max_price_cents:
            return False
        return not (self.in_stock and variant["stock"] <= 0)


def resolve_category(db: sqlite_utils.Database, name: str) -> list[int]:
    """Category ids matching a name or path (English or Chinese), with their descendants.

    Exact names win; then a substring ("hoodie" finds "Hoodies"); then a close spelling.
    """
    wanted = clean_text(name or "", single_line=True, max_chars=200).casefold()
    if not wanted:
        return []
    rows = list(db.query("select id, path, name, name_zh from categories"))

    def fields(r: dict[str, Any]) -> list[str]:
        return [str(r[k]).casefold() for k in ("path", "name", "name_zh") if r[k]]

    matched = [r for r in rows if wanted in fields(r)]
    if not matched:
        matched = [r for r in rows if any(wanted in f for f in fields(r))]
    if not matched and rows:
        names = [str(r["name"]).casefold() for r in rows]
        best = process.extractOne(wanted, names, scorer=fuzz.ratio, score_cutoff=85)
        if best is not None:
            matched = [rows[best[2]]]
    paths = [str(r["path"]) for r in matched]
    return [
        int(r["id"])
        for r in rows
        if any(r["path"] == p or str(r["path"]).startswith(p + " > ") for p in paths)
    ]


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise SearchError(f"limit must be a positive whole number, got {limit!r}")
    return min(limit, MAX_LIMIT)


def _price_to_cents(max_price: float | None) -> int | None:
    if max_price is None:
        return None
    try:
        value = float(max_price)
    except (TypeError, ValueError) as exc:
        raise SearchError(f"max_price must be a number, got {max_price!r}") from exc
    if math.isnan(value) or value < 0:
        raise SearchError(f"max_price must be zero or more, got {max_price!r}")
    if math.isinf(value):
        return None
    return int(round(value * 100))


def search_products(
    db: sqlite_utils.Database,
    query: str,
    *,
    limit: int = 10,
    category: str | None = None,
    max_price: float | None = None,
    in_stock: bool = False,
    language: str | None = None,
) -> list[ProductHit]:
    """Products matching customer text, best first. Never raises because of ``query``.

    ``category`` matches a category name or path (English or Chinese) and its children;
    an unknown category gives no results (:func:`resolve_category` tells them apart).
    ``max_price`` is in currency units; ``in_stock`` keeps products with a variant that
    has stock (and, with ``max_price``, one variant that satisfies both).
    """
    limit = _check_limit(limit)
    filters = _Filters(max_price_cents=_price_to_cents(max_price), in_stock=bool(in_stock))
    if category is not None and str(category).strip():
        filters.category_ids = resolve_category(db, str(category))
        if not filters.category_ids:
            return []
    parsed = parse_query(query)
    if parsed.empty:
        return []
    if not _has_table(db, "products_fts"):
        ensure_search_index(db)
    vocab = product_vocabulary(db)
    where, fparams = filters.sql("products_fts.rowid")
    sql = f"select rowid, rank from products_fts where products_fts match ?{where} order by rank limit ?"
    budget = _partial_budget(vocab)
    found, groups = _match(
        db,
        "products_fts",
        sql,
        fparams,
        parsed,
        vocab,
        limit,
        lambda gs: _or_expr(gs, vocab, budget=budget, columns=_NAME_COLUMNS_FILTER),
    )
    sku_variants = _exact_skus(db, parsed.sku_candidates, filters)
    top = max((s for s, _ in found.values()), default=0.0)
    for pid in sku_variants:
        found[pid] = (top + SKU_BONUS, "sku")
    ranked = sorted(found.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    lang = language if language in ("en", "zh") else parsed.language
    return _hydrate(db, ranked, parsed, groups, sku_variants, filters, lang)


_NAME_COLUMNS_FILTER = "{" + " ".join(_PARTIAL_COLUMNS) + "}"


def _partial_budget(vocab: Vocabulary) -> int:
    """How many name matches a partial query may rank: enough for any real query."""
    return max(1500, vocab.documents // 60)


def _has_table(db: sqlite_utils.Database, name: str) -> bool:
    # One cheap catalog probe; databases opened through open_db always have the indexes.
    return db.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() is not None


def _exact_skus(
    db: sqlite_utils.Database, candidates: Sequence[str], filters: _Filters
) -> dict[int, int]:
    """product id -> variant id for query chunks that are a visible product's SKU."""
    out: dict[int, int] = {}
    for cand in candidates:
        for variant_id, product_id in db.execute(
            "select id, product_id from variants where sku = ? collate nocase", [cand]
        ).fetchall():
            out.setdefault(int(product_id), int(variant_id))
    if not out:
        return out
    where, params = filters.sql("products_fts.rowid")
    marks = ", ".join("?" for _ in out)
    visible = {
        int(r[0])
        for r in db.execute(
            f"select rowid from products_fts where rowid in ({marks}){where}",
            [*out, *params],
        ).fetchall()
    }
    return {pid: vid for pid, vid in out.items() if pid in visible}


def _needles(parsed: ParsedQuery, groups: Sequence[_Group]) -> list[str]:
    """Strings to look for in a text when cutting its snippet, longest first."""
    needles: set[str] = set(parsed.cjk_runs)
    for run in parsed.cjk_runs:
        needles.update(g for g in cjk_grams(run) if len(g) > 1)
    for g in groups:
        if g.token.kind != "cjk":
            needles.add(g.token.text if g.token.kind == "word" else " ".join(g.token.terms))
            needles.update(a.strip('"* ') for a in g.alternatives[1:] if '"' in a)
    return sorted((n for n in needles if n), key=len, reverse=True)


_WORD_BOUNDARY = re.compile(r"\s")


def excerpt(text: str | None, needles: Sequence[str], width: int = SNIPPET_CHARS) -> str | None:
    """A window of ``text`` around the first needle found, or None if none occurs."""
    if not text:
        return None
    flat = clean_text(text, single_line=True)
    low = flat.lower()
    if len(low) != len(flat):  # a case mapping changed lengths; positions would be off
        low = flat
    positions = [p for p in (low.find(n) for n in needles) if p >= 0]
    if not positions:
        return None
    return _window(flat, min(positions), width)


def _window(flat: str, pos: int, width: int) -> str:
    if len(flat) <= width:
        return flat
    start = max(0, min(pos - width // 3, len(flat) - width))
    end = start + width
    if start > 0:
        space = _WORD_BOUNDARY.search(flat, start, min(start + 15, pos))
        start = space.end() if space else start
    if end < len(flat):
        spaces = [m.start() for m in _WORD_BOUNDARY.finditer(flat, max(end - 15, pos + 1), end)]
        end = spaces[-1] if spaces else end
    return ("…" if start > 0 else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


def head(text: str | None, width: int = SNIPPET_CHARS) -> str:
    flat = clean_text(text or "", single_line=True)
    return _window(flat, 0, width) if flat else ""


def _pick_snippet(
    product: dict[str, Any], needles: Sequence[str], language: str
) -> tuple[str, str]:
    """The description passage that matched; else the description's start.

    A match in the title alone still yields the description, which says more than a
    repeat of the title would.
    """
    order = (
        ["description_zh", "description"] if language == "zh" else ["description", "description_zh"]
    )
    for field_name in order:
        found = excerpt(product.get(field_name), needles)
        if found:
            return found, field_name
    for field_name in order:
        if product.get(field_name):
            return head(product[field_name]), field_name
    title = "title_zh" if language == "zh" and product.get("title_zh") else "title"
    return head(product.get(title)), title


def _option_values(variant: dict[str, Any]) -> list[str]:
    values = [variant.get("colour"), variant.get("size")]
    try:
        options = json.loads(variant.get("options") or "{}")
    except ValueError:
        options = {}
    if isinstance(options, dict):
        values.extend(str(v) for v in options.values() if v is not None)
    return [str(v) for v in values if v]


def _best_variant(
    variants: list[dict[str, Any]],
    parsed: ParsedQuery,
    query_text: str,
    sku_variant: int | None,
    filters: _Filters,
) -> tuple[dict[str, Any] | None, bool]:
    if not variants:
        return None, False
    if sku_variant is not None:
        for v in variants:
            if v["id"] == sku_variant:
                return v, True
    compact_query = {compact_code(c) for c in parsed.sku_candidates}
    for v in variants:
        if v["sku"] and compact_code(v["sku"]) in compact_query:
            return v, True
    eligible = [v for v in variants if filters.variant_ok(v)] or variants

    def option_hits(v: dict[str, Any]) -> int:
        hits = 0
        for value in _option_values(v):
            if has_cjk(value):
                hits += value in query_text
                continue
            words = re.findall(r"[^\W_]+", value.lower())
            hits += bool(words) and all(w in parsed.words for w in words)
        return hits

    scored = sorted(
        eligible, key=lambda v: (-option_hits(v), v["stock"] <= 0, v["position"], v["id"])
    )
    best = scored[0]
    return best, option_hits(best) > 0


def _cents(value: int | None) -> float | None:
    return None if value is None else round(value / 100, 2)


def _hydrate(
    db: sqlite_utils.Database,
    ranked: list[tuple[int, tuple[float, MatchKind]]],
    parsed: ParsedQuery,
    groups: Sequence[_Group],
    sku_variants: dict[int, int],
    filters: _Filters,
    language: str,
) -> list[ProductHit]:
    if not ranked:
        return []
    ids = [pid for pid, _ in ranked]
    marks = ", ".join("?" for _ in ids)
    products = {
        r["id"]: r
        for r in db.query(
            "select p.id, p.handle, p.title, p.title_zh, p.brand, p.description, "
            "p.description_zh, c.path as category, c.name_zh as category_zh "
            "from products p left join categories c on c.id = p.category_id "
            f"where p.id in ({marks})",
            ids,
        )
    }
    variants: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for v in db.query(
        "select id, product_id, sku, title, options, colour, size, price_cents, currency, "
        f"stock, position from variants where product_id in ({marks}) order by position, id",
        ids,
    ):
        variants[v["product_id"]].append(v)
    needles = _needles(parsed, groups)
    query_text = " ".join(parsed.cjk_runs)
    hits = []
    for pid, (score, match) in ranked:
        p = products.get(pid)
        if p is None:  # deleted since it was indexed
            continue
        vs = variants.get(pid, [])
        best, matched = _best_variant(vs, parsed, query_text, sku_variants.get(pid), filters)
        min_cents = min((v["price_cents"] for v in vs), default=None)
        stock = sum(max(int(v["stock"]), 0) for v in vs)
        snippet, snippet_field = _pick_snippet(p, needles, language)
        hits.append(
            ProductHit(
                id=pid,
                source_id=f"product:{pid}",
                handle=p["handle"],
                title=p["title"],
                title_zh=p["title_zh"],
                brand=p["brand"],
                category=p["category"],
                category_zh=p["category_zh"],
                score=score,
                match=match,
                snippet=snippet,
                snippet_field=snippet_field,
                currency=(best or {}).get("currency") or "USD",
                min_price_cents=min_cents,
                min_price=_cents(min_cents),
                total_stock=stock,
                in_stock=stock > 0,
                sku=best["sku"] if best else None,
                variant_id=best["id"] if best else None,
                variant_title=best["title"] if best else None,
                variant_price_cents=best["price_cents"] if best else None,
                variant_stock=best["stock"] if best else None,
                variant_matched=matched,
            )
        )
    return hits


def get_product(db: sqlite_utils.Database, product_id: int) -> ProductDetail | None:
    """One product with its variants, specs and tags; None if there is no such product."""
    rows = list(
        db.query(
            "select p.*, c.path as category, c.name_zh as category_zh from products p "
            "left join categories c on c.id = p.category_id where p.id = ?",
            [int(product_id)],
        )
    )
    if not rows:
        return None
    p = rows[0]
    try:
        specs = json.loads(p["specs"] or "{}")
    except ValueError:
        specs = {}
    tags = [
        r["name"]
        for r in db.query(
            "select t.name from product_tags pt join tags t on t.id = pt.tag_id "
            "where pt.product_id = ? order by t.name",
            [p["id"]],
        )
    ]
    variants = []
    for v in db.query(
        "select * from variants where product_id = ? order by position, id", [p["id"]]
    ):
        try:
            options = json.loads(v["options"] or "{}")
        except ValueError:
            options = {}
        variants.append(
            VariantInfo(
                id=v["id"],
                source_id=f"variant:{v['id']}",
                sku=v["sku"],
                title=v["title"],
                options=options if isinstance(options, dict) else {},
                colour=v["colour"],
                size=v["size"],
                price_cents=v["price_cents"],
                price=v["price_cents"] / 100,
                compare_at_cents=v["compare_at_cents"],
                currency=v["currency"],
                stock=v["stock"],
                in_stock=v["stock"] > 0,
                barcode=v["barcode"],
            )
        )
    min_cents = min((v.price_cents for v in variants), default=None)
    stock = sum(v.stock for v in variants)
    return ProductDetail(
        id=p["id"],
        source_id=f"product:{p['id']}",
        handle=p["handle"],
        title=p["title"],
        title_zh=p["title_zh"],
        description=p["description"] or "",
        description_zh=p["description_zh"],
        brand=p["brand"],
        product_type=p["product_type"],
        category=p["category"],
        category_zh=p["category_zh"],
        tags=tags,
        specs=specs if isinstance(specs, dict) else {},
        status=p["status"],
        variants=variants,
        currency=variants[0].currency if variants else "USD",
        min_price_cents=min_cents,
        min_price=_cents(min_cents),
        total_stock=stock,
        in_stock=stock > 0,
    )


# --- a per-write-state cache of product details ---------------------------------------------

_DETAIL_CACHE: dict[tuple[int, int, int], ProductDetail | None] = {}
_DETAIL_CACHE_MAX = 2048


def get_product_cached(db: sqlite_utils.Database, product_id: int) -> ProductDetail | None:
    """``get_product``, remembered until this connection writes anything.

    One turn looks the same product up many times (references, constraints, the reply);
    the key includes ``total_changes``, so any write on the connection (a stock change,
    the turn being recorded) makes the next look-up read the database again.
    """
    key = (id(db.conn), db.conn.total_changes, int(product_id))
    if key in _DETAIL_CACHE:
        return _DETAIL_CACHE[key]
    if len(_DETAIL_CACHE) >= _DETAIL_CACHE_MAX:
        _DETAIL_CACHE.clear()
    found = get_product(db, product_id)
    _DETAIL_CACHE[key] = found
    return found
