"""``shopassist assist``: agent-assist mode for human staff.

A customer message (typed by a tester or replayed from JSONL) goes through the engine,
which records the turn and ranks up to three replies. The staff member sends one as is
(1-3: *accepted*), edits one (e: *edited*), or writes their own (t: *rejected*); every
choice is recorded with the final text. ``r`` then a digit corrects the intent, which
becomes a training example.

``--live`` (:class:`LiveDesk`) adds the queue of web conversations from ``shopassist
serve``: staff open one, see its history and suggestions, and send; the customer's page
shows the reply within a second. Every terminal and server process shares the database.
"""

from __future__ import annotations

import getpass
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer

from shopassist.safe_text import clean_message
from shopassist.tui.base import AssistantFactory, LLMLoader, ShopAssistApp, StatusLine
from shopassist.tui.commands import PaletteCommand
from shopassist.tui.messages import TurnFailed, TurnFinished
from shopassist.tui.render import safe
from shopassist.tui.screens.relabel import RelabelScreen
from shopassist.tui.widgets.conversation import ConversationView, CustomerMessage, Notice
from shopassist.tui.widgets.insight import InsightColumn
from shopassist.tui.widgets.live_queue import LiveQueue
from shopassist.tui.widgets.message_input import MessageInput
from shopassist.tui.widgets.suggestions import SuggestionList

if TYPE_CHECKING:
    from shopassist.engine.assistant import ChoiceKind


def load_replay(path: Path) -> tuple[list[str], list[str]]:
    """Customer lines from a JSONL file: ``{"text": ...}`` objects or JSON strings.

    A line that is neither (or is empty) is reported by number and skipped, so one bad
    line in a long transcript does not stop a replay. A non-JSON line is taken as plain
    text, since testers write these files by hand.
    """
    lines: list[str] = []
    problems: list[str] = []
    raw = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value: Any = json.loads(line)
        except json.JSONDecodeError:
            value = line
        if isinstance(value, dict):
            value = value.get("text")
        if not isinstance(value, str) or not clean_message(value):
            problems.append(f'line {number}: expected {{"text": "..."}} or a string')
            continue
        lines.append(value)
    return lines, problems


class StaffMessage(CustomerMessage):
    """What the staff member sent, with how it was chosen."""

    def __init__(self, text: str, how: str) -> None:
        super().__init__(text, label=f"Staff ({how})")
        self.set_classes("message assistant staff")


# How often the live queue and the open conversation are re-read from the database.
LIVE_POLL_S = 0.4


@dataclass
class LiveReplyTarget:
    """The web turn staff are answering: its index and the suggestions stored with it."""

    turn_index: int | None
    suggestions: list[Any] = field(default_factory=list)
    pending: bool = False


@dataclass
class LiveUpdate(Message):
    """What a poll of the database found: the queue and new rows of the open conversation."""

    rows: list[dict[str, Any]]
    session_id: str
    events: list[dict[str, Any]]


class BotMessage(CustomerMessage):
    """A reply the bot sent (or holds for approval) in a web conversation."""

    def __init__(self, text: str, status: str) -> None:
        label = "ShopAssist" if status == "sent" else f"ShopAssist ({status})"
        super().__init__(text, label=label)
        self.set_classes(f"message assistant live-bot -{status}")


class AssistApp(ShopAssistApp):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "type_reply", "Own reply", id="assist.own_reply"),
        Binding("r", "relabel", "Relabel", id="assist.relabel"),
        Binding("n", "next_replay", "Next line", id="assist.next"),
        Binding("c", "focus_customer", "Customer", id="assist.customer"),
        Binding("h", "show_handoff", "Hand-off", id="assist.handoff", show=False),
        Binding("escape", "focus_suggestions", "Suggestions", id="assist.back", show=False),
        Binding("w", "focus_queue", "Queue", id="assist.queue", show=False),
    ]

    def __init__(
        self,
        open_assistant: AssistantFactory,
        *,
        load_llm: LLMLoader | None = None,
        autoload_llm: bool = True,
        keymap: Mapping[str, str] | None = None,
        customer: str | None = None,
        session_id: str | None = None,
        replay: Sequence[str] | None = None,
        replay_problems: Sequence[str] = (),
        live: bool = False,
    ) -> None:
        super().__init__(
            open_assistant, load_llm=load_llm, autoload_llm=autoload_llm, keymap=keymap
        )
        self.customer = customer
        self.session_id = session_id or ""
        self.replay = list(replay or [])
        self.replay_problems = list(replay_problems)
        self.replay_pos = 0
        self.current: Any = None  # the Suggestions for the message awaiting a choice
        self.last_turn: Any = None
        self.busy = False
        self._editing: tuple[int, str] | None = None  # (rank, original text)
        self._turn_token = 0
        self._pending_customer: CustomerMessage | None = None
        # Customer messages received before the engine finished loading, run when ready.
        self._queued: list[tuple[str, CustomerMessage, Notice]] = []
        # --live: a second connection to the shared database, used from one thread at a time.
        self.live = live
        self._live_db: Any = None
        self._live_lock = threading.Lock()
        self._live_cursor = 0
        self._live_seen: set[int] = set()
        self._live_handoff_shown: set[str] = set()
        self._staff_name = _staff_name()

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="main"):
            with Vertical(id="assist-left"):
                if self.live:
                    yield LiveQueue(id="live-queue")
                yield ConversationView(id="conversation")
                yield SuggestionList(id="suggestions")
                yield MessageInput(
                    id="reply-input",
                    placeholder="Your reply to the customer · Enter sends · Esc back",
                )
                yield MessageInput(
                    id="customer-input", placeholder="Customer message (tester) · Enter sends"
                )
            yield InsightColumn(id="insight")
        yield Footer()

    def on_ready(self) -> None:
        if self.live:
            # Web turns are not run here, so there is no live insight to show: the queue
            # and the conversation get the width.
            self.query_one("#customer-input", MessageInput).display = False
            self.query_one(InsightColumn).display = False
            self.query_one(LiveQueue).focus()
        else:
            self.query_one("#customer-input", MessageInput).focus()
        self.refresh_status()
        if self.replay_problems:
            shown = "; ".join(self.replay_problems[:5])
            more = (
                f" (+{len(self.replay_problems) - 5} more)" if len(self.replay_problems) > 5 else ""
            )
            self.notify(
                f"Skipped bad replay lines: {shown}{more}",
                severity="warning",
                timeout=10,
                markup=False,
            )

    def engine_ready(self) -> None:
        assert self.assistant is not None
        if self.live:
            self._start_live()
            return
        self.session_id = self.session_id or self.assistant.new_session_id()
        self.refresh_status()
        if self._queued:
            self.call_later(self._run_queued)
        elif self.replay:
            self.call_later(self.action_next_replay)
        else:
            self.call_later(
                self.query_one(SuggestionList).clear,
                "Suggestions appear here for each customer message.",
            )

    def status_parts(self) -> list[tuple[str, str]]:
        if self.live:
            try:
                waiting = self.query_one(LiveQueue).waiting
            except Exception:  # not composed yet
                waiting = 0
            parts = [("live ", "dim"), (f"{waiting} waiting", "bold yellow" if waiting else "bold")]
            parts += [("  open ", "dim"), (self.session_id or "none", "bold")]
            return parts + [("  ", "")] + super().status_parts()
        parts = [("assist ", "dim"), (self.session_id or "…", "bold")]
        if self.replay:
            parts += [("  replay ", "dim"), (f"{self.replay_pos}/{len(self.replay)}", "bold")]
        return parts + [("  ", "")] + super().status_parts()

    # --- incoming customer messages ---------------------------------------------------------

    @on(MessageInput.Submitted, "#customer-input")
    async def _customer_typed(self, event: MessageInput.Submitted) -> None:
        if await self.receive(event.text):
            event.input.clear()

    async def action_next_replay(self) -> None:
        if not self.replay:
            self.notify("No replay file: type the customer's message (c).")
            return
        if self.replay_pos >= len(self.replay):
            self.notify("End of the replay.")
            return
        if await self.receive(self.replay[self.replay_pos]):
            self.replay_pos += 1
            self.refresh_status()

    async def receive(self, text: str) -> bool:
        if self.engine_status == "failed":
            self.notify("The engine could not start, so no suggestions can be made.")
            return False
        if self.assistant is None:
            view = self.query_one(ConversationView)
            message = CustomerMessage(text)
            note = Notice("Waiting for the engine; suggestions follow as soon as it is ready.")
            await view.mount(message)
            await view.mount(note)
            view.scroll_end(animate=False)
            self._queued.append((text, message, note))
            return True
        if self.busy:
            self.notify("Still preparing suggestions for the last message.", severity="warning")
            return False
        view = self.query_one(ConversationView)
        self._pending_customer = CustomerMessage(text)
        await view.mount(self._pending_customer)
        view.scroll_end(animate=False)
        await self.query_one(SuggestionList).clear("Preparing suggestions…")
        self.busy = True
        self._turn_token += 1
        self._suggest(self._turn_token, self.session_id, text)
        return True

    async def _run_queued(self) -> None:
        if not self._queued or self.busy or self.assistant is None:
            return
        text, message, note = self._queued.pop(0)
        await message.remove()
        await note.remove()
        await self.receive(text)

    @work(thread=True, exclusive=True, group="turn")
    def _suggest(self, token: int, session_id: str, text: str) -> None:
        assert self.assistant is not None
        try:
            result = self.assistant.suggest(session_id, text, customer=self.customer)
        except Exception as exc:  # shown, never a crash
            self.post_message(TurnFailed(token, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(TurnFinished(token, result))

    @on(TurnFinished)
    async def _suggested(self, message: TurnFinished) -> None:
        if message.turn_token != self._turn_token:
            return
        self.busy = False
        self.current = message.result
        turn = self.current.turn
        self.last_turn = turn
        if self._pending_customer is not None:
            self._pending_customer.show_entities(turn.nlu)
        self.query_one(InsightColumn).show_turn(turn)
        suggestions = self.query_one(SuggestionList)
        await suggestions.show(self.current.suggestions)
        suggestions.focus()
        if turn.handoff:
            await self._show_handoff(turn.handoff_summary)
        if self._queued:
            self.call_later(self._run_queued)

    @on(TurnFailed)
    async def _failed(self, message: TurnFailed) -> None:
        if message.turn_token != self._turn_token:
            return
        self.busy = False
        await self.query_one(SuggestionList).clear(
            "No suggestions: the engine failed on this message."
        )
        self.notify(safe(message.error), title="Suggestion failed", severity="error", markup=False)

    async def _show_handoff(self, summary: str | None) -> None:
        text = summary or "The engine handed this conversation over; no summary was written."
        await self.query_one(ConversationView).mount(Notice(f"HAND-OFF: {text}", classes="handoff"))
        self.notify(
            safe(text), title="Handed over to you", severity="warning", timeout=15, markup=False
        )

    async def action_show_handoff(self) -> None:
        if self.assistant is not None:
            await self._show_handoff(self.assistant.handoff_summary(self.session_id))

    # --- the staff member's choice ----------------------------------------------------------------

    def choose_suggestion(self, rank: int) -> None:
        suggestion = self._suggestion(rank)
        if suggestion is not None:
            self.call_later(self._send, suggestion.text, "accepted", rank)

    def edit_suggestion(self, rank: int) -> None:
        suggestion = self._suggestion(rank)
        if suggestion is None:
            return
        self._editing = (rank, suggestion.text)
        box = self.query_one("#reply-input", MessageInput)
        box.load_text(safe(suggestion.text))
        box.move_cursor(box.document.end)
        box.focus()

    def _suggestion(self, rank: int) -> Any | None:
        if self.current is None:
            self.notify("No customer message is waiting for a reply.")
            return None
        suggestion = self.query_one(SuggestionList).get(rank)
        if suggestion is None:
            self.notify(f"There is no suggestion {rank}.")
        return suggestion

    def action_type_reply(self) -> None:
        if self.current is None and not (self.live and self.session_id):
            self.notify("No customer message is waiting for a reply.")
            return
        self._editing = None
        box = self.query_one("#reply-input", MessageInput)
        box.focus()

    @on(MessageInput.Submitted, "#reply-input")
    async def _reply_typed(self, event: MessageInput.Submitted) -> None:
        if self.current is None and not (self.live and self.session_id):
            self.notify("No customer message is waiting for a reply.")
            return
        text = event.text
        if self._editing is not None:
            rank, original = self._editing
            unchanged = text.strip() == safe(original).strip()
            await self._send(text, "accepted" if unchanged else "edited", rank)
        else:
            await self._send(text, "rejected", None)
        event.input.clear()

    async def _send(self, text: str, kind: ChoiceKind, rank: int | None) -> None:
        assert self.assistant is not None
        if self.live:
            await self._send_live(text, kind, rank)
            return
        if self.current is None:
            return
        turn = self.current.turn
        try:
            self.assistant.record_choice(
                self.session_id, turn.turn_index, kind, text, suggestion_rank=rank
            )
        except Exception as exc:
            self.notify(f"Could not record the choice: {exc}", severity="error", markup=False)
            return
        how = kind if rank is None else f"{kind} #{rank}"
        view = self.query_one(ConversationView)
        await view.mount(StaffMessage(text, how))
        view.scroll_end(animate=False)
        self.current = None
        self._editing = None
        await self.query_one(SuggestionList).clear(
            f"Sent ({how}). Waiting for the next customer message."
        )
        if self.replay and self.replay_pos < len(self.replay):
            await self.action_next_replay()
        else:
            self.query_one("#customer-input", MessageInput).focus()

    # --- live: the queue of web conversations ---------------------------------------------------

    def _start_live(self) -> None:
        from shopassist.kb import live_queue
        from shopassist.kb.db import open_db

        assert self.assistant is not None
        path = live_queue.database_path(self.assistant.db)
        self._live_db = open_db(path) if path is not None else self.assistant.db
        self.set_interval(LIVE_POLL_S, self._poll_live)
        self._poll_live()
        self.refresh_status()

    def _poll_live(self) -> None:
        if self._live_db is not None:
            self._read_live(self.session_id, self._live_cursor)

    @work(thread=True, exclusive=True, group="live")
    def _read_live(self, session_id: str, cursor: int) -> None:
        from shopassist.kb import live_queue

        try:
            with self._live_lock:
                rows = live_queue.queue(self._live_db)
                events = live_queue.history(self._live_db, session_id, cursor) if session_id else []
        except Exception as exc:  # a locked or broken database: say so, keep polling
            self.call_from_thread(
                self.notify, f"Cannot read the live queue: {exc}", severity="error", markup=False
            )
            return
        self.post_message(LiveUpdate(rows, session_id, events))

    @on(LiveUpdate)
    async def _live_update(self, message: LiveUpdate) -> None:
        self.query_one(LiveQueue).show(message.rows, open_session=self.session_id or None)
        self.refresh_status()
        if not message.session_id or message.session_id != self.session_id:
            return  # the staff member opened another conversation meanwhile
        await self._show_live_events(message.events)
        row = self.query_one(LiveQueue).rows_by_session.get(self.session_id)
        if row and row["handoff"] and self.session_id not in self._live_handoff_shown:
            self._live_handoff_shown.add(self.session_id)
            await self.action_show_handoff()

    async def _show_live_events(self, events: list[dict[str, Any]]) -> None:
        view = self.query_one(ConversationView)
        target: LiveReplyTarget | None = None
        for event in events:
            self._live_cursor = max(self._live_cursor, event["id"])
            if event["id"] in self._live_seen:
                continue
            self._live_seen.add(event["id"])
            author, text, status = event["author"], event["text"], event["status"]
            if author == "customer":
                await view.mount(CustomerMessage(text))
            elif author == "staff":
                await view.mount(StaffMessage(text, safe(event.get("staff") or "sent")))
            else:
                await view.mount(BotMessage(text, status))
                target = LiveReplyTarget(
                    event["turn_idx"],
                    _suggestions(event.get("suggestions") or []),
                    pending=status == "pending",
                )
            if author == "staff" and self.current is not None:
                self.current = None  # another staff member answered it
                await self.query_one(SuggestionList).clear("Answered by staff.")
        if events:
            view.scroll_end(animate=False)
        if target is not None:
            self.current = target
            suggestions = self.query_one(SuggestionList)
            await suggestions.show(target.suggestions)
            if target.pending:
                self.notify("A bot reply waits for your approval (1-3 send, e edit, t own).")
                if not isinstance(self.focused, MessageInput):  # never steal a draft's focus
                    suggestions.focus()

    @on(DataTable.RowSelected, "#live-queue")
    async def _queue_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            await self.open_live(str(event.row_key.value))

    async def open_live(self, session_id: str) -> None:
        """Show one web conversation: its history now, new messages as they arrive."""
        self.session_id = session_id
        self.current = None
        self._editing = None
        self._live_cursor = 0
        self._live_seen.clear()
        self._live_handoff_shown.discard(session_id)
        await self.query_one(ConversationView).remove_children()
        await self.query_one(SuggestionList).clear("No customer message waits for a reply.")
        self.refresh_status()
        self._read_live(session_id, 0)

    async def _send_live(self, text: str, kind: ChoiceKind, rank: int | None) -> None:
        from shopassist.kb import live_queue

        assert self.assistant is not None
        if not self.session_id or self._live_db is None:
            self.notify("Open a conversation from the queue first (w).")
            return
        if not text.strip():
            self.notify("An empty reply is not sent.")
            return
        target = self.current if isinstance(self.current, LiveReplyTarget) else None
        turn_index = target.turn_index if target is not None else None
        try:
            if turn_index is not None:
                self.assistant.record_choice(
                    self.session_id, turn_index, kind, text, suggestion_rank=rank
                )
            with self._live_lock:
                event_id = live_queue.send_staff_reply(
                    self._live_db,
                    self.session_id,
                    text,
                    turn_index=turn_index,
                    approved=kind == "accepted",
                    staff=self._staff_name,
                )
        except Exception as exc:
            self.notify(f"Could not send the reply: {exc}", severity="error", markup=False)
            return
        self._live_seen.add(event_id)
        how = kind if rank is None else f"{kind} #{rank}"
        view = self.query_one(ConversationView)
        await view.mount(StaffMessage(text, how))
        view.scroll_end(animate=False)
        self.current = None
        self._editing = None
        await self.query_one(SuggestionList).clear(f"Sent ({how}); the customer sees it now.")
        self._poll_live()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Live conversations come from the web: typing or replaying customer lines is off.
        if self.live and action in ("next_replay", "focus_customer"):
            return False
        return super().check_action(action, parameters)

    def action_focus_queue(self) -> None:
        if self.live:
            self.query_one(LiveQueue).focus()
        else:
            self.notify("The queue is part of live mode: shopassist assist --live.")

    def on_unmount(self) -> None:
        if (
            self._live_db is not None
            and self.assistant is not None
            and (self._live_db is not self.assistant.db)
        ):
            self._live_db.conn.close()
        super().on_unmount()

    # --- relabelling --------------------------------------------------------------------------------

    def action_relabel(self) -> None:
        if self.last_turn is None or self.assistant is None:
            self.notify("No message to relabel yet.")
            return
        turn = self.last_turn
        candidates = [s.name for s in turn.nlu.ranking]
        self.push_screen(
            RelabelScreen(turn.text, turn.nlu.intent.name, candidates, self._all_intents()),
            lambda intent: self._relabel(turn, intent),
        )

    def _all_intents(self) -> list[str]:
        return list(self.assistant.intents()) if self.assistant is not None else []

    def _relabel(self, turn: Any, intent: str | None) -> None:
        if not intent or self.assistant is None:
            return
        try:
            self.assistant.relabel(turn.session_id, turn.turn_index, intent)
        except Exception as exc:
            self.notify(f"Could not relabel: {exc}", severity="error", markup=False)
            return
        self.notify(
            f"Relabelled as {intent}; added as a training example (shopassist train).", markup=False
        )
        self.query_one(SuggestionList).focus()

    # --- focus -----------------------------------------------------------------------------------------

    def action_focus_customer(self) -> None:
        self.query_one("#customer-input", MessageInput).focus()

    def action_focus_suggestions(self) -> None:
        self.query_one(SuggestionList).focus()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield (
            "Relabel the last message's intent",
            "Correct understanding; writes a training example",
            self.action_relabel,
        )
        yield (
            "Show hand-off summary",
            "The summary written when the engine hands over",
            self.action_show_handoff,
        )
        yield (
            "Next replay line",
            "Feed the next customer line from the replay file",
            self.action_next_replay,
        )
        yield from super().palette_commands()


def _suggestions(stored: list[dict[str, Any]]) -> list[Any]:
    """Suggestions stored with a web turn, back as the engine's typed objects."""
    from shopassist.engine.turn_result import Suggestion

    out = []
    for item in stored:
        try:
            out.append(Suggestion.model_validate(item))
        except ValueError:
            continue  # written by another version: skip rather than fail the whole queue
    return out


def _staff_name() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
