"""Business rules from ``data/rules.toml``: flags before the flow, reply decoration after."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from shopassist.engine.dialogue.outcome import Outcome, Part

DATA = Path(__file__).parent / "data" / "rules.toml"
RESUME_TEMPLATE = "flow.resume"  # the manager's "Back to your ...:" before a resumed task


class Rule(BaseModel):
    name: str
    phase: str = "after"
    when: dict[str, Any] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    prepend: str | None = None
    append: str | None = None
    replace: str | None = None
    guidance: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    skip_prepend_with: list[str] = Field(default_factory=list)


@cache
def load_rules() -> tuple[Rule, ...]:
    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    return tuple(Rule.model_validate(r) for r in raw.get("rules", []))


def rule_param(name: str, key: str, default: Any) -> Any:
    for rule in load_rules():
        if rule.name == name:
            return rule.params.get(key, default)
    return default


def holds(when: dict[str, Any], context: dict[str, Any]) -> bool:
    for key, expected in when.items():
        if key.endswith("_not_in"):
            if context.get(key[: -len("_not_in")]) in expected:
                return False
        elif key.endswith("_in"):
            if context.get(key[: -len("_in")]) not in expected:
                return False
        elif context.get(key) != expected:
            return False
    return True


def flags_before(context: dict[str, Any]) -> tuple[set[str], list[str]]:
    """The flags set for this turn, and the names of the rules that fired."""
    flags: set[str] = set()
    fired: list[str] = []
    for rule in load_rules():
        if rule.phase == "before" and holds(rule.when, context):
            flags.update(rule.flags)
            fired.append(rule.name)
    return flags, fired


def apply_after(outcome: Outcome, context: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Decorate the reply in place; ``values`` fills the rule templates. Returns rules fired."""
    fired: list[str] = []
    for rule in load_rules():
        if rule.phase != "after" or not holds(rule.when, context):
            continue
        fired.append(rule.name)
        if rule.replace and outcome.parts:
            outcome.parts[0] = Part(
                template=rule.replace, values={**outcome.parts[0].values, **values}
            )
        used = {p.template for p in outcome.parts}
        if rule.prepend and rule.prepend not in used and not used & set(rule.skip_prepend_with):
            outcome.parts.insert(0, Part(template=rule.prepend, values=values))
        if rule.append and rule.append not in used:
            # A note on this turn's answer goes before "Back to your cancellation: ...",
            # so the reply still ends with the question the resumed task asks.
            at = next(
                (i for i, p in enumerate(outcome.parts) if p.template == RESUME_TEMPLATE),
                len(outcome.parts),
            )
            outcome.parts.insert(at, Part(template=rule.append, values=values))
        outcome.guidance.extend(g for g in rule.guidance if g not in outcome.guidance)
    return fired
