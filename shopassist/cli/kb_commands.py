"""Knowledge-base commands: init, import-catalog, import-orders, import-faq, search."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from shopassist.cli.app import (
    DbOption,
    JsonOption,
    app,
    console,
    err_console,
    fail,
    open_kb,
    settings_from,
)

if TYPE_CHECKING:
    import sqlite_utils

    from shopassist.kb.importers.options import ImportOptions
    from shopassist.kb.importers.report import ImportReport
    from shopassist.kb.importers.source import CsvSource


@app.command()
def init(
    db: DbOption = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Fill it with the bundled demo catalog.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete an existing database file first.")
    ] = False,
) -> None:
    """Create a database (schema only, or with --demo the demo shop)."""
    from shopassist.kb.db import DatabaseError, inspect_database, open_db
    from shopassist.kb.demo import load_demo

    settings = settings_from(db=db)
    path = settings.db_path
    kind = inspect_database(path)
    # --force replaces ShopAssist databases only: anything else may be someone's data.
    refusals = {
        "directory": f"{path} is a directory, not a database file; name a file",
        "not_sqlite": f"{path} is not a SQLite database; ShopAssist will not delete it",
        "foreign": f"{path} is another program's SQLite database; ShopAssist will not delete it",
    }
    if kind in refusals:
        fail(refusals[kind])
    if kind != "missing":
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


# --- imports ------------------------------------------------------------------------------

ReplaceOption = Annotated[
    bool,
    typer.Option("--replace", help="Replace everything of this kind in one transaction."),
]
SkipInvalidOption = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Import the good rows; write the bad ones to <file>.rejected.csv beside the input.",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="Force the file encoding (default: detected)."),
]
DelimiterOption = Annotated[
    str | None,
    typer.Option("--delimiter", help="Force the delimiter: , tab ; | (default: detected)."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
FileArgument = Annotated[
    Path, typer.Argument(help="CSV or TSV file to import.", show_default=False)
]
_DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# Show a progress bar only when reading takes long enough to wonder.
_PROGRESS_MIN_BYTES = 2 * 1024 * 1024


@app.command("import-catalog")
def import_catalog_command(
    file: FileArgument,
    db: DbOption = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format", help="shopify, woocommerce or generic (default: detected from the header)."
        ),
    ] = None,
    map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=FIELD for a generic CSV, e.g. --map 'Nombre=title' (repeatable; "
            "FIELD may be 'spec' or 'ignore').",
        ),
    ] = None,
    replace: ReplaceOption = False,
    skip_invalid: SkipInvalidOption = False,
    dry_run: DryRunOption = False,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import products from a Shopify, WooCommerce or any other product CSV/TSV."""
    from shopassist.kb.importers.catalog import import_catalog
    from shopassist.kb.importers.options import ImportOptions

    options = ImportOptions(
        format=format.lower() if format else None,
        mapping=_parse_mapping(map or []),
        encoding=encoding,
        delimiter=_parse_delimiter(delimiter),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        replace=replace,
    )
    _run_import(
        "catalog",
        file,
        db,
        options,
        lambda kb, source: import_catalog(kb, file, options, source=source),
        json_output=json_output,
        quiet=quiet,
    )


@app.command("import-orders")
def import_orders_command(
    file: FileArgument,
    db: DbOption = None,
    map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=FIELD for a column the importer does not know, e.g. "
            "--map 'Pedido=number' (repeatable; FIELD may be 'ignore'; fields in "
            "docs/importing.md).",
        ),
    ] = None,
    replace: ReplaceOption = False,
    skip_invalid: SkipInvalidOption = False,
    dry_run: DryRunOption = False,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import customers, orders, items and shipments (Shopify orders export or generic CSV)."""
    from shopassist.kb.importers.orders import import_orders

    _import_without_mapping(
        "orders",
        import_orders,
        file,
        db,
        replace,
        skip_invalid,
        dry_run,
        encoding,
        delimiter,
        json_output=json_output,
        quiet=quiet,
        mapping=_parse_mapping(map or []),
    )


@app.command("import-faq")
def import_faq_command(
    file: FileArgument,
    db: DbOption = None,
    replace: ReplaceOption = False,
    skip_invalid: SkipInvalidOption = False,
    dry_run: DryRunOption = False,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import FAQ and policy entries (CSV: key, language, question, answer, intent, tags, kind)."""
    from shopassist.kb.importers.faq import import_faq

    _import_without_mapping(
        "faq",
        import_faq,
        file,
        db,
        replace,
        skip_invalid,
        dry_run,
        encoding,
        delimiter,
        json_output=json_output,
        quiet=quiet,
    )


def _import_without_mapping(
    kind: str,
    importer: Any,
    file: Path,
    db: Path | None,
    replace: bool,
    skip_invalid: bool,
    dry_run: bool,
    encoding: str | None,
    delimiter: str | None,
    *,
    json_output: bool,
    quiet: bool,
    mapping: dict[str, str] | None = None,
) -> None:
    """Orders and FAQs take the same options; only the catalog has --format (and orders
    share the catalog's --map)."""
    from shopassist.kb.importers.options import ImportOptions

    options = ImportOptions(
        mapping=mapping or {},
        encoding=encoding,
        delimiter=_parse_delimiter(delimiter),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        replace=replace,
    )
    _run_import(
        kind,
        file,
        db,
        options,
        lambda kb, source: importer(kb, file, options, source=source),
        json_output=json_output,
        quiet=quiet,
    )


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or not field.strip():
            fail(f"--map expects COLUMN=FIELD, got {pair!r}", code=2)
        mapping[column.strip()] = field.strip().lower()
    return mapping


def _parse_delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    value = _DELIMITER_WORDS.get(value.lower(), value)
    if len(value) != 1:
        fail(f"--delimiter must be one character (or 'tab'), got {value!r}", code=2)
    return value


def _run_import(
    kind: str,
    file: Path,
    db: Path | None,
    options: ImportOptions,
    run: Callable[[sqlite_utils.Database, CsvSource], ImportReport],
    *,
    json_output: bool,
    quiet: bool,
) -> None:
    """Shared by the three import commands: open, show progress, report, choose the exit code.

    Exit codes: 0 imported (or a clean dry run), 1 rows failed validation, 2 the file or the
    command line is unusable (missing file, binary, no usable columns, demo data present).
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from shopassist.kb.importers.source import ImportFileError, open_source
    from shopassist.kb.importers.transaction import DemoDataError

    try:
        source = open_source(file, encoding=options.encoding, delimiter=options.delimiter)
    except ImportFileError as exc:
        fail(str(exc), code=2)
    settings = settings_from(db=db)
    kb = open_kb(settings)
    show_progress = not quiet and err_console.is_terminal and source.size >= _PROGRESS_MIN_BYTES
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not show_progress,
    )
    task = progress.add_task(f"Importing {file.name}", total=source.size)
    source.on_progress = lambda done: progress.update(task, completed=done)
    try:
        with progress:
            report = run(kb, source)
    except (ImportFileError, DemoDataError) as exc:
        fail(str(exc), code=2)
    except sqlite3.OperationalError as exc:
        # e.g. another process held the write lock past the busy timeout.
        fail(f"the database could not be written ({exc}); nothing was imported", code=1)
    finally:
        kb.conn.close()
    failed = report.rejected > 0 and not options.skip_invalid
    if json_output:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_report(report, failed=failed)
    if failed:
        raise typer.Exit(1)


def _print_report(report: ImportReport, *, failed: bool) -> None:
    for error in sorted(report.errors, key=lambda e: e.line):
        err_console.print(f"  {error}", highlight=False, markup=False, soft_wrap=True)
    if report.unlisted_errors:
        err_console.print(f"  … and {report.unlisted_errors} more rejected rows", highlight=False)
    if failed:
        err_console.print(
            f"[bold red]Nothing imported:[/] {report.rejected} of {report.rows} rows have errors. "
            "Fix them, or pass --skip-invalid to import the good rows.",
            highlight=False,
            soft_wrap=True,
        )
        return
    verb = "Dry run of" if report.dry_run else "Imported"
    console.print(
        f"{verb} {report.kind} from {report.path.name} "
        f"({report.format}, {report.encoding}, {report.delimiter}):",
        highlight=False,
        soft_wrap=True,
    )
    for note in report.notes:
        console.print(f"Note: {note}", highlight=False, markup=False, soft_wrap=True)
    shown = [k for k in report.counts if k not in ("variants_created", "variants_updated")]
    table = Table()
    for name in [*shown, "rejected"]:
        table.add_column(name.replace("_", " "), justify="right")
    table.add_row(*(str(report.counts[k]) for k in shown), str(report.rejected))
    console.print(table)
    if report.rejected_path is not None:
        console.print(
            f"Rejected rows written to {report.rejected_path}", highlight=False, soft_wrap=True
        )
    if report.dry_run:
        console.print("Dry run: nothing was written.")
