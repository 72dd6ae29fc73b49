"""Turning engine results into Rich ``Text`` for the panels.

Everything that may carry customer or catalog text goes through :func:`safe`, and is
built as ``Text`` objects (never markup strings), so neither escape sequences nor
``[markup]`` in a message can reach or restyle the terminal. Kept free of Textual so it
can be tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rich.text import Text

from shopassist.safe_text import strip_controls

BAR_WIDTH = 12
ENTITY_STYLE = "bold reverse"
SENTIMENT_STYLES = {"negative": "red", "neutral": "yellow", "positive": "green"}
PROVENANCE_LABELS = {
    "template": ("template", "badge-template"),
    "llm": ("LLM ✓ verified", "badge-llm"),
    "llm_rejected": ("LLM ✗ rejected", "badge-rejected"),
}


def safe(text: object, *, limit: int | None = None) -> str:
    """Strip escapes and controls; optionally shorten with an ellipsis."""
    cleaned = strip_controls("" if text is None else str(text))
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 1, 0)] + "…"
    return cleaned


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def chat_markdown(text: str) -> str:
    """Replies are written as chat text, where a single newline means a new line.

    CommonMark would join such lines into one paragraph, or fold a closing sentence into
    the last list item; so lines after a list get a blank line, and other single
    newlines become hard breaks. Code fences are left alone.
    """
    out: list[str] = []
    in_fence = False
    lines = safe(text).split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence or i == 0:
            out.append(line)
            continue
        prev = lines[i - 1]
        if prev.strip() and line.strip():
            if _LIST_ITEM.match(prev) and not _LIST_ITEM.match(line) and not line.startswith(" "):
                out.append("")
            elif not _LIST_ITEM.match(line) and not out[-1].endswith("  "):
                out[-1] = out[-1] + "  "
        out.append(line)
    return "\n".join(out)


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar with eighth-block resolution, e.g. for a confidence."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return ("█" * full + partial).ljust(width)


def highlight_entities(message: str, entities: Iterable[Any]) -> Text:
    """The message with each entity's span highlighted.

    Spans index the cleaned message; a span that does not match the entity's surface
    text (the engine changed the text, or a stale result) is skipped rather than
    highlighting the wrong characters.
    """
    text = Text(safe(message))
    plain = text.plain
    for entity in entities:
        start, end = int(entity.start), int(entity.end)
        if 0 <= start < end <= len(plain) and plain[start:end] == safe(entity.text):
            text.stylize(ENTITY_STYLE, start, end)
    return text


def understanding_text(
    nlu: Any, *, language: str | None = None, interpret: Iterable[str] = ()
) -> Text:
    out = Text()
    out.append("Language  ", "dim")
    out.append(safe(nlu.language))
    if language and language != nlu.language:
        out.append(f" → reply {safe(language)}", "dim")
    out.append("\nIntent    ", "dim")
    out.append(safe(nlu.intent.name), "bold")
    out.append(f"  {nlu.intent.confidence:.2f}\n")
    for score in nlu.ranking[:3]:
        out.append(f"  {safe(score.name, limit=20):<20} ", "")
        out.append(bar(score.confidence, 10), "cyan")
        out.append(f" {score.confidence:.2f}\n")
    for fired in interpret:
        # The interpret rule that re-read this message in context (interpret_rules.toml).
        out.append("Read as   ", "dim")
        out.append(safe(fired, limit=60) + "\n", "yellow")
    if getattr(nlu, "clarify", None):
        out.append("Clarify   ", "dim")
        out.append(" / ".join(safe(c) for c in nlu.clarify) + "\n")
    out.append("Entities  ", "dim")
    if not nlu.entities:
        out.append("none\n", "dim")
    else:
        out.append("\n")
        for entity in nlu.entities:
            out.append(f"  {safe(entity.type)}", "magenta")
            out.append(f" [{entity.start}:{entity.end}] ", "dim")
            out.append(safe(entity.text, limit=40), ENTITY_STYLE)
            value = safe(_short(entity.value), limit=40)
            if value and value != safe(entity.text):
                out.append(f" → {value}")
            out.append("\n")
    sentiment = nlu.sentiment
    out.append("Sentiment ", "dim")
    out.append(safe(sentiment.label), SENTIMENT_STYLES.get(sentiment.label, ""))
    out.append(f" {sentiment.score:+.2f}")
    if sentiment.frustrated:
        out.append("  frustrated", "bold red")
    return out


def state_text(state: Mapping[str, Any]) -> Text:
    """The dialogue state (``DialogueState`` as JSON), tolerant of keys it may not set."""
    out = Text()
    flow = state.get("flow") or state.get("active_flow")
    step = state.get("step") or state.get("flow_step")
    out.append("Flow      ", "dim")
    if flow:
        out.append(safe(flow), "bold")
        if step:
            out.append(f" · {safe(step)}")
    else:
        out.append("none", "dim")
    pending = state.get("pending")
    if isinstance(pending, Mapping) and pending:
        out.append("\nPending   ", "dim")
        out.append(
            safe(pending.get("summary") or pending.get("action") or "confirmation", limit=60),
            "yellow",
        )
    suspended = state.get("suspended") or []
    if suspended:
        names = ", ".join(safe(f.get("flow", "?")) for f in suspended if isinstance(f, Mapping))
        out.append("\nSuspended ", "dim")
        out.append(names)
    out.append("\nCustomer  ", "dim")
    customer = state.get("customer")
    name = state.get("customer_name")
    cid = state.get("customer_id")
    if isinstance(customer, Mapping):
        name, cid = customer.get("name"), customer.get("id")
        tier = customer.get("tier")
    else:
        tier = state.get("customer_tier")
    if name or cid:
        out.append(safe(name or f"#{cid}", limit=28))
        if name and cid:
            out.append(f" #{cid}", "dim")
        if tier == "vip":
            out.append(" VIP", "bold yellow")
    else:
        out.append("anonymous", "dim")
    verified = bool(state.get("verified"))
    out.append("\n          ")
    out.append("✓ verified" if verified else "✗ not verified", "green" if verified else "yellow")
    if state.get("bound"):
        out.append(" (bound by operator)", "dim")
    slots = state.get("slots") or {}
    filled = (
        {k: v for k, v in slots.items() if v not in (None, "", [], {})}
        if isinstance(slots, Mapping)
        else {}
    )
    out.append("\nSlots     ", "dim")
    if not filled:
        out.append("none", "dim")
    for key, value in filled.items():
        out.append(f"\n  {safe(key)} = ", "dim")
        out.append(safe(_short(value), limit=40))
    mentioned = state.get("mentioned") or []
    if mentioned:
        titles = [
            safe(m.get("title", "?"), limit=24) for m in mentioned[-3:] if isinstance(m, Mapping)
        ]
        out.append("\nMentioned ", "dim")
        out.append("; ".join(titles))
    failures = state.get("failures") or state.get("consecutive_failures")
    if failures:
        out.append(f"\nFailures  {failures}", "yellow")
    trend = state.get("sentiment") or []
    if isinstance(trend, list) and trend and all(isinstance(v, int | float) for v in trend):
        out.append("\nMood      ", "dim")
        out.append(" ".join(f"{v:+.1f}" for v in trend[-5:]))
    if state.get("handoff"):
        out.append("\nHanded over to staff", "bold red")
    return out


def sources_text(sources: Iterable[Any]) -> Text:
    out = Text()
    items = list(sources)
    if not items:
        return Text("no sources", "dim")
    for i, source in enumerate(items):
        if i:
            out.append("\n")
        out.append(safe(source.id, limit=36), "bold cyan")
        if source.score is not None:
            out.append(f"  {source.score:.2f}", "dim")
        out.append("\n  " + safe(source.title, limit=60))
        if source.snippet:
            out.append("\n  " + safe(source.snippet, limit=80).replace("\n", " "), "dim")
    return out


def timings_text(timings: Mapping[str, float], total: float | None = None) -> Text:
    out = Text()
    if not timings:
        return Text("no timings", "dim")
    longest = max(timings.values()) or 1.0
    for stage, ms in timings.items():
        out.append(f"{safe(stage, limit=12):<12} ", "dim")
        out.append(bar(ms / longest, 10), "green")
        out.append(f" {ms:7.1f} ms\n")
    if total:
        out.append(f"{'total':<12} {'':10} {total:7.1f} ms", "bold")
    return out


def provenance_label(kind: str | None) -> tuple[str, str]:
    return PROVENANCE_LABELS.get(kind or "template", (safe(kind), "badge-template"))


def report_markdown(result: Any) -> str:
    """The last reply's prompt and verification report, as Markdown for a modal."""
    prov = result.provenance
    lines = [f"## Turn {result.turn_index} — provenance: `{safe(prov.kind)}`"]
    if prov.model:
        lines.append(f"Model: `{safe(prov.model)}`")
    if prov.reason:
        lines.append(f"\n**Reason:** {safe(prov.reason)}")
    lines.append("\n## Verification")
    if prov.checks:
        lines.append("| check | result | detail |\n|---|---|---|")
        for check in prov.checks:
            name = safe(check.get("rule") or check.get("name") or check.get("check") or "?")
            ok = check.get("ok", check.get("passed"))
            mark = "✓" if ok else ("✗" if ok is not None else "·")
            detail = safe(check.get("detail") or check.get("message") or check.get("reason") or "")
            lines.append(f"| {_cell(name)} | {mark} | {_cell(detail)} |")
    else:
        lines.append("_No LLM reply was verified for this turn._")
    if result.facts:
        lines.append("\n## Facts the reply must state")
        for fact in result.facts:
            need = "required" if fact.required else "optional"
            lines.append(
                f"- `{safe(fact.key)}` = {_inline(fact.value)} ({need}, {safe(fact.source_id)})"
            )
    lines.append("\n## Template reply\n")
    lines.append(_quote(result.template_reply or "(none)"))
    if result.llm_reply is not None:
        lines.append("\n## LLM reply (raw)\n")
        lines.append(_quote(result.llm_reply))
    lines.append("\n## Prompt")
    if result.prompt:
        for message in result.prompt:
            lines.append(f"\n**{safe(message.get('role', '?'))}**\n")
            lines.append(
                "```text\n" + safe(message.get("content", "")).replace("```", "ʼʼʼ") + "\n```"
            )
    else:
        lines.append("_No prompt: the LLM was not used for this turn._")
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    return "`" + safe(text).replace("`", "'") + "`"


def _quote(text: str) -> str:
    return "\n".join(("> " + line).rstrip() for line in chat_markdown(text).split("\n"))
