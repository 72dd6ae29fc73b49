"""The typer app, shared options and the helpers every command uses.

Command modules import their heavy dependencies inside the command functions, so
``shopassist --help`` and quick commands start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import sqlite_utils
import typer
from rich.console import Console
from rich.markup import escape

from shopassist.config import ConfigError, Settings, load_settings

app = typer.Typer(
    name="shopassist",
    help="A local e-commerce customer-service assistant with a grounded LLM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Evaluate understanding and dialogues on labelled data.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite database file (default: user data dir; env SHOPASSIST_DB)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ModelOption = Annotated[
    Path | None, typer.Option("--model", help="Path to a GGUF model (default: bundled SmolLM2).")
]
LoraOption = Annotated[
    Path | None,
    typer.Option(
        "--lora",
        help="LoRA adapter (GGUF) for the model (docs/fine-tuning.md; env SHOPASSIST_LLM_LORA).",
    ),
]
LlmUrlOption = Annotated[
    str | None, typer.Option("--llm-url", help="Base URL of an OpenAI-compatible server.")
]
NoLlmOption = Annotated[
    bool, typer.Option("--no-llm", help="Template replies only; load no model.")
]
CustomerOption = Annotated[
    str | None, typer.Option("--customer", help="Bind the conversation to a customer id or email.")
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a specific error to stderr and exit non-zero."""
    # The message may quote user input ("[/]" in a query): escape it, or Rich would parse it.
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def settings_from(**flags: object) -> Settings:
    try:
        return load_settings(**flags)
    except ConfigError as exc:
        fail(str(exc), code=2)


def open_kb(settings: Settings) -> sqlite_utils.Database:
    """Open the configured database.

    The default database is created with the demo data on first use, so the first
    ``shopassist chat`` just works. A database named with ``--db`` that does not exist
    starts empty: a shop importing its own catalog must never find demo products in it.
    """
    from shopassist.kb.db import DatabaseError, open_db

    path = settings.db_path
    first_use = not path.exists()
    try:
        db = open_db(path)
    except DatabaseError as exc:
        fail(str(exc))
    if first_use and settings.uses_default_db:
        from shopassist.kb.demo import DemoCatalogError, load_demo

        err_console.print(f"[dim]First run: creating {path} with the demo catalog…[/]")
        try:
            load_demo(db)
        except DemoCatalogError as exc:
            db.conn.close()
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            fail(f"cannot load the demo catalog: {exc}")
    return db
