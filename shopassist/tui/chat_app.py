"""``shopassist chat``: talk to the assistant and watch every stage of each turn."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer
from textual.worker import get_current_worker

from shopassist.tui.base import AssistantFactory, LLMLoader, ShopAssistApp, StatusLine
from shopassist.tui.commands import PaletteCommand
from shopassist.tui.export import default_export_name, export_transcript
from shopassist.tui.messages import ReplyToken, TurnFailed, TurnFinished
from shopassist.tui.render import report_markdown, safe
from shopassist.tui.screens.modals import PromptScreen, ReportScreen
from shopassist.tui.widgets.conversation import (
    AssistantMessage,
    ConversationView,
    CustomerMessage,
    Notice,
)
from shopassist.tui.widgets.insight import InsightColumn
from shopassist.tui.widgets.message_input import MessageInput


class ChatApp(ShopAssistApp):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_reply", "Cancel", id="chat.cancel"),
        Binding("ctrl+n", "new_conversation", "New", id="chat.new"),
        Binding("ctrl+r", "show_report", "Why?", id="chat.report"),
        Binding("ctrl+b", "toggle_insight", "Panels", id="chat.toggle_insight"),
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
        resume_last: bool = False,
    ) -> None:
        super().__init__(
            open_assistant, load_llm=load_llm, autoload_llm=autoload_llm, keymap=keymap
        )
        self.customer = customer
        self.session_id = session_id or ""
        self._resume = session_id is not None or resume_last
        self._resume_last = resume_last and session_id is None
        self.busy = False
        self.last_result: Any = None
        self.dialogue_state: dict[str, Any] = {}  # the dialogue state after the last turn
        self._cancel: threading.Event | None = None
        self._turn_token = 0
        self._pending: AssistantMessage | None = None
        self._pending_customer: CustomerMessage | None = None
        # Messages typed before the engine finished loading: shown at once, run when ready.
        self._queued: list[tuple[str, CustomerMessage, Notice]] = []

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="main"):
            with Vertical(id="conversation-column"):
                yield ConversationView(id="conversation")
                yield MessageInput(
                    id="input",
                    placeholder="Type a customer message · Enter sends · Ctrl+J new line · ↑/↓ history",
                )
            yield InsightColumn(id="insight")
        yield Footer()

    def on_ready(self) -> None:
        self.query_one(MessageInput).focus()
        self.refresh_status()

    # --- sessions ---------------------------------------------------------------------------------

    def engine_ready(self) -> None:
        assert self.assistant is not None
        if self._resume_last:
            chats = [s for s in self.assistant.sessions(50) if s.channel == "chat"]
            if chats:
                self.session_id = chats[0].session_id
            else:
                self.notify("No earlier conversation to resume; starting a new one.")
        if self._resume and self.session_id:
            self.call_later(self._load_history)
        else:
            self.session_id = self.session_id or self.assistant.new_session_id()
            self.call_later(self._add_notice, f"New conversation {self.session_id}")
        self.refresh_status()
        if self._queued:
            self.call_later(self._run_queued)

    async def _add_notice(self, text: str, classes: str = "") -> None:
        await self.query_one(ConversationView).mount(Notice(text, classes=classes))

    async def _load_history(self) -> None:
        assert self.assistant is not None
        turns = self.assistant.history(self.session_id)
        view = self.query_one(ConversationView)
        if not turns:
            await self._add_notice(
                f"No stored turns for session {self.session_id}; starting it now."
            )
            return
        await self._add_notice(f"Resumed conversation {self.session_id} ({len(turns)} turns)")
        for turn in turns:
            await view.mount(CustomerMessage(turn.text))
            reply = AssistantMessage()
            await view.mount(reply)
            await reply.finish_stored(turn.reply, turn.provenance, turn.rejection_reason)
        self.dialogue_state = self.assistant.state(self.session_id)
        self.query_one(InsightColumn).show_state(self.dialogue_state)
        self.refresh_status()
        view.scroll_end(animate=False)

    def status_parts(self) -> list[tuple[str, str]]:
        parts = [("session ", "dim"), (self.session_id or "…", "bold"), ("  customer ", "dim")]
        state = self.dialogue_state
        who = state.get("customer_name") or self.customer or "anonymous"
        parts.append((str(who), "bold"))
        if state.get("verified"):
            parts.append((" ✓", "green"))
        return [*parts, ("  ", "")] + super().status_parts()

    # --- sending and streaming --------------------------------------------------------------------

    @on(MessageInput.Submitted)
    async def _send(self, event: MessageInput.Submitted) -> None:
        if self.engine_status == "failed":
            self.notify("The engine could not start, so messages cannot be answered.")
            return
        if self.assistant is None or not self.session_id:
            event.input.clear()
            await self._queue(event.text)
            return
        if self.busy:
            self.notify("A reply is still being written (Esc cancels it).", severity="warning")
            return
        event.input.clear()
        await self.send_text(event.text)

    async def _queue(self, text: str) -> None:
        view = self.query_one(ConversationView)
        message = CustomerMessage(text)
        note = Notice("Waiting for the engine; this message is sent as soon as it is ready.")
        await view.mount(message)
        await view.mount(note)
        view.scroll_end(animate=False)
        self._queued.append((text, message, note))

    async def _run_queued(self) -> None:
        """Send the oldest queued message (the next one follows when its turn ends)."""
        if not self._queued or self.busy or self.assistant is None or not self.session_id:
            return
        text, message, note = self._queued.pop(0)
        await message.remove()
        await note.remove()
        await self.send_text(text)

    async def send_text(self, text: str) -> None:
        view = self.query_one(ConversationView)
        self._pending_customer = CustomerMessage(text)
        self._pending = AssistantMessage()
        await view.mount(self._pending_customer)
        await view.mount(self._pending)
        view.scroll_end(animate=False)
        self.busy = True
        self._turn_token += 1
        self._cancel = threading.Event()
        self._run_turn(self._turn_token, self.session_id, text, self._cancel)

    @work(thread=True, exclusive=True, group="turn")
    def _run_turn(self, token: int, session_id: str, text: str, cancel: threading.Event) -> None:
        from shopassist.engine.assistant import AssistantError

        assert self.assistant is not None
        worker = get_current_worker()

        def on_token(chunk: str) -> None:
            if not cancel.is_set() and not worker.is_cancelled:
                self.post_message(ReplyToken(token, chunk))

        try:
            result = self.assistant.turn(
                session_id, text, customer=self.customer, on_token=on_token, cancel=cancel
            )
        except AssistantError as exc:
            self.post_message(TurnFailed(token, str(exc)))
            return
        except Exception as exc:  # an engine bug must not take the UI down
            self.post_message(TurnFailed(token, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(TurnFinished(token, result, cancelled=cancel.is_set()))

    @on(ReplyToken)
    async def _on_token(self, message: ReplyToken) -> None:
        if message.turn_token == self._turn_token and self._pending is not None:
            await self._pending.append(message.chunk)

    @on(TurnFinished)
    async def _on_finished(self, message: TurnFinished) -> None:
        if message.turn_token != self._turn_token or self._pending is None:
            return
        result = message.result
        note = "Generation cancelled: the grounded reply is shown." if message.cancelled else None
        await self._pending.finish(result, note=note)
        if self._pending_customer is not None:
            self._pending_customer.show_entities(result.nlu)
        self.query_one(InsightColumn).show_turn(result)
        self.last_result = result
        self.dialogue_state = result.state
        self.refresh_status()
        if result.handoff:
            summary = result.handoff_summary or "The conversation was handed to a human."
            await self._add_notice(f"Handed over to staff. {summary}", classes="handoff")
        self._end_turn()

    @on(TurnFailed)
    async def _on_failed(self, message: TurnFailed) -> None:
        if message.turn_token != self._turn_token or self._pending is None:
            return
        await self._pending.fail(message.error)
        self.notify(safe(message.error), title="Turn failed", severity="error", markup=False)
        self._end_turn()

    def _end_turn(self) -> None:
        self.busy = False
        self._pending = None
        self._pending_customer = None
        self._cancel = None
        self.query_one(ConversationView).scroll_end(animate=False)
        if self._queued:
            self.call_later(self._run_queued)

    def action_cancel_reply(self) -> None:
        if self.busy and self._cancel is not None:
            self._cancel.set()
            self.notify("Cancelling the reply…")

    # --- commands ------------------------------------------------------------------------------------

    async def action_new_conversation(self, customer: str | None = None) -> None:
        if self.assistant is None:
            return
        if self._cancel is not None:
            self._cancel.set()
        self._turn_token += 1  # results of a turn still running belong to the old session
        self.busy = False
        self._pending = self._pending_customer = None
        if customer is not None:
            self.customer = customer or None
        self.session_id = self.assistant.new_session_id()
        self.last_result = None
        self.dialogue_state = {}
        await self.query_one(ConversationView).remove_children()
        self.query_one(InsightColumn).clear()
        who = f" with customer {self.customer}" if self.customer else ""
        await self._add_notice(f"New conversation {self.session_id}{who}")
        self.refresh_status()

    def action_switch_customer(self) -> None:
        async def switch(value: str | None) -> None:
            if value is not None:
                await self.action_new_conversation(customer="" if value == "-" else value)

        self.push_screen(
            PromptScreen(
                "Customer id or email for a new conversation ('-' for anonymous):",
                value=self.customer or "",
            ),
            switch,
        )

    def action_show_report(self) -> None:
        if self.last_result is None:
            self.notify("No reply yet in this conversation.")
            return
        self.push_screen(ReportScreen("Prompt and verification", report_markdown(self.last_result)))

    def action_toggle_insight(self) -> None:
        self.screen.toggle_class("-insight-toggled")

    def action_export(self, fmt: str) -> None:
        if self.assistant is None or not self.session_id:
            return

        def chosen(value: str | None) -> None:
            if value:
                self.export_to(Path(value), fmt)

        self.push_screen(
            PromptScreen(
                f"Export the transcript as {fmt} to:",
                value=str(Path.cwd() / default_export_name(self.session_id, fmt)),
            ),
            chosen,
        )

    def export_to(self, path: Path, fmt: str) -> Path | None:
        assert self.assistant is not None
        turns = self.assistant.history(self.session_id)
        try:
            written = export_transcript(self.session_id, turns, path, fmt)
        except OSError as exc:
            self.notify(
                f"Cannot write {path}: {exc.strerror or exc}", severity="error", markup=False
            )
            return None
        self.notify(
            f"Transcript ({len(turns)} turns) written to {written}", title="Exported", markup=False
        )
        return written

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield (
            "New conversation",
            "Start a fresh session with the same customer",
            self.action_new_conversation,
        )
        yield (
            "Switch customer",
            "Start a new session bound to another customer",
            self.action_switch_customer,
        )
        yield (
            "Show prompt and verification",
            "The last reply's LLM prompt and fact checks",
            self.action_show_report,
        )
        yield (
            "Export transcript as Markdown",
            "Write this conversation to a .md file",
            lambda: self.action_export("markdown"),
        )
        yield (
            "Export transcript as JSONL",
            "Write this conversation's turns to a .jsonl file",
            lambda: self.action_export("jsonl"),
        )
        yield (
            "Toggle insight panels",
            "Show or hide understanding, state, knowledge, timings",
            self.action_toggle_insight,
        )
        yield from super().palette_commands()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
