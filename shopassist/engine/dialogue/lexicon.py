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
    price_under: re.Pattern[str]
    price_over: re.Pattern[str]
    colour_families: dict[str, tuple[str, ...]]
    category_words: dict[str, str]
    colour_names_zh: dict[str, str]
    general_question: re.Pattern[str]
    own_request: re.Pattern[str]
    reason_words: re.Pattern[str]
    common_lead_words: frozenset[str]
    cost_question: re.Pattern[str]
    warranty: re.Pattern[str]
    order_it: re.Pattern[str]
    non_returnable: re.Pattern[str]
    return_shipping: re.Pattern[str]
    order_task_words: tuple[tuple[str, re.Pattern[str]], ...]

    def order_task(self, text: str) -> str | None:
        """The order task a word in the message names ("发票" -> get_invoice), if any."""
        low = text.lower()
        for intent, pat in self.order_task_words:
            if pat.search(low):
                return intent
        return None

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
        price_under=_pattern(raw.get("price_under_markers", [])),
        price_over=_pattern(raw.get("price_over_markers", [])),
        colour_families={
            k.lower(): tuple(v.lower() for v in vs)
            for k, vs in raw.get("colour_families", {}).items()
        },
        category_words={k.lower(): v for k, v in raw.get("category_words", {}).items()},
        colour_names_zh={k.lower(): v for k, v in raw.get("colour_names_zh", {}).items()},
        general_question=_pattern(raw.get("general_question_markers", [])),
        own_request=_pattern(raw.get("own_request_markers", [])),
        reason_words=_pattern(raw.get("reason_words", [])),
        common_lead_words=frozenset(w.lower() for w in raw.get("common_lead_words", [])),
        cost_question=_pattern(raw.get("cost_question_markers", [])),
        warranty=_pattern(raw.get("warranty_markers", [])),
        order_it=_pattern(raw.get("order_it_markers", [])),
        non_returnable=_pattern(raw.get("non_returnable_markers", [])),
        return_shipping=_pattern(raw.get("return_shipping_markers", [])),
        order_task_words=tuple(
            (intent, _pattern(words)) for intent, words in raw.get("order_task_words", {}).items()
        ),
    )


def matches(pattern: re.Pattern[str], text: str) -> bool:
    return bool(pattern.search(text.lower()))


def free_return_reason(reason: str) -> bool:
    return matches(lexicon().free_return, reason)


def looks_like_injection(text: str) -> bool:
    return matches(lexicon().injection, text)


def colour_matches(wanted: str, colour: str | None) -> bool:
    """Does a catalog colour ("Midnight Blue", "Navy") answer a colour the customer named?

    The NLU gives colours in English ("蓝色" -> "Blue"); a catalog colour matches when it
    is that colour, contains it as a word, or belongs to its family in the lexicon.
    """
    if not colour:
        return False
    want, have = str(wanted).strip().lower(), colour.strip().lower()
    if not want:
        return False
    if want == have or re.search(rf"(?<![a-z]){re.escape(want)}(?![a-z])", have):
        return True
    family = lexicon().colour_families.get(want, ())
    return any(re.search(rf"(?<![a-z]){re.escape(f)}(?![a-z])", have) for f in family)
