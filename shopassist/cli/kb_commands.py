"""Knowledge-base commands: init, import-catalog, import-orders, import-faq, search."""

from __future__ import annotations

from typing import Annotated

import typer

from shopassist.cli.app import DbOption, app, console, fail, settings_from


@app.command()
def init(
    db: DbOption = None,
    demo: Annotated[bool, typer.Option("--demo", help="Fill it with the bundled demo catalog.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete an existing database file first.")
    ] = False,
) -> None:
    """Create a database (schema only, or with --demo the demo shop)."""
    from shopassist.kb.db import DatabaseError, open_db
    from shopassist.kb.demo import load_demo

    settings = settings_from(db=db)
    path = settings.db_path
    if path.exists():
        if not force:
            fail(f"{path} already exists; pass --force to recreate it")
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    try:
        kb = open_db(path)
    except DatabaseError as exc:
        fail(str(exc))
    if demo:
        counts = load_demo(kb)
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        console.print(f"Created {path} with the demo shop: {summary}.")
    else:
        console.print(f"Created empty database {path}.")
