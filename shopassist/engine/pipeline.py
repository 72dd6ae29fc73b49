"""One turn, top to bottom: understand → retrieve → decide → generate → verify → record.

Each stage is its own module with typed inputs and outputs; this file only wires them
together and times them. The turn is committed (record) before ``run_turn`` returns.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

import sqlite_utils

from shopassist.config import Settings
from shopassist.engine.decide import DecideInput, Decision, decide
from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue.access import verification_scope
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.record import RecordInput, begin_write, mask_text, record_turn
from shopassist.engine.retrieve import RetrieveInput, retrieve
from shopassist.engine.turn_result import Provenance, TurnResult
from shopassist.kb import conversations, customers
from shopassist.safe_text import clean_message

TokenCallback = Callable[[str], None]


class AssistantError(Exception):
    """A caller mistake (unknown customer, session bound to someone else); shown as is."""


TurnError = AssistantError


class Understanding(Protocol):
    def understand(self, text: str) -> NLUResult: ...


class Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round((time.perf_counter() - start) * 1000, 3)


class TurnPipeline:
    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: Settings,
        understander: Understanding,
        backend: Any = None,
        *,
        now: datetime | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.understander = understander
        self.backend = backend
        # A fixed "now" for every turn (evaluation, demos, tests); None is the real clock
        # (or whatever clock.frozen() the caller set).
        self.now = now
        try:
            params = inspect.signature(understander.understand).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        self._understand_takes_today = "today" in params

    @classmethod
    def build(
        cls,
        db: sqlite_utils.Database,
        settings: Settings,
        *,
        backend: Any = None,
        understander: Understanding | None = None,
        now: datetime | None = None,
    ) -> TurnPipeline:
        if understander is None:
            from shopassist.engine.nlu.understand import Understander

            understander = Understander.load(db=db, settings=settings)
        return cls(db, settings, understander, backend, now=now)

    # --- state ------------------------------------------------------------------------------

    def load_state(self, session_id: str) -> DialogueState:
        row = conversations.get_conversation(self.db, session_id)
        return DialogueState.from_json(row["state"] if row else None)

    def _bind(self, state: DialogueState, customer: str | int | None) -> None:
        if customer is None or (isinstance(customer, str) and not customer.strip()):
            return
        found = customers.find_customer(self.db, customer)
        if found is None:
            raise AssistantError(
                f"no customer {customer!r}: give a customer id or the email on the account"
            )
        if (
            state.customer_id is not None
            and state.customer_id != found["id"]
            and (state.bound or state.verified)
        ):
            raise AssistantError("this session belongs to another customer; start a new session")
        state.customer_id = found["id"]
        state.customer_name = found["name"]
        state.customer_tier = found["tier"]
        state.verified = True
        state.bound = True
        if state.turns == 0 and found.get("language") in ("en", "zh"):
            state.language = found["language"]

    # --- the turn ---------------------------------------------------------------------------

    def run_turn(
        self,
        session_id: str,
        text: str,
        *,
        customer: str | int | None = None,
        channel: str = "chat",
        on_token: TokenCallback | None = None,
        cancel: threading.Event | None = None,
        on_stored: Callable[[TurnResult], None] | None = None,
    ) -> TurnResult:
        """``on_stored(result)`` runs inside the record stage's transaction, after the turn
        is written: rows it writes on ``self.db`` are committed with the turn or not at all."""
        with clock.frozen(self.now), verification_scope(self.settings, session_id):
            return self._run_turn(
                session_id,
                text,
                customer=customer,
                channel=channel,
                on_token=on_token,
                cancel=cancel,
                on_stored=on_stored,
            )

    def _understand(self, text: str) -> NLUResult:
        if self._understand_takes_today:
            # Relative dates ("yesterday") are read against the dialogue clock.
            return self.understander.understand(text, today=clock.today())  # type: ignore[call-arg]
        return self.understander.understand(text)

    def _run_turn(
        self,
        session_id: str,
        text: str,
        *,
        customer: str | int | None,
        channel: str,
        on_token: TokenCallback | None,
        cancel: threading.Event | None,
        on_stored: Callable[[TurnResult], None] | None = None,
    ) -> TurnResult:
        start = time.perf_counter()
        timer = Timer()
        clean = clean_message(text if isinstance(text, str) else str(text or ""))
        state = self.load_state(session_id)
        self._bind(state, customer)
        try:
            with timer.stage("understand"):
                nlu = self._understand(clean)
            with timer.stage("retrieve"):
                retrieval = retrieve(
                    self.db,
                    RetrieveInput(text=clean, nlu=nlu, state=state, language=_lang(nlu, state)),
                )
            with timer.stage("decide"):
                # Writes a flow makes (a cancellation, a return) join this transaction and
                # are committed by the record stage together with the turn, or not at all.
                # "immediate": a deferred transaction that reads first can fail at once
                # with SQLITE_BUSY when another process wrote meanwhile; this one waits,
                # with a bounded retry while an import holds the lock (record.begin_write).
                begin_write(self.db)
                # Tickets written by flows reference the conversation row.
                conversations.ensure_conversation(self.db, session_id, channel)
                decision = decide(
                    self.db,
                    DecideInput(
                        session_id=session_id,
                        text=clean,
                        nlu=nlu,
                        state=state,
                        retrieval=retrieval,
                        channel=channel,
                        understand=self._understand,
                    ),
                )
            if not decision.wrote:
                self.db.conn.commit()  # nothing written: hold no lock while a model generates
            with timer.stage("generate"):
                generated = self._generate(decision.plan, clean, on_token, cancel)
            with timer.stage("verify"):
                reply, provenance = self._final_check(decision.plan, generated)
            timings = dict(timer.timings)

            def result(turn_index: int) -> TurnResult:
                return TurnResult(
                    session_id=session_id,
                    turn_index=turn_index,
                    text=clean,
                    reply=reply,
                    language=decision.plan.language,
                    nlu=nlu,
                    sources=decision.sources,
                    facts=decision.plan.facts,
                    action=decision.action,
                    state=decision.state.model_dump(mode="json"),
                    provenance=provenance,
                    template_reply=decision.plan.template_reply,
                    llm_reply=generated.get("llm_text"),
                    prompt=generated.get("prompt"),
                    handoff=decision.handoff or decision.state.handoff,
                    handoff_summary=decision.handoff_summary,
                    timings=dict(timer.timings),
                    channel=channel,
                    resolved=decision.resolved,
                    latency_ms=round((time.perf_counter() - start) * 1000, 3),
                    rules=decision.rules_fired,
                    interpret=decision.interpret,
                )

            with timer.stage("record"):
                turn_index = record_turn(  # the index actually stored (allocated there)
                    self.db,
                    RecordInput(
                        session_id=session_id,
                        text=clean,
                        reply=reply,
                        language=decision.plan.language,
                        nlu=nlu,
                        action=decision.action,
                        provenance=provenance,
                        sources=decision.sources,
                        timings=timings,
                        latency_ms=(time.perf_counter() - start) * 1000,
                        resolved=decision.resolved,
                        state=decision.state,
                        handoff=decision.handoff,
                        handoff_summary=decision.handoff_summary,
                        channel=channel,
                        draft=decision.plan.template_reply,
                        facts=decision.plan.facts,
                    ),
                    also=None if on_stored is None else lambda index: on_stored(result(index)),
                )
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()  # an action without its turn must not survive
            raise
        return result(turn_index)

    # --- generate and verify ------------------------------------------------------------------

    def _generate(
        self,
        plan: ReplyPlan,
        customer_text: str,
        on_token: TokenCallback | None,
        cancel: threading.Event | None,
    ) -> dict[str, Any]:
        if self.backend is None or not plan.use_llm:
            reason = (
                "no LLM backend (template replies only)"
                if self.backend is None
                else (
                    plan.template_reason
                    or f"template wording required for {plan.action or plan.intent}"
                )
            )
            if on_token is not None:
                on_token(plan.template_reply)
            return {
                "text": plan.template_reply,
                "provenance": Provenance(kind="template", reason=reason),
            }
        from shopassist.engine.generate import generate_reply

        outcome = generate_reply(
            plan,
            self.backend,
            customer_text=mask_text(customer_text),
            on_token=on_token,
            cancel=cancel,
            timeout=self.settings.llm_timeout,
            max_tokens=self.settings.llm_max_tokens,
        )
        if on_token is not None and outcome.text != outcome.streamed:
            # The gate streamed a verified prefix (or nothing); the caller replaces it with
            # the final text, and callers that only append get the rest.
            rest = (
                outcome.text[len(outcome.streamed) :]
                if outcome.text.startswith(outcome.streamed)
                else ""
            )
            if rest:
                on_token(rest)
        return {
            "text": outcome.text,
            "provenance": outcome.provenance,
            "llm_text": outcome.llm_text,
            "prompt": outcome.prompt,
            "report": outcome.report,
        }

    def _final_check(self, plan: ReplyPlan, generated: dict[str, Any]) -> tuple[str, Provenance]:
        """The verify stage: an LLM reply is kept only with a passing report on its whole text.

        The generate stage already verified the text it returns; that report is used as is
        rather than computed twice. A reply that comes without one is verified here.
        """
        provenance: Provenance = generated["provenance"]
        text: str = generated["text"]
        if provenance.kind != "llm":
            return text, provenance
        from shopassist.engine.verify import verify_reply

        report = generated.get("report") or verify_reply(text, plan)
        if report.ok:
            return text, provenance
        return plan.template_reply, Provenance(
            kind="llm_rejected",
            reason="; ".join(report.reasons) or "verification failed",
            model=provenance.model,
            checks=report.checks,
        )

    # --- misc ------------------------------------------------------------------------------

    def add_training_example(self, text: str, intent: str) -> None:
        from shopassist.engine.nlu.training_data import add_training_example

        add_training_example(text, intent)

    def close(self) -> None:
        if self.backend is not None and hasattr(self.backend, "close"):
            self.backend.close()


def _lang(nlu: NLUResult, state: DialogueState) -> str:
    if nlu.language in ("en", "zh"):
        return nlu.language
    return state.language


__all__ = ["AssistantError", "Decision", "TurnError", "TurnPipeline"]
