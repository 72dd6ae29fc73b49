"""Resolving which products a message is about: named ones, "it", "the second one", "the blue
one", "the cheaper one", and part of a name: "the rain jacket", "那个亚麻T恤".

The state keeps the products mentioned (newest first) and the last list shown in order.
Position, colour and price references resolve against those; a partial name resolves
against them and the catalog, and wins over "it" when it matches another product better
than the one the conversation was about. The words that start a name phrase and the ones
that never count are data (``data/references.toml``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlite_utils

from shopassist.engine.dialogue.lexicon import _pattern, colour_matches, lexicon, matches
from shopassist.engine.dialogue.order_items import match_lines
from shopassist.engine.dialogue.state import DialogueState, MentionedProduct
from shopassist.engine.nlu.result import NLUResult
from shopassist.kb.order_actions import order_lines
from shopassist.kb.orders import find_order
from shopassist.kb.search import ProductDetail, get_product_cached, search_products
from shopassist.kb.search.vocabulary import product_vocabulary
from shopassist.text import CJK_CHAR, CJK_RUN, has_cjk

DATA = Path(__file__).parent / "data" / "references.toml"

_ORDINAL_INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}


def named_product_ids(nlu: NLUResult) -> list[int]:
    ids: list[int] = []
    for entity in nlu.entities:
        if entity.type in ("product", "sku"):
            pid = entity.meta.get("product_id")
            if pid is None and isinstance(entity.value, dict):
                pid = entity.value.get("product_id")
            if pid is None and isinstance(entity.value, int):
                pid = entity.value
            if isinstance(pid, int) and pid not in ids:
                ids.append(pid)
    return ids


def referenced_product_ids(nlu: NLUResult, state: DialogueState) -> list[int]:
    """Products the message points at without naming them; [] when it points at none."""
    text = nlu.text
    lex = lexicon()
    ordinal = lex.ordinal(text)
    if ordinal is not None:
        pool = state.shown or [m.product_id for m in state.mentioned]
        idx = _ORDINAL_INDEX[ordinal]
        if pool and (idx == -1 or idx < len(pool)):
            return [pool[idx]]
    colours = [str(e.value).lower() for e in nlu.entities if e.type == "colour"]
    if state.mentioned and matches(lex.it, text):
        return [state.mentioned[0].product_id]  # "does it come in white?": the last one
    if colours and state.mentioned:
        for m in _listed_first(state):
            # "the blue one" is the product that comes in blue (or navy, or midnight blue).
            if any(colour_matches(c, x) for c in colours for x in m.colours):
                return [m.product_id]
    if state.mentioned and (matches(lex.it, text) or colours):
        return [state.mentioned[0].product_id]
    return []


def points_at_one(text: str) -> bool:
    """Does the message point at one product by position or as "it"/"这个"?

    Then a colour or size in it is a question about that product ("第二个有白色的吗"),
    never a hint to pick another product that happens to come in that colour.
    """
    lex = lexicon()
    return lex.ordinal(text) is not None or matches(lex.it, text)


def _listed_first(state: DialogueState) -> list[MentionedProduct]:
    """Mentioned products in the order a reference looks at them: a product shown on its
    own after the last list first (the most recent product shown wins: "and the black one
    in L?" right after it), then the last list's in its order, then the rest."""
    by_id = {m.product_id: m for m in state.mentioned}
    listed = [by_id[pid] for pid in state.shown if pid in by_id]
    rest = [m for m in state.mentioned if m.product_id not in state.shown]
    if state.mentioned and state.mentioned[0].product_id not in state.shown:
        return [state.mentioned[0]] + listed + rest[1:]
    return listed + rest


@dataclass(frozen=True)
class ReferenceWords:
    determiners: re.Pattern[str]
    filler: frozenset[str]
    cheaper: re.Pattern[str]
    pricier: re.Pattern[str]
    naming_verbs: re.Pattern[str]
    shop_details: frozenset[str]
    kind_words: frozenset[str]
    max_words: int
    max_chars: int


@cache
def reference_words() -> ReferenceWords:
    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    return ReferenceWords(
        determiners=_pattern(list(raw["determiners"])),
        filler=frozenset(w.lower() for w in raw["filler_words"]),
        cheaper=_pattern(list(raw["cheaper"])),
        pricier=_pattern(list(raw["pricier"])),
        naming_verbs=_pattern(list(raw["naming_verbs"])),
        shop_details=frozenset(w.lower() for w in raw["shop_details"]),
        kind_words=frozenset(w.lower() for w in raw["kind_words"]),
        max_words=int(raw["max_words"]),
        max_chars=int(raw["max_chars"]),
    )


def reference_filler() -> frozenset[str]:
    """Words that never name or describe a product ("one", "then", "actually")."""
    return reference_words().filler


_PHRASE_END = re.compile(r"[,.;:!?，。；：！？、\n]")
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")


def name_phrases(text: str) -> list[str]:
    """The phrases after a determiner: "the rain jacket, is it..." -> ["rain jacket"]."""
    words = reference_words()
    phrases = []
    for m in words.determiners.finditer(text):
        rest = _PHRASE_END.split(text[m.end() :], maxsplit=1)[0].strip()
        if has_cjk(m.group(0)):
            latin = re.match(r"\s*[A-Za-z0-9][A-Za-z0-9 .+-]*", rest)
            # A Latin name after a Chinese word runs to its end ("有iPhone 16 Pro卖吗").
            rest = latin.group(0).strip() if latin else rest[: words.max_chars]
        else:
            rest = " ".join(rest.split()[: words.max_words])
        if rest:
            phrases.append(rest)
    return phrases


def names_something(text: str, nlu: NLUResult) -> bool:
    """Does the message name a thing (words other than filler, a colour, a size), so "we
    don't carry it" is an answer, rather than "which product do you mean?"."""
    rest = text
    for e in sorted(nlu.entities, key=lambda e: -e.start):
        rest = rest[: e.start] + " " + rest[e.end :]
    for phrase in [rest]:
        if _en_words(phrase) - {w for w in _en_words(phrase) if len(w) < 3}:
            return True
        if len(CJK_RUN.sub("", phrase)) < len(phrase) and re.search(r"[A-Za-z0-9]{2,}", phrase):
            return True  # "有iPhone 16 Pro卖吗": a Latin name inside Chinese
    return False


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _en_words(text: str) -> set[str]:
    filler = reference_words().filler
    return {_singular(w) for w in _WORD.findall(text.lower()) if w not in filler and len(w) > 1}


def _zh_pairs(text: str) -> set[str]:
    """Pairs of adjacent characters around Chinese ones ("亚麻", "T恤"): Chinese has no
    spaces, so two characters are the unit a partial name is compared by."""
    chars = [c for c in text.lower() if not c.isspace()]
    return {
        a + b
        for a, b in zip(chars, chars[1:], strict=False)
        if CJK_CHAR.match(a) or CJK_CHAR.match(b)
    }


def _name_score(phrase: str, p: ProductDetail) -> int:
    """How many of the phrase's words the product's name (title, category, type) has;
    0 unless it has more than half of the English ones, numbers aside ("iphone 16 pro"
    is neither the AeroBuds Pro nor the Kestrel Pro 16)."""
    category = (p.category or "").split(" > ")[-1]
    en_name = f"{p.title} {category} {p.product_type or ''} {' '.join(p.tags)}"
    zh_name = f"{p.title_zh or ''} {p.category_zh or ''}"
    wanted = {w for w in _en_words(phrase) if not w.isdigit()}
    score = len(wanted & _en_words(en_name))
    if score * 2 <= len(wanted) and len(wanted) > 1:
        score = 0
    if has_cjk(phrase):
        score += len(_zh_pairs(phrase) & _zh_pairs(zh_name))
    return score


@dataclass(frozen=True)
class NameMatch:
    product_id: int
    score: int


def product_by_partial_name(
    db: sqlite_utils.Database, text: str, state: DialogueState, *, language: str = "en"
) -> NameMatch | None:
    """The one product a name phrase in the message fits best; None when no phrase fits
    any product, or two fit it equally well (then it names a kind, not a product)."""
    phrases = [p for p in name_phrases(text) if _names_anything(p)]
    if not phrases:
        return None
    candidates: list[int] = list(
        dict.fromkeys(state.shown + [m.product_id for m in state.mentioned])
    )
    for phrase in phrases:
        for pid in _phrase_hits(db, phrase, language):
            if pid not in candidates:
                candidates.append(pid)
    scored: list[tuple[int, int]] = []
    for pid in candidates:
        p = get_product_cached(db, pid)
        if p is None or p.status != "active":
            continue
        scored.append((max(_phrase_score(ph, p) for ph in phrases), pid))
    scored.sort(key=lambda s: -s[0])  # stable: the conversation's products first on a tie
    if not scored or scored[0][0] == 0:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return NameMatch(product_id=scored[0][1], score=scored[0][0])


def _masked(nlu: NLUResult) -> str:
    """The message with its entities (colours, sizes, prices, numbers) blanked out: what
    is left names the product."""
    text = nlu.text
    for e in sorted(nlu.entities, key=lambda e: -e.start):
        if e.type not in ("product", "sku", "brand"):
            text = text[: e.start] + " " * (e.end - e.start) + text[e.end :]
    return text


def asks_for_a_product(text: str) -> bool:
    """Does the message use a naming verb ("do you have", "卖吗")?"""
    return matches(reference_words().naming_verbs, text)


def unknown_name(
    db: sqlite_utils.Database, nlu: NLUResult, state: DialogueState, *, language: str = "en"
) -> str | None:
    """A product name the customer gives that no product of ours has ("the 7 Chakra
    Bracelet", "iPhone 16 Pro"), in their own words; None when the message names none.

    A name is a phrase after a determiner or a naming verb (data/references.toml) with
    English words in it; it is unknown when no candidate product's name has at least half
    of them, so the reply says we don't carry it instead of showing a product that
    shares only a colour or a word with it.
    """
    if named_product_ids(nlu):
        return None
    text = _masked(nlu)
    details = reference_words().shop_details
    for phrase in name_phrases(text):
        words = {w for w in _en_words(phrase) if not w.isdigit()}
        if not words or _names_shop_details(phrase, words, details):
            continue
        candidates = list(dict.fromkeys(state.shown + [m.product_id for m in state.mentioned]))
        candidates += _phrase_hits(db, phrase, language)
        known = False
        for pid in dict.fromkeys(candidates):
            p = get_product_cached(db, pid)
            if p is not None and (
                _name_score(phrase, p) > 0
                or _has_all_but_kind(db, words, p)
                or _starts_with_its_name(phrase, p)
            ):
                known = True
                break
        if not known:
            return _trimmed(phrase)
    return None


def _phrase_score(phrase: str, p: ProductDetail) -> int:
    """_name_score, or 1 for a phrase that starts with a word of the product's name."""
    return _name_score(phrase, p) or int(_starts_with_its_name(phrase, p))


def _starts_with_its_name(phrase: str, p: ProductDetail) -> bool:
    """Does the phrase start with a word of the product's name? A phrase runs on to the
    punctuation, past the name into the question ("the puffer run small"): its first word
    is the name's, the rest may be anything."""
    filler = reference_words().filler
    first = next(
        (
            _singular(w)
            for w in _WORD.findall(phrase.lower())
            if w not in filler and len(w) > 1 and not w.isdigit()
        ),
        None,
    )
    if first is None or has_cjk(phrase):
        return False
    return first in _en_words(f"{p.title} {p.category or ''} {p.product_type or ''}")


def _has_all_but_kind(db: sqlite_utils.Database, words: set[str], p: ProductDetail) -> bool:
    """Has the product more than half of the phrase's words once the generic kind words
    the catalog never uses are left out? A catalog in another language names the kind in
    its own words: "polo shirt" is its "Camisa Polo Algodão"; in a catalog that sells
    shirts, a product without "shirt" in its name is no shirt."""
    kinds = reference_words().kind_words
    used = product_vocabulary(db).doc_freq
    core = {w for w in words if not (w in kinds and w not in used and f"{w}s" not in used)}
    if not core or core == words:
        return False
    name = _en_words(f"{p.title} {p.category or ''} {p.product_type or ''} {' '.join(p.tags)}")
    return len(core & name) * 2 > len(core)


def _names_shop_details(phrase: str, words: set[str], details: frozenset[str]) -> bool:
    """Is the phrase the shop's own contact details ("a phone number", "你们的客服电话"),
    which a customer asks for, not a product?"""
    if has_cjk(phrase):
        return any(d in phrase for d in details if has_cjk(d))
    return words <= details


def _trimmed(phrase: str) -> str:
    """The phrase without filler words at either end: "nintendo switch oled in" -> ..."""
    filler = reference_words().filler
    tokens = phrase.split()
    while tokens and tokens[-1].lower().strip("?？!！.,，") in filler:
        tokens.pop()
    while tokens and tokens[0].lower() in filler:
        tokens.pop(0)
    return " ".join(tokens).strip(" ?？!！.,，")


_HITS_CACHE: dict[tuple[int, int, str, str], list[int]] = {}


def _phrase_hits(db: sqlite_utils.Database, phrase: str, language: str) -> list[int]:
    """Search hits for a name phrase, remembered until the connection writes (one turn
    asks for the same phrase when resolving a reference and when checking a name)."""
    key = (id(db.conn), db.conn.total_changes, phrase, language)
    if key not in _HITS_CACHE:
        if len(_HITS_CACHE) > 512:
            _HITS_CACHE.clear()
        _HITS_CACHE[key] = [h.id for h in search_products(db, phrase, limit=8, language=language)]
    return _HITS_CACHE[key]


def _names_anything(phrase: str) -> bool:
    return bool(_en_words(phrase)) or len(_zh_pairs(phrase)) > 0


def _price_reference(db: sqlite_utils.Database, text: str, state: DialogueState) -> list[int]:
    """ "the cheaper one": the lowest-priced product of the last list (highest for pricier)."""
    words = reference_words()
    cheaper, pricier = matches(words.cheaper, text), matches(words.pricier, text)
    if not (cheaper or pricier) or len(state.shown) < 2:
        return []
    priced: list[tuple[int, int]] = []
    for pid in state.shown:
        p = get_product_cached(db, pid)
        if p is not None and p.variants:
            priced.append((min(v.price_cents for v in p.variants), pid))
    if not priced:
        return []
    priced.sort()
    return [priced[0][1] if cheaper else priced[-1][1]]


def _score_of(db: sqlite_utils.Database, text: str, product_id: int) -> int:
    p = get_product_cached(db, product_id)
    return max((_name_score(ph, p) for ph in name_phrases(text)), default=0) if p else 0


def resolve_product_ids(
    nlu: NLUResult,
    state: DialogueState,
    db: sqlite_utils.Database | None = None,
    *,
    language: str = "en",
) -> list[int]:
    named = named_product_ids(nlu)
    if named:
        return named
    if db is not None:
        by_price = _price_reference(db, nlu.text, state)
        if by_price:
            return by_price
    referenced = referenced_product_ids(nlu, state)
    if db is None or (referenced and lexicon().ordinal(nlu.text) is not None):
        return referenced
    found = product_by_partial_name(db, _masked(nlu), state, language=language)
    if found is not None and (
        not referenced
        or (
            found.product_id != referenced[0]
            and found.score > _score_of(db, nlu.text, referenced[0])
        )
    ):
        return [found.product_id]
    if (
        referenced
        and (not points_at_one(nlu.text) or asks_for_a_product(nlu.text))
        and unknown_name(db, nlu, state, language=language)
    ):
        # "the black 7 Chakra Bracelet" after a list, or "I want the X, is it available?":
        # a product named that we do not carry beats the topic's colour or "it"; the reply
        # says we don't carry it. ("is it good for the beach?" names no product: no verb.)
        return []
    return referenced


def order_items_named(
    db: sqlite_utils.Database, state: DialogueState, nlu: NLUResult, *, sole: bool = False
) -> list[dict[str, Any]]:
    """The lines of the order under discussion that the message names ("can I return the
    bottle?" after order 10001 was verified); with ``sole``, an order's only line when the
    message names none. Only for the verified customer's own order; the lines are matched by
    order_items.match_lines (one place decides what names a line)."""
    if not state.verified or not state.last_order:
        return []
    order = find_order(db, state.last_order)
    if order is None or order.get("customer_id") != state.customer_id:
        return []
    items = order_lines(db, int(order["id"]))
    match = match_lines(items, nlu.text, nlu.entities) if items else None
    if match is not None and match.found:
        return [s.item for s in match.selections]
    return items if sole and len(items) == 1 else []


def names_order_item(db: sqlite_utils.Database, state: DialogueState, nlu: NLUResult) -> bool:
    return bool(order_items_named(db, state, nlu))
