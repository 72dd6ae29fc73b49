"""Pilot tests for ``shopassist chat`` against a scripted assistant (layout, streaming,
cancelling, export, palette); tests/test_tui_engine.py drives the real engine."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from test_tui_fakes import StubAssistant
from textual.widgets import Markdown, Static

from shopassist.tui.chat_app import ChatApp
from shopassist.tui.screens.modals import PromptScreen, ReportScreen
from shopassist.tui.widgets.conversation import (
    AssistantMessage,
    CustomerMessage,
    Notice,
    ProvenanceBadge,
)
from shopassist.tui.widgets.message_input import MAX_PASTE_CHARS, MessageInput


def chat_app(stub: StubAssistant, **kwargs: object) -> ChatApp:
    return ChatApp(lambda: stub, autoload_llm=False, **kwargs)  # type: ignore[arg-type]


async def ready(app: ChatApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.assistant is not None


async def send(app: ChatApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    box = app.query_one(MessageInput)
    box.focus()
    box.insert(text)
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def panel_text(app: ChatApp, panel_id: str) -> str:
    return str(app.query_one(f"#{panel_id}", Static).render())


async def test_typing_a_message_streams_a_reply_and_updates_every_panel() -> None:
    stub = StubAssistant()
    app = chat_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press(*"where is order 10023")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(MessageInput).text == ""  # cleared after sending
        reply = app.query_one(AssistantMessage)
        assert reply.streamed.startswith("Order **10023**")  # tokens arrived one by one
        assert "Order" in reply.markdown.source and "streaming" not in reply.classes
        assert "LLM ✓ verified" in str(reply.query_one(ProvenanceBadge).render())
        understanding = panel_text(app, "understanding")
        assert "track_order" in understanding and "delivery_period" in understanding
        assert "order_number [15:20] 10023" in understanding
        assert "track_order · done" in panel_text(app, "state")
        assert "order:10023" in panel_text(app, "knowledge")
        assert "understand" in panel_text(app, "timings")
    assert stub.turns["s000"][0].text == "where is order 10023"
    assert stub.closed


async def test_entity_span_is_highlighted_in_the_customer_message() -> None:
    app = chat_app(StubAssistant())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "my order 10023 is late")
        body = app.query_one(CustomerMessage).body
        assert body.plain == "my order 10023 is late"
        highlighted = [body.plain[s.start : s.end] for s in body.spans if "reverse" in str(s.style)]
        assert highlighted == ["10023"]


async def test_rejected_llm_reply_shows_reason_as_tooltip_and_report() -> None:
    stub = StubAssistant([{"provenance": "llm_rejected", "reason": "unsupported number 42"}])
    app = chat_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "price of the hoodie?")
        badge = app.query_one(ProvenanceBadge)
        assert "rejected" in str(badge.render())
        assert "unsupported number 42" in str(badge.tooltip)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)
        report = app.screen.query_one(Markdown).source
        assert "unsupported number 42" in report and "You are ShopAssist." in report
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReportScreen)


async def test_escape_cancels_a_reply_in_progress() -> None:
    # Slow chunks, and wait for the first one rather than a fixed pause: on a loaded
    # machine a fixed pause can land before the worker starts or after it ends.
    stub = StubAssistant(delay=0.4)
    app = chat_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        box = app.query_one(MessageInput)
        box.insert("where is order 10023")
        await pilot.press("enter")
        for _ in range(200):
            await pilot.pause(0.02)
            replies = app.query(AssistantMessage)
            if replies and replies.first().streamed:
                break
        assert app.busy
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.busy
        reply = app.query_one(AssistantMessage)
        assert "cancelled" in reply.markdown.source
        assert "template" in str(reply.query_one(ProvenanceBadge).render())
        # fewer chunks than words: generation stopped early
        assert len(reply.streamed.split()) < len(reply.result.reply.split())


async def test_second_message_while_busy_is_refused_not_lost() -> None:
    gate = threading.Event()

    class SlowStub(StubAssistant):
        def turn(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            gate.wait(5)
            return super().turn(*args, **kwargs)

    stub = SlowStub()
    app = chat_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        box = app.query_one(MessageInput)
        box.insert("first")
        await pilot.press("enter")
        await pilot.pause()
        box.insert("second")
        await pilot.press("enter")
        await pilot.pause()
        assert box.text == "second"  # kept for after the reply
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert [t.text for t in stub.turns["s000"]] == ["first"]


async def test_input_history_and_multiline() -> None:
    app = chat_app(StubAssistant())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "one")
        await send(app, pilot, "two")
        box = app.query_one(MessageInput)
        await pilot.press("up")
        assert box.text == "two"
        await pilot.press("up")
        assert box.text == "one"
        await pilot.press("down")
        assert box.text == "two"
        await pilot.press("down")
        assert box.text == ""
        await pilot.press("a", "ctrl+j", "b")
        assert box.text == "a\nb"


async def test_export_markdown_and_jsonl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = chat_app(StubAssistant())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "where is order 10023")
        app.action_export("markdown")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")  # accept the suggested path in the cwd
        await pilot.pause()
        md = tmp_path / "shopassist-s000.md"
        assert md.exists()
        body = md.read_text(encoding="utf-8")
        assert "> where is order 10023" in body and "Order **10023**" in body
        assert "intent track_order" in body
        written = app.export_to(tmp_path / "out" / "t.jsonl", "jsonl")
        assert written == (tmp_path / "out" / "t.jsonl").resolve()
        rows = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()]
        assert rows[0]["text"] == "where is order 10023" and rows[0]["session_id"] == "s000"


async def test_new_conversation_and_switch_customer() -> None:
    stub = StubAssistant()
    app = chat_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "hello")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.session_id == "s001"
        assert not app.query(AssistantMessage)
        app.action_switch_customer()
        await pilot.pause()
        app.screen.query_one("Input").value = "alice@example.com"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert app.customer == "alice@example.com" and app.session_id == "s002"
        await send(app, pilot, "hi")
    assert "s002" in stub.turns


async def test_command_palette_offers_the_chat_commands() -> None:
    app = chat_app(StubAssistant())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        titles = [title for title, _, _ in app.palette_commands()]
        for expected in (
            "New conversation",
            "Switch customer",
            "Toggle LLM",
            "Show prompt and verification",
            "Export transcript as Markdown",
            "Export transcript as JSONL",
        ):
            assert expected in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"export transcript as markdown")
        # The palette searches in the background: wait for its hits, not a fixed time.
        from textual.command import CommandList

        for _ in range(150):
            await pilot.pause(0.02)
            hits = app.screen.query(CommandList)
            if hits and hits.first().option_count:
                break
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)


async def test_toggle_llm_loads_then_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubAssistant()
    backend = object()
    app = ChatApp(lambda: stub, load_llm=lambda: (backend, "fake model"), autoload_llm=True)  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert stub.llm is backend and app.llm_status == "on"
        await pilot.press("ctrl+t")
        assert stub.llm is None and app.llm_status == "off"
        await pilot.press("ctrl+t")
        assert stub.llm is backend


async def test_model_load_failure_is_shown_not_raised() -> None:
    def broken() -> tuple[object, str]:
        raise RuntimeError("no such model")

    app = ChatApp(lambda: StubAssistant(), load_llm=broken)  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.llm_status == "off"
        assert any("no such model" in n.message for n in app._notifications)


async def test_engine_open_failure_keeps_the_app_alive() -> None:
    def broken() -> StubAssistant:
        raise OSError("disk on fire")

    app = ChatApp(broken, autoload_llm=False)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.engine_status == "failed"
        app.query_one(MessageInput).insert("hello")
        await pilot.press("enter")
        await pilot.pause()
        assert not app.query(AssistantMessage)


async def test_resume_shows_stored_turns() -> None:
    stub = StubAssistant()
    stub.turn("old1", "where is order 10023")
    stub.turn("old1", "thanks")
    app = chat_app(stub, session_id="old1")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.pause()
        customers = [m.message for m in app.query(CustomerMessage)]
        assert customers == ["where is order 10023", "thanks"]
        assert len(app.query(AssistantMessage)) == 2
        assert "track_order" in panel_text(app, "state")
        await send(app, pilot, "and now?")
    assert [t.turn_index for t in stub.turns["old1"]] == [0, 1, 2]


async def test_narrow_terminal_hides_insight_until_toggled() -> None:
    app = chat_app(StubAssistant())
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "where is order 10023")
        insight = app.query_one("#insight")
        assert not insight.display
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert insight.display
        assert not app.query_one("#conversation-column").display
        await pilot.press("ctrl+b")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert insight.display and app.query_one("#conversation-column").display


async def test_huge_paste_is_cut_and_controls_stripped() -> None:
    from textual import events

    app = chat_app(StubAssistant())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        box = app.query_one(MessageInput)
        box.focus()
        paste = ("\x1b[31mred\x1b[0m \x07bell " * 8000)[:100_000]
        box.post_message(events.Paste(paste))
        await pilot.pause()
        assert len(box.text) == MAX_PASTE_CHARS
        assert "\x1b" not in box.text and "\x07" not in box.text


async def test_message_sent_while_the_engine_loads_waits_and_then_runs() -> None:
    gate = threading.Event()
    stub = StubAssistant()

    def slow_engine() -> StubAssistant:
        gate.wait(10)
        return stub

    app = ChatApp(slow_engine, autoload_llm=False)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.assistant is None
        app.query_one(MessageInput).insert("where is order 10023")
        await pilot.press("enter")
        await pilot.pause()
        assert [m.message for m in app.query(CustomerMessage)] == ["where is order 10023"]
        assert "Waiting for the engine" in str(app.query_one(Notice).render())
        assert not app.query(AssistantMessage) and not stub.turns
        gate.set()
        await app.workers.wait_for_complete()
        for _ in range(4):
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [t.text for turns in stub.turns.values() for t in turns] == ["where is order 10023"]
        assert len(app.query(CustomerMessage)) == 1 and app.query(AssistantMessage)
        assert not any("Waiting for the engine" in str(n.render()) for n in app.query(Notice))


async def test_keymap_from_settings_remaps_a_binding_by_its_id() -> None:
    stub = StubAssistant()
    app = chat_app(stub, keymap={"chat.new": "ctrl+o"})
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await send(app, pilot, "hello")
        first = app.session_id
        await pilot.press("ctrl+n")  # the default key no longer starts a conversation
        await pilot.pause()
        assert app.session_id == first and app.query(AssistantMessage)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.session_id != first
        assert not app.query(AssistantMessage)
