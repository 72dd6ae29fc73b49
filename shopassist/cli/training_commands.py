"""``shopassist export-training``: fine-tuning data from the shop's own stored turns."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from shopassist.cli.app import DbOption, JsonOption, app, console, fail, open_kb, settings_from


@app.command("export-training")
def export_training(
    file: Annotated[
        Path, typer.Argument(help="Where to write the examples (JSON Lines, one chat per line).")
    ],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only turns stored on or after this date (YYYY-MM-DD)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write chat-format fine-tuning examples (system prompt, facts, draft -> accepted reply).

    PII is masked; rejected model replies are left out. See docs/fine-tuning.md.
    """
    import json

    from shopassist.engine.training_export import training_examples, write_jsonl

    start: date | None = None
    if since is not None:
        try:
            start = date.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not a date (use YYYY-MM-DD)", code=2)
    if file.exists() and file.is_dir():
        fail(f"{file} is a directory", code=2)
    if not file.parent.exists():
        fail(f"directory {file.parent} does not exist", code=2)
    settings = settings_from(db=db)
    kb = open_kb(settings)
    try:
        examples, stats = training_examples(kb, start)
    finally:
        kb.conn.close()
    try:
        write_jsonl(file, examples)
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror or exc}")
    if as_json:
        typer.echo(json.dumps({"file": str(file), **stats.__dict__}, ensure_ascii=False))
        return
    console.print(
        f"Wrote {stats.written} example(s) to {file} "
        f"({stats.staff_edits} staff edits, {stats.accepted_model_replies} accepted replies); "
        f"left out: {stats.skipped_unchanged} unchanged, {stats.skipped_rejected} rejected by "
        f"staff, {stats.skipped_no_draft} whose draft is not stored (turns from before drafts "
        "were kept).",
        highlight=False,
    )
