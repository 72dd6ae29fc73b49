"""``shopassist stats --tui``: the statistics screen on its own."""

from __future__ import annotations

import sqlite_utils
from textual.app import App

from shopassist.tui.screens.stats import StatsScreen


class StatsApp(App[None]):
    CSS_PATH = "shopassist.tcss"
    TITLE = "ShopAssist statistics"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, db: sqlite_utils.Database, *, channel: str | None = None) -> None:
        super().__init__()
        self.db = db
        self.channel = channel

    def get_default_screen(self) -> StatsScreen:
        return StatsScreen(self.db, channel=self.channel)
