"""Which lines of an order a customer names, and how many of each.

"the headphones and the smart watch", "two of the tea tins", "the black XL t-shirt",
"耳机和手表": each named part is scored against every line's words (product title, product
type, category, the Chinese title), with colour and size telling apart lines of the same
product. A pure function of the order's lines and the text, so the dialogue manager can use
it to resolve "the items of the order under discussion" too. Phrase lists live in
``data/order_items.toml``; category words ("tee" -> T-Shirts, "耳机" -> Audio) come from
the dialogue lexicon.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from shopassist.engine.dialogue.lexicon import lexicon
from shopassist.engine.nlu.result import Entity

DATA = Path(__file__).parent / "data" / "order_items.toml"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+")
_ZH_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@dataclass(frozen=True)
class LineSelection:
    item: dict[str, Any]
    quantity: int


@dataclass
class ItemMatch:
    """What the text named: chosen lines, parts that fit several lines equally, and whether
    the customer asked for everything."""

    selections: list[LineSelection] = field(default_factory=list)
    ambiguous: list[list[dict[str, Any]]] = field(default_factory=list)
    all_items: bool = False

    @property
    def found(self) -> bool:
        return bool(self.selections) and not self.ambiguous


@cache
def _data() -> dict[str, Any]:
    with DATA.open("rb") as fh:
        return tomllib.load(fh)


def size_words() -> dict[str, list[str]]:
    """Size words and the option values they stand for ("small" -> S, SM; data)."""
    return {str(k).lower(): list(v) for k, v in _data().get("size_words", {}).items()}


def colour_option_names() -> set[str]:
    """Names shops give the option that holds colours (data)."""
    return {str(n).lower() for n in _data().get("colour_option_names", [])}


def refund_status_words() -> list[str]:
    """Words asking what was already refunded, not for a return (data)."""
    return [str(w).lower() for w in _data().get("refund_status_words", [])]


def request_words() -> list[str]:
    """Words that make a clause part of a request rather than its reason (data)."""
    return [str(w).lower() for w in _data().get("request_words", [])]


def _stem(word: str) -> str:
    """Plural and singular compare equal: headphones ~ headphone, glasses ~ glass."""
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _en_words(text: str) -> set[str]:
    text = text.lower().replace("-", "").replace("'", "")
    stop = set(_data()["stop_words"])
    return {_stem(w) for w in _WORD.findall(text) if w not in stop and not w.isdigit()}


def _line_vocabulary(item: dict[str, Any]) -> tuple[set[str], str]:
    """(English words, Chinese text) that name this line's product."""
    en = " ".join(
        str(item.get(k) or "")
        for k in ("product_title", "title", "product_type", "category", "category_path")
    )
    words = _en_words(en)
    zh = " ".join(str(item.get(k) or "") for k in ("title_zh", "category_zh"))
    categories = {c.strip().lower() for c in str(item.get("category_path") or "").split(">")}
    categories.add(str(item.get("category") or "").lower())
    for word, category in lexicon().category_words.items():
        if category.lower() in categories:
            if _CJK.search(word):
                zh += " " + word
            else:
                words |= _en_words(word)
    return words, zh


def _colour_words(item: dict[str, Any]) -> set[str]:
    colour = str(item.get("colour") or "").lower()
    if not colour:
        return set()
    words = set(_WORD.findall(colour)) | {colour}
    zh = lexicon().colour_names_zh
    for w in list(words):
        if w in zh:
            words.add(zh[w])
            words.add(zh[w].rstrip("色"))
    return words


def _mentions(text: str) -> list[tuple[int, int]]:
    """Spans of the separately named parts of the text."""
    seps = sorted(_data()["separators"], key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(s) for s in seps), re.IGNORECASE)
    spans, start = [], 0
    for m in pattern.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _zh_kind_named(run: str, words: set[str]) -> bool:
    """Does a Chinese kind word in ``run`` ("耳机") name this line by the English words of
    its title, type or category (data: ``zh_kind_words``)?"""
    for zh, english in _data().get("zh_kind_words", {}).items():
        if zh in run and any(_stem(w) in words for w in english):
            return True
    return False


def _score(part: str, item: dict[str, Any], all_colours: set[str]) -> tuple[int, int] | None:
    """(name hits, colour/size hits) of one named part against one line; None on a clash
    (the part names a colour or size this line does not have)."""
    low = part.lower()
    words, zh = _line_vocabulary(item)
    hits = len(_en_words(low) & words)
    for run in _ZH_RUN.findall(part):
        # The longest piece of the run the product's Chinese words contain: "耳机" in
        # "把耳机" still names 耳机.
        best = max(
            (
                len(run[i:j])
                for i in range(len(run))
                for j in range(i + 2, len(run) + 1)
                if run[i:j] in zh
            ),
            default=0,
        )
        if best < 2 and _zh_kind_named(run, words):
            best = 2
        hits += 1 if best >= 2 else 0
    extra = 0
    mine = _colour_words(item)
    named = {c for c in all_colours if re.search(rf"(?<![a-z]){re.escape(c)}(?![a-z])", low)}
    if named:
        if named & mine:
            extra += 1
        else:
            return None
    size = str(item.get("size") or "").lower()
    if size and re.search(rf"(?<![a-z0-9]){re.escape(size)}(?![a-z0-9])", low):
        extra += 1
    return hits, extra


def _quantity_in(span: tuple[int, int], entities: list[Entity]) -> int | None:
    for e in entities:
        if e.type == "quantity" and span[0] <= e.start < span[1] and isinstance(e.value, int):
            return e.value
    return None


def split_target(text: str) -> tuple[str, str]:
    """("the t-shirt", "black XL") from "change the t-shirt to black XL": which line, and
    which variant is wanted. The whole text and "" when no marker splits it."""
    low = text.lower()
    best: tuple[int, int] | None = None
    # The last marker: "I want to exchange the mat for the red one" splits at "for".
    for marker in _data()["target_markers"]:
        i = low.rfind(marker.lower())
        if i > 0 and (best is None or i > best[0] or (i == best[0] and i + len(marker) > best[1])):
            best = (i, i + len(marker))
    if best is None:
        return text, ""
    return text[: best[0]], text[best[1] :]


def match_lines(
    items: list[dict[str, Any]], text: str, entities: list[Entity] | None = None
) -> ItemMatch:
    """The order lines ``text`` names, with quantities (capped at what was ordered).

    ``items`` are order lines (``kb.order_actions.order_lines``); ``entities`` the NLU's, for
    quantities ("two of the mugs"). A part naming nothing on the order is ignored; a part
    that fits several lines equally well is reported as ambiguous.
    """
    entities = entities or []
    result = ItemMatch()
    low = text.lower()
    if any(w in low for w in _data()["all_words"]):
        result.all_items = True
        result.selections = [LineSelection(i, int(i["quantity"])) for i in items]
        return result
    # Every colour word we know, so "the black t-shirt" does not name the terracotta one.
    lex = lexicon()
    all_colours = set(lex.colour_names_zh) | set(lex.colour_names_zh.values())
    all_colours |= set(lex.colour_families)
    for item in items:
        all_colours |= _colour_words(item)
    chosen: dict[int, LineSelection] = {}
    for span in _mentions(text):
        part = text[span[0] : span[1]]
        scored = []
        for item in items:
            score = _score(part, item, all_colours)
            if score is not None and (score[0] > 0 or score[1] > 0):
                scored.append((score, item))
        if not scored:
            continue
        named = [s for s in scored if s[0][0] > 0]
        pool = named or scored
        top = max(s[0][0] * 10 + s[0][1] for s in pool)
        best = [item for score, item in pool if score[0] * 10 + score[1] == top]
        if not named and len(best) != 1:
            continue  # a colour alone that fits several lines names nothing
        if len(best) > 1:
            result.ambiguous.append(best)
            continue
        item = best[0]
        wanted = _quantity_in(span, entities)
        qty = min(int(item["quantity"]), wanted) if wanted else int(item["quantity"])
        chosen[int(item["id"])] = LineSelection(item, max(1, qty))
    result.selections = list(chosen.values())
    return result
