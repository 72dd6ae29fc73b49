"""The engine's public surface: the CLI and the TUI talk to ShopAssist only through here.

One ``Assistant`` owns one database connection, the loaded understander and an optional
LLM backend. It is safe to call from a worker thread (the TUI does), one turn at a time:
a lock serialises turns so two workers never interleave writes to one conversation.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlite_utils

from shopassist.config import Settings
from shopassist.engine.pipeline import AssistantError
from shopassist.engine.record import WriteWaitExceeded
from shopassist.engine.turn_result import (
    SessionInfo,
    StoredTurn,
    Suggestions,
    TurnResult,
)

if TYPE_CHECKING:
    from shopassist.engine.pipeline import TurnPipeline

__all__ = ["Assistant", "AssistantError", "ChoiceKind", "TokenCallback", "WriteWaitExceeded"]

ChoiceKind = Literal["accepted", "edited", "rejected"]
TokenCallback = Callable[[str], None]


class Assistant:
    """Runs turns, records them, and answers questions about stored conversations."""

    def __init__(
        self,
        settings: Settings,
        db: sqlite_utils.Database,
        pipeline: TurnPipeline,
        *,
        owns_db: bool = False,
    ) -> None:
        self.settings = settings
        self.db = db
        self._pipeline = pipeline
        self._lock = threading.RLock()
        self._owns_db = owns_db  # close() closes only a connection this object opened

    # --- construction -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        db: sqlite_utils.Database | Path | str | None = None,
        llm: Any = None,
        now: datetime | None = None,
    ) -> Assistant:
        """Open the database, load understanding and (optionally) an LLM backend.

        ``llm``: ``None`` means template replies only; ``"auto"`` builds the backend the
        settings describe (``--model``, ``--llm-url``, or the bundled model; none with
        ``--no-llm``); anything else is used as an ``LLMBackend``.
        ``now``: a fixed shop time for every turn (return windows, cancellation fees,
        live promotions), so scripted conversations give the same answers on any day.
        """
        from shopassist.engine.pipeline import TurnPipeline
        from shopassist.kb.db import open_db

        owns = not isinstance(db, sqlite_utils.Database)
        if db is None:
            kb = open_db(settings.db_path)
        elif isinstance(db, sqlite_utils.Database):
            kb = db
        else:
            kb = open_db(db)
        backend = _resolve_backend(settings, llm)
        pipeline = TurnPipeline.build(kb, settings, backend=backend)
        if now is not None:
            pipeline.now = now
        return cls(settings, kb, pipeline, owns_db=owns)

    # --- turns ----------------------------------------------------------------------------

    def turn(
        self,
        session_id: str,
        text: str,
        *,
        customer: str | int | None = None,
        channel: str = "chat",
        on_token: TokenCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> TurnResult:
        """Run one customer message through the pipeline; the turn is stored before returning.

        ``customer`` (id or email) binds the conversation to that customer; binding an
        already-bound conversation to someone else is refused. ``on_token`` receives the
        reply as it is produced (verified sentences only); ``cancel`` stops generation and
        the grounded template reply is used instead.
        """
        with self._lock:
            return self._pipeline.run_turn(
                _check_session_id(session_id),
                text,
                customer=customer,
                channel=channel,
                on_token=on_token,
                cancel=cancel,
            )

    def suggest(
        self,
        session_id: str,
        text: str,
        *,
        customer: str | int | None = None,
        channel: str = "assist",
        on_token: TokenCallback | None = None,
        on_stored: Callable[[Suggestions], None] | None = None,
    ) -> Suggestions:
        """Agent-assist: run the turn (recorded with ``channel``) and rank up to 3 replies.

        ``on_stored`` receives the turn and its suggestions inside the transaction that
        stores the turn, before it commits: whatever it writes on ``self.db`` (the web
        channel's log for the customer's page) is stored with the turn or not at all.
        """
        from shopassist.engine.dialogue.suggestions import rank_suggestions

        ranked: list[Suggestions] = []

        def stored(result: TurnResult) -> None:
            ranked.append(Suggestions(turn=result, suggestions=rank_suggestions(result, self.db)))
            if on_stored is not None:
                on_stored(ranked[-1])

        with self._lock:
            result = self._pipeline.run_turn(
                _check_session_id(session_id),
                text,
                customer=customer,
                channel=channel,
                on_token=on_token,
                on_stored=stored,
            )
            return Suggestions(turn=result, suggestions=ranked[-1].suggestions)

    def record_choice(
        self,
        session_id: str,
        turn_index: int,
        kind: ChoiceKind,
        final_text: str,
        suggestion_rank: int | None = None,
    ) -> None:
        """Store what the staff member did with the suggestions for one turn."""
        from shopassist.kb import conversations

        if kind not in ("accepted", "edited", "rejected"):
            raise AssistantError(f"unknown choice {kind!r}: use accepted, edited or rejected")
        with self._lock:
            try:
                conversations.record_feedback(
                    self.db,
                    session_id,
                    turn_index,
                    kind=kind,
                    final_text=self.mask(final_text),
                    suggestion_rank=suggestion_rank,
                )
            except LookupError as exc:
                raise AssistantError(str(exc)) from exc

    def relabel(self, session_id: str, turn_index: int, intent: str) -> None:
        """Correct a turn's intent: stored as feedback and appended as a training example."""
        from shopassist.kb import conversations

        with self._lock:
            try:
                text = conversations.relabel_turn(self.db, session_id, turn_index, intent)
            except LookupError as exc:
                raise AssistantError(str(exc)) from exc
            self._pipeline.add_training_example(text, intent)

    def intents(self) -> list[str]:
        """The intent names the classifier knows, sorted (for the relabel picker).

        Asked of the loaded classifier, so intents added by training show up; an
        understander that cannot say falls back to the shipped intent list.
        """
        listed = getattr(self._pipeline.understander, "intents", None)
        names: list[str] = []
        if callable(listed):
            try:
                names = [str(n) for n in listed()]
            except Exception:  # a model that cannot list its labels: use the shipped list
                names = []
        if not names:
            from shopassist.engine.nlu.training_data import INTENTS

            names = list(INTENTS)
        return sorted(dict.fromkeys(names))

    # --- stored conversations ---------------------------------------------------------------

    def history(self, session_id: str) -> list[StoredTurn]:
        """The stored turns of a session, oldest first (empty for an unknown session)."""
        from shopassist.kb import conversations

        with self._lock:  # one connection: never read mid-way through another thread's turn
            return [StoredTurn(**row) for row in conversations.list_turns(self.db, session_id)]

    def sessions(self, limit: int = 20) -> list[SessionInfo]:
        """Most recently active sessions first."""
        from shopassist.kb import conversations

        with self._lock:
            return [SessionInfo(**row) for row in conversations.list_conversations(self.db, limit)]

    def state(self, session_id: str) -> dict[str, Any]:
        """The persisted dialogue state of a session (``{}`` when unknown)."""
        with self._lock:
            return self._pipeline.load_state(session_id).model_dump(mode="json")

    def handoff_summary(self, session_id: str) -> str | None:
        """The staff summary written when the session was handed to a human (or None)."""
        from shopassist.kb import conversations

        with self._lock:
            return conversations.get_handoff_summary(self.db, session_id)

    # --- LLM ----------------------------------------------------------------------------------

    def set_llm(self, backend: Any) -> None:
        """Swap the LLM backend (``None`` for template replies only); takes effect next turn."""
        with self._lock:
            self._pipeline.backend = backend

    @property
    def llm(self) -> Any:
        return self._pipeline.backend

    @property
    def llm_enabled(self) -> bool:
        return self._pipeline.backend is not None

    # --- misc ---------------------------------------------------------------------------------

    @staticmethod
    def new_session_id() -> str:
        return uuid.uuid4().hex[:12]

    def close(self) -> None:
        with self._lock:
            self._pipeline.close()
            if self._owns_db:
                self.db.conn.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def mask(text: str) -> str:
        """``text`` with PII masked as the record stage masks what it stores."""
        from shopassist.engine.record import mask_text

        return mask_text(text)

    def set_write_wait(self, seconds: float) -> None:
        """Bound how long a turn waits for another process's write lock, in all; past it
        the turn raises ``WriteWaitExceeded`` with nothing stored (``serve`` uses this)."""
        from shopassist.engine.record import set_write_wait

        with self._lock:
            set_write_wait(self.db, seconds)


def _check_session_id(session_id: str) -> str:
    session_id = (session_id or "").strip()
    if not session_id or len(session_id) > 128 or not session_id.isprintable():
        raise AssistantError("a session id must be 1-128 printable characters")
    return session_id


def _resolve_backend(settings: Settings, llm: Any) -> Any:
    if llm is None:
        return None
    if isinstance(llm, str):
        if llm != "auto":
            raise AssistantError(f"llm must be None, 'auto' or a backend, not {llm!r}")
        if settings.no_llm:
            return None
        from shopassist.engine.llm import backend_from_settings

        return backend_from_settings(settings)
    return llm
