"""Order numbers in a message, in the shapes the shop writes them.

Two readers work together:

* **The shop's shapes** (learned from its imported orders, see ``kb.order_numbers``):
  ``#W8665881``, ``SA-5107``, ``ORD-2024-00012``, ``112-1234567-1234567``. A message may
  write them in any case, with or without ``#``, spaces or the separators, glued to 订单 or
  "order"; the value is always the number as the shop stores it, so look-ups work.
* **Plain digit runs** (any shop, and the only reader when no shapes are known): a number
  after "order"/订单/``#``, or a bare long number in a message about orders.

Whatever either reader proposes is dropped when it lies inside something that is not an
order number: an invoice code (``INV-2026-10001``), a Chinese ID number, a US ZIP code after
a state (``Seattle, WA 98195``), a carrier tracking number, a number introduced by words
such as "zip", "phone", "tracking" or 身份证, an invoice's own number ("invoice 5521", but
"the invoice for 10086" names the order), or one group of a longer run of digit groups
(a card, an SSN, a phone, an IBAN: ``5555 5555 5555 4444``) (``data/order_numbers.toml``).
When the shop's shapes are known, a number that fits none of them is not one of its orders.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "order_numbers.toml"

# (value, start, end, confidence)
Found = tuple[str, int, int, float]


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    with DATA_FILE.open("rb") as fh:
        return tomllib.load(fh)


def _words_pattern(words: Iterable[str]) -> str:
    parts = []
    for word in sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True):
        body = r"\s*".join(re.escape(p) for p in word.split())
        parts.append(rf"(?<![a-z]){body}(?![a-z])" if word.isascii() else body)
    return "|".join(parts)


@lru_cache(maxsize=1)
def _not_order_before() -> re.Pattern[str]:
    words = _words_pattern(_data().get("not_order_before", []))
    return re.compile(rf"(?:{words})(?:[\W_]+\w+){{0,2}}[\W_]*$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _not_order_right_before() -> re.Pattern[str]:
    """The same words with nothing in between: for the shop's own letter shapes, which are
    distinctive ("the gift card from NW1010" is still order NW1010; "tracking RR1..." is not)."""
    words = _words_pattern(_data().get("not_order_before", []))
    return re.compile(rf"(?:{words})[\W_]*$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _invoice_word() -> re.Pattern[str]:
    return re.compile(_words_pattern(_data().get("invoice_words", [])), re.IGNORECASE)


@lru_cache(maxsize=1)
def _invoice_context() -> re.Pattern[str]:
    """An invoice word with only number labels between it and the number ("invoice 5521",
    "invoice no. 5521", "发票号 2026"): the invoice's own number. "invoice for 10086" is not."""
    words = _words_pattern(_data().get("invoice_words", []))
    labels = _words_pattern(_data().get("number_labels", []))
    return re.compile(rf"(?:{words})(?:[\s:：#.]*(?:{labels}))*[\W_]{{0,12}}$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _digit_run() -> re.Pattern[str]:
    """Two or more digit groups joined by single separators: a card, an SSN, a phone."""
    data = _data()
    joiners = "".join(re.escape(j) for j in data.get("digit_run_joiners", []))
    size = int(data.get("min_group_digits", 2))
    more = max(1, int(data.get("space_run_min_groups", 3)) - 1)
    group = rf"\d{{{size},}}"
    runs = [rf"{group}(?:[\s{joiners}]{group}){{{more},}}"]  # spaces too, from N groups on
    if joiners:
        runs.append(rf"{group}(?:[{joiners}]{group})+")
    return re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(runs)})(?![A-Za-z0-9])")


def _part_of_a_run(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` overlaps a run of digit groups without covering all of it."""
    for m in _digit_run().finditer(text):
        if start < m.end() and m.start() < end and not (start <= m.start() and m.end() <= end):
            return True
    return False


@lru_cache(maxsize=1)
def _not_order_prefixes() -> frozenset[str]:
    return frozenset(p.upper() for p in _data().get("not_order_prefixes", []))


@lru_cache(maxsize=1)
def _exclusion_patterns() -> tuple[re.Pattern[str], ...]:
    data = _data()
    tracking = "|".join(f"(?:{p})" for p in data.get("tracking_formats", []))
    states = "|".join(re.escape(s) for s in data.get("us_states", []))
    prefixes = "|".join(re.escape(p) for p in sorted(_not_order_prefixes(), key=len, reverse=True))
    return (
        # Another document's number: INV-2026-10001, RMA-10023-1.
        re.compile(
            rf"(?<![A-Za-z0-9])(?:{prefixes})[\s#:._/-]*\d[\d\s._/-]*\d(?![A-Za-z0-9])",
            re.IGNORECASE,
        ),
        # A US ZIP code after its state: "Seattle, WA 98195", "WA 98195-1234".
        re.compile(rf"(?<![A-Za-z0-9])(?:{states})\.?,?\s+\d{{5}}(?:-\d{{4}})?(?!\d)"),
        # Carrier tracking numbers.
        re.compile(rf"(?<![A-Za-z0-9])(?:{tracking})(?![A-Za-z0-9])", re.IGNORECASE),
        # Chinese resident ID numbers: 18 characters, checked below.
        _CN_ID,
    )


_CN_ID = re.compile(r"(?<![A-Za-z0-9])\d{17}[\dXx](?![A-Za-z0-9])")
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"


def is_cn_id_number(text: str) -> bool:
    """A valid GB 11643 resident ID: region, a real birth date and the mod 11-2 check."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    year, month, day = int(text[6:10]), int(text[10:12]), int(text[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK[total % 11] == text[17].upper()


# --- plain digit runs (the reader every shop gets) -----------------------------------

_ORDER_EN = re.compile(
    r"\b(?:orders?|purchases?|ord|package|parcel|shipment|transaction|confirmation)\b"
    r"(?:\s*(?:number|num|nr|no|id|code|ref|reference|is|was)\.?)*"
    r"\s*[:：]?\s*(?:\#\s+)?(?P<num>\#?\d{3,20})(?![\d.,]?\d)(?![-/]\d)(?![A-Za-z])"
    r"(?!\s*(?:%|dollars?|bucks|usd|eur|euros?|rmb|元|块|pcs|pieces|items))",
    re.IGNORECASE,
)
_ORDER_ZH = re.compile(
    r"(?:订单(?:编号|号码|号)?|(?<!快递)(?<!运)(?<!物流)(?<!追踪)(?<!跟踪)单号|购买记录|包裹|(?<!证件)编号)"
    r"\s*(?:号码|号|是|为|:|：)*\s*(?:\#\s+)?(?P<num>\#?\d{3,20})(?!\d)(?![-/]\d)(?![A-Za-z])"
)
_HASH_NUMBER = re.compile(r"(?<![A-Za-z0-9_#])(?P<num>\#\d{4,20})(?!\d)(?![-/]\d)")
_BARE_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_#$¥￥€£.,/-])(?P<num>\d{5,20})(?![\d.,]?\d)(?![/-])(?![A-Za-z])"
    # a measure or a currency after it: "25000 mAh", "12500 grams", "12000 pcs", "30000元"
    r"(?!\s*(?:%|mah|mm|cm|km|kg|g|mg|ml|l|w|kw|v|hz|gb|tb|mb|grams?|kilos?|pcs|pieces?|items?"
    r"|units?|dollars?|bucks|cents?|usd|eur|euros?|rmb|cny|yuan|steps|calories|kcal|words"
    r"|people|times|miles|feet|ft|years?|days?|hours?|minutes?)\b)"
    r"(?!\s*(?:元|块|件|个|只|毫|克|千克|公斤|米|步|年|天|次|人|张|台))",
    re.IGNORECASE,
)
# A letter-prefixed number right after an order word, for a shop whose shapes are not
# known: "order #W8665881", "订单号 SA-5107".
_ORDER_CODE = re.compile(
    r"(?:\b(?:orders?|ord|purchase)\b(?:\s*(?:number|num|nr|no|id|ref|is|was)\.?)*"
    r"|订单(?:编号|号码|号)?)\s*(?:是|为)?\s*[:：]?\s*(?P<num>\#?\s?"
    r"(?:(?P<letters>[A-Za-z]{1,5})[-_]?\d{3,20}(?:-\d{1,12}){0,3}|\d{2,12}(?:-\d{2,12}){1,3}))"
    r"(?![A-Za-z0-9])(?!-\d)",
    re.IGNORECASE,
)
# Words that make a bare number the order: the order itself, or asking after it
# ("any update on 10082?", "where's 10082", "10082 still hasn't come", "10082 还没到").
_ORDER_CONTEXT = re.compile(
    r"order|purchase|package|parcel|shipment|ship(?:ped|ping)?\b|deliver|dispatch|track|cancel"
    r"|refund|return|update|news|status|where|waiting|wait(?:ed)?\b|arriv|\bcome\b|\bcame\b"
    r"|hasn'?t|haven'?t|still|received?\b|\bsent\b"
    r"|订单|包裹|快递|物流|退|到|发货|寄|还没|进度|查",
    re.IGNORECASE,
)
# ... or right after an address: "建国路88号 100022", "12 Baker St 10022" is a postcode.
_ADDRESS_BEFORE = re.compile(
    r"(?:[号路街区市]|\b(?:street|st|ave|avenue|road|rd|blvd|lane|ln|zip)\b\.?)"
    r"[\s,，、.:：]*$",
    re.IGNORECASE,
)
# An order word just before a number overrides "tracking ... order 10023"-style context.
_ORDER_WORD_BEFORE = re.compile(
    r"(?:\b(?:orders?|ord)\b(?:\s*(?:number|num|nr|no|id|is|was)\.?)*|订单(?:编号|号码|号)?)"
    r"\s*(?:是|为)?\s*[:：]?\s*\#?\s*$",
    re.IGNORECASE,
)


def _looks_like_date(number: str) -> bool:
    """ "20261103": an 8-digit run that is a plausible YYYYMMDD is read as a date."""
    if len(number) != 8:
        return False
    year, month, day = int(number[:4]), int(number[4:6]), int(number[6:])
    return 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# --- the shop's shapes ---------------------------------------------------------------


@dataclass(frozen=True)
class CompiledShape:
    """One learned shape as a pattern, and how to write a match back in the stored form."""

    pattern: re.Pattern[str]
    parts: tuple[tuple[Any, ...], ...]
    has_letters: bool
    digits_only: bool
    has_separator: bool

    def canonical(self, match: re.Match[str]) -> str:
        out = []
        for i, part in enumerate(self.parts):
            if part[0] in ("L", "S"):  # letters and separators as the shop writes them
                out.append(part[1])
            else:
                out.append(match.group(f"d{i}"))
        return "".join(out)


def compile_shape(parts: list[list[Any]]) -> CompiledShape | None:
    pieces = [r"(?<![A-Za-z0-9])(?P<hash>\#\s?)?"]
    clean: list[tuple[Any, ...]] = []
    previous = None
    for i, part in enumerate(parts):
        kind = part[0]
        if kind == "L":
            if previous == "D":
                pieces.append(r"[\s-]?")
            pieces.append(re.escape(str(part[1])))
            clean.append(("L", str(part[1])))
        elif kind == "S":
            # The shop's separator, a space or nothing: "SA-5107", "SA 5107", "sa5107".
            pieces.append(rf"(?:{re.escape(str(part[1]))}|\s)?")
            clean.append(("S", str(part[1])))
        elif kind == "D":
            low, high = int(part[1]), int(part[2])
            if previous == "L":
                pieces.append(r"[\s-]?")  # "W 8665881", "W-8665881" for W8665881
            pieces.append(rf"(?P<d{i}>\d{{{low},{high}}})")
            clean.append(("D", low, high))
        else:
            return None
        previous = kind
    pieces.append(r"(?![A-Za-z0-9])(?![-/.]\d)")
    kinds = {p[0] for p in clean}
    if "D" not in kinds:
        return None
    return CompiledShape(
        pattern=re.compile("".join(pieces), re.IGNORECASE),
        parts=tuple(clean),
        has_letters="L" in kinds,
        digits_only=kinds == {"D"},
        has_separator="S" in kinds,
    )


def is_not_order_number(
    text: str, start: int, end: int, reader: OrderNumberReader | None = None
) -> bool:
    """Whether ``text[start:end]`` is something else than an order number (see
    :meth:`OrderNumberReader.is_not_order_number`); ``reader`` carries the shop's shapes
    (:func:`reader_for`), without it only the shape-free rules apply."""
    return (reader or _plain_reader()).is_not_order_number(text, start, end)


@lru_cache(maxsize=1)
def _plain_reader() -> OrderNumberReader:
    return OrderNumberReader()


@lru_cache(maxsize=32)
def _reader_for_shapes(shapes_json: str) -> OrderNumberReader:
    return OrderNumberReader(json.loads(shapes_json))


def reader_for(db: Any) -> OrderNumberReader:
    """The reader for a shop's database, with the order-number shapes it learned at import
    (cached on the shapes themselves, so a new import is seen at once)."""
    from shopassist.kb.order_numbers import order_number_shapes

    shapes = order_number_shapes(db)
    return _reader_for_shapes(json.dumps(shapes, sort_keys=True, ensure_ascii=False))


class OrderNumberReader:
    """Finds order numbers; ``shapes`` are ``kb.order_numbers.order_number_shapes(db)``."""

    def __init__(self, shapes: Iterable[dict[str, Any]] | None = None) -> None:
        self.shapes: list[CompiledShape] = []
        for shape in shapes or ():
            parts = shape.get("parts") if isinstance(shape, dict) else None
            compiled = compile_shape(parts) if isinstance(parts, list) and parts else None
            if compiled is not None:
                self.shapes.append(compiled)
        # Plain digit shapes: the lengths a bare number must have to be one of ours.
        self.digit_lengths: list[tuple[int, int]] = [
            (s.parts[0][1], s.parts[0][2])
            for s in self.shapes
            if s.digits_only and len(s.parts) == 1
        ]
        # Shapes that are letters then digits ("W8665881"): a customer may drop the letters.
        self.prefixed = [
            s
            for s in self.shapes
            if len(s.parts) == 2 and s.parts[0][0] == "L" and s.parts[1][0] == "D"
        ]
        self.shop_prefixes = frozenset(
            str(p[1]).upper() for s in self.shapes for p in s.parts if p[0] == "L"
        )

    # -- the stage ----------------------------------------------------------------------
    def find(self, text: str) -> list[Found]:
        blocked = self.not_order_spans(text)
        found = self._shape_matches(text) + self._digit_matches(text)
        return [
            f
            for f in found
            if not any(f[1] < end and start < f[2] for start, end in blocked)
            and not _part_of_a_run(text, f[1], f[2])
        ]

    def is_not_order_number(self, text: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` is something else than an order number: inside an
        invoice code, ID number, ZIP code after a state or tracking number; one group of a
        longer digit run (a card, an SSN, a phone); right after words such as "zip", "phone",
        "tracking", 邮编, an invoice word or a street; or, when the shop's shapes are known,
        digits that fit none of them. For callers that read a bare number on their own (a
        reply to "what is your order number?")."""
        if any(start < e and s < end for s, e in self.not_order_spans(text)):
            return True
        if _part_of_a_run(text, start, end):
            return True
        number = text[start:end].lstrip("#")
        if number.isdigit() and self.shapes and not self.fits_bare_digits(number):
            return True
        before = text[max(0, start - 30) : start]
        return bool(
            _not_order_before().search(before)
            or _ADDRESS_BEFORE.search(before)
            or _invoice_context().search(before)
        )

    def fits_bare_digits(self, number: str) -> bool:
        """Digits alone that may be one of the shop's numbers: a plain shape's length, or the
        digits of a letters + digits shape whose letters the customer dropped."""
        return self._fits_digits(number) or any(
            s.parts[1][1] <= len(number) <= s.parts[1][2] for s in self.prefixed
        )

    def not_order_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for pattern in _exclusion_patterns():
            for m in pattern.finditer(text):
                if pattern is _CN_ID and not is_cn_id_number(m.group()):
                    continue
                if self._is_shop_number(m.group()):
                    continue  # the shop's own numbers are never "something else"
                spans.append(m.span())
        return spans

    def _is_shop_number(self, token: str) -> bool:
        token = token.strip()
        return any(s.has_letters and s.pattern.fullmatch(token) for s in self.shapes)

    def _shape_matches(self, text: str) -> list[Found]:
        out: list[Found] = []
        for shape in self.shapes:
            if shape.digits_only and not shape.has_separator:
                continue  # plain numbers: the digit reader, with its context rules
            for m in shape.pattern.finditer(text):
                start, end = m.span()
                before = text[max(0, start - 30) : start]
                keyword = _ORDER_WORD_BEFORE.search(before) is not None
                not_before = _not_order_right_before() if shape.has_letters else _not_order_before()
                if not keyword and (not_before.search(before) or _invoice_context().search(before)):
                    continue
                if shape.has_letters:
                    conf = 0.97 if keyword or m.group("hash") else 0.93
                elif keyword or m.group("hash") or "-" in m.group():
                    conf = 0.95  # "112-1234567-1234567": the separators make it one of ours
                else:
                    continue  # a glued 17-digit run with no order word: not sure enough
                out.append((shape.canonical(m), start, end, conf))
        return out

    def _digit_matches(self, text: str) -> list[Found]:
        out: list[Found] = []
        for pattern, conf in ((_ORDER_EN, 0.97), (_ORDER_ZH, 0.97), (_HASH_NUMBER, 0.85)):
            for m in pattern.finditer(text):
                start, end = m.span("num")
                if pattern is _HASH_NUMBER and _invoice_context().search(
                    text[max(0, start - 20) : start]
                ):
                    continue
                number = _digits(m.group("num"))
                value = self._shop_value(number)
                if value is None:
                    continue
                out.append((value, start, end, conf))
        if not self.shapes:
            for m in _ORDER_CODE.finditer(text):
                if (m.group("letters") or "").upper() in _not_order_prefixes():
                    continue
                value = re.sub(r"[\s#]+", "", m.group("num")).upper()
                out.append((value, *m.span("num"), 0.9))
        # A bare long number counts when the message talks about orders, or is a short
        # reply ("it's 10096") to "what is your order number?".
        if (
            _ORDER_CONTEXT.search(text)
            or _invoice_word().search(text)  # "the invoice for 10086" is about an order
            or len(text.split()) <= 4
        ):
            for m in _BARE_NUMBER.finditer(text):
                number = m.group("num")
                start, end = m.span("num")
                before = text[max(0, start - 30) : start]
                if (
                    _looks_like_date(number)
                    or _not_order_before().search(before)
                    or _ADDRESS_BEFORE.search(before)
                    or _invoice_context().search(before)
                    or not self._fits_digits(number)
                ):
                    continue
                out.append((number, start, end, 0.6))
        return out

    def _fits_digits(self, number: str) -> bool:
        """With shapes known, a bare number must have the length of the shop's numbers."""
        if not self.shapes:
            return True
        return any(low <= len(number) <= high for low, high in self.digit_lengths)

    def _shop_value(self, number: str) -> str | None:
        """The stored form of a number read after an order word or '#': itself, or, when
        the shop's numbers are letters + digits and no plain shape fits, those letters
        ("order 8665881" at a shop numbering W8665881)."""
        if not self.shapes or self._fits_digits(number):
            return number
        fitting = [s for s in self.prefixed if s.parts[1][1] <= len(number) <= s.parts[1][2]]
        if len(fitting) == 1 and not self.digit_lengths:
            return str(fitting[0].parts[0][1]) + number
        # Fits none of the shop's shapes, but the customer called it an order: read it as
        # written, so the reply can say that no such order is on their account instead of
        # asking again for the number they just gave. (Digit groups of a card, phone or SSN
        # never get here: they are one part of a longer run, see _part_of_a_run.)
        return number
