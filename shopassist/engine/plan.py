"""The reply plan: what the decide stage hands to generation and verification.

The planner puts every fact the reply must state here, each with its source, plus a
complete template reply. The LLM may only rephrase; the verifier checks its text
against this plan, and the template is the fallback.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shopassist.engine.turn_result import Fact


class ReplyPlan(BaseModel):
    intent: str
    action: str | None = None
    language: Literal["en", "zh"]
    facts: list[Fact] = Field(default_factory=list)
    template_reply: str
    # Values the reply may mention though no fact carries them (the customer's own name,
    # numbers they typed themselves). Anything else numeric or code-like is unsupported.
    allowed_values: list[str] = Field(default_factory=list)
    customer_name: str | None = None
    # Short, fixed guidance for the LLM ("apologise first", "ask for the order number").
    guidance: list[str] = Field(default_factory=list)
    # False when the exact template wording matters (legal text, confirmations) or when a
    # rephrasing adds nothing (a structured list); ``template_reason`` then says why.
    use_llm: bool = True
    template_reason: str | None = None
    max_chars: int = 700
