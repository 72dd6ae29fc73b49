"""Figures about stored conversations, for ``shopassist stats`` and the stats screen.

Everything is computed from the ``conversations``, ``turns`` and ``feedback`` tables, so
it works on any database, including one written by several operators at once.

Definitions (also in docs/tui.md):
- a conversation is *handed off* when its ``handoff`` flag is set;
- it is *resolved* when it was not handed off and its last turn that settled anything
  (``turns.resolved`` not null) resolved the request;
- *suggestion acceptance* is accepted / (accepted + edited + rejected) feedback rows;
  relabels are corrections of understanding, not choices about a reply, and do not count;
- *unanswered questions* are turns understood as ``out_of_scope`` or answered by a
  fallback action;
- *knowledge gaps* are questions the shop's own data could not answer (a policy value it
  has not set, or no help page), grouped by the policy key or FAQ intent that would.
"""

from __future__ import annotations

import json
import math
from typing import Any

import sqlite_utils
from pydantic import BaseModel, Field

from shopassist.kb.knowledge_gaps import KnowledgeGap, list_gaps

UNANSWERED_LIMIT = 25
SPARKLINE_TURNS = 60


class IntentCount(BaseModel):
    intent: str
    turns: int
    share: float


class SentimentPoint(BaseModel):
    """Mean sentiment score (-1..1) over one bucket of turns (a day, or a slice of turns)."""

    label: str
    mean_score: float
    turns: int
    negative: int = 0


class UnansweredTurn(BaseModel):
    session_id: str
    turn_index: int
    created_at: str
    text: str  # as stored: masked
    intent: str | None
    action: str | None


class Stats(BaseModel):
    conversations: int = 0
    turns: int = 0
    resolved_conversations: int = 0
    handoff_conversations: int = 0
    resolution_rate: float | None = None
    handoff_rate: float | None = None
    suggestions_accepted: int = 0
    suggestions_edited: int = 0
    suggestions_rejected: int = 0
    relabelled: int = 0
    acceptance_rate: float | None = None
    intents: list[IntentCount] = Field(default_factory=list)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_recent_ms: list[float] = Field(default_factory=list)  # oldest first, for a sparkline
    sentiment_trend: list[SentimentPoint] = Field(default_factory=list)
    unanswered: list[UnansweredTurn] = Field(default_factory=list)
    channels: dict[str, int] = Field(default_factory=dict)
    knowledge_gaps: list[KnowledgeGap] = Field(default_factory=list)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (the same as numpy's default), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def compute_stats(
    db: sqlite_utils.Database,
    *,
    channel: str | None = None,
    unanswered_limit: int = UNANSWERED_LIMIT,
) -> Stats:
    """All figures in one pass over the tables; ``channel`` limits to 'chat', 'assist' or 'api'."""
    where, params = ("where c.channel = ?", [channel]) if channel else ("", [])
    stats = Stats()

    conversations = db.execute(
        f"select c.id, c.handoff, c.channel from conversations c {where}", params
    ).fetchall()
    stats.conversations = len(conversations)
    for _, _, ch in conversations:
        stats.channels[ch] = stats.channels.get(ch, 0) + 1

    turn_rows = db.execute(
        f"""select t.conversation_id, t.idx, t.created_at, t.user_text, t.intent, t.action,
                   t.latency_ms, t.sentiment_score, t.sentiment, t.resolved
            from turns t join conversations c on c.id = t.conversation_id {where}
            order by t.created_at, t.id""",
        params,
    ).fetchall()
    stats.turns = len(turn_rows)

    # Resolution: the last turn per conversation that settled something.
    last_settled: dict[str, int] = {}
    for conv_id, _idx, *_rest, resolved in sorted(turn_rows, key=lambda r: (r[0], r[1])):
        if resolved is not None:
            last_settled[conv_id] = int(resolved)
    for conv_id, handoff, _ in conversations:
        if handoff:
            stats.handoff_conversations += 1
        elif last_settled.get(conv_id) == 1:
            stats.resolved_conversations += 1
    if stats.conversations:
        stats.resolution_rate = stats.resolved_conversations / stats.conversations
        stats.handoff_rate = stats.handoff_conversations / stats.conversations

    # Intents, latency, sentiment, unanswered.
    intent_counts: dict[str, int] = {}
    latencies: list[float] = []
    for row in turn_rows:
        intent = row[4] or "unknown"
        intent_counts[intent] = intent_counts.get(intent, 0) + 1
        if row[6] is not None:
            latencies.append(float(row[6]))
    stats.intents = [
        IntentCount(intent=name, turns=n, share=n / stats.turns)
        for name, n in sorted(intent_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    stats.latency_p50_ms = percentile(latencies, 0.5)
    stats.latency_p95_ms = percentile(latencies, 0.95)
    stats.latency_recent_ms = latencies[-SPARKLINE_TURNS:]
    stats.sentiment_trend = _sentiment_trend(turn_rows)
    unanswered = [
        UnansweredTurn(
            session_id=row[0],
            turn_index=row[1],
            created_at=row[2],
            text=row[3],
            intent=row[4],
            action=row[5],
        )
        for row in turn_rows
        if row[4] == "out_of_scope" or "fallback" in (row[5] or "")
    ]
    stats.unanswered = list(reversed(unanswered))[:unanswered_limit]  # newest first
    stats.knowledge_gaps = list_gaps(db, limit=unanswered_limit, channel=channel)

    # Feedback from agent-assist.
    feedback = db.execute(
        f"""select f.kind, count(*) from feedback f
            join conversations c on c.id = f.conversation_id {where} group by f.kind""",
        params,
    ).fetchall()
    counts: dict[str, Any] = dict(feedback)
    stats.suggestions_accepted = int(counts.get("accepted", 0))
    stats.suggestions_edited = int(counts.get("edited", 0))
    stats.suggestions_rejected = int(counts.get("rejected", 0))
    stats.relabelled = int(counts.get("relabelled", 0))
    choices = stats.suggestions_accepted + stats.suggestions_edited + stats.suggestions_rejected
    if choices:
        stats.acceptance_rate = stats.suggestions_accepted / choices
    return stats


def _sentiment_trend(turn_rows: list[Any], max_points: int = 14) -> list[SentimentPoint]:
    """Per day when the turns span several days, else per equal slice of turns."""
    scored = [(str(r[2] or "")[:10], float(r[7]), r[8]) for r in turn_rows if r[7] is not None]
    if not scored:
        return []
    days = sorted({day for day, _, _ in scored})
    buckets: list[tuple[str, list[tuple[float, Any]]]] = []
    if len(days) > 1:
        by_day: dict[str, list[tuple[float, Any]]] = {}
        for day, score, label in scored:
            by_day.setdefault(day, []).append((score, label))
        buckets = [(day, by_day[day]) for day in days[-max_points:]]
    else:
        size = max(1, math.ceil(len(scored) / max_points))
        for start in range(0, len(scored), size):
            chunk = scored[start : start + size]
            buckets.append(
                (f"turns {start + 1}-{start + len(chunk)}", [(s, lab) for _, s, lab in chunk])
            )
    return [
        SentimentPoint(
            label=label,
            mean_score=sum(s for s, _ in items) / len(items),
            turns=len(items),
            negative=sum(1 for _, lab in items if lab == "negative"),
        )
        for label, items in buckets
    ]


def stats_json(stats: Stats) -> str:
    return json.dumps(stats.model_dump(mode="json"), ensure_ascii=False, indent=2)
