"""Relation-level grounding: a claim must be true of the subject it is said of.

The unsupported-fact rule only asks whether a value appears somewhere in the facts. A
model that moves true values between the products a question names ("the Lumen Desk
Lamp costs $89.99 and the Ember Burr Grinder costs $45.00", prices swapped) passes that
rule, and shows a customer a confident, wrong price. So here every claim in a reply is
bound to a subject, and the pair is checked:

1. **Subjects** come from the plan's facts: a fact's ``subject`` field, else "kind:id"
   from a "kind.id.field" key, else its source id (``data/subjects.toml``). A subject is
   named by its anchor facts (title, name, number, code) or by a distinctive word of one
   ("Pro" for "AeroBuds Pro" beside "AeroBuds Lite").
2. **Clauses**: the reply is cut into sentences, list lines and clauses (separators in
   ``data/claim_rules_<lang>.toml``). A claim binds to the subject named nearest before it
   in its clause, else the nearest after it in the clause, else the subject named last
   before the clause ("It costs $45" after a sentence about the lamp). Explicit references
   ("the latter", "后者", "the second one") name a subject by position.
3. **Checks**, for the subject a claim is bound to:
   - a value (price, amount, date, code, tracking number, count) that belongs to another
     subject of the same kind and not to this one is a swap;
   - a status label ("is delivered", "已签收") must be that order's status (or what the
     template says it now is); "is not delivered" must not be;
   - "in stock" / "sold out" / "没有货" must agree with the subject's stock;
   - a colour must be one of the subject's own;
   - a number the facts give with one unit ("5 business days", "$45.00") may not be
     stated with another ("5 weeks", "45 元").

Values that belong to no subject (policies, the shipment of the one order) support any
subject; values nobody has are the unsupported-fact rule's business, not this one's.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from shopassist.engine.plan import ReplyPlan
from shopassist.engine.turn_result import Fact

_VALUE_KINDS = ("number", "date", "time", "code")
_LATIN_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_LATIN_EDGE_AFTER = r"(?![A-Za-z0-9])"
_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SENTENCE_END = r"(?<=[.!?])\s+|(?<=[。！？])|\n+"


# --- data -------------------------------------------------------------------------------------


@cache
def _toml(name: str) -> dict[str, Any]:
    text = resources.files("shopassist.engine").joinpath("data", name).read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class ClaimRules:
    """The language-specific rules of one ``claim_rules_<lang>.toml``."""

    language: str
    separators: re.Pattern[str]
    references: tuple[tuple[re.Pattern[str], int], ...]
    stock: tuple[tuple[str, bool], ...]  # phrase, in stock?; longest first
    status_before: re.Pattern[str] | None
    status_negators: tuple[str, ...]
    status_attributive: tuple[str, ...]
    units: re.Pattern[str]  # a number then a unit word
    unit_names: tuple[tuple[re.Pattern[str], str], ...]
    currency_prefix: re.Pattern[str]
    label_prefix: re.Pattern[str] | None
    label_names: tuple[tuple[re.Pattern[str], str], ...]
    currency_names: dict[str, str]
    date_roles: tuple[tuple[re.Pattern[str], str], ...]
    date_role_after: re.Pattern[str] | None  # joiner before a role word that follows a date
    qualities: tuple[str, ...]
    qualities_allowed: tuple[str, ...]
    ambiguous_colours: frozenset[str]


def _edge(phrase: str, latin: bool) -> str:
    return f"{_LATIN_EDGE_BEFORE}{phrase}{_LATIN_EDGE_AFTER}" if latin else phrase


@cache
def claim_rules(language: str) -> ClaimRules:
    """Rules for ``language`` ("en" or "zh"); any other language uses English rules."""
    lang = "zh" if language == "zh" else "en"
    raw = _toml(f"claim_rules_{lang}.toml")
    latin = lang == "en"
    separators = re.compile("|".join(f"(?:{s})" for s in raw["clauses"]["separators"]), re.I)
    references = tuple(
        (re.compile(_edge(pattern, latin), re.I), int(index))
        for pattern, index in raw.get("references", {}).items()
    )
    stock = [(p.lower(), True) for p in raw["stock"]["in"]]
    stock += [(p.lower(), False) for p in raw["stock"]["out"]]
    stock.sort(key=lambda item: len(item[0]), reverse=True)
    before = raw["status"].get("before", [])
    status_before = (
        re.compile(
            r"(?:" + "|".join(re.escape(b) for b in sorted(before, key=len, reverse=True)) + r")"
            r"\s*(?:(?:not|n't|yet|never|no longer|already|now|been|just|currently|still)\s+)*$",
            re.I,
        )
        if before
        else None
    )
    unit_items = list(raw["units"].items())
    unit_alternatives = "|".join(f"(?:{u})" for u, _ in unit_items)
    units = re.compile(
        _LATIN_EDGE_BEFORE + _NUMBER + r"\s*-?\s*(" + unit_alternatives + r")" + _LATIN_EDGE_AFTER,
        re.I,
    )
    unit_names = tuple((re.compile(f"(?:{u})$", re.I), name) for u, name in unit_items)
    prefixes = raw["currency_prefix"]
    currency_prefix = re.compile(
        r"(?<![A-Za-z])("
        + "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        + r")\s?"
        + _NUMBER,
        re.I,
    )
    labels = list(raw.get("unit_prefix", {}).items())
    label_prefix = (
        re.compile(
            _LATIN_EDGE_BEFORE
            + "("
            + "|".join(f"(?:{p})" for p, _ in labels)
            + r")\s*(?:#|no\.|number|号)?\s*[:：]?\s*"
            + _NUMBER
            + _LATIN_EDGE_AFTER,
            re.I,
        )
        if labels
        else None
    )
    return ClaimRules(
        language=lang,
        label_prefix=label_prefix,
        label_names=tuple((re.compile(f"(?:{p})$", re.I), name) for p, name in labels),
        separators=separators,
        references=references,
        stock=tuple(stock),
        status_before=status_before,
        status_negators=tuple(raw["status"].get("negators", [])),
        status_attributive=tuple(raw["status"].get("attributive", [])),
        units=units,
        unit_names=unit_names,
        currency_prefix=currency_prefix,
        currency_names={k.lower(): v for k, v in prefixes.items()},
        date_roles=tuple(
            (re.compile(_edge(f"(?:{p})", latin), re.I), role)
            for p, role in raw.get("date_roles", {}).items()
            if p != "__after__"
        ),
        date_role_after=(
            re.compile(raw["date_roles"]["__after__"])
            if "__after__" in raw.get("date_roles", {})
            else None
        ),
        qualities=tuple(p.lower() for p in raw["qualities"]["phrases"]),
        qualities_allowed=tuple(p.lower() for p in raw["qualities"].get("allowed", [])),
        ambiguous_colours=frozenset(c.lower() for c in raw["colours"].get("ambiguous", [])),
    )


@cache
def _subject_rules() -> dict[str, Any]:
    return _toml("subjects.toml")


@cache
def _status_labels(language: str) -> tuple[str, ...]:
    """Every status label the shop's templates print, longest first."""
    from shopassist.engine.dialogue.templates import load_templates

    labels = {
        v.strip().lower()
        for k, v in load_templates("zh" if language == "zh" else "en").items()
        if k.startswith("status.") and v.strip()
    }
    return tuple(sorted(labels, key=len, reverse=True))


@cache
def _colour_words(language: str) -> tuple[str, ...]:
    from shopassist.engine.dialogue.lexicon import lexicon

    names = lexicon().colour_names_zh
    words = set(names.values()) if language == "zh" else set(names)
    words -= claim_rules(language).ambiguous_colours
    return tuple(sorted(words, key=len, reverse=True))


# --- subjects ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def fact_subject(fact: Fact) -> str | None:
    """The subject a fact is about ("product:42", "order:10023"); None when it is shared."""
    explicit = getattr(fact, "subject", None)
    if explicit:
        return str(explicit)
    parts = fact.key.split(".")
    if parts[-1] in _subject_rules()["shared_fields"]:
        return None
    if len(parts) >= 3:
        return f"{parts[0]}:{'.'.join(parts[1:-1])}"
    return fact.source_id or None


def _field(fact: Fact) -> str:
    return fact.key.rsplit(".", 1)[-1]


@dataclass
class Subject:
    id: str
    kind: str
    facts: list[Fact] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)  # folded names
    stock: set[bool] = field(default_factory=set)
    status: set[str] = field(default_factory=set)  # folded labels
    support: Any = None  # verify._Support of its own facts

    @property
    def label(self) -> str:
        return self.anchors[0] if self.anchors else self.id


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    subject: str


@dataclass(frozen=True)
class Violation:
    rule: str  # "relations" | "units"
    detail: str


def _kind(subject_id: str) -> str:
    return subject_id.split(":", 1)[0]


def build_subjects(facts: Iterable[Fact]) -> tuple[dict[str, Subject], list[Fact]]:
    """Anchored subjects by id (in order of first mention), and the shared facts."""
    rules = _subject_rules()
    anchor_fields = set(rules["anchor_fields"])
    groups: dict[str, list[Fact]] = {}
    shared: list[Fact] = []
    for f in facts:
        sid = fact_subject(f)
        if sid is None:
            shared.append(f)
        else:
            groups.setdefault(sid, []).append(f)
    anchored = {sid for sid, fs in groups.items() if any(_field(f) in anchor_fields for f in fs)}
    for child, parent in rules.get("merge", {}).items():
        parents = [sid for sid in anchored if _kind(sid) == parent]
        if len(parents) != 1:
            continue
        for sid in [s for s in groups if _kind(s) == child]:
            groups[parents[0]].extend(groups.pop(sid))
            anchored.discard(sid)
    subjects: dict[str, Subject] = {}
    for sid, fs in groups.items():
        if sid not in anchored:
            shared.extend(fs)
            continue
        subject = Subject(id=sid, kind=_kind(sid), facts=fs)
        for f in fs:
            name = f.key.rsplit(".", 1)[-1]
            if name in anchor_fields and f.value.strip():
                subject.anchors.append(_fold(f.value))
            if name in rules["stock"]["fields"] and f.value.strip().isdigit():
                subject.stock.add(int(f.value) > 0)
            if name in rules["status"]["fields"] and f.value.strip():
                subject.status.add(_fold(f.value))
        subjects[sid] = subject
    return subjects, shared


def _tokens(folded: str) -> list[str]:
    return re.findall(
        r"[a-z0-9][a-z0-9'\-]*[a-z0-9]|[a-z0-9]|[\u3400-\u4dbf\u4e00-\u9fff]+", folded
    )


def _aliases(subjects: dict[str, Subject]) -> dict[str, list[str]]:
    """Each subject's full anchors plus the words of them no other subject of its kind has."""
    from shopassist.engine.verify import common_words

    common = common_words()
    out: dict[str, list[str]] = {}
    for sid, s in subjects.items():
        others = {
            t
            for o in subjects.values()
            if o.kind == s.kind and o.id != sid
            for a in o.anchors
            for t in _tokens(a)
        }
        aliases = list(s.anchors)
        for anchor in s.anchors:
            for tok in _tokens(anchor):
                cjk = bool(re.match(r"[\u3400-\u9fff]", tok))
                if tok in others or tok in common or tok.isdigit() and tok != anchor:
                    continue
                if (cjk and len(tok) >= 2) or (not cjk and len(tok) >= 3):
                    aliases.append(tok)
        out[sid] = sorted(set(aliases), key=len, reverse=True)
    return out


def _alias_pattern(alias: str) -> re.Pattern[str]:
    escaped = re.escape(alias).replace(r"\ ", r"\s+")
    if re.match(r"[a-z0-9]", alias):
        escaped = _LATIN_EDGE_BEFORE + escaped
    if re.search(r"[a-z0-9]$", alias):
        escaped += _LATIN_EDGE_AFTER
    return re.compile(escaped, re.I)


# --- the checker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clause:
    start: int
    end: int


def _clauses(text: str, rules: ClaimRules) -> list[_Clause]:
    cuts = {0, len(text)}
    for m in re.finditer(_SENTENCE_END, text):
        cuts.update((m.start(), m.end()))
    for m in rules.separators.finditer(text):
        cuts.update((m.start(), m.end()))
    ordered = sorted(cuts)
    return [_Clause(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if text[a:b].strip()]


class RelationChecker:
    """Binds claims to subjects and checks each pair against the plan (one plan, many texts)."""

    def __init__(self, plan: ReplyPlan) -> None:
        from shopassist.engine import verify

        self.plan = plan
        self.rules = claim_rules(plan.language)
        self.subjects, self.shared = build_subjects(plan.facts)
        self.aliases = _aliases(self.subjects)
        self.patterns = {
            sid: [_alias_pattern(a) for a in aliases] for sid, aliases in self.aliases.items()
        }
        by_kind: dict[str, list[Subject]] = {}
        for s in self.subjects.values():
            by_kind.setdefault(s.kind, []).append(s)
        self.by_kind = by_kind
        for s in self.subjects.values():
            s.support = verify.support_from_texts([f.value for f in s.facts])
        # What a subject may be said to have: its own facts and everything that is not
        # another subject of its kind.
        self.ok_support: dict[str, Any] = {}
        for s in self.subjects.values():
            texts = [f.value for f in self.shared] + [f.value for f in s.facts]
            texts += [f.value for o in self.subjects.values() if o.kind != s.kind for f in o.facts]
            self.ok_support[s.id] = verify.support_from_texts(texts)
        self.template_norm = unicodedata.normalize("NFKC", plan.template_reply or "")
        self._learn_from_template()
        support_texts = [f.value for f in plan.facts] + [plan.template_reply, *plan.guidance]
        self.truth_units = _unit_pairs(" \n ".join(t for t in support_texts if t), self.rules)
        self.truth_dates = _date_role_pairs(self.template_norm, self.rules)

    # -- mentions and binding --

    def mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        taken: list[tuple[int, int]] = []
        candidates: list[tuple[int, int, str]] = []
        for sid, patterns in self.patterns.items():
            for pattern in patterns:
                for m in pattern.finditer(text):
                    candidates.append((m.start(), m.end(), sid))
        # Longest first, so "AeroBuds Pro" wins over a shorter alias inside it.
        for start, end, sid in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if any(start < e and end > s for s, e in taken):
                continue
            taken.append((start, end))
            found.append(Mention(start, end, sid))
        main = self._main_kind()
        if main is not None:
            ordered = self.by_kind[main]
            for pattern, index in self.rules.references:
                for m in pattern.finditer(text):
                    if any(m.start() < e and m.end() > s for s, e in taken):
                        continue
                    pos = index - 1 if index > 0 else len(ordered) + index
                    if 0 <= pos < len(ordered):
                        found.append(Mention(m.start(), m.end(), ordered[pos].id))
        return sorted(found, key=lambda m: m.start)

    def _main_kind(self) -> str | None:
        kinds = [k for k, subjects in self.by_kind.items() if len(subjects) >= 2]
        return kinds[0] if kinds else None

    @staticmethod
    def bind(
        pos: int, clause: _Clause, mentions: list[Mention], kinds: set[str] | None
    ) -> str | None:
        def wanted(m: Mention) -> bool:
            return kinds is None or _kind(m.subject) in kinds

        inside = [m for m in mentions if wanted(m) and clause.start <= m.start < clause.end]
        before = [m for m in inside if m.start <= pos]
        if before:
            return before[-1].subject
        if inside:
            return inside[0].subject
        earlier = [m for m in mentions if wanted(m) and m.start < clause.start]
        return earlier[-1].subject if earlier else None

    # -- what the template says of each subject --

    def _learn_from_template(self) -> None:
        """The template's own stock and status statements are true of their subjects
        (a just-cancelled order's facts still carry its old status)."""
        text = self.template_norm
        if not text:
            return
        mentions = self.mentions(text)
        for clause in _clauses(text, self.rules):
            for pos, value in self._stock_claims(text, clause):
                sid = self.bind(pos, clause, mentions, self._stock_kinds(mentions))
                if sid is not None:
                    self.subjects[sid].stock.add(value)
            for pos, label, positive in self._status_claims(text, clause):
                sid = self.bind(pos, clause, mentions, self._status_kinds())
                if sid is None and len(self._status_subjects()) == 1:
                    sid = self._status_subjects()[0].id
                if sid is not None and positive:
                    self.subjects[sid].status.add(label)

    def _stock_kinds(self, mentions: list[Mention]) -> set[str]:
        kinds = {s.kind for s in self.subjects.values() if s.stock}
        return kinds or {_kind(m.subject) for m in mentions if _kind(m.subject) != "order"}

    def _status_subjects(self) -> list[Subject]:
        return [s for s in self.subjects.values() if s.status]

    def _status_kinds(self) -> set[str]:
        return {s.kind for s in self._status_subjects()} or {"order"}

    # -- claims --

    def _stock_claims(self, text: str, clause: _Clause) -> list[tuple[int, bool]]:
        part = text[clause.start : clause.end].lower()
        out: list[tuple[int, bool]] = []
        latin = self.rules.language == "en"
        for phrase, value in self.rules.stock:
            pattern = _edge(re.escape(phrase), latin and phrase[0].isalpha())
            for m in re.finditer(pattern, part):
                out.append((clause.start + m.start(), value))
                part = part[: m.start()] + " " * (m.end() - m.start()) + part[m.end() :]
        return out

    def _status_claims(self, text: str, clause: _Clause) -> list[tuple[int, str, bool]]:
        part = text[clause.start : clause.end].lower()
        out: list[tuple[int, str, bool]] = []
        latin = self.rules.language == "en"
        for label in _status_labels(self.rules.language):
            pattern = _edge(re.escape(label), latin)
            for m in re.finditer(pattern, part):
                before = part[max(0, m.start() - 30) : m.start()]
                after = part[m.end() :].lstrip()
                if any(after.startswith(a) for a in self.rules.status_attributive):
                    continue
                if self.rules.status_before is not None and not self.rules.status_before.search(
                    before
                ):
                    continue
                near = before[-16:] if latin else before[-4:]
                negative = any(
                    re.search(_edge(re.escape(n), latin and n[0].isalpha()), near)
                    for n in self.rules.status_negators
                )
                out.append((clause.start + m.start(), label, not negative))
                part = part[: m.start()] + " " * (m.end() - m.start()) + part[m.end() :]
        return out

    def _colour_claims(self, text: str, clause: _Clause) -> list[tuple[int, str]]:
        part = text[clause.start : clause.end].lower()
        out: list[tuple[int, str]] = []
        latin = self.rules.language == "en"
        for word in _colour_words(self.rules.language):
            for m in re.finditer(_edge(re.escape(word), latin), part):
                out.append((clause.start + m.start(), word))
                part = part[: m.start()] + " " * (m.end() - m.start()) + part[m.end() :]
        return out

    # -- the check --

    def check(self, reply: str) -> list[Violation]:
        from shopassist.engine.verify import extract_claims

        text = unicodedata.normalize("NFKC", reply)
        violations: list[Violation] = []
        mentions = self.mentions(text)
        compared = {k for k, subjects in self.by_kind.items() if len(subjects) >= 2}
        template_folded = _fold(self.plan.template_reply)
        all_texts = _fold(" ".join([f.value for f in self.plan.facts] + [template_folded]))
        for clause in _clauses(text, self.rules):
            part = text[clause.start : clause.end]
            # values said of the wrong subject
            for claim in extract_claims(part):
                if claim.kind not in _VALUE_KINDS or not compared:
                    continue
                offset = part.find(claim.text)
                pos = clause.start + max(offset, 0)
                if any(m.start <= pos < m.end for m in mentions):
                    continue  # the anchor itself ("order 10023")
                sid = self.bind(pos, clause, mentions, compared)
                if sid is None:
                    continue
                subject = self.subjects[sid]
                if self.ok_support[sid].supports(claim):
                    continue
                owners = [
                    o.label
                    for o in self.by_kind[subject.kind]
                    if o.id != sid and o.support.supports(claim)
                ]
                if owners:
                    violations.append(
                        Violation(
                            "relations",
                            f"{claim.text!r} is said of {subject.label!r} but belongs to "
                            f"{owners[0]!r}",
                        )
                    )
            # stock
            for pos, value in self._stock_claims(text, clause):
                sid = self.bind(pos, clause, mentions, self._stock_kinds(mentions))
                said = "in stock" if value else "out of stock"
                if sid is not None:
                    stock_truth = self.subjects[sid].stock
                    if value not in stock_truth:
                        known = (
                            "nothing about its stock"
                            if not stock_truth
                            else "in stock"
                            if True in stock_truth
                            else "out of stock"
                        )
                        violations.append(
                            Violation(
                                "relations",
                                f"says {self.subjects[sid].label!r} is {said}; the facts say "
                                f"{known}",
                            )
                        )
                else:
                    known_values = {v for s in self.subjects.values() for v in s.stock}
                    if value not in known_values:
                        violations.append(Violation("relations", f"says {said}; no fact says so"))
            # status
            status_subjects = self._status_subjects()
            for pos, label, positive in self._status_claims(text, clause):
                sid = self.bind(pos, clause, mentions, self._status_kinds())
                if sid is None and len(status_subjects) == 1:
                    sid = status_subjects[0].id
                status_truth: set[str] = (
                    self.subjects[sid].status
                    if sid is not None
                    else {x for s in status_subjects for x in s.status}
                )
                name = self.subjects[sid].label if sid is not None else "the order"
                if positive and label not in status_truth:
                    violations.append(
                        Violation(
                            "relations",
                            f"says {name!r} is {label!r}; its status is "
                            f"{', '.join(sorted(status_truth)) or 'not given'}",
                        )
                    )
                elif not positive and label in status_truth:
                    violations.append(
                        Violation("relations", f"says {name!r} is not {label!r}; it is")
                    )
            # colours
            for pos, word in self._colour_claims(text, clause):
                if word not in all_texts:
                    violations.append(
                        Violation("relations", f"colour {word!r} is not in the facts")
                    )
                    continue
                sid = self.bind(pos, clause, mentions, compared or None)
                if sid is None:
                    continue
                own = _fold(" ".join(f.value for f in self.subjects[sid].facts))
                others = [
                    o.label
                    for o in self.by_kind[self.subjects[sid].kind]
                    if o.id != sid and word in _fold(" ".join(f.value for f in o.facts))
                ]
                if word not in own and others:
                    violations.append(
                        Violation(
                            "relations",
                            f"colour {word!r} is said of {self.subjects[sid].label!r} but "
                            f"belongs to {others[0]!r}",
                        )
                    )
        # units: a number the facts give with one unit is not stated with another
        # Both languages' unit words: an English reply may still write "45 元".
        for norm, unit, raw in _unit_occurrences(text, self.rules) + _unit_occurrences(
            text, claim_rules("zh" if self.rules.language == "en" else "en")
        ):
            known_units = self.truth_units.get(norm)
            if known_units and unit not in known_units:
                violations.append(
                    Violation(
                        "units",
                        f"{raw.strip()!r}: the facts give {norm} as "
                        f"{', '.join(sorted(known_units))}",
                    )
                )
        # dates: a date the template gives one role ("latest update") may not get another
        for day, role, raw in _date_roles(text, self.rules):
            known_roles = self.truth_dates.get(day)
            if known_roles and role not in known_roles:
                violations.append(
                    Violation(
                        "units",
                        f"{raw.strip()!r}: the facts give {day} as "
                        f"{', '.join(sorted(known_roles))}, not {role}",
                    )
                )
        return _dedupe(violations)


def _dedupe(items: list[Violation]) -> list[Violation]:
    seen: set[tuple[str, str]] = set()
    out = []
    for v in items:
        if (v.rule, v.detail) not in seen:
            seen.add((v.rule, v.detail))
            out.append(v)
    return out


# --- units ------------------------------------------------------------------------------------


def _blank_dates(text: str) -> str:
    from shopassist.engine.verify import date_spans

    for start, end in date_spans(text):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _unit_occurrences(text: str, rules: ClaimRules) -> list[tuple[str, str, str]]:
    """(number, unit, matched text) for every number written with a unit or currency."""
    from shopassist.engine.verify import number_norm

    work = _blank_dates(unicodedata.normalize("NFKC", text))
    out: list[tuple[str, str, str]] = []
    for m in rules.currency_prefix.finditer(work):
        norm = number_norm(m.group(2))
        unit = rules.currency_names.get(m.group(1).lower())
        if norm is not None and unit:
            out.append((norm, unit, m.group(0)))
    if rules.label_prefix is not None:
        for m in rules.label_prefix.finditer(work):
            norm = number_norm(m.group(2))
            word = m.group(1)
            unit = next((n for pattern, n in rules.label_names if pattern.match(word)), None)
            if norm is not None and unit:
                out.append((norm, unit, m.group(0)))
    for m in rules.units.finditer(work):
        norm = number_norm(m.group(1))
        word = m.group(2)
        unit = next((name for pattern, name in rules.unit_names if pattern.match(word)), None)
        if norm is not None and unit:
            out.append((norm, unit, m.group(0)))
    return out


def _date_roles(text: str, rules: ClaimRules) -> list[tuple[str, str, str]]:
    """(date as written, role, context) for each date with a role word before it in its
    clause ("Latest update (2026-11-27)" -> update), or attached after it where the
    language puts it there ("2026-11-29 的最新动态")."""
    from shopassist.engine.verify import date_spans

    work = unicodedata.normalize("NFKC", text)
    out: list[tuple[str, str, str]] = []
    previous_end = 0
    for start, end in sorted(date_spans(work)):
        window_start = max(previous_end, start - 40)
        window = work[window_start:start]
        cut = max(
            (
                m.end()
                for m in re.finditer(_SENTENCE_END + "|" + rules.separators.pattern, window, re.I)
            ),
            default=0,
        )
        window = window[cut:]
        best: tuple[int, str] | None = None
        for pattern, role in rules.date_roles:
            for m in pattern.finditer(window):
                if best is None or m.end() > best[0]:
                    best = (m.end(), role)
        context = window + work[start:end]
        if rules.date_role_after is not None:
            joined = rules.date_role_after.match(work, end)
            tail = work[joined.end() : joined.end() + 12] if joined else ""
            for pattern, role in rules.date_roles:
                after = pattern.match(tail)
                if after is not None:
                    best = (len(work), role)  # a role word attached after the date wins
                    context = work[start : joined.end() + after.end()] if joined else context
                    break
        if best is not None:
            out.append((_date_key(work[start:end]), best[1], context))
        previous_end = end
    return out


def _date_key(raw: str) -> str:
    from shopassist.engine.verify import extract_claims

    claims = [c for c in extract_claims(raw) if c.kind == "date"]
    if not claims:
        return raw
    y, m, d = sorted(claims[0].norms, key=lambda n: (n[0] or 0, n[1], n[2]))[0]
    return f"{m:02d}-{d:02d}"


def _date_role_pairs(text: str, rules: ClaimRules) -> dict[str, set[str]]:
    pairs: dict[str, set[str]] = {}
    for value, role, _ in _date_roles(text, rules):
        pairs.setdefault(value, set()).add(role)
    return pairs


def _unit_pairs(text: str, rules: ClaimRules) -> dict[str, set[str]]:
    pairs: dict[str, set[str]] = {}
    for lang in ("en", "zh"):  # facts may be written in either language
        for norm, unit, _ in _unit_occurrences(text, claim_rules(lang)):
            pairs.setdefault(norm, set()).add(unit)
    return pairs


# --- qualities, labels, names -------------------------------------------------------------------


def invented_qualities(reply: str, plan: ReplyPlan, support_folded: str) -> list[str]:
    """Praise ("luxury", "perfect for", "最好") that the plan's own text does not use."""
    rules = claim_rules(plan.language)
    folded = _fold(reply)
    for allowed in rules.qualities_allowed:
        folded = folded.replace(allowed, " ")
    hits = []
    for phrase in rules.qualities + (claim_rules("en").qualities if rules.language == "zh" else ()):
        latin = phrase[0].isascii()
        pattern = _edge(re.escape(phrase), latin)
        if re.search(pattern, folded) and not re.search(pattern, support_folded):
            hits.append(phrase)
    return hits


def field_labels(reply: str, plan: ReplyPlan, extra_labels: Iterable[str]) -> list[str]:
    """Fact-block labels ("Product title:", "Customer name:") that reached the reply."""
    folded = _fold(reply)
    template = _fold(plan.template_reply)
    labels = set(_fold(x) for x in extra_labels)
    for f in plan.facts:
        words = [
            p for p in f.key.split(".") if not re.fullmatch(r"[0-9A-Za-z\-_]*\d[0-9A-Za-z\-_]*", p)
        ]
        if len(words) >= 2:
            labels.add(_fold(" ".join(words).replace("_", " ")))
    hits = []
    for label in sorted(labels):
        if not label:
            continue
        pattern = _edge(re.escape(label), label[0].isascii()) + r"\s*[:：]"
        if re.search(pattern, folded) and not re.search(pattern, template):
            hits.append(label)
    return hits


def unasked_name(reply: str, plan: ReplyPlan) -> bool:
    """The customer's name in a reply whose template does not use it."""
    name = _fold(plan.customer_name or "")
    if not name:
        return False
    folded = _fold(reply)
    template = _fold(plan.template_reply)
    parts = [name, *(p for p in name.split() if len(p) >= 3)]
    return any(p in folded and p not in template for p in parts)


# --- spec values and what they measure -------------------------------------------------------

# One "Label: value" pair of a spec list ("Wattage: 12 W; Wireless charging: 10 W").
_SPEC_PAIR = re.compile(r"(?P<label>[^:;：；]{2,40})[:：]\s*(?P<value>[^;；]+)")
# The measured core of a value: a number with its unit ("12 W", "2700-6500 K", "20,000 mm").
_SPEC_CORE = re.compile(r"\d[\d.,/\-–]*\s?(?:[a-z%°µ²³/]+|[^\x00-\x7f]{1,2})", re.IGNORECASE)
# Fact fields that hold "Label: value; Label: value" lists.
_SPEC_FIELDS = frozenset({"specs", "details"})
_CLAUSE_END = re.compile(r"[.;!?。；！？，、\n]|,(?!\d)")


def _spec_cores(plan: ReplyPlan) -> dict[str, list[str]]:
    """Measured value core (folded) -> the labels it is given under in the plan's spec lists."""
    cores: dict[str, list[str]] = {}
    for fact in plan.facts:
        value = str(fact.value)
        if fact.key.rsplit(".", 1)[-1] not in _SPEC_FIELDS or not _SPEC_PAIR.search(value):
            continue  # only spec lists: an FAQ answer's colon does not make a label
        for pair in _SPEC_PAIR.finditer(value):
            core = _SPEC_CORE.search(pair["value"])
            if core is None or not re.search(r"[^\d\s.,/\-–]", core.group()):
                continue  # a bare count says too little to bind
            label = _fold(pair["label"]).strip()
            cores.setdefault(_fold(core.group()).strip(), []).append(label)
    return cores


def _label_positions(clause: str, label: str) -> list[int]:
    """Where ``label`` (or, for a Latin label, one of its words' stems) stands in ``clause``."""
    if re.search(r"[\u4e00-\u9fff]", label):
        return [m.start() for m in re.finditer(re.escape(label), clause)]
    words = [w for w in re.findall(r"[a-z]+", label) if len(w) >= 4] or re.findall(r"[a-z]+", label)
    return [m.start() for w in words for m in re.finditer(rf"\b{re.escape(w[:5])}", clause)]


def unlabelled_spec_values(reply: str, plan: ReplyPlan) -> list[str]:
    """Measured spec values stated without what they measure, or next to another one's
    label: "Details are 10 W" or "wattage 10 W" where the facts say "Wireless charging: 10 W"
    and "Wattage: 12 W" moves a value to another field, which the value check alone cannot
    see. In a value's clause, the nearest label (before it, else after) must be its own."""
    cores = _spec_cores(plan)
    if not cores:
        return []
    all_labels = {label for labels in cores.values() for label in labels}
    folded = _fold(reply)
    wrong: list[str] = []
    for core, labels in cores.items():
        for m in re.finditer(rf"(?<![\d.,]){re.escape(core)}(?![\d])", folded):
            start = max((e.end() for e in _CLAUSE_END.finditer(folded, 0, m.start())), default=0)
            end_match = _CLAUSE_END.search(folded, m.end())
            clause = folded[start : end_match.start() if end_match else len(folded)]
            at = m.start() - start
            before = [
                (at - p, label)
                for label in all_labels
                for p in _label_positions(clause, label)
                if p < at
            ]
            after = [
                (p - at, label)
                for label in all_labels
                for p in _label_positions(clause, label)
                if p > at
            ]
            nearest = min(before or after, default=None)
            if nearest is None or nearest[1] not in labels:
                wrong.append(f"{core} ({' / '.join(labels)})")
                break
    return wrong
