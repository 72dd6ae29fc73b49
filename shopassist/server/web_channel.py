"""One server process's access to the engine and the live message log.

The ``Assistant`` runs one turn at a time on its own connection; the long polls of the
customers' pages read the log on a second connection, so a page waiting for a staff reply
never waits behind a turn. Both connections point at the same WAL database that staff
terminals and the other server processes use.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shopassist.kb import live_queue
from shopassist.kb.db import open_db

if TYPE_CHECKING:
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.turn_result import TurnResult


LOG_ATTEMPTS = 3


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
        """Run and store the turn, then log it for the page and for staff.

        The reply is held for a person in review mode and once the conversation has been
        handed off (the hand-off turn's own reply, which says so, still goes out). A held
        reply is never streamed.
        """
        from shopassist.engine.dialogue.suggestions import rank_suggestions
        from shopassist.engine.record import mask_text

        with self._turn_lock:
            db = self.assistant.db
            info = live_queue.conversation_info(db, session_id)
            if info is not None and info["channel"] != live_queue.LIVE_CHANNEL:
                raise ChannelConflict(
                    f"session {session_id!r} is a {info['channel']} conversation; "
                    "start a new session for the web channel"
                )
            held = self.review_mode or bool(info and info["handoff"])
            result = self.assistant.turn(
                session_id,
                text,
                customer=customer,
                channel=live_queue.LIVE_CHANNEL,
                on_token=None if held else on_token,
            )
            suggestions = [s.model_dump(mode="json") for s in rank_suggestions(result, db)]
            # The turn is committed by now; its log rows follow in a second transaction.
            # A busy database (another process writing past the busy timeout) gets a few
            # more tries, so a stored turn is not left without its reply on the page.
            for attempt in range(LOG_ATTEMPTS):
                try:
                    customer_event, reply_event = live_queue.record_exchange(
                        db,
                        session_id,
                        result.turn_index,
                        customer_text=mask_text(result.text),
                        reply=result.reply,
                        held=held,
                        suggestions=suggestions,
                    )
                    break
                except sqlite3.OperationalError:
                    if attempt == LOG_ATTEMPTS - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        return WebTurn(result, held, customer_event, reply_event)

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
