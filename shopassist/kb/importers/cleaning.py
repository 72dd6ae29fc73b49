"""Turning raw export cells into clean values: text, HTML bodies, money, counts, slugs."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html.parser import HTMLParser

from shopassist.safe_text import clean_text


def clean_cell(value: str) -> str:
    """``clean_text`` with a fast path: most cells are plain printable ASCII."""
    if value.isascii() and value.isprintable():
        return " ".join(value.split()) if "  " in value else value.strip()
    return clean_text(value)


def clean_line(value: str) -> str:
    """A single-line field (title, SKU, brand): newlines become spaces."""
    if value.isascii() and value.isprintable():
        return " ".join(value.split()) if "  " in value else value.strip()
    return clean_text(value, single_line=True)


# OWASP "CSV Injection": the characters that make a spreadsheet evaluate a cell. "=" and
# "@" always start a formula (a leading space, tab or CR hides it from the eye, not from
# the spreadsheet); "+" and "-" do when a name ("-cmd|...", "+SUM(") or an operator
# follows, not before a signed number, a phone or words ("-5 cm longer", "- 100% cotton").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_SIGNED = re.compile(r"[+-][\d\s.,()/-]*")
_SIGNED_FORMULA = re.compile(r"[+-](?:[^\W\d_]|.*[|!=+@(\"])", re.DOTALL)


def formula_trigger(value: str) -> str | None:
    """The character that would make a spreadsheet run ``value`` as a formula, or None."""
    text = value.lstrip(" \t\r\n")
    if not text or text[0] not in "=+-@":
        return None
    if text[0] in "+-" and (_PLAIN_SIGNED.fullmatch(text) or not _SIGNED_FORMULA.match(text)):
        return None  # "-5", "+1 (415) 555 0134", "-5 cm longer": not a formula
    return text[0]


def neutralise_formula(value: str) -> str:
    """OWASP's defence for a CSV a person may open in a spreadsheet: a cell starting with
    = + - @ tab or CR gets a leading apostrophe, so it is shown as text, never run."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


_TAG = re.compile(r"<[a-zA-Z/!]")
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "dd", "dt",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Plain text from a product body; paragraphs and list items keep their line breaks."""
    if not _TAG.search(value):
        return clean_cell(value) if "\n" not in value else clean_text(value)
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    text = clean_text("".join(parser.parts))
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


_NOT_SLUG = re.compile(r"[\W_]+")


def slugify(value: str) -> str:
    """A URL-style handle; keeps CJK characters so Chinese titles get distinct handles."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return _NOT_SLUG.sub("-", value.lower()).strip("-")[:200]


_CURRENCY_NOISE = re.compile(r"[\s$€£¥￥₩₹]|\b(?:USD|EUR|GBP|CNY|RMB|JPY|CAD|AUD)\b", re.I)


def parse_money(value: str) -> int | None:
    """Cents from '19.99', '$1,299.00', '12,99' or '¥199'; None for an empty cell.

    Raises ValueError with a reason a shop owner understands.
    """
    text = value.strip()
    if not text:
        return None
    if "." in text and text.replace(".", "", 1).isdigit():
        number = text  # fast path: plain 19.99
    else:
        number = _CURRENCY_NOISE.sub("", text)
        if "," in number and "." in number:
            # The later separator is the decimal point: 1,299.50 or 1.299,50.
            if number.rfind(",") > number.rfind("."):
                number = number.replace(".", "").replace(",", ".")
            else:
                number = number.replace(",", "")
        elif "," in number:
            head, _, tail = number.rpartition(",")
            number = (
                f"{head.replace(',', '')}.{tail}"
                if len(tail) in (1, 2)
                else number.replace(",", "")
            )
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"{value.strip()[:40]!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{value.strip()[:40]!r} is not a number")
    if amount < 0:
        raise ValueError(f"must not be negative (got {value.strip()[:40]})")
    # Compare before converting: int(Decimal('1e999999999')) would take minutes.
    if amount.adjusted() >= 10:
        raise ValueError(f"{value.strip()[:40]} is implausibly large")
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def parse_count(value: str) -> int | None:
    """A whole, non-negative quantity ('12', '12.0'); None for an empty cell."""
    text = value.strip()
    if not text:
        return None
    if text.isdigit() and len(text) <= 9:
        return int(text)
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{text[:40]!r} is not a whole number") from None
    if not number.is_finite():
        raise ValueError(f"{text[:40]!r} is not a whole number")
    if number < 0:
        raise ValueError(f"must not be negative (got {text[:40]})")
    if number.adjusted() >= 9:
        raise ValueError(f"{text[:40]} is implausibly large")
    if number != number.to_integral_value():
        raise ValueError(f"{text[:40]!r} is not a whole number")
    return int(number)


def split_list(value: str, separator: str = ",") -> list[str]:
    """Tags and category lists: 'a, b,  c' -> ['a', 'b', 'c'] without empties or repeats."""
    seen: dict[str, None] = {}
    for part in value.split(separator):
        item = clean_line(part)
        if item:
            seen.setdefault(item, None)
    return list(seen)
