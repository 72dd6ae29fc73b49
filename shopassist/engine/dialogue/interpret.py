"""The interpret stage: understanding plus dialogue state become typed commands.

The classifier reads one message alone; this stage reads it in the conversation. "How much
is the first one?" right after a list, "now show 10001" (a goodbye to the classifier) or
"卫衣" alone each mean something the intent does not say. Every such reading is a rule in
``data/interpret_rules.toml``: a predicate on state and understanding, the command it
yields, and an id. The first rule that holds fires; its id is recorded in the turn result
(``TurnResult.interpret``) and shown in the TUI, so a surprising answer can be traced to
the row that produced it. The model is Rasa's command generator (start flow, set slot,
correct, cancel, clarify, ...) with its default "pattern" flows overridable by the user:
here a shop overrides the rules file by placing its own copy in the user config directory.

Retrieval asks this module too (``is_unsure``, ``is_short``, ``PRODUCT_INTENTS``), so
retrieval and the dialogue manager no longer guess separately with drifting copies.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from shopassist.engine.dialogue.lexicon import Lexicon, lexicon, matches
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.privacy import mask_pii

DATA = Path(__file__).parent / "data" / "interpret_rules.toml"
# A shop's own rules file replaces the packaged one (an upgrade never overwrites it).
OVERRIDE_ENV = "SHOPASSIST_INTERPRET_RULES"

CommandKind = Literal[
    "start_flow",
    "set_slot",
    "correct",
    "cancel",
    "clarify",
    "digress",
    "resume",
    "handoff",
    "answer",
]


class InterpretError(ValueError):
    """The rules file is invalid; the message names the file and the rule."""


class Command(BaseModel):
    """What the message asks the dialogue to do, and the rule that said so."""

    kind: CommandKind
    intent: str | None = None  # the intent the message is read as (start_flow, answer, ...)
    slot: str | None = None
    value: Any = None
    rule: str


class RuleThen(BaseModel):
    command: CommandKind
    intent: str | None = None
    # Where the intent comes from, tried in order; `intent` is the fallback.
    intent_from: list[Literal["order_task", "last_flow"]] = Field(default_factory=list)

    @field_validator("intent_from", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class InterpretRule(BaseModel):
    id: str
    when: dict[str, Any] = Field(default_factory=dict)
    then: RuleThen
    note: str = ""

    @field_validator("when")
    @classmethod
    def _known_predicates(cls, when: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(when) - set(PREDICATES))
        if unknown:
            raise ValueError(f"unknown predicate(s) {unknown}; known: {sorted(PREDICATES)}")
        return when


class Thresholds(BaseModel):
    unsure_confidence: float = Field(ge=0, le=1)
    unsure_intents: list[str]
    switch_confidence: float = Field(ge=0, le=1)
    free_text_switch_confidence: float = Field(ge=0, le=1)
    digression_confidence: float = Field(ge=0, le=1)
    short_max_words: int = Field(ge=1)
    short_max_chars: int = Field(ge=1)


class FollowUp(BaseModel):
    """After a reply whose action is ``after_action``, a message matching ``words`` is also
    answered by ``flow`` (a leaking bottle past its return window: the warranty)."""

    id: str
    after_action: str
    words: str
    flow: str
    note: str = ""


class RuleBook(BaseModel):
    groups: dict[str, list[str]]
    thresholds: Thresholds
    words: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[InterpretRule]
    follow_ups: list[FollowUp] = Field(default_factory=list)
    source: str = ""


def rules_path() -> Path:
    override = os.environ.get(OVERRIDE_ENV)
    return Path(override) if override else DATA


@cache
def load_rulebook(path: Path | None = None) -> RuleBook:
    path = path or rules_path()
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InterpretError(f"{path}: cannot read interpret rules: {exc}") from exc
    for i, rule in enumerate(raw.get("rules", [])):
        try:
            InterpretRule.model_validate(rule)
        except ValidationError as exc:
            name = rule.get("id", f"#{i + 1}") if isinstance(rule, dict) else f"#{i + 1}"
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InterpretError(f"{path}: rule {name}: {where}: {first['msg']}") from exc
    try:
        book = RuleBook.model_validate({**raw, "source": str(path)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InterpretError(f"{path}: {where}: {first['msg']}") from exc
    ids = [r.id for r in book.rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InterpretError(f"{path}: duplicate rule id(s) {dupes}")
    for rule in book.rules:
        for key in ("intent_in", "intent_not_in"):
            for name in rule.when.get(key, []):
                if name.startswith("@") and name[1:] not in book.groups:
                    raise InterpretError(f"{path}: rule {rule.id}: unknown group {name}")
        for key in ("words", "no_words"):
            if key in rule.when and _word_pattern(book, rule.when[key]) is None:
                raise InterpretError(
                    f"{path}: rule {rule.id}: {key} = {rule.when[key]!r} names no word list"
                )
    for follow in book.follow_ups:
        if _word_pattern(book, follow.words) is None:
            raise InterpretError(
                f"{path}: follow-up {follow.id}: words = {follow.words!r} names no word list"
            )
    return book


def says(words: str, text: str) -> bool:
    """Does the text match the rules file's word list ``words`` (or lexicon.toml's)?"""
    pattern = _word_pattern(load_rulebook(), words)
    if pattern is None:
        raise InterpretError(f"{load_rulebook().source}: no word list {words!r}")
    return matches(pattern, text)


def split_on(words: str, text: str) -> list[str]:
    """The text cut at every occurrence of the word list ``words`` (the cut words dropped)."""
    pattern = _word_pattern(load_rulebook(), words)
    if pattern is None:
        raise InterpretError(f"{load_rulebook().source}: no word list {words!r}")
    return [part for part in pattern.split(text.lower()) if part is not None]


def ends_with(words: str, text: str) -> bool:
    """Does the text end with one of the word list ``words`` (trailing spaces aside)?"""
    tail = text.rstrip().lower()
    return any(tail.endswith(w.lower()) for w in load_rulebook().words.get(words, []))


def follow_ups(action: str | None, text: str) -> list[Command]:
    """The flows that also answer this message after a reply whose action is ``action``."""
    book = load_rulebook()
    found = []
    for follow in book.follow_ups:
        pattern = _word_pattern(book, follow.words)
        if action == follow.after_action and pattern is not None and matches(pattern, text):
            found.append(Command(kind="digress", intent=follow.flow, rule=follow.id))
    return found


def thresholds() -> Thresholds:
    return load_rulebook().thresholds


def group(name: str) -> frozenset[str]:
    return frozenset(load_rulebook().groups.get(name, []))


def is_unsure(nlu: NLUResult) -> bool:
    """The classifier is guessing: an intent for messages it cannot place, or low confidence."""
    t = thresholds()
    return nlu.intent.name in t.unsure_intents or nlu.intent.confidence < t.unsure_confidence


def is_short(text: str) -> bool:
    t = thresholds()
    return len(text.split()) <= t.short_max_words and len(text.strip()) <= t.short_max_chars


# --- predicates -------------------------------------------------------------------------------


@dataclass
class Situation:
    """What the rules may look at: the understanding, the state and what retrieval found.

    Built from the manager's FlowContext; kept as its own small type so the rules can be
    tested without a database.
    """

    nlu: NLUResult
    intent: str
    text: str
    flow: str | None = None
    step: str | None = None
    free_text_slots: list[str] = field(default_factory=list)
    last_action: str | None = None
    last_order: str | None = None
    named_product_ids: list[int] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    points_at_one: bool = False
    category: str | None = None
    category_word: str | None = None
    wants_variant: bool = False
    product_hits: int = 0
    promo_code: bool = False
    claim: bool = False
    order_item: bool = False
    bare_number: str | None = None  # 4-14 digits outside every entity (an unclaimed order number)
    last_flow: str | None = None  # the last task flow started (for "and the one for 10061")
    unknown_name: str | None = None  # a product name no product has ("the nintendo switch")


def _word_pattern(book: RuleBook, name: str) -> re.Pattern[str] | None:
    if name in book.words:
        return _compiled(tuple(book.words[name]))
    value = getattr(lexicon(), name, None)
    return value if isinstance(value, re.Pattern) else None


@cache
def _compiled(words: tuple[str, ...]) -> re.Pattern[str]:
    from shopassist.engine.dialogue.lexicon import _pattern

    return _pattern(list(words))


def _intents(names: list[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        out |= set(group(name[1:])) if name.startswith("@") else {name}
    return out


def _threshold(value: Any) -> float:
    if isinstance(value, str):
        return float(getattr(thresholds(), value))
    return float(value)


def _words(s: Situation, name: Any) -> bool:
    pattern = _word_pattern(load_rulebook(), str(name))
    return pattern is not None and matches(pattern, s.text)


Predicate = Callable[[Situation, Any], bool]
PREDICATES: dict[str, Predicate] = {
    "intent_in": lambda s, v: s.intent in _intents(v),
    "intent_not_in": lambda s, v: s.intent not in _intents(v),
    "flow": lambda s, v: bool(s.flow) == bool(v),
    "clarify": lambda s, v: bool(s.nlu.clarify) == bool(v),
    "entity": lambda s, v: s.nlu.first(str(v)) is not None,
    "no_entity": lambda s, v: s.nlu.first(str(v)) is None,
    "words": _words,
    "no_words": lambda s, v: not _words(s, v),
    "last_action": lambda s, v: s.last_action == v,
    "last_order": lambda s, v: bool(s.last_order) == bool(v),
    "names_product": lambda s, v: bool(s.named_product_ids) == bool(v),
    "product_ids": lambda s, v: bool(s.product_ids) == bool(v),
    "product_ids_max": lambda s, v: len(s.product_ids) <= int(v),
    "points_at_one": lambda s, v: s.points_at_one == bool(v),
    "category": lambda s, v: bool(s.category) == bool(v),
    "category_word": lambda s, v: bool(s.category_word) == bool(v),
    "wants_variant": lambda s, v: s.wants_variant == bool(v),
    "product_hits": lambda s, v: bool(s.product_hits) == bool(v),
    "promo_code": lambda s, v: s.promo_code == bool(v),
    "unsure": lambda s, v: is_unsure(s.nlu) == bool(v),
    "confidence_below": lambda s, v: s.nlu.intent.confidence < _threshold(v),
    "short": lambda s, v: is_short(s.text) == bool(v),
    "claim": lambda s, v: s.claim == bool(v),
    "waiting_free_text": lambda s, v: _waiting_free_text(s) == bool(v),
    "order_item": lambda s, v: s.order_item == bool(v),
    # A street address in the message, as the PII masker finds one ("445 Maple Drive, ...").
    "street_address": lambda s, v: ("[address]" in mask_pii(s.text)) == bool(v),
    "order_number": lambda s, v: (
        (s.nlu.first("order_number") is not None or bool(s.bare_number)) == bool(v)
    ),
    "last_flow": lambda s, v: bool(s.last_flow) == bool(v),
    "unknown_name": lambda s, v: bool(s.unknown_name) == bool(v),
}


def _waiting_free_text(s: Situation) -> bool:
    step = s.step or ""
    return step.startswith("collect:") and step.split(":", 1)[1] in s.free_text_slots


def holds(rule: InterpretRule, s: Situation) -> bool:
    return all(PREDICATES[key](s, value) for key, value in rule.when.items())


def _order_task(lex: Lexicon, text: str) -> str | None:
    return lex.order_task(text)


def interpret(s: Situation) -> list[Command]:
    """The commands this message yields; [] when it is read as the classifier read it."""
    for rule in load_rulebook().rules:
        if not holds(rule, s):
            continue
        intent = None
        for source in rule.then.intent_from:
            intent = intent or (
                _order_task(lexicon(), s.text) if source == "order_task" else s.last_flow
            )
        intent = intent or rule.then.intent
        return [Command(kind=rule.then.command, intent=intent, rule=rule.id)]
    return []


# The intents retrieval searches products for (the rules file's [groups] product list).
PRODUCT_INTENTS = group("product")


__all__ = [
    "PRODUCT_INTENTS",
    "Command",
    "InterpretError",
    "InterpretRule",
    "Situation",
    "interpret",
    "is_short",
    "is_unsure",
    "load_rulebook",
    "thresholds",
]
