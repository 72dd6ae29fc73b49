"""Attacks on order verification (issue 10, High) and identity (issue 8 item 7).

Each test replays an attack from the issue or one of our own against the demo shop and
checks both the replies and what was stored.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.engine.assistant import Assistant

from .conftest import customer_orders, make_bot, tracking_numbers

EMMA = "emma.johnson@example.com"


def _shown(reply: str, tracking: dict[str, str]) -> set[str]:
    return {number for number, code in tracking.items() if code in reply}


def test_known_email_then_guessed_numbers_stop_after_the_limit(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    """Issue attack: claim Emma's email, then walk order numbers down from 10120."""
    tracking = tracking_numbers(demo_db)
    emma = set(customer_orders(demo_db, 1))
    bot.turn("s", f"my email is {EMMA}")
    leaked: set[str] = set()
    actions = []
    for n in range(10120, 10000, -1):
        r = bot.turn("s", f"where is order {n}?")
        leaked |= _shown(r.reply, tracking)
        actions.append(r.action)
    # The first two guesses (10120, 10119) are not Emma's and the third (10118) is: the
    # limit bounds guessing, it cannot make a lucky third guess wrong. After three misses
    # nothing more is ever shown, although six more of Emma's orders are below.
    assert leaked <= {"10118"} and len(emma) == 7
    assert actions[-1] == "verify.too_many"
    assert sum(1 for a in actions if a == "verify.too_many") >= 110


def test_wrong_guesses_first_then_emmas_real_orders_show_nothing(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    tracking = tracking_numbers(demo_db)
    bot.turn("s", f"my email is {EMMA}")
    for n in (10110, 10109, 10108):  # none of them Emma's
        bot.turn("s", f"where is order {n}?")
    for n in customer_orders(demo_db, 1):
        r = bot.turn("s", f"where is order {n}? my email is {EMMA}")
        assert not _shown(r.reply, tracking) and r.state["verified"] is False
        assert r.action == "verify.too_many" and r.handoff


def test_fifty_wrong_emails_then_the_right_one_stays_locked(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    """Issue attack: 50 wrong emails for 10001, then the right email."""
    code = tracking_numbers(demo_db)["10001"]
    bot.turn("s", "where is order 10001?")
    replies = [
        bot.turn("s", f"where is order 10001? my email is guess{i}@example.com") for i in range(50)
    ]
    last = bot.turn("s", f"my email is {EMMA}")
    assert all(code not in r.reply for r in [*replies, last])
    assert last.state["verified"] is False
    again = bot.turn("s", f"where is order 10001? my email is {EMMA}")
    assert code not in again.reply and again.action == "verify.too_many"
    # Counted in the database, not only in the conversation's state.
    n = demo_db.execute("select count(*) from verification_failures where order_number = '10001'")
    assert n.fetchone()[0] >= 3


def test_new_conversations_do_not_buy_new_guesses_for_an_order(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    code = tracking_numbers(demo_db)["10001"]
    for i in range(5):  # the default target limit, one wrong email per conversation
        bot.turn(f"s{i}", f"where is order 10001? my email is guess{i}@example.com")
    r = bot.turn("fresh", f"where is order 10001? my email is {EMMA}")
    assert code not in r.reply and r.action == "verify.too_many"


def test_new_conversations_do_not_buy_new_guesses_for_a_customer(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    code = tracking_numbers(demo_db)["10001"]
    wrong = [n for n in range(10100, 10121) if str(n) not in customer_orders(demo_db, 1)][:5]
    for i, n in enumerate(wrong):
        bot.turn(f"s{i}", f"where is order {n}? my email is {EMMA}")
    r = bot.turn("fresh", f"where is order 10001? my email is {EMMA}")
    assert code not in r.reply and r.action == "verify.too_many"


def test_staff_clear_a_lock_from_the_cli(
    bot: Assistant, demo_db: sqlite_utils.Database, demo_db_path: Path
) -> None:
    code = tracking_numbers(demo_db)["10001"]
    for i in range(5):
        bot.turn(f"s{i}", f"where is order 10001? my email is guess{i}@example.com")
    runner = CliRunner()
    listed = runner.invoke(app, ["locks", "--db", str(demo_db_path)])
    assert listed.exit_code == 0 and "10001" in listed.output
    result = runner.invoke(app, ["unlock", "--order", "10001", "--db", str(demo_db_path)])
    assert result.exit_code == 0, result.output
    assert "5" in result.output
    r = bot.turn("fresh", f"where is order 10001? my email is {EMMA}")
    assert code in r.reply
    missing = runner.invoke(app, ["unlock", "--db", str(demo_db_path)])
    assert missing.exit_code != 0 and "--order" in missing.output


def test_a_locked_reply_does_not_reveal_whether_the_order_exists(bot: Assistant) -> None:
    def conversation(session: str, number: str) -> list[str]:
        replies = [bot.turn(session, f"where is order {number}?").reply]
        for i in range(4):
            replies.append(bot.turn(session, f"my email is guess{i}@example.com").reply)
        replies.append(bot.turn(session, f"my email is {EMMA}").reply)
        return [r.replace(number, "N") for r in replies]

    assert conversation("real", "10001") == conversation("fake", "19999")


def test_limits_are_settings(demo_db: sqlite_utils.Database, shared_nlu_models: Path) -> None:
    strict = make_bot(demo_db, shared_nlu_models, verification_max_failures=1)
    strict.turn("s", "where is order 10001?")
    r = strict.turn("s", "my email is guess@example.com")
    assert r.action == "verify.too_many"


def test_one_message_with_order_and_email_is_enough(bot: Assistant) -> None:
    for text in (
        f"where is order 10001? my email is {EMMA}",
        f"order 10001, email {EMMA}",
        f"{EMMA} 10001 where is it",
    ):
        r = bot.turn(text, text)
        assert r.action == "order.tracked", (text, r.reply)
        assert r.state["verified"] is True
    # The intent model reads this one as a cancellation; identity is what is tested here:
    # verified in one message, and the reply speaks about the order instead of asking again.
    r = bot.turn("zh", f"订单10001到哪了？我的邮箱是{EMMA}")
    assert r.state["verified"] is True and "10001" in r.reply and "邮箱" not in r.reply


def test_phone_with_country_code_verifies_and_a_wrong_country_does_not(bot: Assistant) -> None:
    r = bot.turn("a", "where is order 10001? my phone is +1 415-555-0134")
    assert r.action == "order.tracked"
    r = bot.turn("b", "where is order 10001? my phone is +44 415 555 0134")
    assert r.action != "order.tracked" and r.state["verified"] is False


def test_a_verified_customer_can_act_on_all_their_orders(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    tracking = tracking_numbers(demo_db)
    bot.turn("s", f"where is order 10001? my email is {EMMA}")
    for n in customer_orders(demo_db, 1)[1:]:
        r = bot.turn("s", f"where is order {n}?")
        assert r.action == "order.tracked", (n, r.reply)
        if n in tracking:
            assert tracking[n] in r.reply


def test_a_verified_customer_probing_other_orders_is_counted(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    tracking = tracking_numbers(demo_db)
    bot.turn("s", f"where is order 10001? my email is {EMMA}")
    others = [n for n in range(10100, 10121) if str(n) not in customer_orders(demo_db, 1)]
    for n in others[:4]:
        r = bot.turn("s", f"where is order {n}?")
        assert not (_shown(r.reply, tracking) - set(customer_orders(demo_db, 1)))
    r = bot.turn("s", "where is order 10027?")
    assert r.action == "verify.too_many"


def test_a_bound_customer_is_never_locked_out(bot: Assistant) -> None:
    for n in (10119, 10120, 10117, 10116):
        bot.turn("s", f"where is order {n}?", customer=1)
    r = bot.turn("s", "where is order 10001?", customer=1)
    assert r.action == "order.tracked"
