"""Shop policy commands: ``import-policies FILE.toml`` and ``policies`` (what is set, what is not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shopassist.cli.app import DbOption, JsonOption, app, console, fail, open_kb, settings_from

PolicyFileArgument = Annotated[
    Path, typer.Argument(help="The shop's policy file (TOML; format in docs/policies.md).")
]


@app.command("import-policies")
def import_policies_command(
    file: PolicyFileArgument,
    db: DbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Load the shop's policies from a TOML file, replacing the stored ones in one transaction.

    Every key is optional; a key the file leaves out is unknown, and replies then say so and
    offer a colleague instead of guessing.
    """
    from shopassist.kb.policies import PolicyError, import_policies, set_and_missing

    kb = open_kb(settings_from(db=db))
    try:
        policy = import_policies(kb, file, dry_run=dry_run)
    except PolicyError as exc:
        fail(str(exc))
    set_, missing = set_and_missing(policy)
    if json_output:
        console.print_json(
            json.dumps(
                {"dry_run": dry_run, "file": str(file), "set": sorted(set_), "missing": missing},
                ensure_ascii=False,
            )
        )
        return
    verb = "Checked" if dry_run else "Imported"
    note = " (dry run: nothing written)" if dry_run else ""
    console.print(
        f"{verb} {escape(str(file))}: {len(set_)} policy keys set, {len(missing)} unknown{note}."
    )
    if missing:
        console.print(f"[dim]Unknown (replies will say so): {escape(', '.join(missing))}[/]")


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:99] + "…"


@app.command("policies")
def policies_command(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Show the shop's policies: every key that is set, and every key that is still unknown."""
    from shopassist.kb.db import get_meta
    from shopassist.kb.policies import POLICY_SOURCE_META_KEY, load_policy, set_and_missing

    kb = open_kb(settings_from(db=db))
    set_, missing = set_and_missing(load_policy(kb))
    source = get_meta(kb, POLICY_SOURCE_META_KEY)
    if json_output:
        console.print_json(
            json.dumps({"source": source, "set": set_, "missing": missing}, ensure_ascii=False)
        )
        return
    if not set_:
        console.print("No shop policies are set: every policy question is answered with")
        console.print('"I don\'t have that information" and an offer of a colleague.')
        console.print("Load them with: shopassist import-policies FILE.toml (docs/policies.md)")
    else:
        table = Table(title=f"Shop policies (from {escape(source or '?')})", show_lines=False)
        table.add_column("key", style="cyan", no_wrap=True)
        table.add_column("value")
        for key, value in set_.items():
            table.add_row(key, escape(_show(value)))
        console.print(table)
    if missing:
        console.print(f"\n[bold]Not set[/] ({len(missing)}):")
        console.print(escape(", ".join(missing)))
