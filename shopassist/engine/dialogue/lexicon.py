"""Phrase lists from ``data/lexicon.toml`` and the matching rules for them.

English words match on word boundaries ("it" must not match "with"); Chinese phrases
match as substrings, since Chinese has no spaces between words.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "lexicon.toml"


def _pattern(phrases: list[str]) -> re.Pattern[str]:
    alts = []
    for p in sorted(phrases, key=len, reverse=True):
        esc = re.escape(p.lower())
        if p.isascii() and p[:1].isalnum():
            esc = r"(?<![a-z0-9])" + esc
            if p[-1:].isalnum():
                esc += r"(?![a-z0-9])"
        alts.append(esc)
    return re.compile("|".join(alts) if alts else r"(?!x)x")


@dataclass(frozen=True)
class Lexicon:
    cancel: re.Pattern[str]
    correction: re.Pattern[str]
    reason_markers: tuple[str, ...]
    yes: re.Pattern[str]
    no: re.Pattern[str]
    it: re.Pattern[str]
    ordinals: tuple[tuple[str, re.Pattern[str]], ...]
    free_return: re.Pattern[str]
    injection: re.Pattern[str]

    def ordinal(self, text: str) -> str | None:
        low = text.lower()
        for name, pat in self.ordinals:
            if pat.search(low):
                return name
        return None

    def reason_after_marker(self, text: str) -> str | None:
        low = text.lower()
        for marker in self.reason_markers:
            i = low.find(marker)
            if i >= 0:
                reason = text[i + len(marker) :].strip(" .,!。，！")
                if len(reason) >= 2:
                    return reason
        return None


@cache
def lexicon() -> Lexicon:
    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    return Lexicon(
        cancel=_pattern(raw["cancel_phrases"]),
        correction=_pattern(raw["correction_markers"]),
        reason_markers=tuple(m.lower() for m in raw["reason_markers"]),
        yes=_pattern(raw["yes_words"]),
        no=_pattern(raw["no_words"]),
        it=_pattern(raw["it_words"]),
        ordinals=tuple((name, _pattern(words)) for name, words in raw["ordinals"].items()),
        free_return=_pattern(raw["free_return_keywords"]),
        injection=_pattern(raw["injection_markers"]),
    )


def matches(pattern: re.Pattern[str], text: str) -> bool:
    return bool(pattern.search(text.lower()))


def free_return_reason(reason: str) -> bool:
    return matches(lexicon().free_return, reason)


def looks_like_injection(text: str) -> bool:
    return matches(lexicon().injection, text)
