"""Ranked reply suggestions for the staff member, picked with 1-3 or edited with e."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from shopassist.tui.render import bar, safe

KIND_LABELS = {
    "grounded": "grounded reply",
    "llm": "LLM variant (verified)",
    "clarify": "clarifying question",
    "faq": "FAQ answer",
}


def suggestion_text(suggestion: Any, *, selected: bool) -> Text:
    out = Text()
    out.append(f"{suggestion.rank} ", "bold reverse" if selected else "bold")
    out.append(KIND_LABELS.get(suggestion.kind, safe(suggestion.kind)), "italic")
    out.append("  confidence ", "dim")
    out.append(bar(suggestion.confidence, 8), "cyan")
    out.append(f" {suggestion.confidence:.2f}\n", "dim")
    out.append(safe(suggestion.text))
    if suggestion.sources:
        ids = ", ".join(safe(s.id, limit=30) for s in suggestion.sources[:4])
        more = f" +{len(suggestion.sources) - 4}" if len(suggestion.sources) > 4 else ""
        out.append(f"\nsources: {ids}{more}", "dim")
    return out


class SuggestionCard(Static):
    def __init__(self, suggestion: Any, *, selected: bool = False) -> None:
        super().__init__(
            suggestion_text(suggestion, selected=selected), classes=f"-{safe(suggestion.kind)}"
        )
        self.suggestion = suggestion

    def set_selected(self, selected: bool) -> None:
        self.set_class(selected, "-selected")
        self.update(suggestion_text(self.suggestion, selected=selected))


class SuggestionList(VerticalScroll, can_focus=True):
    """Focused after each customer message so the number keys act at once."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose(1)", "Send", id="assist.send_1", key_display="1-3"),
        Binding("2", "choose(2)", "Send 2", id="assist.send_2", show=False),
        Binding("3", "choose(3)", "Send 3", id="assist.send_3", show=False),
        Binding("e", "edit", "Edit", id="assist.edit"),
        Binding("up,k", "move(-1)", "Previous", id="assist.up", show=False),
        Binding("down,j", "move(1)", "Next", id="assist.down", show=False),
        Binding("enter", "choose_selected", "Send selected", id="assist.send_selected", show=False),
    ]

    selected: reactive[int] = reactive(1)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.suggestions: list[Any] = []

    async def show(self, suggestions: Sequence[Any]) -> None:
        self.suggestions = list(suggestions)[:3]
        await self.remove_children()
        if not self.suggestions:
            await self.mount(Static(Text("No suggestion: type your own reply (t).", "dim")))
            return
        await self.mount_all(
            SuggestionCard(s, selected=i == 0) for i, s in enumerate(self.suggestions)
        )
        self.selected = 1

    async def clear(self, note: str = "") -> None:
        self.suggestions = []
        await self.remove_children()
        if note:
            await self.mount(Static(Text(note, "dim")))

    def watch_selected(self, selected: int) -> None:
        for i, card in enumerate(self.query(SuggestionCard), start=1):
            card.set_selected(i == selected)

    def get(self, rank: int) -> Any | None:
        return self.suggestions[rank - 1] if 1 <= rank <= len(self.suggestions) else None

    def action_move(self, delta: int) -> None:
        if self.suggestions:
            self.selected = (self.selected - 1 + delta) % len(self.suggestions) + 1

    def action_choose(self, rank: int) -> None:
        choose = getattr(self.app, "choose_suggestion", None)
        if choose is not None:
            choose(rank)

    def action_choose_selected(self) -> None:
        self.action_choose(self.selected)

    def action_edit(self) -> None:
        edit = getattr(self.app, "edit_suggestion", None)
        if edit is not None:
            edit(self.selected)
