"""The stats screen and ``shopassist stats`` on a database with inserted rows."""

from __future__ import annotations

import io
import json
from pathlib import Path

import sqlite_utils
from rich.console import Console
from textual.widgets import Sparkline, Static
from typer.testing import CliRunner

from shopassist.cli import app as cli_app
from shopassist.kb.db import open_db
from shopassist.tui.stats_app import StatsApp
from shopassist.tui.stats_view import sparkline, unanswered_table


def fill(db: sqlite_utils.Database) -> None:
    db["conversations"].insert_all(
        [
            {"id": "a", "handoff": 0, "channel": "chat"},
            {"id": "b", "handoff": 1, "channel": "assist"},
        ]
    )
    rows = [
        ("a", 0, "track_order", 12.0, 1, None, "where is \x1b[31mmy\x1b[0m order"),
        ("a", 1, "out_of_scope", 8.0, 0, None, "what's the weather [bold]today[/bold]"),
        ("b", 0, "contact_human_agent", 30.0, 0, "handoff", "human please"),
    ]
    for cid, idx, intent, latency, resolved, action, text in rows:
        db["turns"].insert(
            {
                "conversation_id": cid,
                "idx": idx,
                "user_text": text,
                "reply": "ok",
                "intent": intent,
                "latency_ms": latency,
                "resolved": resolved,
                "action": action,
                "sentiment_score": -0.5 if cid == "b" else 0.2,
                "sentiment": "negative" if cid == "b" else "neutral",
            }
        )
    db["feedback"].insert_all(
        [
            {"conversation_id": "b", "kind": "accepted"},
            {"conversation_id": "b", "kind": "rejected"},
        ]
    )


async def test_stats_screen_shows_every_figure(db: sqlite_utils.Database) -> None:
    fill(db)
    app = StatsApp(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen

        def text(panel: str) -> str:
            return str(screen.query_one(f"#{panel}", Static).render())

        overview = text("stats-overview")
        assert "Conversations" in overview and "50.0%" in overview  # resolution and hand-off
        assert "1 acc" in overview and "1 rej" in overview
        assert "track_order" in text("stats-intents")
        assert "p95" in text("stats-latency")
        assert screen.query_one(Sparkline).data == [12.0, 8.0, 30.0]
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(unanswered_table(screen.stats))  # type: ignore[attr-defined]
        unanswered = console.export_text()
        assert "weather [bold]today[/bold]" in unanswered  # shown literally, not as markup
        assert "\x1b" not in unanswered
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_stats_cli_json_and_summary(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    fill(open_db(path))
    runner = CliRunner()
    result = runner.invoke(cli_app, ["stats", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["conversations"] == 2 and data["handoff_rate"] == 0.5
    assert data["acceptance_rate"] == 0.5
    assert [u["intent"] for u in data["unanswered"]] == ["out_of_scope"]
    result = runner.invoke(cli_app, ["stats", "--db", str(path)])
    assert result.exit_code == 0
    assert "Resolution rate" in result.output and "Unanswered questions" in result.output
    assert "\x1b[31m" not in result.output
    result = runner.invoke(cli_app, ["stats", "--db", str(path), "--channel", "assist", "--json"])
    assert json.loads(result.output)["conversations"] == 1


def test_stats_cli_rejects_unknown_channel(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app, ["stats", "--db", str(tmp_path / "x.db"), "--channel", "fax"]
    )
    assert result.exit_code == 1
    assert "unknown channel" in result.output


def test_tui_commands_have_help() -> None:
    runner = CliRunner()
    for command in ("chat", "assist", "stats"):
        result = runner.invoke(cli_app, [command, "--help"])
        assert result.exit_code == 0
        assert "--db" in result.output


def test_assist_cli_reports_empty_replay(tmp_path: Path) -> None:
    replay = tmp_path / "r.jsonl"
    replay.write_text('{"nope": 1}\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli_app, ["assist", "--replay", str(replay), "--db", str(tmp_path / "x.db"), "--no-llm"]
    )
    assert result.exit_code == 1
    assert "no customer lines" in result.output and "line 1" in result.output


def test_chat_cli_rejects_missing_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app, ["chat", "--db", str(tmp_path / "x.db"), "--model", str(tmp_path / "none.gguf")]
    )
    assert result.exit_code == 1
    assert "does not exist" in " ".join(result.output.split())


def test_text_sparkline_scales() -> None:
    assert sparkline([1, 2, 3]) == "▁▄█"
    assert sparkline([5, 5]) == "▁▁"
    assert sparkline([]) == ""
