"""``shopassist serve``: the web chat page and HTTP API over the same engine as ``chat``.

The engine (and the model, unless ``--no-llm``) is opened before the server listens, so a
wrong ``--model`` or database is a plain error, not a failing first request.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shopassist.cli.app import (
    DbOption,
    LlmUrlOption,
    ModelOption,
    NoLlmOption,
    app,
    err_console,
    settings_from,
)
from shopassist.cli.dialogue_commands import _open_assistant


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on (default 127.0.0.1; setting serve_host)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (default 8000; setting serve_port)."),
    ] = None,
    reply_mode: Annotated[
        str | None,
        typer.Option(
            "--reply-mode",
            help="auto: the bot answers and hands off; review: staff approve every bot reply.",
        ),
    ] = None,
    db: DbOption = None,
    model: ModelOption = None,
    llm_url: LlmUrlOption = None,
    no_llm: NoLlmOption = False,
) -> None:
    """Serve the customer chat page (GET /) and the API (POST /api/messages) with uvicorn."""
    import uvicorn

    from shopassist.server import create_app

    settings = settings_from(
        db=db,
        model=model,
        llm_url=llm_url,
        no_llm=no_llm or None,
        serve_host=host,
        serve_port=port,
        live_reply_mode=reply_mode,
    )
    assistant = _open_assistant(settings)
    llm = "templates only" if assistant.llm is None else "LLM on"
    err_console.print(
        f"[dim]ShopAssist on http://{settings.serve_host}:{settings.serve_port}/ · "
        f"{settings.db_path} · {llm} · replies {settings.live_reply_mode}[/]",
        highlight=False,
    )
    uvicorn.run(
        create_app(settings, assistant),
        host=settings.serve_host,
        port=settings.serve_port,
        log_level="warning",
        # X-Forwarded-For/-Proto are trusted from the local reverse proxy only (uvicorn's
        # default FORWARDED_ALLOW_IPS), so rate limits see the real client address.
        proxy_headers=True,
    )
