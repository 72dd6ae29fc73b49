"""What a flow step produces: reply parts (template keys + values), facts and side effects."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shopassist.engine.turn_result import Fact, Source


class Part(BaseModel):
    template: str
    values: dict[str, Any] = Field(default_factory=dict)


class LowStock(BaseModel):
    title: str
    stock: int
    source_id: str


class Outcome(BaseModel):
    parts: list[Part] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    action: str | None = None
    # True: the request was answered or done; False: fallback / could not help; None: in progress.
    resolved: bool | None = None
    handoff: bool = False
    use_llm: bool = True
    guidance: list[str] = Field(default_factory=list)
    low_stock: list[LowStock] = Field(default_factory=list)
    allowed_values: list[str] = Field(default_factory=list)

    def say(self, template: str, **values: Any) -> Outcome:
        self.parts.append(Part(template=template, values=values))
        return self

    def fact(self, key: str, value: Any, source_id: str, *, required: bool = True) -> str:
        """Record a fact and return its display value, to pass on as a template value."""
        text = str(value)
        if not any(f.key == key and f.value == text for f in self.facts):
            self.facts.append(Fact(key=key, value=text, source_id=source_id, required=required))
        return text

    def source(self, source: Source) -> None:
        if all(s.id != source.id for s in self.sources):
            self.sources.append(source)

    def merge(self, other: Outcome) -> Outcome:
        """Append another outcome (a resumed flow's prompt after a digression)."""
        self.parts.extend(other.parts)
        for f in other.facts:
            if f not in self.facts:
                self.facts.append(f)
        for s in other.sources:
            self.source(s)
        self.action = self.action or other.action
        self.handoff = self.handoff or other.handoff
        self.use_llm = self.use_llm and other.use_llm
        self.guidance.extend(g for g in other.guidance if g not in self.guidance)
        self.low_stock.extend(other.low_stock)
        self.allowed_values.extend(other.allowed_values)
        return self
