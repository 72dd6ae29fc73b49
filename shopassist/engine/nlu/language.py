"""Per-message language: English, Chinese or a mix of both.

Customers switch languages mid-sentence ("我要退货 order 10023"), so the answer is a ratio of
CJK characters among letters rather than a guess about the whole conversation.
"""

from __future__ import annotations

import re

from shopassist.engine.nlu.result import Language
from shopassist.text import CJK_CHAR

# CJK unified ideographs (+ extension A and compatibility ideographs). Kana/hangul are not
# Chinese, but they are rare here and closer to "zh" than to "en" for reply purposes.
_CJK = CJK_CHAR
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Single Latin letters that are units or noise, not English ("3个 T恤", "XL码").
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")

MIXED_LOW = 0.2
MIXED_HIGH = 0.8


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among letters; -1.0 when the text has no letters at all."""
    cjk = len(_CJK.findall(text))
    # Count Latin letters only inside real words, so "T恤" or "3个L" stay Chinese.
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    # A CJK character carries about as much as a short English word: weigh it so
    # "我要退货 order 10023" is mixed, not English.
    weighted_cjk = cjk * 3.0
    total = weighted_cjk + latin
    if total == 0:
        return -1.0
    return weighted_cjk / total


def detect_language(text: str, default: Language = "en") -> Language:
    """en, zh or mixed; text without letters (emoji, digits) gets ``default``."""
    ratio = cjk_ratio(text)
    if ratio < 0:
        return default
    if ratio >= MIXED_HIGH:
        return "zh"
    if ratio <= MIXED_LOW:
        return "en"
    return "mixed"
