"""The typed output of understanding, shared by every later stage, the CLI and the TUI."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Language = Literal["en", "zh", "mixed"]

# Entity types produced by the extractors.
ENTITY_TYPES = (
    "order_number",
    "invoice_number",
    "email",
    "phone",
    "money",
    "quantity",
    "date",
    "colour",
    "size",
    "product",
    "sku",
    "brand",
)


class Entity(BaseModel):
    type: str
    value: Any  # normalised: int for quantity, {"amount":..,"currency":..} for money, ISO date ...
    text: str  # the surface text, == message[start:end]
    start: int
    end: int
    confidence: float = 1.0
    meta: dict[str, Any] = Field(default_factory=dict)  # e.g. product_id, variant_id, score


class IntentScore(BaseModel):
    name: str
    confidence: float


class Sentiment(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    score: float  # -1 .. 1
    frustrated: bool = False


class NLUResult(BaseModel):
    text: str
    language: Language
    intent: IntentScore
    ranking: list[IntentScore]  # top-k, best first
    entities: list[Entity] = Field(default_factory=list)
    sentiment: Sentiment
    # When confidence is low but two intents are close, the two candidates to ask between.
    clarify: list[str] | None = None

    def first(self, entity_type: str) -> Entity | None:
        return next((e for e in self.entities if e.type == entity_type), None)

    def all(self, entity_type: str) -> list[Entity]:
        return [e for e in self.entities if e.type == entity_type]
