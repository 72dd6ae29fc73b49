"""What a product question asks for: a kind of product, a price limit, a colour, a size.

"Do you have blue hoodies under 60 dollars?" is a request for products in Clothing >
Hoodies, at most $60, with a blue variant. Full-text search alone ranks any product that
shares a word with the message ("do", "have"), so the retrieve stage narrows the search
with what is parsed here and never lists headphones for a hoodie question.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sqlite_utils
from pydantic import BaseModel, Field

from shopassist.engine.dialogue.lexicon import colour_matches, lexicon
from shopassist.engine.dialogue.references import reference_filler
from shopassist.engine.nlu.result import NLUResult
from shopassist.kb.policies import load_policy as shop_policy
from shopassist.kb.search import (
    ProductDetail,
    ProductHit,
    catalog,
    get_product_cached,
    search_products,
)

# How far before an amount a marker may stand: "under 60 dollars", "less than about $60".
MARKER_WINDOW = 24


class ProductRequest(BaseModel):
    category: str | None = None  # a category path, "Clothing > Hoodies"
    category_word: str | None = None  # the customer's word for it, "hoodies"
    max_price: float | None = None  # in currency units, like search_products takes
    min_price: float | None = None
    currency: str | None = None
    # A budget in another currency ("200元以内"): the customer's words, and the rate that
    # turned it into the shop's currency (None: no rate, so no price filter was applied).
    asked_money: str | None = None
    asked_currency: str | None = None
    rate: float | None = None
    colours: list[str] = Field(default_factory=list)  # as the NLU normalised them ("Blue")
    sizes: list[str] = Field(default_factory=list)
    # Words that describe the product ("waterproof"): each must be in a listed product's
    # title, description, specs or tags. Found by attribute_words, not a fixed list.
    attributes: list[str] = Field(default_factory=list)

    @property
    def wants_variant(self) -> bool:
        return bool(self.colours or self.sizes)


def parse_request(db: sqlite_utils.Database, nlu: NLUResult, text: str) -> ProductRequest:
    req = ProductRequest(
        colours=list(dict.fromkeys(str(e.value) for e in nlu.entities if e.type == "colour")),
        sizes=[
            str(e.value)
            for e in nlu.entities
            if e.type == "size" and _plausible_size(text, e.start, e.end)
        ],
    )
    money = nlu.first("money")
    if money is not None and isinstance(money.value, dict) and money.value.get("amount"):
        amount: float | None = float(money.value["amount"])
        shop_currency = _shop_currency(db)
        currency = str(money.value.get("currency") or shop_currency).upper()
        req.currency = shop_currency
        if currency != shop_currency:
            # Prices are in the shop's currency; a budget in another is converted with
            # the policy's rate, or dropped (the reply says so) when there is none.
            req.asked_money, req.asked_currency = money.text, currency
            req.rate = _exchange_rate(db, currency)
            amount = round(float(money.value["amount"]) * req.rate, 2) if req.rate else None
        before = text[max(0, money.start - MARKER_WINDOW) : money.start].lower()
        after = text[money.end : money.end + 6].lower()
        lex = lexicon()
        # Under first: "不超过" (not more than) contains "超过" (more than).
        under = lex.price_under.search(before) or lex.price_under.search(after)
        if amount is None:
            pass
        elif not under and (lex.price_over.search(before) or lex.price_over.search(after)):
            req.min_price = amount
        else:  # "under $60", "300元以下", or a bare budget: "hoodies for $60"
            req.max_price = amount
    found = find_category(db, text)
    if found is not None:
        req.category_word, req.category = found
    return req


def _shop_currency(db: sqlite_utils.Database) -> str:
    """The shop's currency from its policy, else the one its catalog prices are in."""
    currency = shop_policy(db).get("shop.currency")
    if currency:
        return str(currency)
    return catalog.catalog_currency(db)


def _exchange_rate(db: sqlite_utils.Database, currency: str) -> float | None:
    rates = shop_policy(db).get("exchange_rates") or {}
    rate = rates.get(currency)
    return float(rate) if rate else None


def _plausible_size(text: str, start: int, end: int) -> bool:
    """A size the classifier found that is really part of the wording.

    "How long do refunds take?" is not about size Long, and the "s" of "sizes" is not
    size S.
    """
    word = text[start:end].lower()
    before = text[start - 1 : start] if start > 0 else ""
    after = text[end : end + 1]
    if word.isascii() and word.isalpha() and (before.isalpha() or after.isalpha()):
        return False
    return word != "long" or not re.search(r"how\s+long", text[max(0, start - 5) : end].lower())


def size_matches(wanted: str, size: str | None) -> bool:
    """ "42" fits "US 9 / EU 42"; "M" fits "M" but not "XM"."""
    if not size:
        return False
    want, have = wanted.strip().lower(), size.strip().lower()
    if not want:
        return False
    parts = re.split(r"\s*/\s*", have)  # "US 8" fits "US 8 / EU 41"
    return want == have or want in parts or want in re.split(r"[\s/,;()]+", have)


_NUMBER = re.compile(r"\d+(?:\.5)?")


def sizes_in_text(text: str, p: ProductDetail, nlu: NLUResult | None = None) -> list[str]:
    """Sizes of the product's own size system that the message gives ("US 8", "a 32
    waist"), read with the catalog's labels as patterns: "US 9 / EU 42" teaches "US <n>"
    and "EU <n>"; a bare number counts for a product sized in bare numbers, within the
    range it is sold in. A size the product is not sold in is still found, so the reply
    can say it is not available. Numbers inside the product's name or another entity
    (a price, an order number) are not sizes."""
    low = text.lower()
    masked = low
    for name in (p.title.lower(), (p.title_zh or "").lower()):
        for word in re.findall(r"[a-z]*\d+[a-z]*", name):
            masked = re.sub(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", " " * len(word), masked)
    for e in nlu.entities if nlu is not None else []:
        if e.type != "size":
            masked = masked[: e.start] + " " * (e.end - e.start) + masked[e.end :]
    prefixes: set[str] = set()
    numbers: list[float] = []
    for v in p.variants:
        for part in re.split(r"\s*/\s*", (v.size or "").lower()):
            m = re.fullmatch(r"([a-z]+)\s*(\d+(?:\.5)?)", part)
            if m:
                prefixes.add(m.group(1))
            elif _NUMBER.fullmatch(part):
                numbers.append(float(part))
    found: list[str] = []
    for prefix in sorted(prefixes):
        for m in re.finditer(rf"(?<![a-z]){prefix}\s*(\d+(?:\.5)?)(?![\d.])", masked):
            found.append(f"{prefix.upper()} {m.group(1)}")
    if numbers and not found:
        low_n, high_n = min(numbers), max(numbers)
        for m in re.finditer(r"(?<![\d.$])(\d+(?:\.5)?)(?![\d.%])", masked):
            if low_n <= float(m.group(1)) <= high_n:
                found.append(m.group(1))
    return list(dict.fromkeys(found))


def find_category(db: sqlite_utils.Database, text: str) -> tuple[str, str] | None:
    """The customer's word for a kind of product and the category path it names, if any."""
    low = text.lower()
    best: tuple[str, str] | None = None
    for word, path in _category_words(_db_key(db), db):
        if word.isascii():
            hit = re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", low)
        else:
            hit = re.search(re.escape(word), low)
        # The longest word wins: "running shoes" names Running, not all of Shoes.
        if hit and (best is None or len(word) > len(best[0])):
            best = (text[hit.start() : hit.end()], path)
    return best


def _db_key(db: sqlite_utils.Database) -> tuple[int, int, int]:
    count, top = catalog.categories_version(db)
    return (id(db.conn), count, top)


@lru_cache(maxsize=8)
def _category_words(_key: Any, db: sqlite_utils.Database) -> tuple[tuple[str, str], ...]:
    rows = catalog.category_names(db)
    by_name = {str(r["name"]).lower(): str(r["path"]) for r in rows}
    words: dict[str, str] = {}
    for r in rows:
        path = str(r["path"])
        for part in re.split(r"\s*[&,/]\s*", str(r["name"]).lower()):
            if len(part) < 3:
                continue
            words.setdefault(part, path)
            if part.endswith("s") and len(part) > 3:
                words.setdefault(part[:-1], path)  # "hoodies" / "hoodie", "shoes" / "shoe"
        if r["name_zh"]:
            words.setdefault(str(r["name_zh"]), path)
    for word, name in lexicon().category_words.items():
        found = by_name.get(name.lower()) or next(
            (str(r["path"]) for r in rows if str(r["path"]).lower() == name.lower()), None
        )
        if found:
            words[word] = found
    return tuple(words.items())


# --- attributes: "a jacket that's actually waterproof" ------------------------------------------

_WORD = re.compile(r"[a-z][a-z-]{3,}")


def attribute_words(
    db: sqlite_utils.Database, nlu: NLUResult, req: ProductRequest, *, language: str
) -> list[str]:
    """The message's words that name a feature the catalog records for products.

    A feature is what a product's title, tags or spec names carry ("waterproof" as a tag,
    "Waterproof rating" as a spec): where the catalog states it, a product without it
    does not have it. Words found only in descriptions ("for the beach") or nowhere
    ("looking", "spend") are chat, not constraints. Filler words, the kind itself and the
    price, colour or size the message gave are skipped.
    """
    if not req.category:
        return []
    text = nlu.text
    for e in sorted(nlu.entities, key=lambda e: -e.start):
        text = text[: e.start] + " " + text[e.end :]
    kind_words = set(_WORD.findall((req.category_word or "").lower()))
    kind_words |= set(_WORD.findall(req.category.lower()))
    filler = reference_filler()
    found: list[str] = []
    for word in dict.fromkeys(_WORD.findall(text.lower())):
        stem = word[:-1] if word.endswith("s") and len(word) > 4 else word
        if word in filler or word in kind_words or stem in kind_words:
            continue
        # Of that kind first; else anywhere ("waterproof hoodies" where only jackets are):
        # then it is a constraint no product of that kind satisfies.
        for category in (req.category, None):
            hits = search_products(db, word, limit=10, category=category, language=language)
            if any(_has_feature(get_product_cached(db, h.id), word) for h in hits):
                found.append(word)
                break
    return found


def _has_feature(p: ProductDetail | None, word: str) -> bool:
    """Does the catalog record the feature for this product: in its title, product type,
    tags or spec names (not its description, which may say "not waterproof")."""
    if p is None:
        return False
    text = " ".join([p.title, p.product_type or "", " ".join(p.tags), " ".join(p.specs)]).lower()
    return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None


def has_attributes(db: sqlite_utils.Database, product_id: int, attributes: list[str]) -> bool:
    p = get_product_cached(db, product_id)
    return all(_has_feature(p, w) for w in attributes)


# --- searching with a request -----------------------------------------------------------------


def search_request(
    db: sqlite_utils.Database,
    text: str,
    req: ProductRequest,
    *,
    limit: int,
    language: str,
) -> list[ProductHit]:
    """Search hits that fit the request: of its kind and within its price.

    Hits that match every word of the message (or a SKU) push out partial matches, so a
    word shared by chance does not put an unrelated product on the list.
    """
    fetch = max(limit * 3, 10)
    kwargs: dict[str, Any] = {"language": language, "max_price": req.max_price}
    if req.category:
        hits = search_products(db, text, limit=fetch, category=req.category, **kwargs)
        if not hits and req.category_word:  # "any hoodies?" - everything of that kind
            hits = search_products(
                db, req.category_word, limit=fetch, category=req.category, **kwargs
            )
        if not hits:
            hits = search_products(
                db, req.category.split(" > ")[-1], limit=fetch, category=req.category, **kwargs
            )
    else:
        hits = search_products(db, text, limit=fetch, **kwargs)
        full = [h for h in hits if h.match in ("sku", "all")]
        hits = full or hits
    if req.min_price is not None:
        floor = round(req.min_price * 100)
        hits = [h for h in hits if catalog.max_price_cents(db, h.id) >= floor]
    return hits


def matching_variants(p: ProductDetail, req: ProductRequest) -> list[Any]:
    """The product's variants with the colour and size asked for (all when none was asked)."""
    out = []
    for v in p.variants:
        if req.colours and not any(colour_matches(c, v.colour) for c in req.colours):
            continue
        if req.sizes and not any(size_matches(s, v.size) for s in req.sizes):
            continue
        if req.max_price is not None and v.price_cents > round(req.max_price * 100):
            continue
        out.append(v)
    return out


def variant_filter(
    db: sqlite_utils.Database, hits: list[ProductHit], req: ProductRequest
) -> tuple[list[ProductHit], bool]:
    """Hits that have a variant in the colour/size asked for; (hits, True) when some do.

    When none does, the hits come back unchanged with False, so the reply can say that
    nothing comes in that colour and still show what there is of that kind.
    """
    if not req.wants_variant:
        return hits, True
    kept = []
    for h in hits:
        p = get_product_cached(db, h.id)
        if p is not None and matching_variants(p, req):
            kept.append(h)
    return (kept, True) if kept else (hits, False)
