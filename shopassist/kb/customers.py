"""Customer look-ups by id, email or phone, compared in normalised form.

Customers quote their email and phone in many shapes ("Ann@Example.com ", "+86 138-0013-8000");
identity checks must compare what the digits and addresses mean, not how they were typed.
Phones are parsed with ``phonenumbers`` (Google's libphonenumber metadata): a country
code is part of the number, so "+44 415 555 0134" is not "+1 415 555 0134", and the
international prefix (00, 011 ...) and trunk prefixes are understood per country, which
hand-written digit trimming gets wrong.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import phonenumbers
import sqlite_utils

_NON_DIGITS = re.compile(r"\D+")


def normalise_email(email: str) -> str:
    """Casefolded, NFKC (fullwidth letters as ASCII), without surrounding punctuation."""
    text = unicodedata.normalize("NFKC", email or "")
    return text.strip().strip("<>.,;").lower()


def normalise_phone(phone: str) -> str:
    """Digits only, without an international prefix (00 / +) or the Chinese +86 code."""
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", phone or ""))
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def parse_phone(text: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """The number with its country code, or None when it cannot be read as a phone.

    A number written with "+" or "00" carries its own country code; one without is read
    in ``region`` (the country of the number it is compared with).
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_possible_number(parsed) else None


def phones_match(stored: str, typed: str) -> bool:
    """The same phone: equal country code and national number.

    A typed number without a country code is read in the stored number's country; a
    stored number without one (an import that dropped it) is compared by national digits.
    """
    ours = parse_phone(stored)
    if ours is not None:
        region = phonenumbers.region_code_for_number(ours)
        theirs = parse_phone(typed, region)
        return theirs is not None and (
            theirs.country_code == ours.country_code
            and theirs.national_number == ours.national_number
        )
    x, y = normalise_phone(stored), normalise_phone(typed)
    if len(x) < 7 or len(y) < 7:
        return False
    if x == y:
        return True
    typed_parsed = parse_phone(typed)
    if typed_parsed is not None:
        return str(typed_parsed.national_number) == x.lstrip("0")
    return False


def _row(db: sqlite_utils.Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    cur = db.execute(sql, params)
    row = cur.fetchone()
    if row is None:
        return None
    return _decode(dict(zip([c[0] for c in cur.description], row, strict=True)))


def _decode(customer: dict[str, Any]) -> dict[str, Any]:
    try:
        customer["address"] = json.loads(customer.get("address") or "{}")
    except (TypeError, ValueError):
        customer["address"] = {}
    return customer


def get_customer(db: sqlite_utils.Database, customer_id: int) -> dict[str, Any] | None:
    return _row(db, "select * from customers where id = ?", [customer_id])


def find_by_email(db: sqlite_utils.Database, email: str) -> dict[str, Any] | None:
    email = normalise_email(email)
    if not email:
        return None
    return _row(db, "select * from customers where lower(trim(email)) = ?", [email])


def find_by_phone(db: sqlite_utils.Database, phone: str) -> dict[str, Any] | None:
    wanted = normalise_phone(phone)
    if len(wanted) < 7:
        return None
    # Phone formats vary too much for an index; the suffix narrows the scan first.
    suffix = wanted[-4:]
    cur = db.execute("select id, phone from customers where phone like ?", [f"%{suffix[-1]}"])
    for customer_id, stored in cur.fetchall():
        if stored and phones_match(stored, wanted):
            return get_customer(db, customer_id)
    return None


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _postcode_in(postcode: str, folded_text: str) -> bool:
    """The postcode as a whole token of the text, spaces inside it optional ("sw1a 1aa")."""
    chars = [c for c in _folded(postcode) if not c.isspace()]
    if len(chars) < 3:
        return False
    pattern = r"\s?".join(re.escape(c) for c in chars)
    return re.search(rf"(?<![0-9a-z]){pattern}(?![0-9a-z])", folded_text) is not None


def _name_in(name: str, folded_text: str) -> bool:
    """The customer's full name in the text (whole words for Latin script; CJK has no spaces)."""
    folded = _folded(name)
    if len(folded) < 2 or (folded.isascii() and " " not in folded):
        return False  # a lone given name ("Emma") identifies nobody
    if folded.isascii():
        return re.search(rf"(?<![0-9a-z]){re.escape(folded)}(?![0-9a-z])", folded_text) is not None
    return folded in folded_text.replace(" ", "")


def named_in(db: sqlite_utils.Database, text: str) -> list[dict[str, Any]]:
    """Customers whose full name the text contains, each with ``postcode_given``: whether
    the postcode of their own address is in the text too (name + postcode identifies)."""
    folded = _folded(text)
    if not folded:
        return []
    # instr narrows the scan in SQL; the word-boundary check is done here.
    cur = db.execute(
        "select id, name, json_extract(address, '$.postal_code') from customers "
        "where length(name) >= 2 and instr(?, lower(replace(name, ' ', ''))) > 0",
        [folded.replace(" ", "")],
    )
    found = []
    for customer_id, name, postcode in cur.fetchall():
        if _name_in(name, folded):
            given = bool(postcode) and _postcode_in(str(postcode), folded)
            found.append({"id": customer_id, "name": name, "postcode_given": given})
    return found


def find_customer(db: sqlite_utils.Database, ref: str | int) -> dict[str, Any] | None:
    """A customer by numeric id or by email; None when there is no such customer."""
    if isinstance(ref, int):
        return get_customer(db, ref)
    ref = (ref or "").strip()
    if ref.isdigit():
        return get_customer(db, int(ref))
    if "@" in ref:
        return find_by_email(db, ref)
    return None


def purchased_category_ids(db: sqlite_utils.Database, customer_id: int) -> list[int]:
    """Categories the customer bought from, most bought first (for recommendations)."""
    rows = db.execute(
        """
        select p.category_id, sum(oi.quantity) as n
        from orders o
        join order_items oi on oi.order_id = o.id
        join variants v on v.id = oi.variant_id
        join products p on p.id = v.product_id
        where o.customer_id = ? and p.category_id is not null
        group by p.category_id order by n desc
        """,
        [customer_id],
    ).fetchall()
    return [r[0] for r in rows]


def purchased_product_ids(db: sqlite_utils.Database, customer_id: int) -> set[int]:
    rows = db.execute(
        """
        select distinct v.product_id from orders o
        join order_items oi on oi.order_id = o.id
        join variants v on v.id = oi.variant_id
        where o.customer_id = ?
        """,
        [customer_id],
    ).fetchall()
    return {r[0] for r in rows}


def set_default_address(
    db: sqlite_utils.Database, customer_id: int, address: dict[str, Any]
) -> None:
    """Update without committing: the caller commits it together with the turn record."""
    db.execute(
        "update customers set address = ? where id = ?",
        [json.dumps(address, ensure_ascii=False), customer_id],
    )
