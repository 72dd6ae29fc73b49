"""Rich renderings of :class:`~shopassist.engine.stats.Stats`, shared by ``shopassist stats``
(printed) and the stats screen. No Textual here, so the CLI summary starts fast.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from shopassist.engine.stats import Stats
from shopassist.tui.render import bar, safe

SPARK = "▁▂▃▄▅▆▇█"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def sparkline(values: list[float]) -> str:
    """A text sparkline, scaled between the smallest and largest value."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(
        SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1)))] for v in values
    )


def overview_text(stats: Stats) -> Text:
    out = Text()
    rows = [
        ("Conversations", str(stats.conversations)),
        ("Turns", str(stats.turns)),
        ("Resolution rate", f"{pct(stats.resolution_rate)}  ({stats.resolved_conversations})"),
        ("Hand-off rate", f"{pct(stats.handoff_rate)}  ({stats.handoff_conversations})"),
        ("Suggestion acceptance", pct(stats.acceptance_rate)),
        (
            "",
            f"{stats.suggestions_accepted} acc · {stats.suggestions_edited} edit · "
            f"{stats.suggestions_rejected} rej",
        ),
        ("Intent corrections", str(stats.relabelled)),
        ("Latency p50 / p95", f"{ms(stats.latency_p50_ms)} / {ms(stats.latency_p95_ms)}"),
    ]
    for i, (label, value) in enumerate(rows):
        if i:
            out.append("\n")
        out.append(f"{label:<22}", "dim")
        out.append(value, "bold")
    if stats.channels:
        out.append(f"\n{'Channels':<22}", "dim")
        out.append(", ".join(f"{safe(k)} {v}" for k, v in sorted(stats.channels.items())))
    return out


def intents_text(stats: Stats, limit: int = 15) -> Text:
    if not stats.intents:
        return Text("no turns yet", "dim")
    out = Text()
    top = stats.intents[0].share or 1.0
    for i, item in enumerate(stats.intents[:limit]):
        if i:
            out.append("\n")
        out.append(f"{safe(item.intent, limit=22):<22} ")
        out.append(bar(item.share / top, 8), "cyan")
        out.append(f" {item.turns:>4} {item.share * 100:5.1f}%", "dim")
    if len(stats.intents) > limit:
        out.append(f"\n… {len(stats.intents) - limit} more", "dim")
    return out


def latency_text(stats: Stats) -> Text:
    out = Text()
    out.append("p50 ", "dim")
    out.append(ms(stats.latency_p50_ms), "bold")
    out.append("   p95 ", "dim")
    out.append(ms(stats.latency_p95_ms), "bold")
    if stats.latency_recent_ms:
        out.append(f"\nlast {len(stats.latency_recent_ms)} turns\n", "dim")
        out.append(sparkline(stats.latency_recent_ms), "green")
    return out


def sentiment_text(stats: Stats) -> Text:
    if not stats.sentiment_trend:
        return Text("no sentiment recorded", "dim")
    out = Text()
    for i, point in enumerate(stats.sentiment_trend):
        if i:
            out.append("\n")
        style = (
            "red" if point.mean_score < -0.15 else "green" if point.mean_score > 0.15 else "yellow"
        )
        out.append(f"{safe(point.label, limit=14):<14} ")
        # Centre line at 0: left half negative, right half positive.
        half = 6
        filled = round(abs(point.mean_score) * half)
        left = (" " * (half - filled) + "█" * filled) if point.mean_score < 0 else " " * half
        right = ("█" * filled).ljust(half) if point.mean_score > 0 else " " * half
        out.append(left, style)
        out.append("│", "dim")
        out.append(right, style)
        out.append(f" {point.mean_score:+.2f}  n={point.turns} neg={point.negative}", "dim")
    return out


def unanswered_table(stats: Stats) -> RenderableType:
    if not stats.unanswered:
        return Text("none: every question got an answer", "dim")
    table = Table(box=None, show_edge=False, pad_edge=False, expand=True)
    table.add_column("when", style="dim", no_wrap=True)
    table.add_column("session", style="cyan", no_wrap=True)
    table.add_column("message", ratio=1)
    table.add_column("why", style="yellow", no_wrap=True)
    for turn in stats.unanswered:
        why = "out_of_scope" if turn.intent == "out_of_scope" else safe(turn.action or "fallback")
        table.add_row(
            Text(safe(turn.created_at)[:16]),
            Text(f"{safe(turn.session_id, limit=14)}#{turn.turn_index}"),
            Text(safe(turn.text, limit=200).replace("\n", " ")),
            Text(why),
        )
    return table


def knowledge_gaps_table(stats: Stats) -> RenderableType:
    """What the shop's data could not answer, and the policy key or FAQ that would."""
    if not stats.knowledge_gaps:
        return Text("none: the shop's policies and help pages answered every question", "dim")
    table = Table(box=None, show_edge=False, pad_edge=False, expand=True)
    table.add_column("would answer it", style="cyan", no_wrap=True)
    table.add_column("asked", justify="right", no_wrap=True)
    table.add_column("latest questions", ratio=1)
    for gap in stats.knowledge_gaps:
        where = f"policy {gap.answer_key}" if gap.kind == "policy" else f"FAQ for {gap.answer_key}"
        table.add_row(
            Text(safe(where, limit=40)),
            Text(str(gap.asked)),
            Text(" · ".join(safe(q, limit=80).replace("\n", " ") for q in gap.questions)),
        )
    return table


def stats_summary(stats: Stats) -> RenderableType:
    """Everything, for printing to a terminal."""

    def heading(title: str) -> Text:
        return Text(f"\n{title}", "bold underline")

    return Group(
        Text("ShopAssist statistics", "bold"),
        overview_text(stats),
        heading("Intents"),
        intents_text(stats),
        heading("Turn latency"),
        latency_text(stats),
        heading("Sentiment trend"),
        sentiment_text(stats),
        heading("Unanswered questions"),
        unanswered_table(stats),
        heading("Knowledge gaps (add these to the policy file or FAQ)"),
        knowledge_gaps_table(stats),
    )
