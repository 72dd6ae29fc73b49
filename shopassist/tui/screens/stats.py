"""The statistics screen: opened from chat/assist (F3) or by ``shopassist stats --tui``."""

from __future__ import annotations

from typing import ClassVar

import sqlite_utils
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from shopassist.engine.stats import Stats, compute_stats
from shopassist.tui.stats_view import (
    intents_text,
    knowledge_gaps_table,
    latency_text,
    overview_text,
    sentiment_text,
    unanswered_table,
)


def _panel(title: str, id: str) -> Static:
    panel = Static("computing…", id=id, classes="panel")
    panel.border_title = title
    return panel


class StatsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh_stats", "Refresh", id="stats.refresh"),
        Binding("escape,q", "close", "Close", id="stats.close"),
    ]

    def __init__(self, db: sqlite_utils.Database, *, channel: str | None = None) -> None:
        super().__init__()
        self.db = db
        self.channel = channel
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-body"):
            with Grid(id="stats-grid"):
                yield _panel("Overview", "stats-overview")
                yield _panel("Intents", "stats-intents")
                latency = _panel("Turn latency", "stats-latency")
                yield latency
                yield _panel("Sentiment trend", "stats-sentiment")
            sparkline = Sparkline([], id="latency-sparkline")
            sparkline.border_title = "Turn latency, most recent turns"
            yield sparkline
            yield _panel("Unanswered questions (out of scope and fallbacks)", "stats-unanswered")
            yield _panel("Knowledge gaps (policy keys and FAQs to add)", "stats-gaps")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh_stats()

    def action_refresh_stats(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True, group="stats")
    def _compute(self) -> None:
        stats = compute_stats(self.db, channel=self.channel)
        self.app.call_from_thread(self.show, stats)

    def show(self, stats: Stats) -> None:
        self.stats = stats
        self.query_one("#stats-overview", Static).update(overview_text(stats))
        self.query_one("#stats-intents", Static).update(intents_text(stats))
        self.query_one("#stats-latency", Static).update(latency_text(stats))
        self.query_one("#stats-sentiment", Static).update(sentiment_text(stats))
        self.query_one("#stats-unanswered", Static).update(unanswered_table(stats))
        self.query_one("#stats-gaps", Static).update(knowledge_gaps_table(stats))
        self.query_one(Sparkline).data = stats.latency_recent_ms

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()
