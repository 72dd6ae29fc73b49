"""Knowledge gaps: questions the shop's own data could not answer, and what would answer them.

A reply that says "I don't have that information" records one row here, naming the policy
key (``returns.window_days``) or the FAQ intent that was missing. ``shopassist stats`` and
the stats screen list them grouped by that key, so the shop sees which line of its policy
file or which help page to add. The question arrives already masked by the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils
from pydantic import BaseModel, Field

GAP_KINDS = ("policy", "faq")


class KnowledgeGap(BaseModel):
    """One missing answer: the key that would answer it, how often it was asked, examples."""

    kind: str  # 'policy' or 'faq'
    answer_key: str
    asked: int
    last_asked: str
    questions: list[str] = Field(default_factory=list)  # newest first, masked


def record_gap(
    db: sqlite_utils.Database,
    *,
    kind: str,
    answer_key: str,
    question: str,
    conversation_id: str | None = None,
    language: str | None = None,
    intent: str | None = None,
    at: str | None = None,
) -> None:
    """Store one unanswered question. Joins the caller's transaction (the turn's)."""
    if kind not in GAP_KINDS:
        raise ValueError(f"knowledge gap kind {kind!r} is not one of {GAP_KINDS}")
    db.execute(
        "insert into knowledge_gaps (conversation_id, language, intent, question, kind, "
        "answer_key, created_at) values (?, ?, ?, ?, ?, ?, ?)",
        [
            conversation_id,
            language,
            intent,
            question,
            kind,
            answer_key,
            at or datetime.now(UTC).isoformat(timespec="seconds"),
        ],
    )


def list_gaps(
    db: sqlite_utils.Database,
    *,
    limit: int = 25,
    examples: int = 3,
    channel: str | None = None,
) -> list[KnowledgeGap]:
    """Gaps grouped by the missing key, most asked first, with the latest questions;
    ``channel`` keeps only those asked in conversations on that channel."""
    channel_filter = "conversation_id in (select id from conversations where channel = ?)"
    conditions, params = ([channel_filter], [channel]) if channel else ([], [])
    where = f"where {conditions[0]}" if conditions else ""
    rows = db.execute(
        f"""select kind, answer_key, count(*), max(created_at)
            from knowledge_gaps {where} group by kind, answer_key
            order by count(*) desc, max(created_at) desc limit ?""",
        [*params, limit],
    ).fetchall()
    gaps = []
    for kind, key, asked, last in rows:
        example_where = " and ".join(["kind = ?", "answer_key = ?", *conditions])
        questions = [
            r[0]
            for r in db.execute(
                f"""select question from knowledge_gaps where {example_where}
                    group by question order by max(id) desc limit ?""",
                [kind, key, *params, examples],
            ).fetchall()
        ]
        gaps.append(
            KnowledgeGap(
                kind=kind, answer_key=key, asked=asked, last_asked=last, questions=questions
            )
        )
    return gaps
