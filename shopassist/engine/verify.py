"""The verify stage: an LLM reply is shown only if everything it claims is in the plan.

A 135M model invents order numbers, prices, dates, discount codes and products, so the
check is deliberately strict and mechanical: pull every fact-shaped token out of the
reply (numbers, money, percentages, dates, times, codes, URLs, emails, capitalised
names, number words) and look each up in what the plan supports: its facts, its
allowed values, the customer's name, its guidance and its template reply. The template
counts as support because it is what the customer sees anyway when the LLM is rejected,
so accepting its facts can never reveal more than the fallback would.

Then: every required fact must be stated, no refusal or "as an AI" boilerplate, no
echoed prompt, no promise of money the plan does not make, the right language, and a
sane length. Any failure means the template is used; the report says which rule failed.

Decisions worth knowing:
- "one" is not a number claim ("the blue one"); "two".."hundred" and Chinese 二..十 before
  a unit ("三天") are, and must be backed by the same number in the plan.
- "$49.99", "USD 49.99", "49.99元" and "49.990" are the same number; "1,299" is 1299.
- Dates match across ISO, "12/03/2026", "Dec 3", "3 December 2026" and "12月3日"; a
  date without a year matches any year.
- A capitalised word or run of words that is not a common word (data file) must appear
  in the plan; that is how invented product, brand and carrier names are caught.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from shopassist.engine.nlu.language import cjk_ratio
from shopassist.engine.plan import ReplyPlan

MAX_SENTENCES = 6

RULE_UNSUPPORTED = "unsupported_facts"
RULE_REQUIRED = "required_facts"
RULE_BOILERPLATE = "boilerplate"
RULE_ARTIFACTS = "prompt_artifacts"
RULE_PROMISES = "promises"
RULE_LANGUAGE = "language"
RULE_LENGTH = "length"
RULE_REPETITION = "repetition"
RULE_DRAFT = "draft_overlap"
RULE_NEGATION = "negation"
RULE_RELATIONS = "relations"
RULE_UNITS = "units"
RULE_QUALITIES = "invented_qualities"
RULE_LABELS = "field_labels"
RULE_NAME = "customer_name"
RULE_TONE = "tone"
RULE_SPECS = "spec_labels"

# A reply this similar to its template (rapidfuzz ratio, 0-100, on folded text) is a copy:
# the model added nothing. The eval counts it as a copy, not as an accepted rephrasing.
COPY_SIMILARITY = 90

# Share of the template's content words (Chinese: character pairs) a rephrase must keep.
# Without it a reply with no fact-shaped tokens ("Customer: I forgot my password.") would
# pass every other rule while saying something else entirely.
MIN_DRAFT_OVERLAP = 0.3


class VerificationReport(BaseModel):
    ok: bool
    reasons: list[str] = Field(default_factory=list)
    checks: list[dict[str, Any]] = Field(default_factory=list)  # {rule, ok, detail}

    @property
    def failed_rules(self) -> list[str]:
        return [c["rule"] for c in self.checks if not c["ok"]]


# --- data files ---------------------------------------------------------------------------


@cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files("shopassist.engine.llm").joinpath("data", name).read_text("utf-8")
    return tomllib.loads(text)


def _fold(text: str) -> str:
    """Lower-case, NFKC (full-width to ASCII), straight quotes, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )
    return re.sub(r"\s+", " ", text)


@cache
def _phrases(section: str) -> tuple[str, ...]:
    entries = _data("phrases.toml")[section]
    return tuple(sorted({_fold(p) for lang in entries.values() for p in lang}))


@cache
def _common_capitalised() -> frozenset[str]:
    return frozenset(w.lower() for w in _data("common_words.toml")["capitalised"])


@cache
def _acronyms() -> frozenset[str]:
    return frozenset(_data("common_words.toml")["acronyms"])


@cache
def _tone() -> dict[str, Any]:
    return _data("tone.toml")


def bad_news(plan: ReplyPlan) -> str | None:
    """Why the plan's outcome is bad news (a refusal, a cancelled order ...), or None.

    By the plan's action (or intent) against ``tone.toml``'s patterns, else by a status
    fact with a bad value, unless the action carries out what the customer asked for.
    """
    negative = _tone()["negative"]
    action = plan.action or plan.intent or ""
    if any(fnmatch.fnmatchcase(action, p) for p in negative["actions"]):
        return f"the plan's outcome is {action!r}"
    if any(fnmatch.fnmatchcase(action, p) for p in negative["requested"]):
        return None
    bad = {_fold(v) for v in negative["status_values"]}
    for fact in plan.facts:
        if fact.key.endswith(".status") and _fold(fact.value).strip() in bad:
            return f"{fact.key} is {fact.value!r}"
    return None


@cache
def _positive_patterns(language: str) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """Good-news phrases anywhere, and good-news words as a sentence's first word."""
    positive = _tone()["positive"]
    lang = "zh" if language == "zh" else "en"
    phrases = sorted({_fold(p) for p in positive["anywhere"].get(lang, [])}, key=len, reverse=True)
    # Both languages' phrases are checked: a zh plan's reply may slip into English.
    other = "en" if lang == "zh" else "zh"
    phrases += sorted({_fold(p) for p in positive["anywhere"].get(other, [])})
    words = [_fold(w) for w in positive["openers"].get(lang, [])]

    def alt(items: list[str]) -> str:
        return "|".join(re.escape(i) for i in items)

    anywhere = re.compile(rf"(?<![a-z])(?:{alt(phrases)})(?![a-z])")
    opener = re.compile(rf"^[\s\W]*(?:{alt(words)})\s*[!,.:;！，。—-]") if words else None
    return anywhere, opener


def contradicting_tone(text: str, plan: ReplyPlan) -> str | None:
    """A good-news phrase in a reply whose plan is bad news, e.g. "Good news! Your return
    can't be accepted"; None when the tone fits (or the plan is not bad news)."""
    why = bad_news(plan)
    if why is None:
        return None
    anywhere, opener = _positive_patterns(plan.language)
    folded = _fold(text)
    found = anywhere.search(folded)
    if found is None and opener is not None:
        for sentence in split_sentences(folded):
            hit = opener.match(sentence)
            if hit:
                found = hit
                break
    if found is None:
        return None
    return f"{found.group(0).strip()!r} contradicts the facts ({why})"


def common_words() -> frozenset[str]:
    """Lower-cased words that never name a product (capitalised common words, stopwords)."""
    return _common_capitalised() | _stopwords()


@cache
def _number_words() -> dict[str, int]:
    return dict(_data("common_words.toml")["number_words"]["en"])


# --- claims -------------------------------------------------------------------------------

_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"

_PLACEHOLDER = re.compile(r"\[(?:email|phone|card)\]", re.IGNORECASE)
# A URL ends before trailing punctuation and at full-width (CJK) punctuation.
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\u3000-\u303f\uff00-\uffef]*"
    r"[^\s<>\"'()\u3000-\u303f\uff00-\uffef.,;:!?]",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_DATE_ISO = re.compile(
    _NOT_ALNUM_BEFORE + r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _NOT_ALNUM_AFTER
)
_DATE_SLASH = re.compile(
    _NOT_ALNUM_BEFORE + r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?" + _NOT_ALNUM_AFTER
)
_DATE_MONTH_DAY = re.compile(
    _NOT_ALNUM_BEFORE
    + rf"({_MONTH_RE})\.?\s+(\d{{1,2}}){_ORD}(?:,?\s+(\d{{4}}))?"
    + _NOT_ALNUM_AFTER,
    re.IGNORECASE,
)
_DATE_DAY_MONTH = re.compile(
    _NOT_ALNUM_BEFORE
    + rf"(\d{{1,2}}){_ORD}\s+(?:of\s+)?({_MONTH_RE})\.?(?:,?\s+(\d{{4}}))?"
    + _NOT_ALNUM_AFTER,
    re.IGNORECASE,
)
_DATE_ZH = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_TIME = re.compile(
    _NOT_ALNUM_BEFORE + r"(\d{1,2}):(\d{2})(?:\s?([ap])\.?m\.?)?" + r"(?![A-Za-z0-9])"
    r"|" + _NOT_ALNUM_BEFORE + r"(\d{1,2})\s?([ap])\.?m\.?(?![A-Za-z])",
    re.IGNORECASE,
)
# After these words a code-shaped token is a code even in lower case: "use code save20",
# 'coupon "freeship"', "优惠码abc". Plain lower-case words ("coupon for you") are not.
_CODE_CONTEXT = re.compile(
    r"(?i:(?:(?:discount|promo|promotion|coupon|voucher|gift)\s+code|coupon|voucher|code)"
    r"(?:\s+is(?![A-Za-z]))?)\s*[:：]?\s*"
    r"(?:[\"'“‘]([A-Za-z0-9][A-Za-z0-9\-_]{2,})[\"'”’]"
    r"|((?=[A-Za-z0-9\-_]*[A-Z0-9])[A-Za-z0-9][A-Za-z0-9\-_]{2,}))"
    r"|(?:优惠码|折扣码|兑换码|券码|代码)\s*(?:是|为|:|：)?\s*([A-Za-z0-9][A-Za-z0-9\-_]{2,})"
)
_TOKEN = re.compile(_NOT_ALNUM_BEFORE + r"[A-Za-z0-9](?:[A-Za-z0-9]|[\-_/#.](?=[A-Za-z0-9]))*")
_UNIT_SUFFIX = re.compile(
    r"^\d+(?:\.\d+)?(?:st|nd|rd|th|h|hr|hrs|min|mins|s|d|x|k|kg|g|cm|mm|m|km|ml|l|gb|mb|tb|"
    r"in|ft|lb|lbs|oz|pcs|pc|yr|yrs|days?|am|pm)$",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9.,])"
    r"(?:(?:US\$|USD|CNY|RMB|EUR|GBP|[$€£¥￥])\s?)?"
    r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?![0-9])"
)
_LIST_MARKER = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")
_ZH_NUMERAL = re.compile(
    r"([二两三四五六七八九十]{1,3})(?=\s*(?:个|件|天|日|周|星期|小时|分钟|年|月|倍|次|%|％|工作日|位))"
)
_CAPITALISED = re.compile(
    r"(?<![A-Za-z0-9'])[A-Z][A-Za-z'\-]*[A-Za-z](?![A-Za-z0-9])|(?<![A-Za-z0-9'])[A-Z](?![A-Za-z0-9'])"
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

_ZH_DIGITS = {"二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _zh_numeral(text: str) -> int | None:
    """二..九十九; enough for durations and counts in replies."""
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (_ZH_DIGITS.get(tens, 0) if tens else 1) * 10
        if ones:
            if ones not in _ZH_DIGITS:
                return None
            value += _ZH_DIGITS[ones]
        return value
    return _ZH_DIGITS.get(text) if len(text) == 1 else None


@dataclass(frozen=True)
class Claim:
    kind: str  # number | date | time | code | url | email | name | placeholder
    text: str
    norms: frozenset[Any]


def _num_norm(raw: str) -> str | None:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(value.to_integral_value())
    return format(value.normalize(), "f")


def number_norm(raw: str) -> str | None:
    """ "1,299.50" -> "1299.5", "49.990" -> "49.99", "45.00" -> "45"; None if not a number."""
    return _num_norm(raw)


def date_spans(text: str) -> list[tuple[int, int]]:
    """Where dates are written in ``text`` (NFKC), so unit rules do not read "3日" as days."""
    spans = []
    for pattern in (_DATE_ISO, _DATE_ZH, _DATE_MONTH_DAY, _DATE_DAY_MONTH, _DATE_SLASH, _TIME):
        spans += [(m.start(), m.end()) for m in pattern.finditer(text)]
    return spans


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    y = int(raw)
    return y + 2000 if y < 100 else y


def _date_norms(y: int | None, m: int, d: int) -> set[tuple[int | None, int, int]]:
    if 1 <= m <= 12 and 1 <= d <= 31:
        return {(y, m, d)}
    return set()


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def extract_claims(text: str) -> list[Claim]:
    """Every fact-shaped token in ``text``; spans are consumed so "2026-12-03" is one date,
    not three numbers, and "RMA-10023-1" is one code."""
    claims: list[Claim] = []
    work = unicodedata.normalize("NFKC", text)

    def take(pattern: re.Pattern[str], make: Any) -> None:
        nonlocal work
        for m in list(pattern.finditer(work)):
            claim = make(m)
            if claim is not None:
                claims.append(claim)
                work = _blank(work, m.start(), m.end())

    take(_PLACEHOLDER, lambda m: Claim("placeholder", m.group(0), frozenset({m.group(0).lower()})))
    take(
        _URL,
        lambda m: Claim("url", m.group(0).rstrip(".,;:!?"), frozenset({_url_norm(m.group(0))})),
    )
    take(_EMAIL, lambda m: Claim("email", m.group(0), frozenset({m.group(0).lower()})))

    def iso(m: re.Match[str]) -> Claim | None:
        norms = _date_norms(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return Claim("date", m.group(0), frozenset(norms)) if norms else None

    def slash(m: re.Match[str]) -> Claim | None:
        a, b, y = int(m.group(1)), int(m.group(2)), _year(m.group(3))
        if y is None and m.group(0).count("/") == 1 and (a > 12 and b > 12):
            return None
        norms = _date_norms(y, a, b) | _date_norms(y, b, a)  # US or European order
        return Claim("date", m.group(0), frozenset(norms)) if norms else None

    def month_day(m: re.Match[str]) -> Claim | None:
        month = _MONTHS[m.group(1).lower()]
        norms = _date_norms(_year(m.group(3)), month, int(m.group(2)))
        return Claim("date", m.group(0), frozenset(norms)) if norms else None

    def day_month(m: re.Match[str]) -> Claim | None:
        month = _MONTHS[m.group(2).lower()]
        norms = _date_norms(_year(m.group(3)), month, int(m.group(1)))
        return Claim("date", m.group(0), frozenset(norms)) if norms else None

    def zh_date(m: re.Match[str]) -> Claim | None:
        norms = _date_norms(_year(m.group(1)), int(m.group(2)), int(m.group(3)))
        return Claim("date", m.group(0), frozenset(norms)) if norms else None

    take(_DATE_ISO, iso)
    take(_DATE_ZH, zh_date)
    take(_DATE_MONTH_DAY, month_day)
    take(_DATE_DAY_MONTH, day_month)
    take(_DATE_SLASH, slash)

    def time_(m: re.Match[str]) -> Claim | None:
        if m.group(1) is not None:
            hour, minute, ampm = int(m.group(1)), int(m.group(2)), m.group(3)
        else:
            hour, minute, ampm = int(m.group(4)), 0, m.group(5)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
        if hour > 24 or minute > 59:
            return None
        return Claim("time", m.group(0), frozenset({(hour, minute)}))

    take(_TIME, time_)

    for m in list(_CODE_CONTEXT.finditer(work)):
        group = next(g for g in (1, 2, 3) if m.group(g))
        raw = m.group(group)
        if raw.isdigit():
            continue  # "code 10023" is left to the number check
        claims.append(Claim("code", raw, frozenset({_code_norm(raw)})))
        work = _blank(work, m.start(group), m.end(group))

    acronyms = _acronyms()
    for m in list(_TOKEN.finditer(work)):
        tok = m.group(0).rstrip(".")
        has_digit = any(c.isdigit() for c in tok)
        has_alpha = any(c.isalpha() for c in tok)
        is_code = False
        if has_digit and has_alpha:
            is_code = not _UNIT_SUFFIX.match(tok)
        elif has_alpha and not has_digit:
            letters = re.sub(r"[^A-Za-z]", "", tok)
            is_code = (
                len(letters) >= 3
                and letters.isupper()
                and tok not in acronyms
                and not all(part in acronyms for part in re.split(r"[\-_/#.]", tok) if part)
            )
        elif has_digit and re.fullmatch(r"\d{1,3}-\d{1,3}", tok):
            # A range ("3-5 days"): two numbers.
            for part in tok.split("-"):
                claims.append(Claim("number", part, frozenset({str(int(part))})))
            work = _blank(work, m.start(), m.start() + len(tok))
            continue
        elif has_digit and re.search(r"\d[\-_/#]\d", tok):
            is_code = True  # "10023-1", "4111-1111": digits joined by separators
        if is_code:
            claims.append(Claim("code", tok, frozenset({_code_norm(tok)})))
            work = _blank(work, m.start(), m.start() + len(tok))
        elif has_digit and has_alpha:
            # "3pm", "24h", "2nd": keep the number, drop the unit.
            digits = re.match(r"\d+(?:\.\d+)?", tok)
            if digits:
                norm = _num_norm(digits.group(0))
                if norm is not None:
                    claims.append(Claim("number", tok, frozenset({norm})))
            work = _blank(work, m.start(), m.start() + len(tok))

    for m in list(_LIST_MARKER.finditer(work)):
        work = _blank(work, m.start(), m.end())

    def number(m: re.Match[str]) -> Claim | None:
        norm = _num_norm(m.group(1))
        return Claim("number", m.group(0).strip(), frozenset({norm})) if norm is not None else None

    take(_NUMBER, number)

    words = _number_words()
    for m in re.finditer(r"(?<![A-Za-z])([A-Za-z]+)(?![A-Za-z])", work):
        value = words.get(m.group(1).lower())
        if value is not None:
            claims.append(Claim("number", m.group(0), frozenset({str(value)})))
    for m in _ZH_NUMERAL.finditer(work):
        value_zh = _zh_numeral(m.group(1))
        if value_zh is not None:
            claims.append(Claim("number", m.group(0), frozenset({str(value_zh)})))

    claims.extend(_name_claims(work))
    return claims


def _name_claims(work: str) -> list[Claim]:
    """Capitalised words/runs that are not common words: product, brand, place names.

    A sentence's first word is capitalised by grammar, so it is dropped from its run;
    "Nimbus Rain Jacket" at the start is still checked as "Rain Jacket".
    """
    common = _common_capitalised()
    claims: list[Claim] = []
    run: list[str] = []
    starts_sentence = False

    def flush() -> None:
        if starts_sentence and run:
            run.pop(0)
        while run and run[0].lower() in common:
            run.pop(0)
        while run and run[-1].lower() in common:
            run.pop()
        if run:
            phrase = " ".join(run)
            claims.append(Claim("name", phrase, frozenset({_fold(phrase)})))
        run.clear()

    last_end = -1
    for m in _CAPITALISED.finditer(work):
        word = m.group(0)
        gap = work[last_end : m.start()] if last_end >= 0 else ""
        if run and (gap.strip() != "" or "\n" in gap):
            flush()
        last_end = m.end()
        if word.isupper() and len(word) > 1:
            flush()  # acronyms were handled as codes
            continue
        if not run:
            before = work[: m.start()].rstrip(" \t")
            before = before if before.endswith("\n") else before.rstrip()
            starts_sentence = not before or before[-1] in ".!?。！？:：\n\"'“"
        run.append(word)
    flush()
    return [c for c in claims if any(w.lower() not in common for w in c.text.split())]


def _url_norm(url: str) -> str:
    url = url.rstrip(".,;:!?").lower()
    url = re.sub(r"^https?://", "", url)
    url = re.sub(r"^www\.", "", url)
    return url.rstrip("/")


def _code_norm(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", code.upper())


# --- support ------------------------------------------------------------------------------


@dataclass
class _Support:
    texts: list[str]
    folded: str
    numbers: set[str] = field(default_factory=set)
    dates: set[tuple[int | None, int, int]] = field(default_factory=set)
    times: set[tuple[int, int]] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    # The plan's fact values as word lists, for names a reply shortens (shortened_name).
    fact_words: list[list[str]] = field(default_factory=list)

    def add_claims(self, claims: list[Claim]) -> None:
        for c in claims:
            targets: dict[str, set[Any]] = {
                "number": self.numbers,
                "date": self.dates,
                "time": self.times,
                "code": self.codes,
                "url": self.urls,
                "email": self.emails,
            }
            target = targets.get(c.kind)
            if target is not None:
                target.update(c.norms)

    def supports(self, claim: Claim) -> bool:
        if claim.kind == "placeholder":
            return False
        if claim.kind == "number":
            if claim.norms & self.numbers:
                return True
            # An order or tracking number written as a plain number is still a code.
            return any(n in self.codes for n in claim.norms)
        if claim.kind == "date":
            return any(_date_match(d, s) for d in claim.norms for s in self.dates)
        if claim.kind == "time":
            return bool(claim.norms & self.times)
        if claim.kind == "code":
            if claim.norms & self.codes:
                return True
            return any(n.isdigit() and n in self.numbers for n in claim.norms)
        if claim.kind == "url":
            return any(n == u or n.startswith(u + "/") for n in claim.norms for u in self.urls)
        if claim.kind == "email":
            return bool(claim.norms & self.emails)
        if claim.kind == "name":
            phrase = next(iter(claim.norms))
            if phrase in self.folded:
                return True
            if any(fuzz.partial_ratio(phrase, _fold(t)) >= 90 for t in self.texts if t):
                return True
            return any(shortened_name(_NAME_WORD.findall(phrase), f) for f in self.fact_words)
        return False


def _date_match(a: tuple[int | None, int, int], b: tuple[int | None, int, int]) -> bool:
    return a[1:] == b[1:] and (a[0] is None or b[0] is None or a[0] == b[0])


def _support_texts(plan: ReplyPlan) -> list[str]:
    texts = [f.value for f in plan.facts]
    texts += list(plan.allowed_values)
    texts += list(plan.guidance)
    texts.append(plan.template_reply)
    if plan.customer_name:
        texts.append(plan.customer_name)
    return [t for t in texts if t]


def _build_support(plan: ReplyPlan) -> _Support:
    support = support_from_texts(_support_texts(plan))
    support.fact_words = [_NAME_WORD.findall(_fold(f.value)) for f in plan.facts if f.value]
    return support


_NAME_WORD = re.compile(r"\w+")
# Words a shortened name may leave out of the fact's name, in all ("Tide Earbuds" for
# "Tide ANC Earbuds"). Each left-out token is itself a claim (a code, a number with a
# unit) checked on its own, so leaving it out cannot smuggle a value in.
MAX_NAME_WORDS_SKIPPED = 2


def shortened_name(words: list[str], fact: list[str]) -> bool:
    """``words`` (a name claim, folded) are one fact value's words in order, starting at
    the same word and leaving out at most ``MAX_NAME_WORDS_SKIPPED`` of them: a template
    or reply that shortens a product name the facts give ("Pinnacle Pack" for
    "Pinnacle 30L Pack"). A word the fact does not have ("Tide Sport Earbuds") fails."""
    if len(words) < 2:
        return False
    for start, word in enumerate(fact):
        if word != words[0]:
            continue
        pos, skipped = start + 1, 0
        for w in words[1:]:
            try:
                found = fact.index(w, pos)
            except ValueError:
                break
            skipped += found - pos
            pos = found + 1
        else:
            if skipped <= MAX_NAME_WORDS_SKIPPED:
                return True
    return False


def support_from_texts(texts: list[str]) -> _Support:
    """Everything ``texts`` back: their numbers, dates, codes, URLs and words."""
    texts = [t for t in texts if t]
    support = _Support(texts=texts, folded=_fold("\n".join(texts)))
    for t in texts:
        support.add_claims(extract_claims(t))
        # A fact value as a whole is also a code ("RMA-10023-1", "SAVE20", "10023").
        norm = _code_norm(t)
        if norm and len(t) <= 40:
            support.codes.add(norm)
        for tok in _TOKEN.findall(t):
            support.codes.add(_code_norm(tok))
    return support


# --- the verifier -------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|(?<=[。！？])|\n+", text.strip())
    return [p.strip() for p in parts if p and p.strip()]


class Verifier:
    """Precomputes what a plan supports, then checks sentences and whole replies fast."""

    def __init__(self, plan: ReplyPlan) -> None:
        from shopassist.engine.relations import RelationChecker

        self.plan = plan
        self.support = _build_support(plan)
        self.relations = RelationChecker(plan)
        template = plan.template_reply or ""
        self._template_stated = _stated(template, extract_claims(template))

    def _relations(self, text: str) -> dict[str, tuple[bool, str]]:
        """Claims bound to the wrong subject (rule ``relations``) or unit (``units``)."""
        found = self.relations.check(text)
        out: dict[str, tuple[bool, str]] = {}
        for rule in (RULE_RELATIONS, RULE_UNITS):
            details = [v.detail for v in found if v.rule == rule]
            out[rule] = (not details, "; ".join(details[:3]))
        return out

    def _qualities(self, text: str) -> tuple[bool, str]:
        from shopassist.engine.relations import invented_qualities

        hits = invented_qualities(text, self.plan, self.support.folded)
        return (not hits, f"qualities the facts do not give: {', '.join(hits[:3])}" if hits else "")

    def _labels(self, text: str) -> tuple[bool, str]:
        from shopassist.engine.relations import field_labels

        hits = field_labels(text, self.plan, _phrases("field_labels"))
        return (not hits, f"fact-block labels in the reply: {', '.join(hits[:3])}" if hits else "")

    def _specs(self, text: str) -> tuple[bool, str]:
        from shopassist.engine.relations import unlabelled_spec_values

        hits = unlabelled_spec_values(text, self.plan)
        return (
            not hits,
            f"values without what they measure: {', '.join(hits[:3])}" if hits else "",
        )

    def _name(self, text: str) -> tuple[bool, str]:
        from shopassist.engine.relations import unasked_name

        if unasked_name(text, self.plan):
            return False, "uses the customer's name where the reply does not call for it"
        name = _fold(self.plan.customer_name or "").strip()
        template, reply = _fold(self.plan.template_reply), _fold(text)
        used = [p for p in [name, *name.split()] if len(p) >= 2 and p in template]
        if name and used and not any(p in reply for p in used):
            # A rule asked for the name (a greeting by name): the rephrasing must keep it.
            return False, "drops the customer's name, which the reply must use"
        return True, ""

    def _tone(self, text: str) -> tuple[bool, str]:
        hit = contradicting_tone(text, self.plan)
        return (hit is None, hit or "")

    # each rule returns (ok, detail)

    def _unsupported(self, claims: list[Claim]) -> tuple[bool, str]:
        bad = [c for c in claims if not self.support.supports(c)]
        if not bad:
            return True, ""
        shown = ", ".join(f"{c.text!r} ({c.kind})" for c in bad[:5])
        return False, f"not in the facts: {shown}"

    def _boilerplate(self, folded: str) -> tuple[bool, str]:
        compact = folded.replace(" ", "")
        hits = [
            p
            for p in _phrases("boilerplate")
            if p in folded or (p.isascii() is False and p in compact)
        ]
        return (not hits, f"boilerplate: {hits[0]!r}" if hits else "")

    def _artifacts(self, folded: str) -> tuple[bool, str]:
        hits = [p for p in _phrases("artifacts") if p in folded]
        return (not hits, f"echoed prompt or template text: {hits[0]!r}" if hits else "")

    def _promises(self, folded: str) -> tuple[bool, str]:
        hits = [p for p in _phrases("promises") if p in folded and p not in self.support.folded]
        return (not hits, f"promises what the plan does not: {hits[0]!r}" if hits else "")

    def _language(self, text: str, *, lenient: bool) -> tuple[bool, str]:
        # Fact values (product names, codes) do not count towards the language.
        stripped = text
        for t in sorted(self.support.texts, key=len, reverse=True):
            if len(t) <= 80 and t in stripped:
                stripped = stripped.replace(t, " ")
        share = cjk_ratio(stripped)
        if share < 0:
            return True, ""
        latin_words = len(_LATIN_WORD.findall(stripped))
        if self.plan.language == "zh":
            if lenient and latin_words < 4:
                return True, ""
            ok = share >= 0.5
            return ok, "" if ok else f"expected Chinese, got {share:.0%} Chinese"
        ok = share <= 0.2
        return ok, "" if ok else f"expected English, got {share:.0%} Chinese"

    def _draft_overlap(self, folded: str) -> tuple[bool, str]:
        units = _content_units(_fold(self.plan.template_reply))
        if len(units) < 3:
            return True, ""
        present = _content_units(folded)
        share = len(units & present) / len(units)
        if share >= MIN_DRAFT_OVERLAP:
            return True, ""
        return (
            False,
            f"keeps only {share:.0%} of the draft's content (minimum {MIN_DRAFT_OVERLAP:.0%})",
        )

    def _negation(self, folded: str) -> tuple[bool, str]:
        # Counted, not just present: a draft with one "not" must not gain a second one
        # ("It hasn't shipped; it can't be cancelled" -> "... it can't not ...").
        draft = _negations(_fold(self.plan.template_reply))
        reply = _negations(folded)
        dropped = _dropped_prefix(_fold(self.plan.template_reply), folded)
        if dropped:
            return False, f"the draft says {dropped[0]!r}; the reply says {dropped[1]!r}"
        if draft == reply:
            return True, ""
        if reply < draft:
            return False, "the draft says something is not so; the reply drops the negation"
        return False, "the reply negates something the draft does not"

    def _required(self, text: str, claims: list[Claim]) -> tuple[bool, str]:
        reply_support = _stated(text, claims)
        missing = []
        for fact in self.plan.facts:
            # A required fact the template itself does not state ("Order 10096 isn't paid
            # yet" for status "awaiting payment") cannot be demanded of its rephrasing:
            # the template is what the customer sees instead, and it omits it too.
            if not fact.required or not _states(fact.value, self._template_stated):
                continue
            if not _states(fact.value, reply_support):
                missing.append(f"{fact.key}={fact.value!r}")
        if not missing:
            return True, ""
        return False, "missing required facts: " + ", ".join(missing[:5])

    def check_sentence(self, sentence: str, context: str = "") -> VerificationReport:
        """The streaming gate: could this sentence be shown now without risk?

        ``context`` is what was already shown: "It costs $89.99." is about the product the
        previous sentence named, so relations are checked on the text so far.
        """
        folded = _fold(sentence)
        claims = extract_claims(sentence)
        relations = self._relations(context + sentence)
        results = [
            (RULE_UNSUPPORTED, self._unsupported(claims)),
            (RULE_RELATIONS, relations[RULE_RELATIONS]),
            (RULE_UNITS, relations[RULE_UNITS]),
            (RULE_BOILERPLATE, self._boilerplate(folded)),
            (RULE_ARTIFACTS, self._artifacts(folded)),
            (RULE_LABELS, self._labels(sentence)),
            (RULE_SPECS, self._specs(sentence)),
            (RULE_QUALITIES, self._qualities(sentence)),
            (RULE_NAME, self._name(sentence)),
            (RULE_TONE, self._tone(sentence)),
            (RULE_PROMISES, self._promises(folded)),
            (RULE_LANGUAGE, self._language(sentence, lenient=True)),
        ]
        return _report(results)

    def verify(self, text: str) -> VerificationReport:
        folded = _fold(text)
        claims = extract_claims(text)
        sentences = split_sentences(text)
        stripped = text.strip()
        if not stripped:
            length: tuple[bool, str] = (False, "empty reply")
        elif len(stripped) > self.plan.max_chars:
            length = (False, f"{len(stripped)} characters, limit {self.plan.max_chars}")
        elif len(sentences) > MAX_SENTENCES:
            length = (False, f"{len(sentences)} sentences, limit {MAX_SENTENCES}")
        else:
            length = (True, "")
        relations = self._relations(text)
        results = [
            (RULE_LENGTH, length),
            (RULE_UNSUPPORTED, self._unsupported(claims)),
            (RULE_RELATIONS, relations[RULE_RELATIONS]),
            (RULE_UNITS, relations[RULE_UNITS]),
            (RULE_REQUIRED, self._required(text, claims)),
            (RULE_LABELS, self._labels(text)),
            (RULE_SPECS, self._specs(text)),
            (RULE_QUALITIES, self._qualities(text)),
            (RULE_NAME, self._name(text)),
            (RULE_TONE, self._tone(text)),
            (RULE_BOILERPLATE, self._boilerplate(folded)),
            (RULE_ARTIFACTS, self._artifacts(folded)),
            (RULE_PROMISES, self._promises(folded)),
            (RULE_LANGUAGE, self._language(text, lenient=False) if stripped else (True, "")),
            (RULE_REPETITION, _repetition(sentences, text, self.plan.template_reply)),
            (RULE_DRAFT, self._draft_overlap(folded)),
            (RULE_NEGATION, self._negation(folded)),
        ]
        return _report(results)


def _stated(text: str, claims: list[Claim]) -> _Support:
    """What ``text`` states, for checking required facts against it."""
    support = _Support(texts=[text], folded=_fold(text))
    support.add_claims(claims)
    for c in claims:
        if c.kind == "code":
            support.codes.update(c.norms)
    for tok in _TOKEN.findall(text):
        support.codes.add(_code_norm(tok))
    return support


def _states(value: str, reply: _Support) -> bool:
    """Does the reply state this fact value (in any of its normal forms)?"""
    value_claims = [c for c in extract_claims(value) if c.kind != "name"]
    if value_claims:
        return all(reply.supports(c) for c in value_claims)
    folded = _fold(value).strip(" .。")
    if not folded:
        return True
    if folded in reply.folded:
        return True
    if _CJK.search(folded) and len(folded) > 8:
        # Long Chinese text: enough of its character bigrams must be there.
        grams = {folded[i : i + 2] for i in range(len(folded) - 1)}
        return sum(g in reply.folded for g in grams) / len(grams) >= 0.6
    words = [w for w in re.findall(r"[a-z0-9']+", folded) if len(w) > 2]
    if len(words) > 5:
        # A long text fact (a policy sentence): most of its content words must be there.
        return sum(w in reply.folded for w in words) / len(words) >= 0.6
    return fuzz.partial_ratio(folded, reply.folded) >= 90


@cache
def _stopwords() -> frozenset[str]:
    return frozenset(_data("common_words.toml")["stopwords"])


@cache
def _negation_pattern() -> re.Pattern[str]:
    words = _data("common_words.toml")["negation"]
    en = "|".join(re.escape(w) for w in sorted(words["en"], key=len, reverse=True))
    zh = "|".join(re.escape(w) for w in words["zh"])
    return re.compile(rf"(?<![a-z'])(?:{en})(?![a-z'])|{zh}|n't(?![a-z])")


def _dropped_prefix(draft: str, reply: str) -> tuple[str, str] | None:
    """A negating prefix dropped: the draft's "unused" is "used" in the reply."""
    prefixes = _data("common_words.toml").get("negation_prefixes", {}).get("en", [])
    draft_words = set(re.findall(r"[a-z][a-z\-]+", draft))
    reply_words = set(re.findall(r"[a-z][a-z\-]+", reply))
    for word in draft_words - reply_words:
        for prefix in prefixes:
            stem = word[len(prefix) :]
            if (
                word.startswith(prefix)
                and len(stem) >= 4
                and stem in reply_words
                and stem not in draft_words
            ):
                return word, stem
    return None


def _negations(folded: str) -> int:
    neutral = _data("common_words.toml").get("negation_neutral", {})
    for phrase in [p for lang in neutral.values() for p in lang]:
        folded = folded.replace(phrase, " ")
    return len(_negation_pattern().findall(folded))


def _content_units(folded: str) -> set[str]:
    """Content words cut to 5 letters ("shipped"/"shipping" meet), plus CJK bigrams."""
    units = {
        w[:5] for w in re.findall(r"[a-z][a-z']+", folded) if len(w) >= 3 and w not in _stopwords()
    }
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]+", folded):
        units.update(run[i : i + 2] for i in range(len(run) - 1))
    return units


# A phrase (between punctuation marks) this many times, more often than in the template,
# is a model stuck in a loop ("酒红色、黑色、酒红色、黑色、酒红色…").
MAX_PHRASE_REPEATS = 2


def _pieces(text: str) -> list[str]:
    parts = re.split(r"[,，、;；:：.。!！?？()（）\n]+", _fold(text))
    return [p.strip() for p in parts if len(p.strip()) >= 2]


def _repetition(sentences: list[str], text: str = "", template: str = "") -> tuple[bool, str]:
    seen: set[str] = set()
    for s in sentences:
        key = _fold(s).strip(" .!?。！？")
        if len(key) >= 8 and key in seen:
            return False, f"repeats itself: {s[:60]!r}"
        seen.add(key)
    counts: dict[str, int] = {}
    for piece in _pieces(text):
        counts[piece] = counts.get(piece, 0) + 1
    allowed: dict[str, int] = {}
    for piece in _pieces(template):
        allowed[piece] = allowed.get(piece, 0) + 1
    for piece, n in counts.items():
        if n > MAX_PHRASE_REPEATS and n > allowed.get(piece, 0):
            return False, f"repeats {piece[:40]!r} {n} times"
    return True, ""


def _report(results: list[tuple[str, tuple[bool, str]]]) -> VerificationReport:
    checks = [{"rule": rule, "ok": ok, "detail": detail} for rule, (ok, detail) in results]
    reasons = [f"{c['rule']}: {c['detail']}" for c in checks if not c["ok"]]
    return VerificationReport(ok=not reasons, reasons=reasons, checks=checks)


def is_template_copy(reply: str, template: str) -> bool:
    """A verbatim or near-verbatim copy of the template (after a stripped label)."""
    a, b = _fold(reply).strip(), _fold(template).strip()
    if not a or not b:
        return False
    return a == b or fuzz.ratio(a, b) >= COPY_SIMILARITY


def verify_reply(text: str, plan: ReplyPlan) -> VerificationReport:
    """Check a whole LLM reply against the plan before anyone sees it."""
    return Verifier(plan).verify(text)


def check_sentence(sentence: str, plan: ReplyPlan) -> VerificationReport:
    """Check one streamed sentence: unsupported facts, boilerplate, echoed prompt, promises."""
    return Verifier(plan).check_sentence(sentence)
