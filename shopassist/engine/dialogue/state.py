"""The per-conversation dialogue state, persisted as JSON in ``conversations.state``.

No raw email or phone number is kept here: a given email/phone is turned into the id of
the customer it belongs to (``claimed_customer_id``) at once, so the state row holds no PII.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

STATE_VERSION = 1
MAX_MENTIONS = 10
MAX_SENTIMENT = 5
MAX_INTENTS = 30


class MentionedProduct(BaseModel):
    product_id: int
    title: str
    variant_id: int | None = None
    colours: list[str] = Field(default_factory=list)


class PendingConfirmation(BaseModel):
    """An action waiting for the customer's yes or no."""

    flow: str
    summary: str = ""


class SuspendedFlow(BaseModel):
    """A flow interrupted by a digression; it resumes once the digression is answered."""

    flow: str
    step: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)


class DialogueState(BaseModel):
    version: int = STATE_VERSION
    language: Literal["en", "zh"] = "en"
    customer_id: int | None = None
    customer_name: str | None = None
    customer_tier: str | None = None
    verified: bool = False
    bound: bool = False  # bound by the operator (--customer), not by what the customer typed
    # The customer an email/phone the customer typed belongs to; proof only for that
    # customer's orders, and only once an order number of theirs is also given.
    claimed_customer_id: int | None = None
    verification_failures: int = 0
    slots: dict[str, Any] = Field(default_factory=dict)
    flow: str | None = None
    step: str | None = None
    pending: PendingConfirmation | None = None
    suspended: list[SuspendedFlow] = Field(default_factory=list)
    mentioned: list[MentionedProduct] = Field(default_factory=list)
    shown: list[int] = Field(default_factory=list)  # product ids of the last list, in order
    # Colours the last list was narrowed to ("有黑色的吗"): "the first one in L" means black L.
    shown_colours: list[str] = Field(default_factory=list)
    # The order number in the slot was looked up and is not on the customer's account: the
    # flow asks once for a corrected number, and is dropped if the customer moves on.
    lookup_failed: bool = False
    last_order: str | None = None  # the order number last discussed, for "cancel it"
    last_flow: str | None = None  # the last task flow started, for late corrections
    clarify: list[str] | None = None
    # The message the clarify question was about, emails and phones blanked out (no PII):
    # "yes" to "return or cancel?" does the chosen task with what that message said.
    clarify_message: dict[str, Any] | None = None
    offer: str | None = None  # the flow the last reply offered ("connect you with a person?")
    sentiment: list[float] = Field(default_factory=list)
    failures: int = 0
    intents: list[str] = Field(default_factory=list)
    turns: int = 0
    handoff: bool = False
    last_action: str | None = None

    @classmethod
    def from_json(cls, text: str | None) -> DialogueState:
        """Load stored state; unreadable or outdated state starts fresh rather than failing."""
        if not text or text == "{}":
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return cls()

    # --- small mutations the flows share ----------------------------------------------------

    def remember_products(self, products: list[MentionedProduct]) -> None:
        """Newest mentions first, without duplicates; the list backs "it" / "the second one"."""
        if not products:
            return
        ids = {p.product_id for p in products}
        kept = [m for m in self.mentioned if m.product_id not in ids]
        self.mentioned = (list(products) + kept)[:MAX_MENTIONS]

    def push_sentiment(self, score: float) -> None:
        self.sentiment = (self.sentiment + [round(float(score), 3)])[-MAX_SENTIMENT:]

    def push_intent(self, intent: str) -> None:
        self.intents = (self.intents + [intent])[-MAX_INTENTS:]

    def start_flow(self, flow: str) -> None:
        self.flow = flow
        self.step = None
        self.pending = None
        self.lookup_failed = False

    def end_flow(self) -> None:
        self.flow = None
        self.step = None
        self.pending = None
        self.slots = {}
        self.lookup_failed = False

    def suspend_active(self) -> None:
        if self.flow:
            self.suspended.append(
                SuspendedFlow(flow=self.flow, step=self.step, slots=dict(self.slots))
            )
            self.suspended = self.suspended[-3:]
        self.flow = None
        self.step = None
        self.pending = None

    def resume_suspended(self) -> SuspendedFlow | None:
        if not self.suspended:
            return None
        top = self.suspended.pop()
        self.flow, self.step = top.flow, top.step
        self.slots = dict(top.slots)
        return top

    @property
    def frustrated_trend(self) -> bool:
        """Two of the last three messages clearly negative."""
        recent = self.sentiment[-3:]
        return sum(1 for s in recent if s <= -0.4) >= 2
