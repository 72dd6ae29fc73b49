"""Correcting a turn's intent in two keystrokes: ``r`` then 1-9 (or type to filter, Enter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from shopassist.tui.render import safe


class IntentFilter(Input):
    """An Input that leaves digits to the screen's pick bindings.

    Textual drops ancestor bindings (even priority ones) for keys a focused Input
    consumes, so the digits must be declared as not consumed here.
    """

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character is not None and character in "123456789":
            return False
        return super().check_consume_key(key, character)


class RelabelScreen(ModalScreen[str | None]):
    """Candidates first (the classifier's ranking), then every other intent.

    The number keys pick one of the first nine at once; typing filters the list.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="relabel.cancel"),
        Binding("down", "cursor(1)", "Down", show=False, id="relabel.down"),
        Binding("up", "cursor(-1)", "Up", show=False, id="relabel.up"),
        # Priority, so digits pick before the filter gets the key event.
        *(
            Binding(
                str(n), f"pick({n})", f"Pick {n}", show=False, priority=True, id=f"relabel.pick_{n}"
            )
            for n in range(1, 10)
        ),
    ]

    def __init__(
        self, message: str, current: str | None, candidates: Sequence[str], intents: Sequence[str]
    ) -> None:
        super().__init__(classes="modal")
        self.message = message
        self.current = current
        ordered = [c for c in candidates if c != current] + [i for i in intents if i != current]
        self.intents = list(dict.fromkeys(ordered))
        self.shown: list[str] = list(self.intents)

    def compose(self) -> ComposeResult:
        with Vertical(id="relabel-dialog", classes="dialog") as box:
            box.border_title = "Correct the intent"
            box.border_subtitle = "1-9 picks · type to filter · Enter picks · Esc cancels"
            yield Static(
                Content(
                    f"“{safe(self.message, limit=160)}” was understood as {self.current or '?'}"
                )
            )
            yield IntentFilter(placeholder="filter intents", id="relabel-filter")
            yield OptionList(id="relabel-list")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        query = query.strip().lower().replace(" ", "_")
        self.shown = [i for i in self.intents if query in i] if query else list(self.intents)
        options = self.query_one(OptionList)
        options.clear_options()
        for n, intent in enumerate(self.shown, start=1):
            label = Text(f"{n} " if n <= 9 else "  ", "bold")
            label.append(intent)
            options.add_option(Option(label, id=intent))
        if self.shown:
            options.highlighted = 0

    @on(Input.Changed, "#relabel-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_pick(self, n: int) -> None:
        if n <= len(self.shown):
            self.dismiss(self.shown[n - 1])

    @on(Input.Submitted, "#relabel-filter")
    def _submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and self.shown:
            self.dismiss(self.shown[options.highlighted])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cursor(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if self.shown:
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    def action_cancel(self) -> None:
        self.dismiss(None)
