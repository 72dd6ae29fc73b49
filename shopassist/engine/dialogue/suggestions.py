"""Agent-assist: up to three ranked replies a staff member can send, edit or ignore."""

from __future__ import annotations

import sqlite_utils

from shopassist.engine.dialogue.templates import has_template, render
from shopassist.engine.turn_result import Source, Suggestion, TurnResult

MAX_SUGGESTIONS = 3


def _label(intent: str, language: str) -> str:
    key = f"label.{intent}"
    return render(key, language) if has_template(key, language) else intent.replace("_", " ")


def rank_suggestions(
    result: TurnResult, db: sqlite_utils.Database | None = None
) -> list[Suggestion]:
    confidence = round(float(result.nlu.intent.confidence), 3)
    out: list[Suggestion] = []
    grounded_sources = [
        s for s in result.sources if s.kind != "faq" or s.id in {f.source_id for f in result.facts}
    ]
    if result.provenance.kind == "llm" and result.reply and result.reply != result.template_reply:
        out.append(
            Suggestion(
                rank=0,
                text=result.reply,
                kind="llm",
                sources=grounded_sources,
                confidence=round(confidence * 0.95, 3),
            )
        )
    out.insert(
        0,
        Suggestion(
            rank=0,
            text=result.template_reply or result.reply,
            kind="grounded",
            sources=grounded_sources,
            confidence=confidence,
        ),
    )
    if result.nlu.clarify and len(result.nlu.clarify) >= 2 and result.action != "clarify":
        a, b = result.nlu.clarify[:2]
        text = render(
            "clarify.ask",
            result.language,
            {"option_a": _label(a, result.language), "option_b": _label(b, result.language)},
        )
        out.append(
            Suggestion(rank=0, text=text, kind="clarify", confidence=round(1 - confidence, 3))
        )
    used = {s.id for s in grounded_sources}
    for source in result.sources:
        if len(out) >= MAX_SUGGESTIONS:
            break
        if source.kind == "faq" and source.id not in used and db is not None:
            answer = _faq_answer(db, source)
            if answer and all(answer != s.text for s in out):
                score = source.score or 0.0
                out.append(
                    Suggestion(
                        rank=0,
                        text=answer,
                        kind="faq",
                        sources=[source],
                        confidence=round(min(0.9, 0.3 + 0.1 * score), 3),
                    )
                )
                break
    out = out[:MAX_SUGGESTIONS]
    for i, s in enumerate(out, start=1):
        s.rank = i
    return out


def _faq_answer(db: sqlite_utils.Database, source: Source) -> str | None:
    # source ids look like "faq:<key>:<lang>"
    parts = source.id.split(":")
    if len(parts) < 3:
        return source.snippet or None
    row = db.execute(
        "select answer from faqs where key = ? and language = ?", [":".join(parts[1:-1]), parts[-1]]
    ).fetchone()
    return row[0] if row else (source.snippet or None)
