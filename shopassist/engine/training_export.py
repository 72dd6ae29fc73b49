"""Fine-tuning data from the shop's own service: chat-format examples from stored turns.

Each example is what the rephrasing model sees at run time (the generate stage's system
prompt and user message around a draft) and, as the assistant's answer, a reply a
person vouched for: a reply staff edited and sent (``feedback.kind = 'edited'``), or an
accepted model reply whose draft is known. Everything is masked again with the record
stage's masker on the way out (``record.mask_text``), so a phone or email that reached a
staff edit does not reach the training file. Rejected model replies are never exported:
the stored reply of an ``llm_rejected`` turn is the template, and it is not a rephrasing.

What is stored limits what is exported: a turn row keeps its reply but not the draft
(template) it rephrased, so an accepted model reply without a staff-feedback row naming
its draft cannot become an example; ``ExportStats.skipped_no_draft`` counts them.
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
    by_language: dict[str, int] = field(default_factory=dict)


def _example(language: str, action: str | None, draft: str, reply: str) -> dict[str, Any]:
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
    return {"messages": messages}


def training_examples(
    db: sqlite_utils.Database, since: date | None = None
) -> tuple[list[dict[str, Any]], ExportStats]:
    """The examples, oldest first, and what was counted or left out."""
    stats = ExportStats()
    params: list[Any] = []
    where = ""
    if since is not None:
        where = "and t.created_at >= ?"
        params.append(since.isoformat())
    examples: list[dict[str, Any]] = []
    rows = db.execute(
        "select t.conversation_id, t.idx, t.created_at, t.language, t.action, t.provenance, "
        "f.kind, f.suggested_text, f.final_text "
        "from turns t left join feedback f on f.turn_id = t.id "
        "and f.kind in ('edited', 'accepted') "
        f"where (f.id is not null or t.provenance = 'llm') {where} "
        "order by t.created_at, t.conversation_id, t.idx, f.id",
        params,
    ).fetchall()
    for conv, idx, created, language, action, provenance, kind, suggested, final in rows:
        lang = language or "en"
        if kind == "edited" and suggested and final:
            if final.strip() == suggested.strip():
                stats.skipped_unchanged += 1
                continue
            example = _example(lang, action, suggested, final)
            stats.staff_edits += 1
        elif kind == "accepted" and provenance == "llm" and suggested and final:
            # Staff sent the model's reply as it was; the suggestion row names its draft
            # only when the suggestion differs from the reply, which it then is not.
            stats.skipped_no_draft += 1
            continue
        elif provenance == "llm" and kind is None:
            stats.skipped_no_draft += 1
            continue
        else:
            continue
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
