"""One server process's access to the engine and the live message log.

The ``Assistant`` runs one turn at a time on its own connection; the long polls of the
customers' pages read the log on a second connection, so a page waiting for a staff reply
never waits behind a turn. Both connections point at the same WAL database that staff
terminals and the other server processes use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shopassist.kb import live_queue
from shopassist.kb.db import open_db

if TYPE_CHECKING:
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.turn_result import Suggestions, TurnResult


class ChannelConflict(Exception):
    """The session id belongs to a conversation of another channel (chat, assist, api)."""


@dataclass
class WebTurn:
    result: TurnResult
    held: bool  # the reply waits for a person; the customer has not seen it
    customer_event: int
    reply_event: int


class WebChannel:
    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self._turn_lock = threading.Lock()
        path = live_queue.database_path(assistant.db)
        if path is not None:
            self._log_db = open_db(path)
            self._log_lock = threading.Lock()
        else:  # an in-memory database has one connection: share it (and its lock)
            self._log_db = assistant.db
            self._log_lock = self._turn_lock

    @property
    def review_mode(self) -> bool:
        return self.settings.live_reply_mode == "review"

    def run_turn(
        self,
        session_id: str,
        text: str,
        *,
        customer: str | int | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> WebTurn:
        """Run the turn and log it for the page and for staff, in one transaction.

        The log rows are written by the record stage's ``on_stored`` hook, inside the
        transaction that stores the turn: a failure anywhere before the commit leaves
        neither, so a stored turn always shows on the customer's page.
        The reply is held for a person in review mode and once the conversation has been
        handed off (the hand-off turn's own reply, which says so, still goes out). A held
        reply is never streamed.
        """
        with self._turn_lock:
            db = self.assistant.db
            info = live_queue.conversation_info(db, session_id)
            if info is not None and info["channel"] != live_queue.LIVE_CHANNEL:
                raise ChannelConflict(
                    f"session {session_id!r} is a {info['channel']} conversation; "
                    "start a new session for the web channel"
                )
            held = self.review_mode or bool(info and info["handoff"])
            events: list[int] = []

            def log(stored: Suggestions) -> None:
                result = stored.turn
                events.extend(
                    live_queue.record_exchange(
                        db,
                        session_id,
                        result.turn_index,
                        customer_text=self.assistant.mask(result.text),
                        reply=result.reply,
                        held=held,
                        suggestions=[s.model_dump(mode="json") for s in stored.suggestions],
                    )
                )

            done = self.assistant.suggest(
                session_id,
                text,
                customer=customer,
                channel=live_queue.LIVE_CHANNEL,
                on_token=None if held else on_token,
                on_stored=log,
            )
        customer_event, reply_event = events
        return WebTurn(done.turn, held, customer_event, reply_event)

    def conversation(self, session_id: str) -> dict[str, Any] | None:
        with self._log_lock:
            return live_queue.conversation_info(self._log_db, session_id)

    def events(self, session_id: str, after: int) -> tuple[list[dict[str, Any]], bool]:
        """(messages the page has not shown yet, whether a person is expected to answer)."""
        with self._log_lock:
            events = live_queue.visible_events(self._log_db, session_id, after)
            awaiting = live_queue.awaiting_person(self._log_db, session_id)
        return events, awaiting

    def close(self) -> None:
        if self._log_db is not self.assistant.db:
            self._log_db.conn.close()
        self.assistant.close()
