"""The pure rendering helpers behind the panels."""

from __future__ import annotations

from test_tui_fakes import make_result

from shopassist.tui.render import (
    bar,
    chat_markdown,
    report_markdown,
    state_text,
    timings_text,
    understanding_text,
)


def test_bar_resolution_and_bounds() -> None:
    assert bar(1.0, 4) == "████"
    assert bar(0.0, 4) == "    "
    assert bar(0.5, 4) == "██  "
    assert bar(1 / 32, 4) == "▏   "
    assert bar(7.0, 2) == "██" and bar(-1, 2) == "  "


def test_chat_markdown_keeps_line_breaks_and_ends_lists() -> None:
    md = chat_markdown("Found:\n1. A\n2. B\nAsk me more.\nBye")
    assert md == "Found:\n1. A\n2. B\n\nAsk me more.  \nBye"
    fenced = "```\na\nb\n```"
    assert chat_markdown(fenced) == fenced
    assert "\x1b" not in chat_markdown("x\x1b[31my")


def test_understanding_shows_top3_and_entity_spans() -> None:
    text = understanding_text(make_result("where is order 10023").nlu).plain
    assert "track_order" in text and "delivery_period" in text and "cancel_order" in text
    assert "order_number [15:20] 10023" in text
    assert "Sentiment neutral" in text


def test_state_text_reads_the_dialogue_state() -> None:
    state = {
        "flow": "cancel_order",
        "step": "confirm",
        "pending": {"flow": "cancel_order", "summary": "cancel order 10023 (fee $0.00)"},
        "suspended": [{"flow": "get_refund"}],
        "customer_id": 4,
        "customer_name": "Olivia",
        "verified": False,
        "slots": {"order_number": "10023", "reason": None},
        "failures": 2,
        "handoff": True,
    }
    text = state_text(state).plain
    assert "cancel_order · confirm" in text
    assert "cancel order 10023" in text and "get_refund" in text
    assert "Olivia #4" in text and "not verified" in text
    assert "order_number = 10023" in text and "reason" not in text
    assert "Failures  2" in text and "Handed over" in text
    assert "anonymous" in state_text({}).plain


def test_timings_and_report() -> None:
    result = make_result("where is order 10023", provenance="llm_rejected", reason="unsupported 42")
    assert "total" in timings_text(result.timings, 15.5).plain
    report = report_markdown(result)
    assert "llm_rejected" in report and "unsupported 42" in report
    assert "| numbers | ✓ | all supported |" in report
    assert "You are ShopAssist." in report
