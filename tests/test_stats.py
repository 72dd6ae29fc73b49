"""Stats are computed from stored rows; each test inserts exactly the rows it reasons about."""

from __future__ import annotations

import sqlite_utils

from shopassist.engine.stats import compute_stats, percentile


def add_conversation(
    db: sqlite_utils.Database, cid: str, *, handoff: bool = False, channel: str = "chat"
) -> None:
    db["conversations"].insert({"id": cid, "handoff": int(handoff), "channel": channel})


def add_turn(
    db: sqlite_utils.Database,
    cid: str,
    idx: int,
    *,
    intent: str = "track_order",
    latency: float | None = 10.0,
    resolved: int | None = None,
    action: str | None = None,
    score: float | None = 0.0,
    created: str = "2026-11-01 10:00:00",
    text: str = "hello",
) -> int:
    row = {
        "conversation_id": cid,
        "idx": idx,
        "user_text": text,
        "reply": "ok",
        "intent": intent,
        "latency_ms": latency,
        "resolved": resolved,
        "action": action,
        "sentiment_score": score,
        "sentiment": None if score is None else ("negative" if score < 0 else "neutral"),
        "created_at": created,
    }
    return int(db["turns"].insert(row).last_pk)


def test_empty_database_has_no_rates(db: sqlite_utils.Database) -> None:
    stats = compute_stats(db)
    assert stats.conversations == 0 and stats.turns == 0
    assert stats.resolution_rate is None and stats.acceptance_rate is None
    assert stats.latency_p50_ms is None and stats.unanswered == []


def test_rates_from_conversations(db: sqlite_utils.Database) -> None:
    add_conversation(db, "a")  # resolved
    add_turn(db, "a", 0, resolved=None)
    add_turn(db, "a", 1, resolved=1)
    add_conversation(db, "b", handoff=True)  # handed off, even though a turn resolved
    add_turn(db, "b", 0, resolved=1, intent="contact_human_agent")
    add_conversation(db, "c")  # last settled turn failed
    add_turn(db, "c", 0, resolved=1)
    add_turn(db, "c", 1, resolved=0, intent="out_of_scope", text="what is the meaning of life")
    add_conversation(db, "d")  # still collecting information
    add_turn(db, "d", 0, resolved=None)

    stats = compute_stats(db)
    assert stats.conversations == 4
    assert stats.turns == 6
    assert stats.resolved_conversations == 1
    assert stats.handoff_conversations == 1
    assert stats.resolution_rate == 0.25
    assert stats.handoff_rate == 0.25
    assert stats.intents[0].intent == "track_order" and stats.intents[0].turns == 4
    assert {i.intent for i in stats.intents} == {
        "track_order",
        "contact_human_agent",
        "out_of_scope",
    }
    assert [u.text for u in stats.unanswered] == ["what is the meaning of life"]


def test_acceptance_rate_ignores_relabels(db: sqlite_utils.Database) -> None:
    add_conversation(db, "a", channel="assist")
    turn_id = add_turn(db, "a", 0)
    for kind in ["accepted", "accepted", "accepted", "edited", "rejected", "relabelled"]:
        db["feedback"].insert({"turn_id": turn_id, "conversation_id": "a", "kind": kind})
    stats = compute_stats(db)
    assert stats.suggestions_accepted == 3
    assert stats.suggestions_edited == 1 and stats.suggestions_rejected == 1
    assert stats.relabelled == 1
    assert stats.acceptance_rate == 0.6
    assert stats.channels == {"assist": 1}


def test_latency_percentiles_and_sparkline(db: sqlite_utils.Database) -> None:
    add_conversation(db, "a")
    for i in range(100):
        add_turn(
            db, "a", i, latency=float(i + 1), created=f"2026-11-01 10:{i // 60:02d}:{i % 60:02d}"
        )
    add_turn(db, "a", 100, latency=None, created="2026-11-01 11:00:00")
    stats = compute_stats(db)
    assert stats.latency_p50_ms == 50.5
    assert stats.latency_p95_ms == percentile([float(i + 1) for i in range(100)], 0.95)
    assert abs(stats.latency_p95_ms - 95.05) < 1e-9
    assert stats.latency_recent_ms[-1] == 100.0 and len(stats.latency_recent_ms) == 60


def test_sentiment_trend_per_day(db: sqlite_utils.Database) -> None:
    add_conversation(db, "a")
    add_turn(db, "a", 0, score=-0.8, created="2026-11-01 09:00:00")
    add_turn(db, "a", 1, score=-0.4, created="2026-11-01 10:00:00")
    add_turn(db, "a", 2, score=0.6, created="2026-11-02T10:00:00Z")
    add_turn(db, "a", 3, score=None, created="2026-11-03 10:00:00")
    trend = compute_stats(db).sentiment_trend
    assert [p.label for p in trend] == ["2026-11-01", "2026-11-02"]
    assert abs(trend[0].mean_score + 0.6) < 1e-9 and trend[0].negative == 2
    assert trend[1].mean_score == 0.6


def test_fallback_action_counts_as_unanswered_newest_first(db: sqlite_utils.Database) -> None:
    add_conversation(db, "a")
    add_turn(
        db, "a", 0, action="fallback", intent="greet", text="first", created="2026-11-01 09:00:00"
    )
    add_turn(
        db, "a", 1, action="fallback.offer_human", text="second", created="2026-11-01 09:01:00"
    )
    add_turn(db, "a", 2, action="order.tracked", text="fine", created="2026-11-01 09:02:00")
    assert [u.text for u in compute_stats(db).unanswered] == ["second", "first"]


def test_channel_filter(db: sqlite_utils.Database) -> None:
    add_conversation(db, "a", channel="chat")
    add_turn(db, "a", 0)
    add_conversation(db, "b", channel="assist")
    add_turn(db, "b", 0)
    add_turn(db, "b", 1)
    stats = compute_stats(db, channel="assist")
    assert stats.conversations == 1 and stats.turns == 2
