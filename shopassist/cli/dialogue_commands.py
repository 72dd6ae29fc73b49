"""Scriptable conversations: ``ask`` runs one turn, ``converse --jsonl`` runs many.

The JSON printed here is ``TurnResult.model_dump(mode="json")``; docs/turn-json.md
documents it. ``converse`` never dies on a bad line: it prints an error object instead.
"""

from __future__ import annotations

import json
import sqlite3
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

    try:
        text.encode("utf-8")  # argv bytes that were not UTF-8 arrive as lone surrogates
        checked_customer = _check_customer(customer)
    except UnicodeEncodeError:
        fail("the message is not valid UTF-8 (check the terminal's encoding)")
    except ValueError as exc:
        fail(str(exc).replace('"customer"', "--customer"))
    settings = _settings(db, model, llm_url, no_llm)
    assistant = _open_assistant(settings)
    session_id = session or assistant.new_session_id()
    try:
        result = assistant.turn(session_id, text, customer=checked_customer, channel="api")
    except (ValueError, AssistantError) as exc:
        fail(str(exc))
    except (sqlite3.Error, OverflowError, RecursionError) as exc:
        fail(f"turn not stored: {_turn_error(exc)}")
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


def _turn_error(exc: BaseException) -> str:
    """Why a turn failed, in words: a read-only or busy database, a huge number, deep nesting."""
    if isinstance(exc, OverflowError):
        return f"a number in the message is too large ({exc})"
    if isinstance(exc, RecursionError):
        return "the message is nested too deeply to process"
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"the database is read-only ({text}); check the file's permissions"
    if "locked" in text or "busy" in text:
        return f"the database stayed busy (another program is writing): {text}"
    return f"database error: {text}"


# Row ids are signed 64-bit integers in SQLite; a larger number is not any customer's.
_MAX_CUSTOMER_ID = 2**63 - 1


def _check_customer(customer: object) -> str | int | None:
    """A customer id (a positive integer) or an email/id string; nothing else.

    ``true`` is an int in Python and ``"１"`` (fullwidth) passes ``str.isdigit``: both
    would otherwise select customer 1.
    """
    if customer is None:
        return None
    if isinstance(customer, bool) or not isinstance(customer, str | int):
        raise ValueError('"customer" must be a string (an email or id), a positive integer or null')
    if isinstance(customer, int):
        if not 0 < customer <= _MAX_CUSTOMER_ID:
            raise ValueError('"customer" must be a positive integer id (1 or more)')
        return customer
    text = customer.strip()
    if any(ch.isdigit() for ch in text) and text.isdigit() and not text.isascii():
        raise ValueError('"customer" id must be written with ASCII digits 0-9')
    return customer


def _parse_line(raw: str) -> tuple[str, str, str | int | None]:
    """(session, text, customer) from one input line, or ValueError saying what is wrong."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not accepted: the JSON is nested too deeply") from None
    if not isinstance(obj, dict):
        raise ValueError('each line must be a JSON object like {"session": "s1", "text": "hi"}')
    session, text = obj.get("session"), obj.get("text")
    if not isinstance(session, str) or not session.strip():
        raise ValueError('"session" must be a non-empty string')
    try:
        if not isinstance(text, str):
            raise ValueError('"text" must be a string')
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # JSON escapes can spell a lone surrogate (\ud800) that no database can store.
            raise ValueError(
                '"text" holds an unpaired surrogate escape (not valid Unicode)'
            ) from None
        return session, text, _check_customer(obj.get("customer"))
    except ValueError as exc:
        raise _LineError(str(exc), session) from None


class _LineError(ValueError):
    """A bad line whose session is known, so the error line can name it."""

    def __init__(self, message: str, session: str) -> None:
        super().__init__(message)
        self.session = session


def _decode_line(line_no: int, raw: bytes) -> str:
    """One stdin line as text, or ValueError naming the line's encoding problem."""
    if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark at the start of the input (Windows editors)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at position {exc.start + 1} "
            "(save the input as UTF-8)"
        ) from None
    if text.startswith("\ufeff"):
        raise ValueError(
            "starts with a byte-order mark (U+FEFF) in the middle of the input; "
            "only the first line may have one"
        )
    return text


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
    an {"error": ...} line and processing continues. The exit code is 1 when any turn
    could not be stored (each such line says why).
    """
    if not jsonl:
        fail(
            'converse reads JSON lines; pass --jsonl (input: {"session": "s1", "text": "hi"})',
            code=2,
        )
    from shopassist.engine.assistant import AssistantError

    settings = _settings(db, model, llm_url, no_llm)
    assistant = _open_assistant(settings)
    not_stored = 0
    try:
        for line_no, raw_bytes in enumerate(sys.stdin.buffer, start=1):
            session: str | None = None
            try:
                raw = _decode_line(line_no, raw_bytes)
                if not raw.strip():
                    continue
                session, text, line_customer = _parse_line(raw)
            except ValueError as exc:
                session = exc.session if isinstance(exc, _LineError) else None
                typer.echo(_error_line(line_no, str(exc), session))
                sys.stdout.flush()
                continue
            try:
                result = assistant.turn(
                    session,
                    text,
                    customer=line_customer if line_customer is not None else customer,
                    channel="api",
                )
                out = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
            except (ValueError, AssistantError) as exc:
                out = _error_line(line_no, str(exc), session)
            except (sqlite3.Error, OverflowError, RecursionError) as exc:
                not_stored += 1
                out = _error_line(line_no, f"turn not stored: {_turn_error(exc)}", session)
            except Exception as exc:  # a bug in one turn must not end the whole script
                not_stored += 1
                out = _error_line(
                    line_no,
                    f"turn not stored: internal error: {type(exc).__name__}: {exc}",
                    session,
                )
            typer.echo(out)
            sys.stdout.flush()
    finally:
        assistant.close()
    if not_stored:
        # Callers must see it: a script reading only the exit code would think all is well.
        fail(f"{not_stored} turn(s) could not be stored; see the error lines", code=1)
