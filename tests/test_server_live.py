"""``assist --live`` against web conversations: the queue, history, suggestions and staff
replies that reach the customer's page, driven with Pilot on a shared database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient  # noqa: E402

from shopassist.config import Settings  # noqa: E402
from shopassist.kb import live_queue  # noqa: E402
from shopassist.kb.db import open_db  # noqa: E402
from shopassist.server import create_app  # noqa: E402
from shopassist.tui.assist_app import AssistApp, BotMessage, StaffMessage  # noqa: E402
from shopassist.tui.widgets.conversation import CustomerMessage  # noqa: E402
from shopassist.tui.widgets.live_queue import LiveQueue, waiting_label  # noqa: E402
from shopassist.tui.widgets.message_input import MessageInput  # noqa: E402
from shopassist.tui.widgets.suggestions import SuggestionCard  # noqa: E402

SID = "webcustomer0000000001"


def web_client(db_path: Path, **settings: Any) -> TestClient:
    from shopassist.engine.assistant import Assistant

    config = Settings(db=db_path, no_llm=True, **settings)
    return TestClient(create_app(config, Assistant.open(config, db=db_path)))


def live_app(db_path: Path) -> AssistApp:
    from shopassist.engine.assistant import Assistant

    settings = Settings(db=db_path, no_llm=True)
    return AssistApp(lambda: Assistant.open(settings, db=db_path), autoload_llm=False, live=True)


async def until(pilot: Any, condition: Callable[[], bool], what: str, steps: int = 100) -> None:
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def mounted_queue(app: AssistApp, pilot: Any) -> LiveQueue:
    """The queue widget, once the live screen has mounted it (slower on a loaded machine)."""
    await until(pilot, lambda: bool(app.query(LiveQueue)), "the live queue to mount")
    return app.query_one(LiveQueue)


async def test_staff_answer_a_handed_off_web_conversation(demo_db_path: Path) -> None:
    with web_client(demo_db_path) as web:
        web.post("/api/messages", json={"session": SID, "text": "do you have wireless earbuds?"})
        handed = web.post(
            "/api/messages", json={"session": SID, "text": "I want to talk to a human"}
        ).json()
        assert handed["handoff"] is True
        cursor = web.get(f"/api/sessions/{SID}/events").json()["cursor"]

        app = live_app(demo_db_path)
        async with app.run_test(size=(150, 50)) as pilot:
            queue = await mounted_queue(app, pilot)
            await until(pilot, lambda: SID in queue.rows_by_session, "the web conversation")
            row = queue.rows_by_session[SID]
            assert row["handoff"] and row["awaiting"] and row["language"] == "en"
            queue.focus()
            queue.move_cursor(row=queue.get_row_index(SID))
            await pilot.press("enter")
            await until(pilot, lambda: len(app.query(CustomerMessage)) >= 2, "the history")
            texts = [m.message for m in app.query(CustomerMessage)]
            assert "do you have wireless earbuds?" in texts
            assert app.query(BotMessage)  # the bot's replies are part of the history
            await until(pilot, lambda: bool(app.query(SuggestionCard)), "suggestions")
            await pilot.press("t")
            box = app.query_one("#reply-input", MessageInput)
            box.load_text("Hi, this is Sam from the shop. How can I help?")
            await pilot.press("enter")
            await until(pilot, lambda: bool(app.query(StaffMessage)), "the sent reply")

        page = web.get(f"/api/sessions/{SID}/events?after={cursor}").json()
        assert [(e["author"], e["text"]) for e in page["events"]] == [
            ("staff", "Hi, this is Sam from the shop. How can I help?")
        ]
        assert page["awaiting_person"] is False
        kinds = open_db(demo_db_path).execute("select kind from feedback").fetchall()
        assert kinds == [("rejected",)]  # own reply instead of a suggestion


async def test_review_mode_reply_is_approved_with_one_key(demo_db_path: Path) -> None:
    with web_client(demo_db_path, live_reply_mode="review") as web:
        body = web.post(
            "/api/messages", json={"session": SID, "text": "do you have wireless earbuds?"}
        ).json()
        assert body["pending"] is True and body["reply"] is None
        assert web.get(f"/api/sessions/{SID}/events").json()["awaiting_person"] is True

        app = live_app(demo_db_path)
        async with app.run_test(size=(150, 50)) as pilot:
            queue = await mounted_queue(app, pilot)
            await until(pilot, lambda: SID in queue.rows_by_session, "the web conversation")
            assert queue.rows_by_session[SID]["pending"]
            await app.open_live(SID)
            await until(pilot, lambda: bool(app.query(SuggestionCard)), "suggestions")
            pending = [m for m in app.query(BotMessage) if m.has_class("-pending")]
            assert len(pending) == 1
            await pilot.press("1")
            await until(pilot, lambda: bool(app.query(StaffMessage)), "the approved reply")
            await until(
                pilot,
                lambda: not queue.rows_by_session.get(SID, {}).get("awaiting", True),
                "the queue to show the conversation answered",
            )

        page = web.get(f"/api/sessions/{SID}/events").json()
        sent = [e for e in page["events"] if e["author"] != "customer"]
        assert len(sent) == 1 and "AeroBuds" in sent[0]["text"]
        db = open_db(demo_db_path)
        assert db.execute("select kind, suggestion_rank from feedback").fetchall() == [
            ("accepted", 1)
        ]
        statuses = [h["status"] for h in live_queue.history(db, SID) if h["author"] == "bot"]
        assert statuses == ["approved"]


async def test_two_staff_terminals_see_each_others_replies(demo_db_path: Path) -> None:
    with web_client(demo_db_path) as web:
        web.post("/api/messages", json={"session": SID, "text": "I want to talk to a human"})
        first, second = live_app(demo_db_path), live_app(demo_db_path)
        async with first.run_test(size=(150, 50)) as p1, second.run_test(size=(150, 50)) as p2:
            for app, pilot in ((first, p1), (second, p2)):
                queue = await mounted_queue(app, pilot)
                await until(pilot, lambda q=queue: SID in q.rows_by_session, "the conversation")
                await app.open_live(SID)
            await first._send_live("I'll take this one.", "rejected", None)
            await until(
                p2,
                lambda: any("take this one" in m.message for m in second.query(StaffMessage)),
                "the other terminal to show the reply",
            )


def test_waiting_labels() -> None:
    assert [waiting_label(s) for s in (None, 5, 75, 4000)] == ["-", "5s", "1m15s", "1h06m"]


def test_session_labels_keep_the_distinguishing_end() -> None:
    from shopassist.tui.widgets.live_queue import session_label

    assert session_label("short") == "short"
    assert session_label("tmuxsession000000002") == "…sion000000002"
