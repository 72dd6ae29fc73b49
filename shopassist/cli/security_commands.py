"""Staff commands for verification locks: ``locks`` lists them, ``unlock`` clears one.

A lock is the count of failed ownership checks (docs/security.md). Clearing keeps the
rows, stamped with when they were cleared, as the audit trail.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from shopassist.cli.app import DbOption, JsonOption, app, console, fail, open_kb, settings_from


def _iso(at: datetime) -> str:
    return at.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@app.command("locks")
def locks_command(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List conversations, orders and customers with uncleared failed verification attempts."""
    from shopassist.kb.verification import list_failures

    settings = settings_from(db=db)
    kb = open_kb(settings)
    # Every uncleared attempt is listed (a conversation's count for good, an order's or a
    # customer's within the window the assistant applies on its own clock).
    rows = list_failures(kb)
    for row in rows:
        limit = (
            settings.verification_max_failures
            if row["kind"] == "conversation"
            else settings.verification_max_target_failures
        )
        row["locked"] = row["failures"] >= limit
    if json_out:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        console.print("No failed verification attempts.")
        return
    table = Table("kind", "target", "failures", "last attempt", "locked")
    for row in rows:
        table.add_row(
            row["kind"],
            str(row["target"]),
            str(row["failures"]),
            str(row["last_at"]),
            "yes" if row["locked"] else "no",
        )
    console.print(table)


@app.command("unlock")
def unlock_command(
    session: Annotated[
        str | None, typer.Option("--session", help="Clear a conversation's lock.")
    ] = None,
    order: Annotated[str | None, typer.Option("--order", help="Clear an order's lock.")] = None,
    customer: Annotated[
        str | None,
        typer.Option("--customer", help="Clear a customer's lock (customer id or email)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Clear failed verification attempts so a conversation, order or customer can verify again."""
    from shopassist.kb import customers, orders
    from shopassist.kb.verification import clear_failures

    if session is None and order is None and customer is None:
        fail("name what to unlock: --session ID, --order NUMBER or --customer ID|EMAIL", code=2)
    settings = settings_from(db=db)
    kb = open_kb(settings)
    customer_id = None
    if customer is not None:
        found = customers.find_customer(kb, customer)
        if found is None:
            fail(f"no customer {customer!r}: give a customer id or the email on the account")
        customer_id = int(found["id"])
    cleared = clear_failures(
        kb,
        at=_iso(datetime.now(UTC)),
        conversation_id=session,
        order_number=orders.normalise_order_number(order) if order is not None else None,
        customer_id=customer_id,
    )
    console.print(f"Cleared {cleared} failed verification attempt(s).")
