"""What a policy question asks about, read from the customer's words: the country or region
to ship to, the courier asked for, the item asked about in a return question, and whether
it asks when a refund arrives. The phrase lists are data (``data/policy_questions.toml``);
country names come from pycountry (ISO 3166-1 and its zh_CN translation), so every country
is known in English and Chinese without a hand-written table.

Nothing here answers: the handlers compare what was asked with the shop's own policy.
"""

from __future__ import annotations

import gettext
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pycountry
from rapidfuzz import fuzz

from shopassist.kb.policies import Carrier, LocalText

DATA = Path(__file__).parent / "data" / "policy_questions.toml"
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z][a-z']*")
# Two words are the same word for a return question at this rapidfuzz ratio ("giftcards").
SAME_WORD_RATIO = 85


@cache
def _data() -> dict[str, Any]:
    with DATA.open("rb") as fh:
        return tomllib.load(fh)


@cache
def _zh_names() -> gettext.NullTranslations:
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    except OSError:
        return gettext.NullTranslations()


# --- countries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _CountryNames:
    latin: re.Pattern[str]
    cjk: re.Pattern[str]
    code_of: dict[str, str]  # lower-cased name -> alpha-2 code


@cache
def _country_names() -> _CountryNames:
    code_of: dict[str, str] = {}
    zh = _zh_names()
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            if name:
                code_of.setdefault(name.lower(), code)
        code_of.setdefault(zh.gettext(country.name).lower(), code)
    for alias, code in _data()["countries"]["aliases"].items():
        code_of[alias.lower()] = code
    latin = [n for n in code_of if n.isascii()]
    cjk = [n for n in code_of if not n.isascii()]

    def alternation(names: list[str], bounded: bool) -> re.Pattern[str]:
        parts = []
        for name in sorted(names, key=len, reverse=True):  # longest first: "Guinea-Bissau"
            esc = re.escape(name)
            parts.append(rf"(?<![a-z]){esc}(?![a-z])" if bounded else esc)
        return re.compile("|".join(parts))

    return _CountryNames(alternation(latin, True), alternation(cjk, False), code_of)


def _without_not_countries(text: str) -> str:
    low = text.lower()
    for phrase in _data()["countries"]["not_countries"]:
        low = low.replace(phrase.lower(), " ")
    return low


def country_in(text: str) -> str | None:
    """The ISO alpha-2 code of a country the text names ("Mexico", "加拿大", "the UK")."""
    names = _country_names()
    low = _without_not_countries(text)
    for pattern in (names.cjk, names.latin):
        m = pattern.search(low)
        if m is not None:
            return names.code_of[m.group(0)]
    return None


def resolve_country(entry: str) -> str | None:
    """A shop's ``shipping.countries`` entry (a code, or a name) as an alpha-2 code."""
    names = _country_names()
    found = names.code_of.get(entry.strip().lower())
    if found:
        return found
    try:
        return str(pycountry.countries.lookup(entry.strip()).alpha_2)
    except LookupError:
        return None


def country_name(code: str, language: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    if language == "zh":
        return str(_zh_names().gettext(country.name))
    name = str(getattr(country, "common_name", None) or country.name)
    return f"the {name}" if code in _data()["countries"]["with_the_en"] else name


# --- places that are not countries ----------------------------------------------------------


@cache
def _destination_patterns() -> tuple[re.Pattern[str], ...]:
    spec = _data()["destination"]
    return tuple(re.compile(p, re.IGNORECASE) for p in [*spec["en"], *spec["zh"]])


def destination_place(text: str) -> str | None:
    """The place a shipping question names when it is not a country ("Alaska", "新疆")."""
    for pattern in _destination_patterns():
        m = pattern.search(text)
        if m is not None:
            place = m.group(1).strip(" .'-")
            if len(place) >= 2 and not asked_courier(place):
                return place[:1].upper() + place[1:] if place.isascii() else place
    return None


# --- couriers -------------------------------------------------------------------------------


def mentions(text: str, name: str) -> bool:
    """Whether the text names ``name`` (a Latin name as a whole word)."""
    if not name:
        return False
    if name.isascii():
        return (
            re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.I) is not None
        )
    return name in text


def asked_courier(text: str) -> tuple[str, ...] | None:
    """The aliases of a courier the text names ("能发顺丰吗" -> SF Express, 顺丰, ...)."""
    for aliases in _data()["couriers"]["names"]:
        if any(mentions(text, a) for a in aliases):
            return tuple(aliases)
    return None


def _carrier_names(carrier: Carrier) -> list[str]:
    names = [carrier.code]
    if carrier.name is not None:
        names += [carrier.name.en, carrier.name.zh or ""]
    return [n for n in names if n]


def shop_carrier_in(text: str, carriers: list[Carrier]) -> Carrier | None:
    """A carrier of the shop's own list that the text names by its code or name."""
    return next((c for c in carriers if any(mentions(text, n) for n in _carrier_names(c))), None)


def carrier_is(carrier: Carrier, aliases: tuple[str, ...]) -> bool:
    """Whether the shop's carrier is the courier known by ``aliases``."""
    return any(
        fuzz.ratio(name.lower(), alias.lower()) >= SAME_WORD_RATIO or mentions(name, alias)
        for name in _carrier_names(carrier)
        for alias in aliases
    )


# --- returns --------------------------------------------------------------------------------


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _content_words(text: str) -> list[str]:
    stop = set(_data()["returns"]["stop_words_en"])
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in stop]


def _zh_segments(text: str) -> list[str]:
    stop = sorted(_data()["returns"]["stop_words_zh"], key=len, reverse=True)
    pattern = "|".join(map(re.escape, stop))
    return [s for run in _CJK.findall(text) for s in re.split(pattern, run) if len(s) >= 2]


def _shares_two_chars(segment: str, text: str) -> bool:
    return any(segment[i : i + 2] in text for i in range(len(segment) - 1))


def _entry_score(question: str, entry: LocalText) -> float:
    if _CJK.search(question):
        segments = _zh_segments(entry.zh or entry.en)
        return 1.0 if any(_shares_two_chars(s, question) for s in segments) else 0.0
    wanted = _content_words(entry.en)
    asked = _content_words(question)
    if not wanted or not asked:
        return 0.0
    if fuzz.partial_ratio("".join(wanted), "".join(asked)) >= 100 - (100 - SAME_WORD_RATIO) / 2:
        return 1.0  # written as one word: "giftcards"
    hit = sum(1 for w in wanted if any(fuzz.ratio(w, a) >= SAME_WORD_RATIO for a in asked))
    return hit / len(wanted)


def non_returnable_in(question: str, entries: list[LocalText]) -> LocalText | None:
    """The shop's non-returnable entry a return question is about ("can I return gift
    cards?" -> "gift cards"; "清仓的能退吗" -> "清仓商品"): more than half of its words
    asked for, fuzzily (a Chinese entry: a two-character word of it in the question)."""
    scored = [(_entry_score(question, e), n, e) for n, e in enumerate(entries)]
    best = max(scored, key=lambda s: (s[0], -s[1]), default=None)
    return best[2] if best is not None and best[0] > 0.5 else None


# --- refunds --------------------------------------------------------------------------------


@cache
def _refund_time_patterns() -> tuple[re.Pattern[str], ...]:
    spec = _data()["refund_time"]
    return tuple(re.compile(p, re.IGNORECASE) for p in [*spec["en"], *spec["zh"]])


def asks_refund_time(text: str) -> bool:
    """Whether the question is when the money comes back (``returns.refund_days``)."""
    return any(p.search(text) for p in _refund_time_patterns())


@cache
def _cost_patterns() -> tuple[re.Pattern[str], ...]:
    spec = _data()["cost"]
    return tuple(re.compile(p, re.IGNORECASE) for p in [*spec["en"], *spec["zh"]])


def asks_cost(text: str) -> bool:
    """Whether a shipping question asks what it costs."""
    return any(p.search(text) for p in _cost_patterns())


@cache
def _time_patterns() -> tuple[re.Pattern[str], ...]:
    spec = _data()["time"]
    return tuple(re.compile(p, re.IGNORECASE) for p in [*spec["en"], *spec["zh"]])


def asks_time(text: str) -> bool:
    """Whether a shipping question asks how long delivery takes."""
    return any(p.search(text) for p in _time_patterns())


@cache
def _pending_patterns() -> tuple[re.Pattern[str], ...]:
    spec = _data()["pending_payment"]
    return tuple(re.compile(p, re.IGNORECASE) for p in [*spec["en"], *spec["zh"]])


def asks_pending_payment(text: str) -> bool:
    """Whether the question is about an order still waiting for payment."""
    return any(p.search(text) for p in _pending_patterns())
