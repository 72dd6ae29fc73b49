"""Hostile input: escape sequences, control characters and Rich markup in customer text,
replies and catalog snippets never reach the terminal raw; a huge paste and resizing do
not crash the app."""

from __future__ import annotations

from test_tui_fakes import StubAssistant
from textual import events

from shopassist.tui.assist_app import AssistApp
from shopassist.tui.chat_app import ChatApp
from shopassist.tui.render import highlight_entities, safe, sources_text
from shopassist.tui.widgets.conversation import AssistantMessage, CustomerMessage
from shopassist.tui.widgets.message_input import MessageInput

EVIL = "\x1b[2J\x1b]0;pwned\x07\x1b[31m[bold red]boom[/bold red]\x9b1m\x00\x08\u202e"
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\x00", "\x08", "\u202e")


def assert_clean(text: str) -> None:
    for ch in FORBIDDEN:
        assert ch not in text, f"{ch!r} reached the output"


def test_safe_strips_every_kind_of_escape() -> None:
    cleaned = safe(EVIL)
    assert_clean(cleaned)
    assert "[bold red]boom[/bold red]" in cleaned  # kept literally: we never parse markup


def test_entity_highlighting_survives_mismatched_spans() -> None:
    class E:
        start, end, text = 50, 60, "nothing"

    assert highlight_entities("short", [E()]).plain == "short"


async def test_escapes_in_messages_replies_and_catalog_never_render_raw() -> None:
    stub = StubAssistant([{"reply": f"Reply {EVIL} **ok**", "snippet": f"catalog {EVIL}"}])
    app = ChatApp(lambda: stub, autoload_llm=False)  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        box = app.query_one(MessageInput)
        box.focus()
        box.post_message(events.Paste(f"order 10023 {EVIL}"))
        await pilot.pause()
        assert_clean(box.text)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        reply = app.query_one(AssistantMessage)
        assert_clean(reply.markdown.source)
        assert "[bold red]boom[/bold red]" in reply.markdown.source
        assert_clean(app.query_one(CustomerMessage).body.plain)
        screen = app.export_screenshot()
        assert_clean(screen)
        assert "boom" in screen
        assert "[bold" in screen  # markup shown as text, not applied
    assert_clean(sources_text(stub.turns["s000"][0].sources).plain)


async def test_hundred_kilobyte_paste_then_send_and_resize() -> None:
    stub = StubAssistant()
    app = ChatApp(lambda: stub, autoload_llm=False)  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        box = app.query_one(MessageInput)
        box.focus()
        box.post_message(events.Paste("ä😀中" * 34_000))  # ~100k characters
        await pilot.pause()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        for size in ((80, 24), (40, 12), (200, 60), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert app.query(AssistantMessage)
        assert_clean(app.export_screenshot())
    assert len(stub.turns["s000"][0].text) <= 8000


async def test_assist_with_hostile_replay_lines() -> None:
    stub = StubAssistant([{"reply": f"R {EVIL}"}])
    app = AssistApp(lambda: stub, autoload_llm=False, replay=[f"hi {EVIL}"])  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert_clean(app.export_screenshot())
        await pilot.press("1")
        await pilot.pause()
        assert_clean(app.export_screenshot())
    assert stub.choices and stub.choices[0][2] == "accepted"
