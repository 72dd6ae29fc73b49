"""Transcripts as Markdown (for people) and JSONL (for scripts), from stored turns.

Stored turns are used rather than what is on screen: they include a resumed session's
earlier turns, and the customer text is already masked (no emails, phones or cards).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shopassist.safe_text import strip_controls


def transcript_markdown(session_id: str, turns: Sequence[Any]) -> str:
    lines = [f"# ShopAssist conversation `{strip_controls(session_id)}`", ""]
    for turn in turns:
        meta = [f"turn {turn.turn_index}"]
        if turn.intent:
            confidence = f" {turn.confidence:.2f}" if turn.confidence is not None else ""
            meta.append(f"intent {turn.intent}{confidence}")
        if turn.created_at:
            meta.append(turn.created_at)
        lines.append(f"**Customer** ({', '.join(meta)})")
        lines.append("")
        lines.extend("> " + line for line in strip_controls(turn.text).splitlines() or [""])
        lines.append("")
        provenance = turn.provenance or "template"
        if turn.rejection_reason:
            provenance += f": {strip_controls(turn.rejection_reason)}"
        lines.append(f"**ShopAssist** ({provenance})")
        lines.append("")
        lines.append(strip_controls(turn.reply))
        lines.append("")
    return "\n".join(lines)


def transcript_jsonl(session_id: str, turns: Sequence[Any]) -> str:
    rows = []
    for turn in turns:
        row = turn.model_dump(mode="json")
        row["session_id"] = session_id
        rows.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(rows) + ("\n" if rows else "")


def export_transcript(session_id: str, turns: Sequence[Any], path: Path, fmt: str) -> Path:
    """Write the transcript; the format is ``markdown`` or ``jsonl``. Returns the absolute path."""
    if fmt not in ("markdown", "jsonl"):
        raise ValueError(f"unknown transcript format {fmt!r}")
    body = (
        transcript_markdown(session_id, turns)
        if fmt == "markdown"
        else transcript_jsonl(session_id, turns)
    )
    path = path.expanduser()
    if path.is_dir():
        path = path / default_export_name(session_id, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path.resolve()


def default_export_name(session_id: str, fmt: str) -> str:
    safe_id = "".join(c for c in session_id if c.isalnum() or c in "-_") or "session"
    return f"shopassist-{safe_id}.{'md' if fmt == 'markdown' else 'jsonl'}"
