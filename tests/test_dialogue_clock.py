"""Every time-dependent answer reads the dialogue clock, so a fixed "now" fixes the answer."""

from __future__ import annotations

from datetime import date, datetime

import sqlite_utils
from test_dialogue_fakes import DEMO_NOW, ScriptedNLU, demo_assistant

from shopassist.engine.dialogue import clock

CANCEL = "please cancel order 10120"  # paid 2026-11-29 00:50 UTC, $192.11, standard customer


def _cancel_nlu() -> ScriptedNLU:
    return (
        ScriptedNLU()
        .say(CANCEL, "cancel_order", 0.99, ("order_number", "10120", "10120"))
        .say("yes", "affirm", 0.99)
    )


def test_free_cancellation_window_follows_the_pipeline_clock(
    demo_db: sqlite_utils.Database,
) -> None:
    inside = demo_assistant(demo_db, _cancel_nlu(), now=DEMO_NOW)
    assert "fee would be $0.00" in inside.turn("a", CANCEL, customer="24").reply
    later = demo_assistant(demo_db, _cancel_nlu(), now=datetime(2026, 12, 2, 9, 0))
    # 5% of $192.11 is $9.6055: rounded half up, as the cancellation flow charges it.
    assert "fee would be $9.61" in later.turn("b", CANCEL, customer="24").reply


def test_a_cancellation_is_stamped_with_the_dialogue_clock(
    demo_db: sqlite_utils.Database,
) -> None:
    bot = demo_assistant(demo_db, _cancel_nlu(), now=DEMO_NOW)
    bot.turn("s", CANCEL, customer="24")
    r = bot.turn("s", "yes")
    assert r.action == "order.cancelled"
    stamped = demo_db.execute("select cancelled_at from orders where number = '10120'").fetchone()[
        0
    ]
    assert stamped == "2026-11-29T09:00:00Z"


def test_live_promotions_follow_the_clock(demo_db: sqlite_utils.Database) -> None:
    nlu = ScriptedNLU().say("any deals?", "promotions", 0.99)
    now = demo_assistant(demo_db, nlu, now=DEMO_NOW).turn("a", "any deals?")
    assert "CYBER20" in now.reply  # valid until 2026-11-30
    later = demo_assistant(demo_db, nlu, now=datetime(2026, 12, 5)).turn("b", "any deals?")
    assert "CYBER20" not in later.reply and "WINTER15" in later.reply


def test_relative_dates_are_read_against_the_dialogue_clock(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = ScriptedNLU()
    demo_assistant(demo_db, nlu, now=datetime(2026, 11, 29, 9, 0)).turn("s", "hello")
    assert nlu.today == [date(2026, 11, 29)]


def test_the_pipeline_clock_applies_only_during_its_turns(demo_db: sqlite_utils.Database) -> None:
    demo_assistant(demo_db, ScriptedNLU(), now=datetime(2020, 1, 1)).turn("s", "hi")
    assert not clock.is_frozen()
    with clock.frozen(datetime(2030, 1, 1)):
        assert clock.now_iso() == "2030-01-01T00:00:00Z"
        with clock.frozen(None):  # no "now" given: the outer one stays
            assert clock.today() == date(2030, 1, 1)


def test_assistant_lists_the_classifier_intents(demo_db: sqlite_utils.Database) -> None:
    bot = demo_assistant(demo_db, ScriptedNLU().say("x", "track_order").say("y", "greet"))
    assert bot.intents() == ["greet", "out_of_scope", "track_order"]
