"""Pilot tests for ``shopassist assist`` against a scripted assistant: every choice is
recorded with its kind and final text; relabelling takes two keystrokes."""

from __future__ import annotations

from pathlib import Path

from test_tui_fakes import StubAssistant

from shopassist.tui.assist_app import AssistApp, StaffMessage, load_replay
from shopassist.tui.screens.relabel import RelabelScreen
from shopassist.tui.widgets.message_input import MessageInput
from shopassist.tui.widgets.suggestions import SuggestionCard, SuggestionList


def assist_app(stub: StubAssistant, **kwargs: object) -> AssistApp:
    return AssistApp(lambda: stub, autoload_llm=False, **kwargs)  # type: ignore[arg-type]


async def settle(app: AssistApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def customer_says(app: AssistApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    box = app.query_one("#customer-input", MessageInput)
    box.focus()
    box.insert(text)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_three_ranked_suggestions_and_number_key_accepts() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "where is order 10023")
        cards = list(app.query(SuggestionCard))
        assert [c.suggestion.rank for c in cards] == [1, 2, 3]
        assert "sources: order:10023" in str(cards[0].render())
        assert app.focused is app.query_one(SuggestionList)
        await pilot.press("2")
        await pilot.pause()
        staff = app.query_one(StaffMessage)
        assert staff.message == "Your parcel is on its way."
    assert stub.choices == [("s000", 0, "accepted", "Your parcel is on its way.", 2)]


async def test_edit_then_send_is_recorded_as_edited() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "where is order 10023")
        await pilot.press("down", "e")  # edit suggestion 2
        box = app.query_one("#reply-input", MessageInput)
        assert app.focused is box and box.text == "Your parcel is on its way."
        await pilot.press(*" Sorry!")
        await pilot.press("enter")
        await pilot.pause()
    assert stub.choices == [("s000", 0, "edited", "Your parcel is on its way. Sorry!", 2)]


async def test_edit_without_change_counts_as_accepted() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "where is order 10023")
        await pilot.press("e", "enter")
        await pilot.pause()
    assert stub.choices[0][2:] == ("accepted", stub.turns["s000"][0].reply, 1)


async def test_own_reply_is_recorded_as_rejected() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "where is order 10023")
        await pilot.press("t")
        assert app.focused is app.query_one("#reply-input")
        await pilot.press(*"Let me check that for you.")
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is app.query_one("#customer-input")
    assert stub.choices == [("s000", 0, "rejected", "Let me check that for you.", None)]


async def test_relabel_in_two_keystrokes() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "where is order 10023")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RelabelScreen)
        await pilot.press("1")  # the best alternative in the ranking
        await pilot.pause()
        assert not isinstance(app.screen, RelabelScreen)
    assert stub.relabels == [("s000", 0, "delivery_period")]


async def test_relabel_by_filtering_the_full_list() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "where is order 10023")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"refund")
        await pilot.pause()
        assert app.screen.shown and all("refund" in i for i in app.screen.shown)  # type: ignore[attr-defined]
        first = app.screen.shown[0]  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
    assert stub.relabels == [("s000", 0, first)]


async def test_replay_feeds_lines_and_advances_after_each_choice(tmp_path: Path) -> None:
    path = tmp_path / "replay.jsonl"
    path.write_text(
        '{"text": "where is order 10023"}\n"thanks"\n{"nope": 1}\n\n[1, 2]\nplain text line\n',
        encoding="utf-8",
    )
    lines, problems = load_replay(path)
    assert lines == ["where is order 10023", "thanks", "plain text line"]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 5"]
    stub = StubAssistant()
    app = assist_app(stub, replay=lines, replay_problems=problems)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert any("line 3" in n.message for n in app._notifications)
        assert app.replay_pos == 1
        await pilot.press("1")
        await settle(app, pilot)
        assert app.replay_pos == 2
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("1")
        await settle(app, pilot)
        assert app.replay_pos == 3
    assert [c[2] for c in stub.choices] == ["accepted"] * 3
    assert [t.text for t in stub.turns["s000"]] == lines


async def test_handoff_summary_is_shown() -> None:
    stub = StubAssistant([{"handoff": True}])
    app = assist_app(stub)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await customer_says(app, pilot, "I want a human")
        notices = [str(n.render()) for n in app.query(".handoff")]
        assert any("Customer wants a human." in n for n in notices)


async def test_keys_do_nothing_before_any_message() -> None:
    stub = StubAssistant()
    app = assist_app(stub)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(SuggestionList).focus()
        await pilot.press("1", "e", "r", "t")
        await pilot.pause()
    assert stub.choices == [] and stub.relabels == []


async def test_customer_message_while_the_engine_loads_is_queued_then_suggested() -> None:
    import threading

    from shopassist.tui.widgets.conversation import CustomerMessage, Notice

    gate = threading.Event()
    stub = StubAssistant()

    def slow_engine() -> StubAssistant:
        gate.wait(10)
        return stub

    app = AssistApp(slow_engine, autoload_llm=False)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        box = app.query_one("#customer-input", MessageInput)
        box.focus()
        box.insert("where is order 10023")
        await pilot.press("enter")
        await pilot.pause()
        assert box.text == ""  # accepted, not refused
        assert [m.message for m in app.query(CustomerMessage)] == ["where is order 10023"]
        assert any("Waiting for the engine" in str(n.render()) for n in app.query(Notice))
        assert not stub.turns
        gate.set()
        for _ in range(3):
            await settle(app, pilot)
        assert [t.text for turns in stub.turns.values() for t in turns] == ["where is order 10023"]
        assert app.query_one(SuggestionList).get(1) is not None
        assert not any("Waiting for the engine" in str(n.render()) for n in app.query(Notice))
