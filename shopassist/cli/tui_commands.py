"""Interactive commands: ``chat`` and ``assist`` (Textual apps) and ``stats``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import sqlite_utils
import typer

from shopassist.cli.app import (
    CustomerOption,
    DbOption,
    JsonOption,
    LlmUrlOption,
    LoraOption,
    ModelOption,
    NoLlmOption,
    app,
    console,
    fail,
    open_kb,
    settings_from,
)

if TYPE_CHECKING:
    from shopassist.config import Settings

SessionOption = Annotated[
    str | None, typer.Option("--session", help="Resume (or start) the conversation with this id.")
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Resume the most recent conversation of this kind.")
]


def _llm_loader(settings: Settings) -> Any:
    """Build and load the configured backend; runs in the app's worker thread."""

    def load() -> tuple[Any, str]:
        from shopassist.engine.llm.factory import choose_backend

        choice = choose_backend(settings)
        backend = choice.backend
        if backend is not None and hasattr(backend, "load"):
            backend.load()  # the slow part: reading the GGUF
        return backend, choice.reason

    return load


def _check_llm_flags(settings: Settings) -> None:
    """Catch a wrong --model before the UI starts, so the error is a plain message."""
    if settings.no_llm or settings.llm_url:
        return
    if settings.model is not None and not Path(settings.model).is_file():
        fail(f"model file {settings.model} does not exist")


def _assistant_factory(settings: Settings) -> Any:
    kb = open_kb(settings)  # quick, and creates the demo db on first use with a message

    def open_assistant() -> Any:
        from shopassist.engine.assistant import Assistant

        return Assistant.open(settings, db=kb, llm=None)

    return open_assistant


def _app_options(settings: Settings) -> dict[str, Any]:
    """What chat and assist both take from the settings: engine, model loader, keymap."""
    return {
        "open_assistant": _assistant_factory(settings),
        "load_llm": _llm_loader(settings),
        "autoload_llm": not settings.no_llm,
        "keymap": settings.keymap,
    }


@app.command()
def chat(
    customer: CustomerOption = None,
    session: SessionOption = None,
    resume: ResumeOption = False,
    db: DbOption = None,
    model: ModelOption = None,
    lora: LoraOption = None,
    llm_url: LlmUrlOption = None,
    no_llm: NoLlmOption = False,
) -> None:
    """Chat with the assistant in a terminal UI, with live insight into every turn."""
    from shopassist.tui.chat_app import ChatApp

    settings = settings_from(
        db=db, model=model, llm_lora=lora, llm_url=llm_url, no_llm=no_llm or None
    )
    _check_llm_flags(settings)
    ChatApp(
        **_app_options(settings),
        customer=customer,
        session_id=session,
        resume_last=resume,
    ).run()


@app.command()
def assist(
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help='JSONL of customer lines ({"text": ...} or plain strings).'),
    ] = None,
    customer: CustomerOption = None,
    session: SessionOption = None,
    live: Annotated[
        bool, typer.Option("--live", help="Answer web conversations from `shopassist serve`.")
    ] = False,
    db: DbOption = None,
    model: ModelOption = None,
    llm_url: LlmUrlOption = None,
    no_llm: NoLlmOption = False,
) -> None:
    """Agent-assist mode: ranked reply suggestions for a human staff member."""
    from shopassist.tui.assist_app import AssistApp, load_replay

    settings = settings_from(db=db, model=model, llm_url=llm_url, no_llm=no_llm or None)
    _check_llm_flags(settings)
    lines: list[str] | None = None
    problems: list[str] = []
    if replay is not None:
        try:
            lines, problems = load_replay(replay)
        except OSError as exc:
            fail(f"cannot read {replay}: {exc.strerror or exc}")
        if not lines:
            fail(f"{replay} has no customer lines" + (f" ({problems[0]})" if problems else ""))
    AssistApp(
        **_app_options(settings),
        customer=customer,
        session_id=session,
        replay=lines,
        replay_problems=problems,
        live=live,
    ).run()


def _stats_fail(message: str, as_json: bool, code: int = 1) -> NoReturn:
    """With --json an error is a JSON object on stdout, like converse's error lines."""
    if not as_json:
        fail(message, code)
    typer.echo(json.dumps({"error": message}, ensure_ascii=False))
    raise typer.Exit(code)


def _open_kb_json(db: Path | None) -> sqlite_utils.Database:
    """``open_kb`` for --json: the same database, its errors as JSON."""
    from shopassist.config import ConfigError, load_settings
    from shopassist.kb.db import DatabaseError, open_db

    try:
        settings = load_settings(db=db)
    except ConfigError as exc:
        _stats_fail(str(exc), True, code=2)
    if settings.uses_default_db and not settings.db_path.exists():
        return open_kb(settings)  # first run: creates the demo database
    try:
        return open_db(settings.db_path)
    except DatabaseError as exc:
        _stats_fail(str(exc), True)


@app.command()
def stats(
    db: DbOption = None,
    as_json: JsonOption = False,
    tui: Annotated[
        bool, typer.Option("--tui", help="Open the interactive statistics screen.")
    ] = False,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="Only 'chat', 'assist', 'api' or 'web' conversations."),
    ] = None,
) -> None:
    """Resolution, hand-off and acceptance rates, intents, latency, sentiment, unanswered questions."""
    from shopassist.engine.stats import compute_stats

    if channel is not None and channel not in ("chat", "assist", "api", "web"):
        _stats_fail(f"unknown channel {channel!r}: use chat, assist, api or web", as_json)
    kb = _open_kb_json(db) if as_json else open_kb(settings_from(db=db))
    if tui:
        from shopassist.tui.stats_app import StatsApp

        StatsApp(kb, channel=channel).run()
        return
    try:
        result = compute_stats(kb, channel=channel)
    except sqlite3.Error as exc:
        _stats_fail(f"cannot read the statistics: {exc}", as_json)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    from shopassist.tui.stats_view import stats_summary

    console.print(stats_summary(result))
