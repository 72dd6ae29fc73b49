"""The insight column: understanding, dialogue state, knowledge and timings for a turn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from shopassist.tui.render import sources_text, state_text, timings_text, understanding_text


class InsightPanel(Static):
    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(Text("waiting for the first message", "dim"), id=id, classes="panel")
        self.border_title = title


class InsightColumn(VerticalScroll):
    """Updated as a whole after every turn, so the panels always describe the same turn."""

    def compose(self) -> ComposeResult:
        yield InsightPanel("Understanding", id="understanding")
        yield InsightPanel("Dialogue state", id="state")
        yield InsightPanel("Knowledge", id="knowledge")
        yield InsightPanel("Timings", id="timings")

    def show_turn(self, result: Any) -> None:
        self.query_one("#understanding", Static).update(
            understanding_text(
                result.nlu, language=result.language, interpret=getattr(result, "interpret", [])
            )
        )
        self.show_state(result.state)
        self.query_one("#knowledge", Static).update(sources_text(result.sources))
        total = getattr(result, "latency_ms", None) or sum(result.timings.values())
        self.query_one("#timings", Static).update(timings_text(result.timings, total))

    def show_state(self, state: Mapping[str, Any]) -> None:
        self.query_one("#state", Static).update(state_text(state))

    def clear(self) -> None:
        for panel in self.query(InsightPanel):
            panel.update(Text("waiting for the first message", "dim"))
