"""Snapshots at fixed sizes (pytest-textual-snapshot). They use the scripted assistant:
fixed session ids, fixed timings and no clocks, so the pictures are deterministic.
Update after an intended UI change with ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
from test_tui_fakes import StubAssistant
from textual.pilot import Pilot

from shopassist.tui.assist_app import AssistApp
from shopassist.tui.chat_app import ChatApp
from shopassist.tui.stats_app import StatsApp
from shopassist.tui.widgets.message_input import MessageInput


async def one_turn(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()
    box = app.query_one(MessageInput)
    box.cursor_blink = False  # a blinking cursor makes pictures depend on timing
    box.insert("Where is order 10023? 我的订单 😀")
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    for _ in range(100):  # the finishing handler awaits Markdown updates; under load it lags
        await pilot.pause(0.02)
        if not app.busy and not app.query(".streaming"):
            break
    await pilot.pause()


def chat() -> ChatApp:
    stub = StubAssistant([{"provenance": "llm_rejected", "reason": "unsupported number 42"}])
    return ChatApp(lambda: stub, autoload_llm=False)  # type: ignore[arg-type, return-value]


def test_chat_wide(snap_compare: Any) -> None:
    assert snap_compare(chat(), terminal_size=(120, 40), run_before=one_turn)


def test_chat_80x24(snap_compare: Any) -> None:
    assert snap_compare(chat(), terminal_size=(80, 24), run_before=one_turn)


def test_chat_80x24_insight_toggled(snap_compare: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await one_turn(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()

    assert snap_compare(chat(), terminal_size=(80, 24), run_before=run)


def test_assist_suggestions(snap_compare: Any) -> None:
    stub = StubAssistant()
    app = AssistApp(lambda: stub, autoload_llm=False, replay=["Where is order 10023?"])  # type: ignore[arg-type, return-value]

    async def run(pilot: Pilot[Any]) -> None:
        for box in pilot.app.query(MessageInput):
            box.cursor_blink = False
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run)


def test_stats_screen(snap_compare: Any, db: sqlite_utils.Database) -> None:
    db["conversations"].insert_all([{"id": "a", "handoff": 0}, {"id": "b", "handoff": 1}])
    for i, (cid, intent, latency, score) in enumerate(
        [
            ("a", "track_order", 11.0, 0.3),
            ("a", "out_of_scope", 7.5, -0.2),
            ("b", "complaint", 25.0, -0.8),
        ]
    ):
        db["turns"].insert(
            {
                "conversation_id": cid,
                "idx": i,
                "user_text": f"message {i}",
                "reply": "ok",
                "intent": intent,
                "latency_ms": latency,
                "resolved": 1 if intent == "track_order" else 0,
                "sentiment_score": score,
                "created_at": f"2026-11-0{i + 1} 10:00:00",
            }
        )

    async def run(pilot: Pilot[Any]) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(StatsApp(db), terminal_size=(100, 40), run_before=run)
