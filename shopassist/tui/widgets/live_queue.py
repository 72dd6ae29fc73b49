"""The live queue in ``assist --live``: web conversations, newest activity first.

Rows come from ``shopassist.kb.live_queue.queue``; a row that waits for a person shows how
long it has waited. Enter opens the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from shopassist.tui.render import safe

COLUMNS = ("", "waiting", "lang", "mood", "hand-off", "turns", "session", "last message")
SENTIMENT_STYLE = {"negative": "bold red", "positive": "green", "neutral": "dim"}


def waiting_label(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def session_label(session_id: str, width: int = 14) -> str:
    """The end of a long id: random ids differ everywhere, scripted ones at the end."""
    text = safe(session_id)
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def queue_cells(row: dict[str, Any], *, open_session: str | None) -> tuple[Text | str, ...]:
    marker = Text("▶", "bold") if row["session_id"] == open_session else Text(" ")
    waiting = Text(
        waiting_label(row.get("waiting_s")), "bold yellow" if row.get("awaiting") else "dim"
    )
    sentiment = row.get("sentiment") or "-"
    handoff = (
        Text("review", "bold magenta")
        if row.get("pending")
        else Text("yes", "bold yellow")
        if row.get("handoff")
        else Text("no", "dim")
    )
    return (
        marker,
        waiting,
        safe(row.get("language") or "-"),
        Text(safe(sentiment), SENTIMENT_STYLE.get(sentiment, "")),
        handoff,
        str(row.get("turns") or 0),
        session_label(row["session_id"]),
        safe((row.get("last_text") or "").replace("\n", " "), limit=60),
    )


class LiveQueue(DataTable[Any]):
    """One row per web conversation; the row key is the session id."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.rows_by_session: dict[str, dict[str, Any]] = {}

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: Sequence[dict[str, Any]], *, open_session: str | None) -> None:
        """Replace the rows, keeping the cursor on the same conversation."""
        keep = None
        if self.row_count and self.cursor_row < self.row_count:
            keep = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        self.clear()
        self.rows_by_session = {r["session_id"]: r for r in rows}
        for row in rows:
            self.add_row(*queue_cells(row, open_session=open_session), key=row["session_id"])
        if keep is not None and keep in self.rows_by_session:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    @property
    def waiting(self) -> int:
        return sum(1 for r in self.rows_by_session.values() if r.get("awaiting"))
