"""Fine-tuning data from the shop's own service: chat-format examples from stored turns.

Each example is what the rephrasing model sees at run time (the generate stage's system
prompt and user message around the draft) and, as the assistant's answer, a reply that
was vouched for: an accepted model reply (provenance ``llm``, unless staff rejected it),
or a reply staff edited and sent (``feedback.kind = 'edited'``) or sent as suggested
(``'accepted'``). The draft is the template reply the record stage stores with each turn
(``turns.draft``, masked like the reply); the plan's facts stored with it
(``turns.facts``) go into the example beside the messages, since the run-time prompt
carries no fact block. Everything is masked again on the way out (``record.mask_text``),
so a phone or email that reached a staff edit does not reach the training file.
Rejected model replies are never exported: the stored reply of an ``llm_rejected`` turn
is the template, and it is not a rephrasing. Turns stored before drafts were kept can
only give staff edits (their suggestion stands in for the draft);
``ExportStats.skipped_no_draft`` counts the accepted model replies left out for that.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlite_utils

from shopassist.engine.generate import build_messages
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.record import mask_text


@dataclass
class ExportStats:
    written: int = 0
    staff_edits: int = 0
    accepted_model_replies: int = 0
    skipped_no_draft: int = 0
    skipped_unchanged: int = 0
    skipped_rejected: int = 0
    by_language: dict[str, int] = field(default_factory=dict)


def _example(
    language: str, action: str | None, draft: str, reply: str, facts: list[Any]
) -> dict[str, Any]:
    plan = ReplyPlan(
        intent=action or "unknown",
        action=action,
        language="zh" if language == "zh" else "en",
        template_reply=mask_text(draft),
    )
    messages = build_messages(plan, "")
    # Zero-shot: the adapter learns the task itself, not to continue a few-shot pattern.
    messages = [messages[0], messages[-1]]
    messages.append({"role": "assistant", "content": mask_text(reply)})
    return {"messages": messages, "facts": facts}


def _facts(raw: str | None) -> list[Any]:
    """The stored facts (masked at record time), masked again like everything exported."""
    try:
        facts = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(facts, list):
        return []
    return [
        {k: mask_text(v) if isinstance(v, str) else v for k, v in f.items()}
        for f in facts
        if isinstance(f, dict)
    ]


def training_examples(
    db: sqlite_utils.Database, since: date | None = None
) -> tuple[list[dict[str, Any]], ExportStats]:
    """The examples, oldest first, and what was counted or left out.

    A turn's latest staff choice decides: 'edited' exports the staff text, 'accepted'
    the reply sent, 'rejected' nothing; a model reply without a choice is exported as
    accepted by the verifier.
    """
    stats = ExportStats()
    params: list[Any] = []
    where = ""
    if since is not None:
        where = "and t.created_at >= ?"
        params.append(since.isoformat())
    examples: list[dict[str, Any]] = []
    rows = db.execute(
        "select t.conversation_id, t.idx, t.created_at, t.language, t.action, t.provenance, "
        "t.reply, t.draft, t.facts, f.kind, f.suggested_text, f.final_text "
        "from turns t left join feedback f on f.id = ("
        "  select max(g.id) from feedback g where g.turn_id = t.id "
        "  and g.kind in ('edited', 'accepted', 'rejected')) "
        f"where (f.id is not null or t.provenance = 'llm') {where} "
        "order by t.created_at, t.conversation_id, t.idx",
        params,
    ).fetchall()
    for row in rows:
        conv, idx, created, language, action, provenance, reply = row[:7]
        draft, facts, kind, suggested, final = row[7:]
        lang = language or "en"
        if kind == "rejected":
            stats.skipped_rejected += 1
            continue
        if kind in ("edited", "accepted"):
            target = final
        elif provenance == "llm":
            target = reply
        else:
            continue
        source = draft or (suggested if kind == "edited" else None)
        if not source or not target:
            stats.skipped_no_draft += 1
            continue
        if target.strip() == source.strip():
            stats.skipped_unchanged += 1  # a copy of the draft teaches no rephrasing
            continue
        example = _example(lang, action, source, target, _facts(facts))
        if kind == "edited":
            stats.staff_edits += 1
        else:
            stats.accepted_model_replies += 1
        example["meta"] = {"conversation_id": conv, "turn_index": idx, "created_at": created}
        examples.append(example)
        stats.by_language[lang] = stats.by_language.get(lang, 0) + 1
    stats.written = len(examples)
    return examples, stats


def write_jsonl(path: Path, examples: list[dict[str, Any]]) -> None:
    """Write atomically: a reader never sees half a file, a failure leaves none."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for example in examples:
                fh.write(json.dumps(example, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
