"""Rule-based entity extraction: order and invoice numbers, emails, phones, money,
quantities, dates, colours and sizes. Product mentions come from :mod:`gazetteer`.

Every extractor proposes candidates with a span into the *original* message and a
normalised value; :func:`resolve_overlaps` then keeps the longest, most confident
non-overlapping set, so one stretch of text never yields two entities.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from shopassist.engine.nlu.dates import find_dates
from shopassist.engine.nlu.result import Entity

DATA_DIR = Path(__file__).parent / "data"
MAX_ENTITY_CHARS = 5000  # entities are looked for in the first 5000 characters only


@dataclass
class Candidate:
    type: str
    value: Any
    start: int
    end: int
    confidence: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_entity(self, text: str) -> Entity:
        return Entity(
            type=self.type,
            value=self.value,
            text=text[self.start : self.end],
            start=self.start,
            end=self.end,
            confidence=round(self.confidence, 4),
            meta=self.meta,
        )


def resolve_overlaps(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Greedy: longest span first, then highest confidence; drop anything overlapping."""
    ordered = sorted(candidates, key=lambda c: (-(c.end - c.start), -c.confidence, c.start, c.type))
    taken: list[Candidate] = []
    for cand in ordered:
        if cand.end <= cand.start:
            continue
        if any(cand.start < t.end and t.start < cand.end for t in taken):
            continue
        taken.append(cand)
    taken.sort(key=lambda c: (c.start, c.end))
    return taken


# --- order and invoice numbers ------------------------------------------------------

_ORDER_EN = re.compile(
    r"\b(?:orders?|purchases?|ord|package|parcel|shipment|transaction|confirmation)\b"
    r"(?:\s*(?:number|num|nr|no|id|code|ref|reference|is|was)\.?)*"
    r"\s*[:：]?\s*(?:\#\s+)?(?P<num>\#?\d{3,20})(?![\d.,]?\d)(?!\s*(?:%|dollars?|bucks|usd|eur|euros?|rmb|元|块|pcs|pieces|items))",
    re.IGNORECASE,
)
_ORDER_ZH = re.compile(
    r"(?:订单(?:编号|号码|号)?|单号|购买记录|包裹|快递单号|编号)"
    r"\s*(?:号码|号|是|为|:|：)*\s*(?:\#\s+)?(?P<num>\#?\d{3,20})(?!\d)"
)
_HASH_NUMBER = re.compile(r"(?<![A-Za-z0-9_#])(?P<num>\#\d{4,20})(?!\d)")
_BARE_NUMBER = re.compile(r"(?<![A-Za-z0-9_#$¥￥€£.,/-])(?P<num>\d{5,20})(?![\d.,]?\d)(?![/-])")
_ORDER_CONTEXT = re.compile(
    r"order|purchase|package|parcel|shipment|deliver|track|cancel|refund|return|订单|包裹|快递|物流|退",
    re.IGNORECASE,
)
# "bi\w?ll" also catches the common typos "biull", "bilol".
_INVOICE_CONTEXT = re.compile(r"(?:invoice|bi\w?ll|receipt|发票|账单|收据)\W{0,12}$", re.IGNORECASE)
_INVOICE_CODE = re.compile(
    r"(?<![A-Za-z0-9_-])(?P<num>INV[-\s]?\d{2,}(?:-\d+)*)(?![A-Za-z0-9_-])", re.IGNORECASE
)
_INVOICE_EN = re.compile(
    r"\b(?:invoices?|bi\w?lls?|receipts?)\b(?:\s*(?:number|num|no|id|is|ref)\.?)*\s*[:：]?\s*(?:\#\s+)?"
    r"(?P<num>\#?(?:[A-Z]{2,4}-?)?\d[\d-]{2,20}\d)(?![A-Za-z0-9_])",
    re.IGNORECASE,
)
_INVOICE_ZH = re.compile(
    r"(?:发票|账单|收据)(?:号码|编号|号)?\s*(?:是|为|:|：)*\s*(?:\#\s+)?(?P<num>\#?(?:[A-Z]{2,4}-?)?\d[\d-]{2,20}\d)"
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _order_candidates(text: str) -> list[Candidate]:
    out = []
    for pattern, conf in ((_ORDER_EN, 0.97), (_ORDER_ZH, 0.97), (_HASH_NUMBER, 0.85)):
        for m in pattern.finditer(text):
            start, end = m.span("num")
            if pattern is _HASH_NUMBER and _INVOICE_CONTEXT.search(
                text[max(0, start - 20) : start]
            ):
                continue
            out.append(Candidate("order_number", _digits(m.group("num")), start, end, conf))
    if _ORDER_CONTEXT.search(text):
        for m in _BARE_NUMBER.finditer(text):
            number = m.group("num")
            if 1900 <= int(number[:4]) <= 2100 and len(number) == 4:
                continue
            start, end = m.span("num")
            out.append(Candidate("order_number", number, start, end, 0.6))
    return out


def _invoice_candidates(text: str) -> list[Candidate]:
    out = []
    for m in _INVOICE_CODE.finditer(text):
        raw = m.group("num").upper().replace(" ", "-")
        out.append(Candidate("invoice_number", raw, *m.span("num"), confidence=0.99))
    for pattern in (_INVOICE_EN, _INVOICE_ZH):
        for m in pattern.finditer(text):
            raw = m.group("num").lstrip("#").upper()
            out.append(Candidate("invoice_number", raw, *m.span("num"), confidence=0.98))
    return out


# --- emails and phones --------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_.+-])[A-Za-z0-9_.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+(?![A-Za-z0-9_-])"
)
_PHONE_INTL = re.compile(r"(?<![A-Za-z0-9_+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){1,5}(?!\d)")
_PHONE_US = re.compile(r"(?<![A-Za-z0-9_(])(?:\(\d{3}\)\s?|\d{3}[.-])\d{3}[\s.-]\d{4}(?!\d)")
_PHONE_CN = re.compile(r"(?<![\d+])1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_PHONE_CONTEXT = re.compile(
    r"(?:phone|mobile|cell|call|tel|whatsapp|电话|手机|号码)\W{0,15}$", re.I
)


def _email_candidates(text: str) -> list[Candidate]:
    return [
        Candidate("email", m.group().lower(), *m.span(), confidence=0.99)
        for m in _EMAIL.finditer(text)
    ]


def _phone_candidates(text: str) -> list[Candidate]:
    out = []
    for m in _PHONE_INTL.finditer(text):
        digits = _digits(m.group())
        if 8 <= len(digits) <= 15:
            out.append(Candidate("phone", "+" + digits, *m.span(), confidence=0.95))
    for m in _PHONE_US.finditer(text):
        out.append(Candidate("phone", "+1" + _digits(m.group()), *m.span(), confidence=0.93))
    for m in _PHONE_CN.finditer(text):
        context = _PHONE_CONTEXT.search(text[max(0, m.start() - 20) : m.start()])
        # An 11-digit run is a plausible order number too; without phone words the
        # order-number reading (with its keyword) should win the tie.
        conf = 0.98 if context else 0.9
        out.append(Candidate("phone", "+86" + _digits(m.group()), *m.span(), confidence=conf))
    return out


# --- money --------------------------------------------------------------------------

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_MONEY_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?:US\$|\$|USD\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "USD"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:dollars?|bucks|usd)\b", re.I), "USD"),
    (re.compile(rf"(?:[¥￥]|RMB\s?|CNY\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "CNY"),
    (
        re.compile(
            rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:元|块钱|块|人民币|rmb\b|cny\b)", re.I
        ),
        "CNY",
    ),
    (re.compile(rf"(?:€|EUR\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "EUR"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:euros?|eur)\b", re.I), "EUR"),
    (re.compile(rf"(?:£|GBP\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "GBP"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:pounds?|gbp)\b", re.I), "GBP"),
]


def _money_candidates(text: str) -> list[Candidate]:
    out = []
    for pattern, currency in _MONEY_PATTERNS:
        for m in pattern.finditer(text):
            amount = float(m.group("amt").replace(",", ""))
            out.append(
                Candidate(
                    "money",
                    {"amount": round(amount, 2), "currency": currency},
                    *m.span(),
                    confidence=0.96,
                )
            )
    return out


# --- quantities ---------------------------------------------------------------------

_EN_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "a couple of": 2, "a pair of": 2, "a dozen": 12, "single": 1, "double": 2,
}  # fmt: skip
_ZH_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "几": 3,
}
_UNITS_EN = r"(?:pcs|pc|pieces?|items?|units?|pairs?|packs?|boxes|box|bottles?|sets?|of\s+(?:them|these|those|it))"
_QTY_DIGITS = re.compile(rf"(?<![A-Za-z0-9_.$¥￥#])(?P<n>\d{{1,3}})\s?{_UNITS_EN}\b", re.I)
_QTY_TIMES = re.compile(
    r"(?<![A-Za-z0-9_.])(?:x\s?(?P<a>\d{1,3})|(?P<b>\d{1,3})\s?x)(?![A-Za-z0-9_.])", re.I
)
_QTY_LABEL = re.compile(r"\b(?:qty|quantity|数量)\s*[:：=]?\s*(?P<n>\d{1,4})(?!\d)", re.I)
_QTY_WORD = re.compile(
    r"\b(?P<w>a couple of|a pair of|a dozen|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)\b"
    r"|\b(?P<one>one|single)\s+(?=" + _UNITS_EN[3:-1] + r"|more\b)",
    re.I,
)
_QTY_VERB = re.compile(
    r"\b(?:buy|order|want|need|get|add|take|ordered|bought|send|return)\s+(?P<n>\d{1,3})(?!\s*[\d.,%$]|\s*(?:dollars?|bucks|usd|days?|weeks?|months?|years?|hours?|minutes?))\b",
    re.I,
)
_QTY_ZH = re.compile(
    r"(?P<n>\d{1,4}|[一二两三四五六七八九十几]{1,3})\s?(?P<u>件|个|只|双|条|台|把|套|盒|瓶|包|份|部|副|箱|张|支|顶|本)"
)


def _zh_int(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        head, _, tail = text.partition("十")
        return _ZH_NUMBERS.get(head, 1) * 10 + (_ZH_NUMBERS.get(tail, 0) if tail else 0)
    return _ZH_NUMBERS.get(text[0], 1)


def _quantity_candidates(text: str) -> list[Candidate]:
    out = []
    for m in _QTY_DIGITS.finditer(text):
        out.append(Candidate("quantity", int(m.group("n")), *m.span(), confidence=0.9))
    for m in _QTY_TIMES.finditer(text):
        out.append(
            Candidate("quantity", int(m.group("a") or m.group("b")), *m.span(), confidence=0.8)
        )
    for m in _QTY_LABEL.finditer(text):
        out.append(Candidate("quantity", int(m.group("n")), *m.span(), confidence=0.9))
    for m in _QTY_WORD.finditer(text):
        if m.group("w"):
            word = m.group("w").lower()
            out.append(Candidate("quantity", _EN_NUMBER_WORDS[word], *m.span("w"), confidence=0.75))
        else:
            out.append(Candidate("quantity", 1, *m.span("one"), confidence=0.7))
    for m in _QTY_VERB.finditer(text):
        out.append(Candidate("quantity", int(m.group("n")), *m.span("n"), confidence=0.7))
    for m in _QTY_ZH.finditer(text):
        n = _zh_int(m.group("n"))
        # "一个问题", "这个": 一 with a generic measure word is rarely a quantity.
        conf = 0.6 if m.group("n") == "一" and m.group("u") == "个" else 0.88
        out.append(Candidate("quantity", n, *m.span(), confidence=conf))
    return out


# --- dates --------------------------------------------------------------------------


def _date_candidates(text: str, today: dt.date) -> list[Candidate]:
    return [
        Candidate("date", value, start, end, 0.9, {"granularity": granularity})
        for start, end, value, granularity in find_dates(text, today)
    ]


# --- colours and sizes ----------------------------------------------------------------


@dataclass
class OptionVocabulary:
    """Colour and size names: the catalog's own values plus customers' synonyms."""

    colours: dict[str, str]  # alias (lower) -> canonical
    sizes: dict[str, str]
    families: dict[str, str]
    ambiguous: frozenset[str]
    catalog_sizes: list[str]
    pattern: re.Pattern[str] | None = None

    def compile(self) -> None:
        aliases = sorted(set(self.colours) | set(self.sizes), key=len, reverse=True)
        if not aliases:
            self.pattern = None
            return
        body = "|".join(re.escape(a) for a in aliases)
        self.pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=1)
def load_option_synonyms() -> dict[str, Any]:
    with (DATA_DIR / "option_synonyms.toml").open("rb") as fh:
        return tomllib.load(fh)


def build_option_vocabulary(
    catalog_colours: Iterable[str] = (), catalog_sizes: Iterable[str] = ()
) -> OptionVocabulary:
    data = load_option_synonyms()
    colours: dict[str, str] = {}
    sizes: dict[str, str] = {}
    for canonical, aliases in data.get("colour", {}).items():
        colours[canonical.lower()] = canonical
        for alias in aliases:
            colours.setdefault(alias.lower(), canonical)
    for canonical, aliases in data.get("size", {}).items():
        # One-letter sizes need context (see _size_letter_candidates), so skip them here.
        if len(canonical) > 1:
            sizes[canonical.lower()] = canonical
        for alias in aliases:
            sizes.setdefault(alias.lower(), canonical)
    for value in catalog_colours:
        if value and value.strip():
            colours[value.strip().lower()] = value.strip()
    size_list = sorted({s.strip() for s in catalog_sizes if s and s.strip()})
    for value in size_list:
        if len(value) > 1 and not value.isdigit():
            sizes[value.lower()] = value
    vocab = OptionVocabulary(
        colours=colours,
        sizes=sizes,
        families=dict(data.get("colour_family", {})),
        ambiguous=frozenset(a.lower() for a in data.get("ambiguous", {}).get("aliases", [])),
        catalog_sizes=size_list,
    )
    vocab.compile()
    return vocab


_SIZE_CONTEXT = re.compile(
    r"(?:\bsize\s*[:：]?\s*|尺码\s*[:：]?\s*|码数\s*[:：]?\s*|\bin\s+(?:an?\s+)?)"
    r"(?P<v>XXXL|XXL|XXS|XS|XL|S|M|L|\d{1,2}(?:\.5)?)(?![A-Za-z0-9_.])",
    re.IGNORECASE,
)
_SIZE_SUFFIX = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<v>XXXL|XXL|XXS|XS|XL|S|M|L|\d{2}(?:\.5)?)\s?(?:码|号)", re.I
)
_SIZE_CAPITAL = re.compile(r"(?<![A-Za-z0-9_'’.-])(?P<v>S|M|L)(?![A-Za-z0-9_'’.-])")


def _size_value(raw: str, vocab: OptionVocabulary) -> tuple[str, dict[str, Any]]:
    upper = raw.upper()
    if not upper[0].isdigit():
        return upper, {}
    matches = [
        s for s in vocab.catalog_sizes if re.search(rf"(?<![\d.]){re.escape(raw)}(?![\d.])", s)
    ]
    return raw, ({"catalog_values": matches} if matches else {})


def _option_candidates(text: str, vocab: OptionVocabulary) -> list[Candidate]:
    out = []
    if vocab.pattern is not None:
        for m in vocab.pattern.finditer(text):
            alias = m.group().lower()
            if alias in vocab.colours:
                canonical = vocab.colours[alias]
                meta = {"family": vocab.families.get(canonical, canonical)}
                conf = 0.55 if alias in vocab.ambiguous else 0.92
                out.append(Candidate("colour", canonical, *m.span(), confidence=conf, meta=meta))
            elif alias in vocab.sizes:
                conf = 0.55 if alias in vocab.ambiguous else 0.9
                out.append(Candidate("size", vocab.sizes[alias], *m.span(), confidence=conf))
    for pattern, conf in ((_SIZE_CONTEXT, 0.93), (_SIZE_SUFFIX, 0.93), (_SIZE_CAPITAL, 0.55)):
        for m in pattern.finditer(text):
            value, meta = _size_value(m.group("v"), vocab)
            start = (
                m.start("v") if pattern is _SIZE_CONTEXT or pattern is _SIZE_CAPITAL else m.start()
            )
            end = m.end("v") if pattern is _SIZE_CONTEXT or pattern is _SIZE_CAPITAL else m.end()
            out.append(Candidate("size", value, start, end, confidence=conf, meta=meta))
    return out


class EntityExtractor:
    """All rule-based extractors with their vocabularies compiled once."""

    def __init__(self, options: OptionVocabulary | None = None) -> None:
        self.options = options or build_option_vocabulary()

    def candidates(self, text: str, today: dt.date) -> list[Candidate]:
        text = text[:MAX_ENTITY_CHARS]
        found: list[Candidate] = []
        has_digit = any(ch.isdigit() for ch in text)
        if has_digit:
            found += _order_candidates(text)
            found += _invoice_candidates(text)
            found += _phone_candidates(text)
            found += _money_candidates(text)
        else:
            found += _invoice_candidates(text) if "INV" in text.upper() else []
        if "@" in text:
            found += _email_candidates(text)
        found += _quantity_candidates(text)
        found += _date_candidates(text, today)
        found += _option_candidates(text, self.options)
        return found

    def extract(self, text: str, today: dt.date | None = None) -> list[Entity]:
        chosen = resolve_overlaps(self.candidates(text, today or dt.date.today()))
        return [c.to_entity(text) for c in chosen]
