"""How values appear to the customer; facts carry exactly these strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shopassist.engine.dialogue.templates import has_template, phrase

_SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£"}


def money(cents: int | None, currency: str = "USD") -> str:
    cents = int(cents or 0)
    symbol = _SYMBOLS.get((currency or "USD").upper())
    amount = f"{cents / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def day(value: str | None) -> str:
    """An ISO timestamp or date as YYYY-MM-DD (the same in both languages)."""
    if not value:
        return ""
    return str(value)[:10]


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)[:19].replace("Z", "")).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def status_label(status: str, language: str) -> str:
    key = f"status.{status}"
    return phrase(key, language) if has_template(key, language) else status.replace("_", " ")


def localised(item: dict[str, Any], field: str, language: str) -> str:
    """``item[field + '_zh']`` for Chinese when present, else ``item[field]``."""
    if language == "zh":
        value = item.get(f"{field}_zh")
        if value:
            return str(value)
    return str(item.get(field) or "")


def colour_name(colour: str, language: str, *, inline: bool = False) -> str:
    """A colour as a reply in ``language`` shows it ("Navy" -> "藏青色").

    ``inline``: inside an English sentence ("found in blue") it is lower case; in a
    list ("Colours: Navy and Oatmeal") the catalog's spelling stays.
    """
    if language != "zh":
        return colour.lower() if inline and colour.isascii() else colour
    from shopassist.engine.dialogue.lexicon import lexicon

    return lexicon().colour_names_zh.get(colour.strip().lower(), colour)


def business_days(n: object, language: str) -> str:
    """The unit after a number of business days: "1 business day", "3 business days"."""
    key = "unit.business_day" if str(n).strip() == "1" else "unit.business_days"
    return phrase(key, language)


def list_join(items: list[str], language: str, *, conjunction: str = "and") -> str:
    """``conjunction="or"`` for a negative list: "we don't accept cheques or cash"."""
    items = [i for i in items if i]
    if language == "zh":
        return "、".join(items)
    if len(items) <= 2:
        return f" {conjunction} ".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def inline_name(name: str, language: str) -> str:
    """A catalog or policy name inside an English sentence: "Credit or debit card" reads
    "credit or debit card" mid-sentence, while names ("PayPal", "Pinewood Market gift
    card") keep their capitals. Only a first word listed as common is lowered."""
    if language == "zh" or not name:
        return name
    from shopassist.engine.dialogue.lexicon import lexicon

    first, _, rest = name.partition(" ")
    if first.lower() in lexicon().common_lead_words and first[1:].islower():
        return first.lower() + (" " + rest if rest else "")
    return name


def address_text(address: dict[str, Any] | str | None) -> str:
    if not address:
        return ""
    if isinstance(address, str):
        return address
    if address.get("text"):
        return str(address["text"])
    keys = (
        "line1",
        "address1",
        "line2",
        "address2",
        "city",
        "region",
        "province",
        "state",
        "postal_code",
        "zip",
        "country",
    )
    return ", ".join(str(address[k]) for k in keys if address.get(k))
