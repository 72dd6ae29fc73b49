"""Scriptable conversations: ``ask`` runs one turn, ``converse --jsonl`` runs many.

The JSON printed here is ``TurnResult.model_dump(mode="json")``; docs/turn-json.md
documents it. ``converse`` never dies on a bad line: it prints an error object instead.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopassist.cli.app import (
    CustomerOption,
    DbOption,
    JsonOption,
    LlmUrlOption,
    ModelOption,
    NoLlmOption,
    app,
    console,
    err_console,
    fail,
    open_kb,
    settings_from,
)

if TYPE_CHECKING:
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant

SessionOption = Annotated[
    str | None,
    typer.Option("--session", help="Conversation id; reuse it to continue a conversation."),
]


def _open_assistant(settings: Settings) -> Assistant:
    from shopassist.engine.assistant import Assistant, AssistantError

    kb = open_kb(settings)
    try:
        from shopassist.engine.llm import LLMError, ModelNotFoundError
    except ImportError:  # pragma: no cover - the LLM package is part of the install
        LLMError = ModelNotFoundError = RuntimeError  # type: ignore[misc,assignment]  # noqa: N806
    try:
        return Assistant.open(settings, db=kb, llm=None if settings.no_llm else "auto")
    except (LLMError, ModelNotFoundError) as exc:
        fail(f"cannot start the LLM: {exc} (use --no-llm for template replies)")
    except AssistantError as exc:
        fail(str(exc))


def _settings(db: Any, model: Any, llm_url: Any, no_llm: bool) -> Settings:
    return settings_from(db=db, model=model, llm_url=llm_url, no_llm=no_llm or None)


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    customer: CustomerOption = None,
    session: SessionOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
    model: ModelOption = None,
    llm_url: LlmUrlOption = None,
    no_llm: NoLlmOption = False,
) -> None:
    """Run one customer message through the assistant and print the reply."""
    from shopassist.engine.assistant import AssistantError

    settings = _settings(db, model, llm_url, no_llm)
    assistant = _open_assistant(settings)
    session_id = session or assistant.new_session_id()
    try:
        result = assistant.turn(session_id, text, customer=customer, channel="api")
    except AssistantError as exc:
        fail(str(exc))
    finally:
        assistant.close()
    if json_out:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        return
    console.print(result.reply, markup=False, highlight=False)
    badge = result.provenance.kind + (
        f" ({result.provenance.reason})" if result.provenance.reason else ""
    )
    err_console.print(
        f"[dim]session {session_id} · intent {result.nlu.intent.name} "
        f"({result.nlu.intent.confidence:.2f}) · action {result.action or '-'} · {badge} · "
        f"{result.latency_ms:.1f} ms[/]",
        highlight=False,
    )


def _error_line(line_no: int, message: str, session: str | None = None) -> str:
    return json.dumps({"error": message, "line": line_no, "session": session}, ensure_ascii=False)


def _parse_line(raw: str) -> tuple[str, str, str | int | None]:
    """(session, text, customer) from one input line, or ValueError saying what is wrong."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise ValueError('each line must be a JSON object like {"session": "s1", "text": "hi"}')
    session, text, customer = obj.get("session"), obj.get("text"), obj.get("customer")
    if not isinstance(session, str) or not session.strip():
        raise ValueError('"session" must be a non-empty string')
    if not isinstance(text, str):
        raise ValueError('"text" must be a string')
    if customer is not None and not isinstance(customer, str | int):
        raise ValueError('"customer" must be a string, an integer or null')
    return session, text, customer


@app.command()
def converse(
    jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="Read JSON lines on stdin, write one JSON result per line."),
    ] = False,
    customer: CustomerOption = None,
    db: DbOption = None,
    model: ModelOption = None,
    llm_url: LlmUrlOption = None,
    no_llm: NoLlmOption = False,
) -> None:
    """Run scripted conversations: {"session", "text", "customer"} per line on stdin.

    Sessions persist across lines (and across runs, in the database). A bad line gives
    an {"error": ...} line and processing continues.
    """
    if not jsonl:
        fail(
            'converse reads JSON lines; pass --jsonl (input: {"session": "s1", "text": "hi"})',
            code=2,
        )
    from shopassist.engine.assistant import AssistantError

    settings = _settings(db, model, llm_url, no_llm)
    assistant = _open_assistant(settings)
    try:
        for line_no, raw in enumerate(sys.stdin, start=1):
            if not raw.strip():
                continue
            session: str | None = None
            try:
                session, text, line_customer = _parse_line(raw)
                result = assistant.turn(
                    session,
                    text,
                    customer=line_customer if line_customer is not None else customer,
                    channel="api",
                )
                out = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
            except (ValueError, AssistantError) as exc:
                out = _error_line(line_no, str(exc), session)
            except Exception as exc:  # a bug in one turn must not end the whole script
                out = _error_line(line_no, f"internal error: {type(exc).__name__}: {exc}", session)
            typer.echo(out)
            sys.stdout.flush()
    finally:
        assistant.close()
