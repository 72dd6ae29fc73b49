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

from shopassist.engine.nlu.dates import ZH_DIGITS, find_dates
from shopassist.engine.nlu.order_numbers import OrderNumberReader
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
        # Plain construction: pydantic-core validation is faster than model_construct.
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
# Order numbers, in the shop's own shapes: see order_numbers.py.


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
# A bare 10-digit North American number ("4155550134"): area code and exchange start 2-9.
# Less sure than a written-out phone, so an order number of the shop's shape wins it.
_PHONE_US_BARE = re.compile(r"(?<![A-Za-z0-9_+-])[2-9]\d{2}[2-9]\d{6}(?![A-Za-z0-9_-])")
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
    for m in _PHONE_US_BARE.finditer(text):
        context = _PHONE_CONTEXT.search(text[max(0, m.start() - 20) : m.start()])
        conf = 0.93 if context else 0.85
        out.append(Candidate("phone", "+1" + m.group(), *m.span(), confidence=conf))
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
    # 美元/美金, 欧元 and 英镑 end in the same 元 as renminbi: read them before it.
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:美元|美金)"), "USD"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?欧元"), "EUR"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?英镑"), "GBP"),
    (re.compile(rf"(?:[¥￥]|RMB\s?|CNY\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "CNY"),
    (
        re.compile(
            rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:(?<![美欧])元|块钱|块|人民币|rmb\b|cny\b)",
            re.I,
        ),
        "CNY",
    ),
    (re.compile(rf"(?:€|EUR\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "EUR"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:euros?|eur)\b", re.I), "EUR"),
    (re.compile(rf"(?:£|GBP\s?)\s?(?P<amt>{_AMOUNT})(?!\d)", re.I), "GBP"),
    (re.compile(rf"(?<![A-Za-z0-9_.])(?P<amt>{_AMOUNT})\s?(?:pounds?|gbp)\b", re.I), "GBP"),
]


# Every money pattern needs one of these; one search spares eight on most messages.
_MONEY_HINT = re.compile(
    r"[$¥￥€£元块镑]|美金|人民币|usd|dollar|buck|rmb|cny|eur|pound|gbp", re.IGNORECASE
)


def _money_candidates(text: str) -> list[Candidate]:
    out: list[Candidate] = []
    if not _MONEY_HINT.search(text):
        return out
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
# Counting words: the date digits plus 十, and 几 ("a few") read as three.
_ZH_NUMBERS = {**ZH_DIGITS, "十": 10, "几": 3}
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


def _quantity_candidates(
    text: str, has_digit: bool = True, has_cjk: bool = True, words: set[str] | None = None
) -> list[Candidate]:
    """``has_digit``/``has_cjk``/``words`` (lower-case Latin words) let the caller skip
    patterns that cannot match; the defaults run them all."""
    out: list[Candidate] = []
    if has_digit:
        out += _quantity_digit_candidates(text)
    if words is None or not words.isdisjoint(_QTY_WORD_TRIGGERS):
        out += _quantity_word_candidates(text)
    if has_cjk:
        for m in _QTY_ZH.finditer(text):
            n = _zh_int(m.group("n"))
            # "一个问题", "这个": 一 with a generic measure word is rarely a quantity.
            conf = 0.6 if m.group("n") == "一" and m.group("u") == "个" else 0.88
            out.append(Candidate("quantity", n, *m.span(), confidence=conf))
    return out


def _quantity_digit_candidates(text: str) -> list[Candidate]:
    out = []
    for m in _QTY_DIGITS.finditer(text):
        out.append(Candidate("quantity", int(m.group("n")), *m.span(), confidence=0.9))
    for m in _QTY_TIMES.finditer(text):
        out.append(
            Candidate("quantity", int(m.group("a") or m.group("b")), *m.span(), confidence=0.8)
        )
    for m in _QTY_LABEL.finditer(text):
        out.append(Candidate("quantity", int(m.group("n")), *m.span(), confidence=0.9))
    for m in _QTY_VERB.finditer(text):
        out.append(Candidate("quantity", int(m.group("n")), *m.span("n"), confidence=0.7))
    return out


def _quantity_word_candidates(text: str) -> list[Candidate]:
    out = []
    for m in _QTY_WORD.finditer(text):
        if m.group("w"):
            word = m.group("w").lower()
            out.append(Candidate("quantity", _EN_NUMBER_WORDS[word], *m.span("w"), confidence=0.75))
        else:
            out.append(Candidate("quantity", 1, *m.span("one"), confidence=0.7))
    return out


# --- dates --------------------------------------------------------------------------


def _date_candidates(text: str, today: dt.date, words: set[str] | None = None) -> list[Candidate]:
    return [
        Candidate("date", value, start, end, 0.9, {"granularity": granularity})
        for start, end, value, granularity in find_dates(text, today, words)
    ]


# --- colours and sizes ----------------------------------------------------------------


_OPT_TOKEN = re.compile(r"[A-Za-z0-9]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _alias_key(alias: str) -> str:
    return " ".join(t.lower() for t in _OPT_TOKEN.findall(alias))


def _is_cjk(text: str) -> bool:
    return bool(_CJK_RUN.fullmatch(text))


@dataclass
class OptionVocabulary:
    """Colour and size names: the catalog's own values plus customers' synonyms.

    Matching walks the message's tokens with a prefix set (multi-word names like "heather
    grey" or "US 9 / EU 42") and scans Chinese runs for Chinese names, so the cost does
    not grow with the number of names.
    """

    colours: dict[str, str]  # alias (lower) -> canonical
    sizes: dict[str, str]
    families: dict[str, str]
    ambiguous: frozenset[str]
    catalog_sizes: list[str]
    latin: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (type, canonical)
    prefixes: set[str] = field(default_factory=set)
    cjk: dict[str, tuple[str, str]] = field(default_factory=dict)
    cjk_max: int = 1
    cjk_first: frozenset[str] = frozenset()  # first characters of the Chinese names

    def compile(self) -> None:
        self.latin.clear()
        self.prefixes.clear()
        self.cjk.clear()
        for etype, table in (("size", self.sizes), ("colour", self.colours)):
            for alias, canonical in table.items():
                if _is_cjk(alias):
                    self.cjk[alias] = (etype, canonical)
                    continue
                if _CJK_RUN.search(alias):
                    continue  # mixed names ("XL码") are left to the size patterns
                key = _alias_key(alias)
                if not key:
                    continue
                self.latin[key] = (etype, canonical)
                parts = key.split()
                for n in range(1, len(parts) + 1):
                    self.prefixes.add(" ".join(parts[:n]))
        self.cjk_max = max((len(a) for a in self.cjk), default=1)
        self.cjk_first = frozenset(a[0] for a in self.cjk)

    def find(self, text: str) -> list[tuple[int, int, str, str, str]]:
        """(start, end, type, canonical, alias) for every colour or size name."""
        out = []
        spans = [(m.start(), m.end(), m.group().lower()) for m in _OPT_TOKEN.finditer(text)]
        for i in range(len(spans)):
            key = ""
            best = None
            for j in range(i, len(spans)):
                key = spans[j][2] if j == i else key + " " + spans[j][2]
                if key not in self.prefixes:
                    break
                hit = self.latin.get(key)
                if hit is not None:
                    best = (j, hit, key)
            if best is not None:
                j, (etype, canonical), key = best
                out.append((spans[i][0], spans[j][1], etype, canonical, key))
        if self.cjk:
            for m in _CJK_RUN.finditer(text):
                run, base = m.group(), m.start()
                pos = 0
                while pos < len(run):
                    if run[pos] not in self.cjk_first:  # most characters start no name
                        pos += 1
                        continue
                    for n in range(min(self.cjk_max, len(run) - pos), 0, -1):
                        piece = run[pos : pos + n]
                        hit = self.cjk.get(piece)
                        # A lone character ("金", "白") is only a colour as "金的"/"白色".
                        if hit is not None and (n > 1 or run[pos + 1 : pos + 2] in ("的", "色")):
                            out.append((base + pos, base + pos + n, hit[0], hit[1], piece))
                            pos += n
                            break
                    else:
                        pos += 1
        return out


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
        ambiguous=frozenset(_alias_key(a) for a in data.get("ambiguous", {}).get("aliases", [])),
        catalog_sizes=size_list,
    )
    vocab.compile()
    return vocab


_SIZE_CONTEXT = re.compile(
    r"(?:\bsize\s*[:：]?\s*|尺码\s*[:：]?\s*|码数\s*[:：]?\s*|\bin\s+(?:an?\s+)?)"
    r"(?P<v>XXXL|XXL|XXS|XS|XL|S|M|L|\d{1,2}(?:\.5)?)(?![A-Za-z0-9_.])",
    re.IGNORECASE,
)
# "建国路88号" is a house number: no size right after a street, lane or building word.
_SIZE_SUFFIX = re.compile(
    r"(?<![A-Za-z0-9_.])(?<![路街道巷弄村栋楼])(?P<v>XXXL|XXL|XXS|XS|XL|S|M|L|\d{2}(?:\.5)?)\s?(?:码|号)",
    re.I,
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


def _option_candidates(text: str, vocab: OptionVocabulary, has_digit: bool) -> list[Candidate]:
    out = []
    for start, end, etype, canonical, alias in vocab.find(text):
        if etype == "colour":
            meta = {"family": vocab.families.get(canonical, canonical)}
            conf = 0.55 if alias in vocab.ambiguous else 0.92
            out.append(Candidate("colour", canonical, start, end, confidence=conf, meta=meta))
        else:
            conf = 0.55 if alias in vocab.ambiguous else 0.9
            out.append(Candidate("size", canonical, start, end, confidence=conf))
    patterns: list[tuple[re.Pattern[str], float]] = [(_SIZE_CAPITAL, 0.55)]
    if has_digit or _SIZE_HINT.search(text):
        patterns += [(_SIZE_CONTEXT, 0.93), (_SIZE_SUFFIX, 0.93)]
    for pattern, conf in patterns:
        for m in pattern.finditer(text):
            value, meta = _size_value(m.group("v"), vocab)
            whole = pattern is _SIZE_SUFFIX
            start, end = (m.start(), m.end()) if whole else (m.start("v"), m.end("v"))
            out.append(Candidate("size", value, start, end, confidence=conf, meta=meta))
    return out


_SIZE_HINT = re.compile(r"size|尺码|码|号|\bin\s", re.IGNORECASE)
_NUMBER_WORDS = frozenset(
    [
        "a",
        "couple",
        "pair",
        "dozen",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "fifteen",
        "twenty",
        "single",
        "double",
    ]
)
_DATE_WORDS = frozenset(
    [
        "today",
        "tonight",
        "yesterday",
        "tomorrow",
        "ago",
        "week",
        "weekend",
        "month",
        "year",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "jan",
        "january",
        "feb",
        "february",
        "mar",
        "march",
        "apr",
        "april",
        "may",
        "jun",
        "june",
        "jul",
        "july",
        "aug",
        "august",
        "sep",
        "sept",
        "september",
        "oct",
        "october",
        "nov",
        "november",
        "dec",
        "december",
    ]
)
_QTY_WORD_TRIGGERS = _NUMBER_WORDS - {"a"}  # "a" alone starts no quantity phrase
_WORDS = re.compile(r"[a-z]+")
_HAS_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAS_DIGIT = re.compile(r"\d")


class EntityExtractor:
    """All rule-based extractors with their vocabularies compiled once."""

    def __init__(
        self,
        options: OptionVocabulary | None = None,
        order_shapes: Iterable[dict[str, Any]] | None = None,
    ) -> None:
        self.options = options or build_option_vocabulary()
        # order_shapes: kb.order_numbers.order_number_shapes(db), the shop's numbering.
        self.orders = OrderNumberReader(order_shapes)

    def candidates(self, text: str, today: dt.date) -> list[Candidate]:
        # Cheap gates first: most messages have no digits, no dates and no numbers, and
        # the big patterns are only run where they can match.
        text = text[:MAX_ENTITY_CHARS]
        found: list[Candidate] = []
        has_digit = _HAS_DIGIT.search(text) is not None
        has_cjk = _HAS_CJK.search(text) is not None
        words = set(_WORDS.findall(text.lower()))
        if has_digit:
            found += [
                Candidate("order_number", value, start, end, conf)
                for value, start, end, conf in self.orders.find(text)
            ]
            found += _invoice_candidates(text)
            found += _phone_candidates(text)
            found += _money_candidates(text)
            if "@" in text:
                found += _email_candidates(text)
        elif "@" in text:
            found += _email_candidates(text)
        if has_digit or has_cjk or not words.isdisjoint(_NUMBER_WORDS):
            found += _quantity_candidates(text, has_digit, has_cjk, words)
        if has_digit or has_cjk or not words.isdisjoint(_DATE_WORDS):
            found += _date_candidates(text, today, words)
        found += _option_candidates(text, self.options, has_digit)
        return found

    def extract(self, text: str, today: dt.date | None = None) -> list[Entity]:
        chosen = resolve_overlaps(self.candidates(text, today or dt.date.today()))
        return [c.to_entity(text) for c in chosen]
