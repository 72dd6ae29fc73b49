"""Masking personal data in text that is stored or sent to an LLM.

Real emails, phone numbers and card numbers live only in the structured customer and
order tables. Turn text and prompts get placeholders instead, so a leaked log or a
chatty model cannot repeat them.

The hard part is *not* masking what looks similar: order numbers ("10023",
"732201349959"), tracking numbers, prices and dates. Cards need 13-19 digits and a valid
Luhn checksum; bare digit runs count as phones only in the unambiguous shapes (Chinese
mobile, international "+" prefix, separated NANP groups) or right after a phone word;
anything right after an order/tracking word is left alone.
"""

from __future__ import annotations

import re

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"

# Lookarounds use ASCII classes on purpose: in Python ``\w`` matches CJK characters, and
# "我的手机13800138000" has no space before the number.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# 13-19 digits, optionally grouped by single spaces or dashes ("4111 1111 1111 1111").
_CARD = re.compile(r"(?<![A-Za-z0-9_.])\d(?:[ \-]?\d){12,18}(?![A-Za-z0-9_]|\.\d)")

# "+86 138 0013 8000", "+1 (415) 555-0132", "+44 20 7946 0958".
_INTL_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}(?![A-Za-z0-9_])"
)
# Chinese mobile: 11 digits starting 13-19, optionally grouped 3-4-4.
_CN_MOBILE = re.compile(r"(?<![A-Za-z0-9_.])1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?![A-Za-z0-9_]|\.\d)")
# North American "(415) 555-0132", "415-555-0132", "415.555.0132": separators required,
# so a bare 10-digit order number is not a phone.
_NANP = re.compile(
    r"(?<![A-Za-z0-9_.])(?:\(\d{3}\)\s?|\d{3}[.\-\s])\d{3}[.\-\s]\d{4}(?![A-Za-z0-9_]|\.\d)"
)
# Any 7-15 digit run (spaces/dashes allowed) right after a word that says "phone".
_PHONE_CONTEXT = re.compile(
    r"(?P<lead>(?:phone|mobile|cell|tel|telephone|call me(?: at)?|whatsapp|电话|手机|手机号|联系方式)"
    r"(?:\s*(?:number|no\.?|#|号码|号))?\s*(?:is|:|：|是|为)?\s*)"
    r"(?P<num>\+?\d(?:[ \-]?\d){6,14})(?![A-Za-z0-9_]|\.\d)",
    re.IGNORECASE,
)
# Numbers right after these words are identifiers the customer needs to see.
_ID_CONTEXT = re.compile(
    r"(?:order|tracking|invoice|rma|sku|ref(?:erence)?|no\.|#|订单|单号|运单|发票)\s*(?:number|no\.?|#|号|号码)?\s*[:：#]?\s*$",
    re.IGNORECASE,
)


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


# After these words a 13-19 digit number is a card even with a typo in it.
_CARD_CONTEXT = re.compile(
    r"(?:card|visa|mastercard|amex|credit|debit|卡号|银行卡|信用卡)\s*(?:number|no\.?|#|号|号码)?\s*(?:is|:|：|是)?\s*$",
    re.IGNORECASE,
)


def _after_id_word(text: str, start: int) -> bool:
    return bool(_ID_CONTEXT.search(text[max(0, start - 24) : start]))


def _mask_cards(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if not 13 <= len(digits) <= 19:
            return m.group(0)
        if _CARD_CONTEXT.search(text[max(0, m.start() - 24) : m.start()]):
            return CARD_MASK
        if luhn_ok(digits) and not _after_id_word(text, m.start()):
            return CARD_MASK
        return m.group(0)

    return _CARD.sub(repl, text)


def _mask_phones(text: str) -> str:
    text = _PHONE_CONTEXT.sub(lambda m: m.group("lead") + PHONE_MASK, text)
    for pattern in (_INTL_PHONE, _CN_MOBILE, _NANP):
        current = text

        def repl(m: re.Match[str], current: str = current) -> str:
            if _after_id_word(current, m.start()):
                return m.group(0)
            return PHONE_MASK

        text = pattern.sub(repl, current)
    return text


def mask_pii(text: str) -> str:
    """Replace emails, phone numbers and card numbers with ``[email]``, ``[phone]``, ``[card]``."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _mask_cards(text)
    return _mask_phones(text)


def contains_pii(text: str) -> bool:
    return mask_pii(text) != text
