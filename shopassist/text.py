"""Shared knowledge about text: which characters are Chinese, month names, Chinese numerals.

One home for what was copied into half a dozen modules and had drifted (some copies knew
extension A and the compatibility ideographs, some did not). Both ``shopassist/kb`` and
``shopassist/engine`` import it; it imports nothing of either.
"""

from __future__ import annotations

import re

# Han ideographs: extension A, the unified block and the compatibility block. Chinese text
# in customer messages and catalog titles uses these; kana and hangul are not Chinese.
CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Scripts written without spaces between words (for tokenising, not for language):
# Han with extensions B-G, kana and hangul.
UNSPACED_SCRIPT_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    + CJK_RANGES
    + "\uac00-\ud7af"  # hangul syllables
    + "\U00020000-\U0003134f"  # extensions B-G
)

CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")


def has_cjk(text: str) -> bool:
    return CJK_CHAR.search(text) is not None


def is_cjk_char(ch: str) -> bool:
    return CJK_CHAR.fullmatch(ch) is not None


# English month names and their abbreviations -> month number.
MONTHS: dict[str, int] = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
}  # fmt: skip

# Chinese numerals: digits (两 is the counting form of 二) and the place values.
ZH_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
    "七": 7, "八": 8, "九": 9,
}  # fmt: skip
ZH_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def zh_number(text: str) -> int | None:
    """ "三" -> 3, "十二" -> 12, "二十五" -> 25, "一百零五" -> 105; None if not a numeral."""
    if not text or any(ch not in ZH_DIGITS and ch not in ZH_UNITS for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch in ZH_DIGITS:
            current = ZH_DIGITS[ch]
        else:
            unit = ZH_UNITS[ch]
            if unit == 10000:
                total = (total + (current or 0)) * unit
            else:
                total += (current or 1) * unit
            current = 0
    return total + current


__all__ = [
    "CJK_CHAR",
    "CJK_RANGES",
    "CJK_RUN",
    "MONTHS",
    "UNSPACED_SCRIPT_RANGES",
    "ZH_DIGITS",
    "ZH_UNITS",
    "has_cjk",
    "is_cjk_char",
    "zh_number",
]
