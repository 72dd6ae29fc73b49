"""Understanding commands: ``nlu`` (one message or a JSONL stream), ``train`` and
``eval nlu``. They call the engine's NLU surface only and format its results.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
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
    eval_app,
    fail,
    settings_from,
)

if TYPE_CHECKING:
    from shopassist.config import Settings
    from shopassist.engine.nlu.evaluation import EvalReport, OOSReport
    from shopassist.engine.nlu.intent_model import TrainingReport
    from shopassist.engine.nlu.result import NLUResult
    from shopassist.engine.nlu.understand import Understander

TodayOption = Annotated[
    str | None,
    typer.Option("--today", help="Reference date for relative dates (YYYY-MM-DD; default today)."),
]


def _parse_today(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--today must be a date like 2026-11-03, not {value!r}", code=2)


def _load_understander(settings: Settings, explicit_db: bool) -> Understander:
    """The understander, with the catalog of the configured database when there is one.

    Unlike chat, ``nlu`` never creates a database: without one it simply has no
    product gazetteer.
    """
    from shopassist.engine.nlu.understand import Understander
    from shopassist.kb.db import DatabaseError, open_db

    db = None
    path = settings.db_path
    if path.exists():
        try:
            db = open_db(path, create=False)
        except DatabaseError as exc:
            fail(str(exc))
    elif explicit_db:
        fail(f"database {path} does not exist (create it with `shopassist init`)")
    try:
        return Understander.load(db, settings)
    except ValueError as exc:
        fail(f"cannot build the intent model: {exc}")


def result_json(result: NLUResult) -> dict[str, Any]:
    """The documented one-line JSON shape (built by hand: it is the hot path of --jsonl)."""
    return {
        "text": result.text,
        "language": result.language,
        "intent": {"name": result.intent.name, "confidence": result.intent.confidence},
        "ranking": [{"name": s.name, "confidence": s.confidence} for s in result.ranking],
        "entities": [
            {
                "type": e.type,
                "value": e.value,
                "start": e.start,
                "end": e.end,
                "text": e.text,
                "confidence": e.confidence,
                **({"meta": e.meta} if e.meta else {}),
            }
            for e in result.entities
        ],
        "sentiment": {
            "label": result.sentiment.label,
            "score": result.sentiment.score,
            "frustrated": result.sentiment.frustrated,
        },
        "clarify": result.clarify,
    }


def _print_result(result: NLUResult) -> None:
    from rich.markup import escape

    intent = result.intent
    head = f"[bold]{escape(intent.name)}[/] ({intent.confidence:.2f})"
    if result.clarify:
        head += f"  [yellow]clarify: {escape(' or '.join(result.clarify))}[/]"
    console.print(f"Intent:    {head}")
    console.print(f"Language:  {result.language}")
    s = result.sentiment
    colour = {"negative": "red", "positive": "green"}.get(s.label, "white")
    frustrated = "  [bold red]frustrated[/]" if s.frustrated else ""
    console.print(f"Sentiment: [{colour}]{s.label}[/] ({s.score:+.2f}){frustrated}")
    ranking = Table(title="Top intents", show_edge=False, title_justify="left")
    ranking.add_column("intent")
    ranking.add_column("confidence", justify="right")
    for score in result.ranking[:3]:
        ranking.add_row(escape(score.name), f"{score.confidence:.3f}")
    console.print(ranking)
    if result.entities:
        table = Table(title="Entities", show_edge=False, title_justify="left")
        for col in ("type", "text", "value", "span", "conf"):
            table.add_column(col)
        for e in result.entities:
            value = (
                json.dumps(e.value, ensure_ascii=False) if not isinstance(e.value, str) else e.value
            )
            table.add_row(
                e.type, escape(e.text), escape(value), f"{e.start}:{e.end}", f"{e.confidence:.2f}"
            )
        console.print(table)
    else:
        console.print("Entities:  [dim]none[/]")


def _jsonl(understander: Understander, today: dt.date | None) -> None:
    """One JSON object per stdin line; a bad line yields an error object, never a crash."""
    write = sys.stdout.write
    interactive = sys.stdin.isatty()
    dumps = json.dumps
    stream = getattr(sys.stdin, "buffer", None)
    lines = (
        (raw.decode("utf-8", errors="replace") for raw in stream)
        if stream is not None
        else sys.stdin
    )
    for number, raw_line in enumerate(lines, start=1):
        line = raw_line.rstrip("\r\n")
        text: Any = line
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                write(
                    dumps(
                        {"line": number, "error": f"invalid JSON: {exc.msg} at column {exc.colno}"}
                    )
                    + "\n"
                )
                continue
            text = obj.get("text") if isinstance(obj, dict) else None
            if not isinstance(text, str):
                write(
                    dumps({"line": number, "error": 'a JSON line needs a string "text" field'})
                    + "\n"
                )
                continue
        result = understander.understand(text, today=today)
        write(dumps(result_json(result), ensure_ascii=False) + "\n")
        if interactive:
            sys.stdout.flush()
    sys.stdout.flush()


@app.command()
def nlu(
    text: Annotated[str | None, typer.Argument(help="The message to understand.")] = None,
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl", help='Read messages from stdin (text or {"text": ...}), one per line.'
        ),
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
    today: TodayOption = None,
) -> None:
    """Show how a message is understood: intent, top-3, entities, sentiment, language."""
    if text is None and not jsonl:
        fail('give a message (shopassist nlu "where is my order 10023") or use --jsonl', code=2)
    if text is not None and jsonl:
        fail("give either a message or --jsonl, not both", code=2)
    settings = settings_from(db=db)
    reference = _parse_today(today)
    understander = _load_understander(settings, explicit_db=db is not None)
    if jsonl:
        _jsonl(understander, reference)
        return
    result = understander.understand(text, today=reference)
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        _print_result(result)


def _print_training(report: TrainingReport | None, path: Path | None) -> None:
    if report is None:
        console.print("The model is up to date with the training data (nothing to retrain).")
        return
    langs = ", ".join(f"{k} {v:.3f}" for k, v in sorted(report.per_language.items()))
    console.print(
        f"Trained on [bold]{report.n_examples}[/] examples, {report.n_intents} intents, "
        f"in [bold]{report.seconds:.1f} s[/]."
    )
    console.print(
        f"Held-out accuracy: [bold]{report.heldout_accuracy:.3f}[/] on {report.heldout_size} "
        f"examples ({langs}); temperature {report.temperature:.3f}."
    )
    if path is not None:
        console.print(f"[dim]Model saved under {path}[/]")


@app.command()
def train(
    add: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--add", metavar="TEXT INTENT", help="Append one labelled example, then retrain."
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language", help="Language of the --add example (en or zh; default: detected)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Retrain the intent classifier and report held-out accuracy and timing."""
    from shopassist.engine.nlu.intent_model import load_or_train, models_dir
    from shopassist.engine.nlu.training_data import TrainingDataError, add_training_example

    added: Path | None = None
    if add is not None and add[0] is not None:
        example, intent = add
        try:
            added = add_training_example(example, intent, language)
        except TrainingDataError as exc:
            fail(str(exc), code=2)
        if not as_json:
            console.print(f"Added to {added}")
    try:
        _model, report = load_or_train(force=True)
    except ValueError as exc:
        fail(f"cannot train: {exc}")
    if as_json:
        payload: dict[str, Any] = {"added_to": str(added) if added else None}
        if report is not None:
            payload.update(report.__dict__)
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_training(report, models_dir())


def _abbreviate(name: str, width: int = 7) -> str:
    parts = name.split("_")
    if len(name) <= width:
        return name
    if len(parts) == 1:
        return name[:width]
    each = max(1, (width - len(parts) + 1) // len(parts))
    return "_".join(p[:each] for p in parts)[:width]


def _confusion_table(report: EvalReport) -> Table:
    """Only the labels involved in at least one error; abbreviated column headers."""
    labels = report.labels
    involved = sorted(
        {g for g, _p, _c in report.confusions} | {p for _g, p, _c in report.confusions}
        | {labels[i] for i in range(len(labels)) for j in range(len(labels)) if i != j and report.matrix[i][j]}
    )  # fmt: skip
    index = {name: i for i, name in enumerate(labels)}
    table = Table(title="Confusion matrix (rows: expected, columns: predicted; labels with errors only)",
                  title_justify="left", show_edge=False, pad_edge=False)  # fmt: skip
    table.add_column("expected \\ predicted")
    for name in involved:
        table.add_column(_abbreviate(name), justify="right")
    for row_name in involved:
        cells = []
        for col_name in involved:
            n = report.matrix[index[row_name]][index[col_name]]
            if n == 0:
                cells.append("[dim]·[/]")
            elif row_name == col_name:
                cells.append(f"[green]{n}[/]")
            else:
                cells.append(f"[bold red]{n}[/]")
        table.add_row(row_name, *cells)
    return table


def _print_eval(report: EvalReport, path: Path) -> None:
    from rich.markup import escape

    rate = report.n / report.seconds if report.seconds else 0.0
    console.print(
        f"[bold]{path.name}[/]: {report.n} utterances"
        + (
            f" ({report.duplicates_dropped} duplicate rows merged)"
            if report.duplicates_dropped
            else ""
        )
        + f", {rate:,.0f}/s"
    )
    console.print(
        f"Accuracy: [bold]{report.accuracy:.3f}[/]   Macro-F1: [bold]{report.macro_f1:.3f}[/]"
    )
    table = Table(title="Per intent", title_justify="left", show_edge=False)
    for col in ("intent", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "intent" else "right")
    for m in report.per_intent:
        style = "" if m.f1 >= 0.9 or m.support == 0 else "yellow"
        table.add_row(
            m.intent,
            f"{m.precision:.2f}",
            f"{m.recall:.2f}",
            f"{m.f1:.2f}",
            str(m.support),
            style=style,
        )
    console.print(table)
    if report.confusions:
        console.print("[bold]Top confusions[/] (expected → predicted):")
        for g, p, c in report.confusions[:10]:
            console.print(f"  {c:3d}  {g} → {p}")
        console.print(_confusion_table(report))
    if report.misclassified:
        console.print("[bold]Misclassified[/]:")
        for miss in report.misclassified:
            console.print(
                f"  [dim]{escape(miss['expected'])} → {escape(miss['predicted'])} "
                f"({miss['confidence']:.2f})[/]  {escape(miss['text'])}"
            )
    for e in report.entities:
        console.print(
            f"Entity {e.entity_type}: exact span match [bold]{e.exact}/{e.total}[/] = {e.exact_match:.3f}"
        )
        for entity_miss in e.misses[:5]:
            console.print(
                f"  [dim]expected {escape(entity_miss['expected'])}, found {entity_miss['found']}[/]  "
                f"{escape(entity_miss['text'])}"
            )


def _print_oos(report: OOSReport, path: Path) -> None:
    from rich.markup import escape

    console.print(
        f"[bold]{path.name}[/]: rejected [bold]{report.rejected}/{report.n}[/] as out_of_scope"
    )
    for item in report.accepted:
        clar = f" clarify {item['clarify']}" if item["clarify"] else ""
        console.print(
            f"  [dim]{escape(item['predicted'])} ({item['confidence']:.2f}){escape(clar)}[/]  {escape(item['text'])}"
        )


@eval_app.command("nlu")
def eval_nlu(
    file: Annotated[Path, typer.Argument(help="Labelled CSV (or, with --oos, plain lines).")],
    text_col: Annotated[
        str, typer.Option("--text-col", help="CSV column with the message.")
    ] = "text",
    label_col: Annotated[
        str, typer.Option("--label-col", help="CSV column with the intent.")
    ] = "intent",
    oos: Annotated[
        bool,
        typer.Option("--oos", help="FILE has one message per line, all expected out_of_scope."),
    ] = False,
    show: Annotated[
        int, typer.Option("--show", help="How many misclassified examples to list.")
    ] = 25,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Intent accuracy, macro-F1, per-intent P/R/F1, confusions and entity spans on labelled data."""
    from shopassist.engine.nlu.evaluation import (
        EvaluationError,
        evaluate,
        evaluate_oos,
        read_labelled_csv,
        read_lines,
    )

    if not file.is_file():
        fail(f"{file} is not a file")
    settings = settings_from(db=db)
    started = time.perf_counter()
    try:
        if oos:
            lines = read_lines(file)
            understander = _load_understander(settings, explicit_db=db is not None)
            oos_report = evaluate_oos(understander, lines)
            if as_json:
                typer.echo(json.dumps(oos_report.as_dict(), ensure_ascii=False, indent=2))
            else:
                _print_oos(oos_report, file)
            return
        rows, duplicates = read_labelled_csv(file, text_col, label_col)
        understander = _load_understander(settings, explicit_db=db is not None)
        report = evaluate(understander, rows, max_misclassified=show)
        report.duplicates_dropped = duplicates
    except EvaluationError as exc:
        fail(str(exc), code=2)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_eval(report, file)
        err_console.print(f"[dim]done in {time.perf_counter() - started:.1f} s[/]")
