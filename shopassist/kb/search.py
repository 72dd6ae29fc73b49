"""Product and FAQ search: the library API the engine and the CLI call.

A query runs in up to four steps, each cheap at 100k products (docs/search.md):

1. Exact SKU look-up for chunks that look like one (an index probe).
2. FTS5 with every query token required (AND). Each token is OR-ed with its typo
   corrections, found with rapidfuzz in a vocabulary of product-name words that is
   loaded once per index version, never by scanning the catalog.
3. Only if that found nothing: a relaxed AND (see :func:`_relaxed`).
4. If there are still fewer than ``limit``, the tokens OR-ed, in the name columns only;
   those partial matches score half, so a product matching everything stays on top.

Scores are ``-bm25`` (higher is better; title weighted highest, see search_index), an
exact SKU ranks above every text match. Every hit carries a citable ``source_id`` and the
snippet it was found by, so later stages can show their sources.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sqlite_utils
from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from shopassist.kb.search_index import (
    FAQS_VERSION_KEY,
    PRODUCT_COLUMNS,
    PRODUCT_NAME_COLUMNS,
    PRODUCTS_VERSION_KEY,
    ensure_search_index,
    index_version,
    refresh_product_vocabulary,
)
from shopassist.kb.text_tokens import (
    ParsedQuery,
    QueryToken,
    cjk_grams,
    compact_code,
    has_cjk,
    parse_query,
)
from shopassist.safe_text import clean_text

log = logging.getLogger(__name__)

MAX_LIMIT = 200
SNIPPET_CHARS = 160
PARTIAL_MATCH_FACTOR = 0.5
SKU_BONUS = 10.0
MAX_CORRECTIONS = 6
MatchKind = Literal["sku", "all", "partial", "intent"]


class SearchError(ValueError):
    """A search option (not the query text, which is never an error) is invalid."""


class ProductHit(BaseModel):
    id: int
    source_id: str  # "product:42"
    handle: str
    title: str
    title_zh: str | None = None
    brand: str | None = None
    category: str | None = None  # the path: "Audio > Headphones"
    category_zh: str | None = None
    score: float
    match: MatchKind
    snippet: str = ""
    snippet_field: str = ""
    currency: str = "USD"
    min_price_cents: int | None = None
    min_price: float | None = None
    total_stock: int = 0
    in_stock: bool = False
    # The variant to talk about: the one the query named (SKU, colour, size) when
    # ``variant_matched``, else the first in-stock one.
    sku: str | None = None
    variant_id: int | None = None
    variant_title: str | None = None
    variant_price_cents: int | None = None
    variant_stock: int | None = None
    variant_matched: bool = False


class FaqHit(BaseModel):
    id: int
    source_id: str  # "faq:<key>:<lang>"
    key: str
    kind: str
    language: str
    question: str
    answer: str
    intent: str | None = None
    tags: str = ""
    score: float
    match: MatchKind
    snippet: str = ""


class VariantInfo(BaseModel):
    id: int
    source_id: str  # "variant:7"
    sku: str | None
    title: str
    options: dict[str, Any] = Field(default_factory=dict)
    colour: str | None = None
    size: str | None = None
    price_cents: int
    price: float
    compare_at_cents: int | None = None
    currency: str = "USD"
    stock: int
    in_stock: bool
    barcode: str | None = None


class ProductDetail(BaseModel):
    id: int
    source_id: str
    handle: str
    title: str
    title_zh: str | None = None
    description: str = ""
    description_zh: str | None = None
    brand: str | None = None
    product_type: str | None = None
    category: str | None = None
    category_zh: str | None = None
    tags: list[str] = Field(default_factory=list)
    specs: dict[str, Any] = Field(default_factory=dict)
    status: str = "active"
    variants: list[VariantInfo] = Field(default_factory=list)
    currency: str = "USD"
    min_price_cents: int | None = None
    min_price: float | None = None
    total_stock: int = 0
    in_stock: bool = False


# --------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """Indexed words, for deciding which query words are typos and what they meant.

    ``pool`` (words of names, brands, categories, tags, options) is what a typo is
    corrected towards, bucketed by length so one query word is compared with a few
    thousand candidates rather than the whole catalog. ``doc_freq`` counts, per term,
    the documents that name it in those columns; the partial-match query uses it to
    leave out words so common that ranking their matches would cost a catalog scan.
    """

    def __init__(self, doc_freq: dict[str, int], documents: int, pool: Iterable[str]) -> None:
        self.doc_freq = doc_freq
        self.documents = documents
        self.pool = frozenset(t for t in pool if _is_pool_word(t))
        self._by_len: dict[int, list[str]] = defaultdict(list)
        for word in self.pool:
            self._by_len[len(word)].append(word)
        self._windows: dict[int, list[str]] = {}
        self._corrections: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def _window(self, n: int) -> list[str]:
        window = self._windows.get(n)
        if window is None:
            spread = max(2, n // 4)
            window = [w for k in range(n - spread, n + spread + 1) for w in self._by_len.get(k, ())]
            self._windows[n] = window
        return window

    def corrections(self, word: str, *, include_known: bool = False) -> tuple[str, ...]:
        """Indexed words one or two edits away from ``word``, closest and commonest first.

        Empty for a known word unless ``include_known`` (a real word can be a typo of
        another: "zenra" for "zenpa"). Edits are OSA: a swapped pair of letters is one.
        """
        if len(word) < 3 or not word.isalpha() or has_cjk(word):
            return ()
        if word in self.pool and not include_known:
            return ()
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        window = self._window(len(word))
        result: tuple[str, ...] = ()
        if window:
            max_edits = 1 if len(word) <= 4 else 2
            # One query against many short strings: cdist's bit-parallel path is several
            # times faster than process.extract here.
            dist = process.cdist(
                [word], window, scorer=OSA.distance, score_cutoff=max_edits, dtype=np.uint8
            )[0]
            close = [
                (int(dist[i]), -self.doc_freq.get(window[i], 0), window[i])
                for i in np.flatnonzero(dist <= max_edits)
                if window[i] != word
            ]
            result = tuple(w for _d, _f, w in sorted(close)[:MAX_CORRECTIONS])
        with self._lock:
            if len(self._corrections) > 20_000:
                self._corrections.clear()
            self._corrections[word] = result
        return result


# Partial matches are looked for only in what names a product, not in descriptions.
_PARTIAL_COLUMNS = (*PRODUCT_NAME_COLUMNS, "title_zh", "skus")
_VOCABS: dict[tuple[str, str], tuple[str, Vocabulary]] = {}
_VOCAB_LOCK = threading.Lock()


def clear_search_caches() -> None:
    """Forget every loaded vocabulary (they reload on the next search)."""
    with _VOCAB_LOCK:
        _VOCABS.clear()


def _db_identity(db: sqlite_utils.Database) -> str:
    row = db.execute("pragma database_list").fetchone()
    return row[2] if row and row[2] else f"memory:{id(db.conn)}"


def _vocabulary(
    db: sqlite_utils.Database, table: str, version_key: str, load: Callable[[], Vocabulary]
) -> Vocabulary:
    key = (_db_identity(db), table)
    version = index_version(db, version_key)
    cached = _VOCABS.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _VOCAB_LOCK:
        cached = _VOCABS.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        vocab = load()
        _VOCABS[key] = (version, vocab)
        return vocab


def _is_pool_word(term: str) -> bool:
    return 3 <= len(term) <= 30 and term.isalpha() and not has_cjk(term)


def product_vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    def load() -> Vocabulary:
        try:
            rows = db.execute("select term, doc from products_search_vocab").fetchall()
        except sqlite3.OperationalError:  # an index built before the table existed
            refresh_product_vocabulary(db)
            rows = db.execute("select term, doc from products_search_vocab").fetchall()
        documents = db.execute("select count(*) from products_fts_docsize").fetchone()[0]
        return Vocabulary({t: int(d) for t, d in rows}, int(documents), (t for t, _ in rows))

    return _vocabulary(db, "products", PRODUCTS_VERSION_KEY, load)


def faq_vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    def load() -> Vocabulary:
        rows = db.execute("select term, doc from faqs_fts_vocab").fetchall()
        return Vocabulary({t: int(d) for t, d in rows}, len(rows), (t for t, _ in rows))

    return _vocabulary(db, "faqs", FAQS_VERSION_KEY, load)


# --------------------------------------------------------------------------- FTS queries


@dataclass
class _Group:
    """One query token and the FTS alternatives that satisfy it."""

    token: QueryToken
    alternatives: list[str]  # quoted phrases: the token itself, its compact form, corrections
    prefix: str | None = None  # '"aerob" *' for an unknown word that may be half typed

    @property
    def expr(self) -> str:
        alts = self.alternatives + ([self.prefix] if self.prefix else [])
        return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"


def _groups(
    parsed: ParsedQuery, vocab: Vocabulary | None, *, correct_known: bool = False
) -> list[_Group]:
    groups = []
    for token in parsed.tokens:
        group = _Group(token, [token.phrase])
        if token.kind == "code":
            group.alternatives.append('"' + "".join(token.terms) + '"')
        elif token.kind == "word" and vocab is not None:
            word = token.terms[0]
            if not word.isdigit():
                group.alternatives.extend(
                    f'"{c}"' for c in vocab.corrections(word, include_known=correct_known)
                )
                if len(word) >= 4 and word not in vocab.pool:
                    group.prefix = f'"{word}" *'
        groups.append(group)
    return groups


def _and_expr(groups: Sequence[_Group]) -> str:
    return " AND ".join(g.expr for g in groups)


def _wants_partial(groups: Sequence[_Group]) -> bool:
    """Whether an OR query could find something the AND query did not."""
    return len(groups) > 1 or any(g.token.kind == "cjk" and len(g.token.terms) > 1 for g in groups)


@dataclass
class _Unit:
    expr: str
    doc_freq: int
    numeric: bool = False


def _or_units(groups: Sequence[_Group], vocab: Vocabulary) -> list[_Unit]:
    units: list[_Unit] = []
    df = vocab.doc_freq
    for g in groups:
        if g.token.kind == "cjk":
            # A partial Chinese match: any of the bigrams ("无线耳机" ~ "无线降噪耳机").
            units.extend(_Unit(f'"{t}"', df.get(t, 0)) for t in g.token.terms)
        elif g.token.kind == "word":
            words = [g.token.terms[0], *(a.strip('"') for a in g.alternatives[1:])]
            expr = (
                g.alternatives[0]
                if len(g.alternatives) == 1
                else "(" + " OR ".join(g.alternatives) + ")"
            )
            units.append(_Unit(expr, sum(df.get(w, 0) for w in words), g.token.text.isdigit()))
        else:
            # SKU words are not counted in the vocabulary; a code is assumed rare.
            units.append(_Unit("(" + " OR ".join(g.alternatives) + ")", 1))
    return units


def _or_expr(
    groups: Sequence[_Group], vocab: Vocabulary, *, budget: int | None = None, columns: str = ""
) -> str | None:
    """Any of the tokens, for partial matches; None when no token could match anything.

    With a ``budget``, the rarest tokens are kept until their summed document frequency
    exceeds it (the rarest always stays), so one very common word cannot make ranking
    the partial matches scan the catalog. Numbers only count when no word matches.
    """
    units = sorted(
        (u for u in _or_units(groups, vocab) if u.doc_freq > 0), key=lambda u: u.doc_freq
    )
    units = [u for u in units if not u.numeric] or units
    if budget is not None:
        kept: list[_Unit] = []
        total = 0
        for u in units:
            if kept and total + u.doc_freq > budget:
                break
            kept.append(u)
            total += u.doc_freq
        units = kept
    if not units:
        return None
    expr = " OR ".join(dict.fromkeys(u.expr for u in units))
    return f"{columns} : ({expr})" if columns else expr


def _fts_rows(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any]
) -> list[tuple[int, float]]:
    """Run a MATCH query whose expression was built only from sanitized tokens."""
    for attempt in (1, 2):
        try:
            return [(int(r[0]), float(r[1])) for r in db.execute(sql, list(params)).fetchall()]
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if attempt == 1 and "no such table" in message:
                ensure_search_index(db)
                continue
            if "fts5" in message or "syntax" in message:
                # Cannot happen with sanitized tokens; if it ever does, a customer's
                # message must still not crash the turn.
                log.warning("FTS query rejected (%s): %r", message, params[:1])
                return []
            raise
    return []


def _joined_words(groups: list[_Group], vocab: Vocabulary) -> list[_Group]:
    """Merge two adjacent words that, written as one, are (close to) a known name word."""
    out: list[_Group] = []
    i = 0
    while i < len(groups):
        g = groups[i]
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        if nxt is not None and g.token.kind == nxt.token.kind == "word":
            a, b = g.token.text, nxt.token.text
            joined = a + b
            if joined.isalpha() and len(joined) <= 20:
                names = ([joined] if joined in vocab.pool else []) + list(vocab.corrections(joined))
                if names:
                    token = QueryToken(joined, "word", (joined,))
                    out.append(_Group(token, [f'"{a} {b}"', *(f'"{n}"' for n in names)]))
                    i += 2
                    continue
        out.append(g)
        i += 1
    return out


def _relaxed(
    db: sqlite_utils.Database,
    table: str,
    parsed: ParsedQuery,
    groups: list[_Group],
    vocab: Vocabulary,
) -> list[_Group] | None:
    """Looser groups for when no document has every token, or None if nothing changes.

    Five relaxations, one extra query: two words may be one ("air buds" for "AeroBuds");
    a Chinese run need not be contiguous ("蓝牙耳机"
    becomes 蓝牙 AND 耳机, for "蓝牙降噪耳机"); a known word may be a typo of another
    known word; a token that matches nothing at all ("please", "asap") is dropped, since
    no document could ever satisfy it; and so is a bare number ("under 80" is a price,
    which the caller passes as ``max_price``, not a word to find).
    """
    retry = _joined_words(_groups(parsed, vocab, correct_known=True), vocab)
    for g in retry:
        terms = g.token.terms
        if g.token.kind == "cjk" and len(terms) >= 2:
            # Non-overlapping bigrams, plus the last one for an odd-length run; bigrams
            # no name contains are left out ("有耳机" keeps 耳机: 有 is a verb here).
            picks = list(dict.fromkeys([*terms[::2], terms[-1]]))
            picks = [t for t in picks if vocab.doc_freq.get(t, 0) > 0] or picks
            g.alternatives = ["(" + " AND ".join(f'"{t}"' for t in picks) + ")"]
    exists = f"select 1 from {table} where {table} match ? limit 1"
    kept = [
        g
        for g in retry
        if not (g.token.kind == "word" and g.token.text.isdigit())
        and db.execute(exists, [g.expr]).fetchone() is not None
    ]
    if not kept or [g.expr for g in kept] == [g.expr for g in groups]:
        return None
    return kept


def _match(
    db: sqlite_utils.Database,
    table: str,
    sql: str,
    params: Sequence[Any],
    parsed: ParsedQuery,
    vocab: Vocabulary,
    limit: int,
    partial: Callable[[list[_Group]], str | None],
) -> tuple[dict[int, tuple[float, MatchKind]], list[_Group]]:
    """Run strict, relaxed and partial queries until ``limit`` hits; returns them and the groups used.

    ``sql`` takes the MATCH expression first, then ``params``, then the limit.
    """
    groups = _groups(parsed, vocab)
    found: dict[int, tuple[float, MatchKind]] = {}
    if not groups:
        return found, groups
    for rowid, rank in _fts_rows(db, sql, [_and_expr(groups), *params, limit]):
        found[rowid] = (-rank, "all")
    if not found:
        relaxed = _relaxed(db, table, parsed, groups, vocab)
        if relaxed is not None:
            groups = relaxed
            for rowid, rank in _fts_rows(db, sql, [_and_expr(groups), *params, limit]):
                found[rowid] = (-rank, "all")
    expr = partial(groups) if len(found) < limit and _wants_partial(groups) else None
    if expr:
        for rowid, rank in _fts_rows(db, sql, [expr, *params, limit + len(found)]):
            if rowid not in found:
                found[rowid] = (-rank * PARTIAL_MATCH_FACTOR, "partial")
    return found, groups


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


# --------------------------------------------------------------------------- FAQs


def search_faqs(
    db: sqlite_utils.Database,
    query: str,
    *,
    language: str | None = None,
    limit: int = 5,
    intent: str | None = None,
) -> list[FaqHit]:
    """FAQ and policy entries matching customer text, best first. Never raises on ``query``.

    ``language`` ('en'/'zh') and ``intent`` restrict the entries. With an ``intent`` and
    no text match, that intent's entries are returned (score 0, match "intent"), so the
    engine can fall back on what understanding decided.
    """
    limit = _check_limit(limit)
    parsed = parse_query(query)
    clauses: list[str] = []
    params: list[Any] = []
    if language:
        clauses.append("f.language = ?")
        params.append(str(language))
    if (
        intent
        and db.execute("select 1 from faqs where intent = ? limit 1", [str(intent)]).fetchone()
    ):
        # Only a filter when some entry carries it: an intent the FAQ data does not
        # use must not hide every answer.
        clauses.append("f.intent = ?")
        params.append(str(intent))
    else:
        intent = None
    where = "".join(f" and {c}" for c in clauses)
    found: dict[int, tuple[float, MatchKind]] = {}
    groups: list[_Group] = []
    if parsed.tokens:
        if not _has_table(db, "faqs_fts"):
            ensure_search_index(db)
        vocab = faq_vocabulary(db)
        sql = (
            "select faqs_fts.rowid, faqs_fts.rank from faqs_fts "
            "join faqs f on f.id = faqs_fts.rowid "
            f"where faqs_fts match ?{where} order by faqs_fts.rank limit ?"
        )
        found, groups = _match(
            db, "faqs_fts", sql, params, parsed, vocab, limit, lambda gs: _or_expr(gs, vocab)
        )
    if not found and intent:
        for (fid,) in db.execute(
            f"select f.id from faqs f where 1 = 1{where} order by f.kind, f.key limit ?",
            [*params, limit],
        ).fetchall():
            found[int(fid)] = (0.0, "intent")
    ranked = sorted(found.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    if not ranked:
        return []
    ids = [fid for fid, _ in ranked]
    marks = ", ".join("?" for _ in ids)
    rows = {r["id"]: r for r in db.query(f"select * from faqs where id in ({marks})", ids)}
    needles = _needles(parsed, groups)
    hits = []
    for fid, (score, match) in ranked:
        r = rows.get(fid)
        if r is None:
            continue
        snippet = excerpt(r["answer"], needles) or head(r["answer"])
        hits.append(
            FaqHit(
                id=fid,
                source_id=f"faq:{r['key']}:{r['language']}",
                key=r["key"],
                kind=r["kind"],
                language=r["language"],
                question=r["question"],
                answer=r["answer"],
                intent=r["intent"],
                tags=r["tags"] or "",
                score=score,
                match=match,
                snippet=snippet,
            )
        )
    return hits


__all__ = [
    "PRODUCT_COLUMNS",
    "FaqHit",
    "ProductDetail",
    "ProductHit",
    "SearchError",
    "VariantInfo",
    "get_product",
    "resolve_category",
    "search_faqs",
    "search_products",
]
