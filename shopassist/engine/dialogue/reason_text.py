"""The reason a customer gives for a return or a cancellation, as it is stored and repeated.

A reason is free text taken from the customer's message, so it can hold the contact details
given in the same breath ("they hurt my ears, my email is [email]") or be one clause of the
request itself ("please cancel order SA-5107, I found it cheaper elsewhere"). Both are
handled here: contact details (masked by the PII masker) are cut out with the words that
introduce them, and a request's reason is the clause that is not the request. The words that
make a clause part of the request are data (``data/order_items.toml``).
"""

from __future__ import annotations

import re

from shopassist.engine.dialogue.order_items import refund_status_words, request_words
from shopassist.engine.privacy import mask_pii

# A masked email or phone with the words that introduce it: "my email is [email]",
# "邮箱：[email]", ", phone [phone]".
MASKED_CONTACT = re.compile(
    r"[\s,，;；\-–]*(?:my\s+)?(?:手机|电话|邮箱|phone|mobile|tel|e-?mail)?\s*(?:is|号码)?[:：]?\s*"
    r"\[(?:email|phone)\][\s,，;；.。]*",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,，;；.。!！?？]")
_WORD = re.compile(r"[a-z0-9']+|[\u4e00-\u9fff]", re.IGNORECASE)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _has_word(word: str, low: str) -> bool:
    word = word.strip()
    if _CJK.search(word):
        return word in low
    return re.search(rf"(?<![a-z']){re.escape(word)}(?![a-z])", low) is not None


def clean_reason(text: str) -> str:
    """The reason without contact details (masked, then cut with their lead-in words)."""
    masked = mask_pii(text)
    return MASKED_CONTACT.sub(" ", masked).strip(" ,，;；-–.。").strip()


def reason_in_request(request: str, order_number: str | None = None) -> str | None:
    """The clause of a request that gives its reason: not the request itself (no request
    word, no order number), not a question, not contact details, and more than a word or
    two ("thanks"). None when no clause is one."""
    words = request_words()
    text = MASKED_CONTACT.sub(" . ", mask_pii(request))
    for clause in _CLAUSE.split(text):
        clause = " ".join(clause.split())
        low = clause.lower()
        if not clause or (order_number and order_number.lower() in low):
            continue
        if any(_has_word(w, low) for w in words):
            continue
        tokens = _WORD.findall(clause)
        enough = len(tokens) >= 4 if _CJK.search(clause) else len(tokens) >= 3
        if enough and not re.search(r"\d{3,}", clause):
            return clause
    return None


def asks_what_was_refunded(text: str) -> bool:
    """Does the message ask what was (already) refunded, rather than ask for a return?
    ("how much was refunded?", "was anything refunded on it?", "退了多少"; data)."""
    low = text.lower()
    return any(_has_word(w, low) for w in refund_status_words())
