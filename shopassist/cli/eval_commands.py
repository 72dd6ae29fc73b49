"""Commands: ``eval dialogues`` runs the scripted conversation suite and reports its metrics.

The numbers come from ``shopassist.engine.dialogue_eval``; this module only picks the
database and the LLM, prints, and sets the exit code.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shopassist.cli.app import (
    JsonOption,
    LlmUrlOption,
    LoraOption,
    ModelOption,
    NoLlmOption,
    console,
    err_console,
    eval_app,
    fail,
    settings_from,
)

if TYPE_CHECKING:
    from shopassist.config import Settings
    from shopassist.engine.dialogue_eval import ConversationOutcome, EvalReport, Suite


def _backend(settings: Settings) -> tuple[Any, str]:
    """The LLM the settings describe (None with --no-llm), and a label for the report."""
    if settings.no_llm:
        return None, "template"
    try:
        from shopassist.engine.llm import LLMError, ModelNotFoundError, backend_from_settings
    except ImportError as exc:  # pragma: no cover - the LLM package is part of the install
        fail(f"cannot load the LLM support: {exc} (use --no-llm)")
    try:
        backend = backend_from_settings(settings)
    except (LLMError, ModelNotFoundError) as exc:
        fail(f"cannot start the LLM: {exc} (use --no-llm for template replies)")
    if backend is None:
        return None, "template"
    label = settings.llm_url or (str(settings.model) if settings.model else "bundled model")
    return backend, f"llm ({label})"


def _run(
    suite: Suite,
    settings: Settings,
    template_db: Path,
    backend: Any,
    mode: str,
    only: list[str] | None,
    verbose: bool,
    quiet: bool,
) -> EvalReport:
    from shopassist.engine.dialogue_eval import DialogueEvaluator

    def progress(outcome: ConversationOutcome) -> None:
        if quiet:
            return
        mark = "[green]pass[/]" if outcome.passed else "[red]FAIL[/]"
        err_console.print(f"  {mark} {escape(outcome.id)}", highlight=False)
        if verbose:
            for turn in outcome.turns:
                err_console.print(
                    f"      [dim]{turn.index + 1}> {escape(turn.user)}\n"
                    f"         {turn.intent} ({turn.confidence:.2f}) · {turn.action or '-'} · "
                    f"{turn.provenance} · {turn.latency_ms:.1f} ms[/]\n"
                    f"         {escape(turn.reply)}",
                    markup=True,
                    highlight=False,
                )

    if not quiet:
        err_console.print(f"[bold]Running {len(suite.conversations)} conversations ({mode})…[/]")
    with DialogueEvaluator(settings, template_db, backend=backend, mode=mode) as evaluator:
        return evaluator.run(suite, only=only, on_conversation=progress)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _metrics_table(reports: list[EvalReport]) -> Table:
    table = Table(title="Dialogue evaluation", title_justify="left")
    table.add_column("metric")
    for report in reports:
        table.add_column(report.mode, justify="right")
    rows: list[tuple[str, list[str]]] = [
        (
            "conversations / turns",
            [f"{r.metrics.conversations} / {r.metrics.turns}" for r in reports],
        ),
        (
            "task success",
            [f"{_pct(r.metrics.task_success_rate)} ({r.metrics.succeeded})" for r in reports],
        ),
        ("auto-resolution", [_pct(r.metrics.auto_resolution_rate) for r in reports]),
        ("hand-off rate", [_pct(r.metrics.handoff_rate) for r in reports]),
        ("grounding violations", [str(r.metrics.grounding_violations) for r in reports]),
        (
            "access-control leaks",
            [
                f"{r.metrics.access_leaks} ({r.metrics.attacker_turns} attacker turns)"
                for r in reports
            ],
        ),
        ("turn latency p50", [f"{r.metrics.latency_p50_ms:.1f} ms" for r in reports]),
        ("turn latency p95", [f"{r.metrics.latency_p95_ms:.1f} ms" for r in reports]),
        (
            "LLM acceptance",
            [
                f"{_pct(r.metrics.llm_acceptance_rate)} ({r.metrics.llm_accepted}/{r.metrics.llm_attempts})"
                for r in reports
            ],
        ),
    ]
    for name, values in rows:
        table.add_row(name, *values)
    return table


def _print_report(reports: list[EvalReport]) -> None:
    console.print(_metrics_table(reports))
    for report in reports:
        reasons = report.metrics.rejection_reasons
        if reasons:
            shown = ", ".join(f"{k} {v}" for k, v in reasons.items())
            console.print(f"[bold]LLM rejections ({report.mode}):[/] {shown}", highlight=False)
        langs = ", ".join(
            f"{lang} {v['succeeded']}/{v['conversations']}"
            for lang, v in report.metrics.by_language.items()
        )
        console.print(f"[dim]{report.mode}: by language {langs}; clock {report.clock}[/]")
        for conv in report.conversations:
            problems = conv.failures
            problems += [
                f"turn {t.index + 1}: grounding: {g}" for t in conv.turns for g in t.grounding
            ]
            problems += [f"turn {t.index + 1}: LEAK {leak}" for t in conv.turns for leak in t.leaks]
            if not problems:
                continue
            console.print(
                f"[red]✗ {conv.id}[/] [dim]({conv.file}, {report.mode})[/]", highlight=False
            )
            for problem in problems:
                console.print(f"    {problem}", markup=False, highlight=False)


@eval_app.command("dialogues")
def eval_dialogues(
    directory: Annotated[
        Path, typer.Argument(help="Suite directory of *.toml conversations (evals/dialogues).")
    ],
    as_json: JsonOption = False,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Database to copy for each conversation (default: a fresh demo shop, "
            "which the bundled suite is written against).",
        ),
    ] = None,
    model: ModelOption = None,
    lora: LoraOption = None,
    llm_url: LlmUrlOption = None,
    no_llm: NoLlmOption = False,
    compare_llm: Annotated[
        bool,
        typer.Option(
            "--compare-llm", help="Run the suite twice: template-only, then with the LLM."
        ),
    ] = False,
    min_success: Annotated[
        float,
        typer.Option(
            "--min-success", min=0.0, max=1.0, help="Fail (exit 1) below this task success."
        ),
    ] = 0.95,
    conversation: Annotated[
        list[str] | None,
        typer.Option("--conversation", "-c", help="Run only this conversation id (repeatable)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print every turn's reply while running.")
    ] = False,
) -> None:
    """Run scripted multi-turn conversations; report success, hand-offs, grounding, leaks, latency.

    Exits 1 when task success is below --min-success or there is any grounding violation
    or access-control leak; 2 for a broken suite or bad options.
    """
    from shopassist.engine.dialogue_eval import (
        SuiteError,
        build_suite_database,
        load_suite,
        passes,
        report_json,
    )

    if compare_llm and no_llm:
        fail("--compare-llm runs with and without the LLM; drop --no-llm", code=2)
    if not directory.exists():
        fail(f"{directory} does not exist", code=2)
    try:
        suite = load_suite(directory)
    except SuiteError as exc:
        fail(f"invalid dialogue suite:\n{exc}", code=2)
    if db is not None and not db.is_file():
        fail(f"--db {db} is not a file", code=2)
    settings = settings_from(
        db=db, model=model, llm_lora=lora, llm_url=llm_url, no_llm=no_llm or None
    )

    with tempfile.TemporaryDirectory(prefix="shopassist-eval-demo-") as tmp:
        if db is not None:
            template_db: Path = db
        else:  # the suite's own shop ([suite.shop]) or the demo shop
            try:
                template_db, warnings = build_suite_database(suite, Path(tmp) / "shop.db")
            except SuiteError as exc:
                fail(f"cannot build the suite's shop:\n{exc}", code=2)
            for warning in warnings:
                typer.echo(f"warning: {warning}", err=True)
        runs: list[tuple[Settings, bool]] = []
        if compare_llm:
            runs = [(settings.model_copy(update={"no_llm": True}), False), (settings, True)]
        else:
            runs = [(settings, not settings.no_llm)]
        reports: list[EvalReport] = []
        for run_settings, with_llm in runs:
            backend, mode = _backend(run_settings) if with_llm else (None, "template")
            try:
                reports.append(
                    _run(
                        suite,
                        run_settings,
                        template_db,
                        backend,
                        mode,
                        conversation,
                        verbose,
                        quiet=as_json,
                    )
                )
            except SuiteError as exc:
                fail(str(exc), code=2)
            finally:
                if backend is not None and hasattr(backend, "close"):
                    backend.close()

    if as_json:
        payload = [json.loads(report_json(r)) for r in reports]
        typer.echo(
            json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False, indent=2)
        )
    else:
        _print_report(reports)
    problems = []
    for report in reports:
        ok, why = passes(report, min_success)
        problems += [f"{report.mode}: {w}" for w in why]
    if problems:
        err_console.print("[bold red]Below target:[/] " + "; ".join(problems), highlight=False)
        raise typer.Exit(1)
