"""The one place that finds and masks personal data in free text.

Used for everything that stores or sends customer text: turns and their NLU JSON, the
dialogue state, tickets and hand-off summaries, return reasons, prompts for the LLM,
exports and ``stats``. Real emails, phone numbers and addresses live only in the
structured customer and order tables. Shared by the knowledge base and the engine, so it
depends on neither.

What it finds, in English and Chinese text, in ASCII or fullwidth characters:

- emails, internationalised ones too (``josé@correo.es``, ``用户@例子.中国``);
- payment cards: 13-19 digits, grouped by spaces, dashes or dots, with a valid Luhn
  checksum (or any such number right after a word that says "card");
- Chinese resident ID numbers: 18 characters whose date of birth is a real date and
  whose ISO 7064 MOD 11-2 check character is right;
- phone numbers: "+" international numbers, Chinese mobiles (grouped by spaces, dashes
  or dots), North American numbers (separated, or a bare 10-digit run that
  ``phonenumbers`` says is a valid US/CA number), and any digit run after a phone word;
- IBANs ("DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432") whose country format
  and mod-97 check digits are right (python-stdnum);
- US social security numbers written 3-2-4 ("123-45-6789", "123 45 6789") that could be
  issued, or 9 digits after "SSN" / "social security";
- street addresses: "12 Main Street" (with the rest of the line: city, state, postcode)
  and "北京市朝阳区建国路88号3号楼".

The hard part is *not* masking what only looks similar: order numbers ("10023",
"732201349959"), tracking numbers, prices and dates. Numbers right after an order,
tracking or invoice word are left alone (except cards that pass Luhn after a card word).

Fullwidth forms (U+FF01-U+FF5E) map one to one onto ASCII, so matching runs on a folded
copy of the same length and masks the same spans in the original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.us import ssn as stdnum_ssn

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"
ID_MASK = "[id]"
ADDRESS_MASK = "[address]"
IBAN_MASK = "[iban]"
SSN_MASK = "[ssn]"
MASKS = (EMAIL_MASK, PHONE_MASK, CARD_MASK, ID_MASK, ADDRESS_MASK, IBAN_MASK, SSN_MASK)

# --- folding ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Fullwidth ASCII forms and the ideographic space as ASCII, keeping every position."""
    out = []
    for ch in text:
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E:
            out.append(chr(o - 0xFEE0))
        elif o == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


# --- patterns (run on the folded text) ------------------------------------------------------

# Lookarounds use ASCII classes on purpose: in Python ``\w`` matches CJK characters, and
# "我的手机13800138000" has no space before the number.
_EMAIL_CHAR = r"[^\s@<>()\[\]{},;:\"'`。，：；、（）【】《》「」/?#]"
_EMAIL = re.compile(
    rf"{_EMAIL_CHAR}+@{_EMAIL_CHAR}+?\."
    r"(?:[A-Za-z]{2,}(?![A-Za-z])|[\u4e00-\u9fff]{2,4}|[^\W\d_A-Za-z\u4e00-\u9fff]{2,})"
)
# A local part that mixes Chinese and Latin ("我的邮箱是emma") starts at its Latin run.
_LATIN_LOCAL_TAIL = re.compile(r"[A-Za-z0-9._%+\-\u00c0-\u024f]+$")
# 13-19 digits, optionally grouped by single spaces, dashes or dots.
_CARD = re.compile(r"(?<![A-Za-z0-9_.])\d(?:[ .\-]?\d){12,18}(?![A-Za-z0-9_]|[.\-]\d)")
# 18-character Chinese ID: region, birth date, sequence, check character.
_CN_ID = re.compile(
    r"(?<![A-Za-z0-9_])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![A-Za-z0-9_])"
)
# IBAN: country letters, check digits, then 11-30 letters or digits, written in one run or
# in groups of four ("DE89 3704 0044 0532 0130 00"); python-stdnum checks the country's
# length and format and the mod-97 check digits.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9_])[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,3})?)"
    r"(?![A-Za-z0-9_])"
)
# US social security number written 3-2-4 with dashes or spaces ("123-45-6789"); a bare
# 9-digit run only after a word that says so (it is an order number in many shops).
_SSN = re.compile(r"(?<![A-Za-z0-9_.\-])\d{3}([ \-])\d{2}\1\d{4}(?![A-Za-z0-9_]|[.\-]\d)")
_SSN_CONTEXT = re.compile(
    r"(?P<lead>(?:ssn|social security(?: number| no\.?)?|社会安全号)\s*(?:is|:|#|是)?\s*)"
    r"(?P<num>\d{9})(?![A-Za-z0-9_])",
    re.IGNORECASE,
)
# "+86 138 0013 8000", "+1 (415) 555-0132", "+44 20 7946 0958"; checked with phonenumbers
# below, so a signed number ("Sentiment trend: +0.00", "+12.50") is not a phone.
_INTL_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}(?![A-Za-z0-9_])"
)
# Chinese mobile: 11 digits starting 13-19, optionally grouped 3-4-4 by space, dash or dot.
_CN_MOBILE = re.compile(
    r"(?<![A-Za-z0-9_.])(?<![A-Za-z0-9]-)1[3-9]\d([ .\-]?)\d{4}\1\d{4}(?![A-Za-z0-9_]|[.\-]\d)"
)
# North American "(415) 555-0132", "415-555-0132", "415.555.0132", or a bare 10-digit run
# (checked with phonenumbers below, so "1234567890" stays an order number).
_NANP = re.compile(
    r"(?<![A-Za-z0-9_.])(?<![A-Za-z0-9]-)(?:\(\d{3}\)\s?|\d{3}[.\-\s]?)\d{3}[.\-\s]?\d{4}(?![A-Za-z0-9_]|[.\-]\d)"
)
# Any 7-15 digit run (spaces, dashes, dots allowed) right after a word that says "phone".
_PHONE_CONTEXT = re.compile(
    r"(?P<lead>(?:phone|mobile|cell|tel|telephone|call me(?: at)?|whatsapp|电话|手机|手机号|联系方式)"
    r"(?:\s*(?:number|no\.?|#|号码|号))?\s*(?:is|:|是|为)?\s*)"
    r"(?P<num>\+?\d(?:[ .\-]?\d){6,14})(?![A-Za-z0-9_]|[.\-]\d)",
    re.IGNORECASE,
)
# Numbers right after these words are identifiers the customer needs to see.
_ID_CONTEXT = re.compile(
    r"(?:order|tracking|invoice|rma|sku|ref(?:erence)?|no\.|#|订单|单号|运单|发票)\s*"
    r"(?:number|no\.?|#|号|号码)?\s*(?:is|:|是)?\s*$",
    re.IGNORECASE,
)
_CARD_CONTEXT = re.compile(
    r"(?:card|visa|mastercard|amex|unionpay|credit|debit|卡号|银行卡|信用卡|储蓄卡)\s*"
    r"(?:number|no\.?|#|号|号码)?\s*(?:is|:|是)?\s*$",
    re.IGNORECASE,
)
_STREET_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|way|court|ct|place|pl|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|close|"
    r"row|alley|plaza)"
)
# "445 Maple Drive", "12B North Main St.", then the rest of the address line: unit,
# city, state or region, postcode, country (up to three comma-separated parts).
_EN_ADDRESS = re.compile(
    r"(?<![A-Za-z0-9_])\d{1,6}[A-Za-z]?(?:-\d{1,4})?\s+(?:[A-Za-z][A-Za-z'.\-]*\s+){0,4}?"
    + _STREET_SUFFIX
    + r"\b\.?"
    r"(?:(?:,?\s*(?:apt|apartment|suite|ste|unit|fl|floor|#)\.?\s*[A-Za-z0-9\-]+)"
    r"|(?:,\s*[A-Za-z][A-Za-z .'\-]{1,30}?(?=,|$|\s+\d|\s*[.;!?]))"
    r"|(?:,?\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)"
    r"|(?:,?\s*\d{5}(?:-\d{4})?)"
    r"|(?:,?\s*[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}))*",
    re.IGNORECASE,
)
_CJK = r"[\u4e00-\u9fff]"
# "广东省深圳市南山区科技园路1号", "朝阳区建国路88号3号楼2单元501室": the span from the
# first administrative unit (or the road) to the last building part.
_ZH_ADDRESS = re.compile(
    rf"(?:{_CJK}{{2,8}}?(?:省|自治区|特别行政区))?"
    rf"(?:{_CJK}{{1,8}}?(?:市|州|盟))?"
    rf"(?:{_CJK}{{1,8}}?(?:区|县|旗|镇|乡|街道))?"
    rf"{_CJK}{{1,12}}?(?:路|街|大道|道|巷|弄|胡同|里)\s*\d+(?:-\d+)?\s*号"
    rf"(?:\s*(?:{_CJK}{{0,6}}|\d+)\s*(?:号楼|楼|栋|幢|座|单元|层|室|号))*"
)
# Words that end the lead-in of a Chinese address: the address starts after them.
_ZH_ADDRESS_LEAD = re.compile(r".*(?:是|为|在|到|住|寄|送|改|地址|：|:)")


def luhn_ok(digits: str) -> bool:
    """The payment-card checksum; random 13-19 digit numbers fail it 90% of the time."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_ok(text: str) -> bool:
    """An 18-character Chinese resident ID: real birth date and ISO 7064 MOD 11-2 check."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _CN_ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


# --- masking -----------------------------------------------------------------------------------


def _after(folded: str, start: int, pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(folded[max(0, start - 24) : start]))


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _is_possible_intl_phone(number: str) -> bool:
    """A "+" number whose country code exists and whose length fits that country."""
    if len(_digits(number)) < 7:
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


def iban_ok(text: str) -> bool:
    """An IBAN with the right length and format for its country and valid mod-97 digits."""
    return bool(stdnum_iban.is_valid(text.upper()))


def ssn_ok(digits: str) -> bool:
    """A US SSN that could be issued: not area 000, 666 or 9xx, group 00 or serial 0000."""
    return bool(stdnum_ssn.is_valid(digits))


def _is_us_phone(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


# Whether a number written after an order/tracking/invoice word really is one of the
# shop's identifiers. None: trust the word (the default). The record stage passes a check
# against the database, so a phone the dialogue mistook for an order number ("To look up
# order 4152000000 ...") is not stored raw in the reply.
IdentifierCheck = Callable[[str], bool] | None


def _identifier(check: IdentifierCheck, value: str) -> bool:
    return check is None or check(value)


def find_pii(
    text: str, *, addresses: bool = True, is_identifier: IdentifierCheck = None
) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, mask)`` of personal data in ``text``, not overlapping, in order."""
    if not text:
        return []
    folded = fold(text)
    spans: list[tuple[int, int, str]] = []
    taken = [False] * len(folded)

    def add(start: int, end: int, mask: str) -> None:
        if any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        spans.append((start, end, mask))

    for m in _EMAIL.finditer(folded):
        start = m.start()
        local = folded[start : folded.index("@", start)]
        if re.search(r"[\u4e00-\u9fff]", local):
            tail = _LATIN_LOCAL_TAIL.search(local)
            if tail is not None:
                start += tail.start()
        add(start, m.end(), EMAIL_MASK)
    for m in _IBAN.finditer(folded):
        # A word of four letters after a grouped IBAN ("... 0130 then") is tried off again.
        candidate = m.group(0)
        while candidate and not iban_ok(candidate):
            candidate = candidate.rpartition(" ")[0]
        if candidate:
            add(m.start(), m.start() + len(candidate), IBAN_MASK)
    for m in _CN_ID.finditer(folded):
        if cn_id_ok(m.group(0)):
            add(m.start(), m.end(), ID_MASK)
    for m in _CARD.finditer(folded):
        digits = _digits(m.group(0))
        if not 13 <= len(digits) <= 19:
            continue
        if _after(folded, m.start(), _CARD_CONTEXT) or (
            luhn_ok(digits)
            and not (
                _after(folded, m.start(), _ID_CONTEXT)
                and _identifier(is_identifier, text[m.start() : m.end()])
            )
        ):
            add(m.start(), m.end(), CARD_MASK)
    for m in _SSN.finditer(folded):
        if ssn_ok(_digits(m.group(0))):
            add(m.start(), m.end(), SSN_MASK)
    for m in _SSN_CONTEXT.finditer(folded):
        add(m.start("num"), m.end("num"), SSN_MASK)
    for m in _PHONE_CONTEXT.finditer(folded):
        add(m.start("num"), m.end("num"), PHONE_MASK)
    for pattern in (_INTL_PHONE, _CN_MOBILE, _NANP):
        for m in pattern.finditer(folded):
            if _after(folded, m.start(), _ID_CONTEXT) and _identifier(
                is_identifier, text[m.start() : m.end()]
            ):
                continue
            bare = pattern is _NANP and not re.search(r"[().\-\s]", m.group(0))
            if bare and not _is_us_phone(m.group(0)):
                continue
            if pattern is _INTL_PHONE and not _is_possible_intl_phone(m.group(0)):
                continue
            add(m.start(), m.end(), PHONE_MASK)
    if addresses:
        for m in _EN_ADDRESS.finditer(folded):
            if not _after(folded, m.start(), _ID_CONTEXT):
                add(m.start(), m.end(), ADDRESS_MASK)
        for m in _ZH_ADDRESS.finditer(folded):
            start = m.start()
            lead = _ZH_ADDRESS_LEAD.match(folded, start, m.end())
            if lead is not None and lead.end() < m.end() - 2:
                start = lead.end()
            add(start, m.end(), ADDRESS_MASK)
    return sorted(spans)


def mask_pii(text: str, *, addresses: bool = True, is_identifier: IdentifierCheck = None) -> str:
    """Replace personal data with ``[email]``, ``[phone]``, ``[card]``, ``[id]``, ``[iban]``,
    ``[ssn]``, ``[address]``.

    ``addresses=False`` keeps street addresses (a new address the customer is giving on
    purpose, kept for the confirmation); everything else is still masked.
    """
    if not text:
        return text or ""
    spans = find_pii(text, addresses=addresses, is_identifier=is_identifier)
    if not spans:
        return text
    out, last = [], 0
    for start, end, mask in spans:
        out.append(text[last:start])
        out.append(mask)
        last = end
    out.append(text[last:])
    return "".join(out)


def contains_pii(text: str) -> bool:
    return bool(find_pii(text or ""))


def mask_value(value: Any, *, is_identifier: IdentifierCheck = None) -> Any:
    """Mask every string inside a JSON-like value (dicts, lists), keys included."""
    if isinstance(value, str):
        return mask_pii(value, is_identifier=is_identifier)
    if isinstance(value, dict):
        return {
            mask_value(k, is_identifier=is_identifier): mask_value(v, is_identifier=is_identifier)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_value(v, is_identifier=is_identifier) for v in value]
    return value
