"""A multi-line message box with history.

Enter sends. A newline is Shift+Enter only on terminals that report it (kitty keyboard
protocol: kitty, WezTerm, foot, Ghostty; most others send a bare CR for both), so
Ctrl+J (which every terminal sends as LF) also inserts one. Alt+Enter arrives as ESC then
CR in tmux and xterm, i.e. Escape + Enter, so it cannot be a newline key.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from shopassist.safe_text import MAX_MESSAGE_CHARS, strip_controls

NEWLINE_KEYS = frozenset({"shift+enter", "ctrl+j", "newline"})
# A paste longer than this is cut: the engine keeps only MAX_MESSAGE_CHARS anyway, and a
# 100 KB paste in the editor would make every keystroke re-layout the whole document.
MAX_PASTE_CHARS = MAX_MESSAGE_CHARS * 2


class MessageInput(TextArea):
    @dataclass
    class Submitted(Message):
        input: MessageInput
        text: str

        @property
        def control(self) -> MessageInput:
            return self.input

    def __init__(
        self, *, placeholder: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(
            "",
            id=id,
            classes=classes,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            placeholder=placeholder,
        )
        self.sent_history: list[str] = []
        self._history_pos: int | None = None  # None: editing a fresh draft
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "up" and self.cursor_location[0] == 0 and self.sent_history:
            event.stop()
            event.prevent_default()
            self.history_back()
            return
        if (
            event.key == "down"
            and self._history_pos is not None
            and self.cursor_location[0] == self.document.line_count - 1
        ):
            event.stop()
            event.prevent_default()
            self.history_forward()
            return
        await super()._on_key(event)

    async def _on_paste(self, event: events.Paste) -> None:
        text = strip_controls(event.text)
        if len(text) > MAX_PASTE_CHARS:
            text = text[:MAX_PASTE_CHARS]
            self.notify(f"Paste cut to {MAX_PASTE_CHARS} characters.", severity="warning")
        event.prevent_default()
        event.stop()
        if not self.read_only:
            self.replace(text, *self.selection)

    def submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        if not self.sent_history or self.sent_history[-1] != text:
            self.sent_history.append(text)
        self._history_pos = None
        self._draft = ""
        self.post_message(self.Submitted(self, text))

    def history_back(self) -> None:
        if self._history_pos is None:
            self._draft = self.text
            self._history_pos = len(self.sent_history)
        if self._history_pos > 0:
            self._history_pos -= 1
            self._show(self.sent_history[self._history_pos])

    def history_forward(self) -> None:
        if self._history_pos is None:
            return
        self._history_pos += 1
        if self._history_pos >= len(self.sent_history):
            self._history_pos = None
            self._show(self._draft)
        else:
            self._show(self.sent_history[self._history_pos])

    def _show(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)
