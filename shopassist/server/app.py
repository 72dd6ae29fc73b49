"""The ASGI app: the chat page, ``POST /api/messages``, its SSE twin, and the page's long poll.

Every failure a client can cause is a 4xx JSON object ``{"error": code, "detail": why}``;
a 500 means a bug, and is JSON too. The turn is stored before its reply is sent; the SSE
variant streams only verifier-approved sentences and sends ``done`` after the store.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from shopassist.safe_text import clean_message
from shopassist.server.limits import RateLimiter
from shopassist.server.web_channel import ChannelConflict, WebChannel, WebTurn

if TYPE_CHECKING:
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant

log = logging.getLogger("shopassist.server")

STATIC_DIR = Path(__file__).parent / "static"
# A web session id is the only key to its messages, so a customer's must be unguessable:
# the page makes 32 random hex digits. Staff (the shop's backend) may use any id.
PUBLIC_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
LONG_POLL_MAX_S = 25.0
LONG_POLL_STEP_S = 0.25


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


class ChatServer:
    """Request handling around one ``WebChannel``; the limits and checks live here."""

    def __init__(self, channel: WebChannel, settings: Settings) -> None:
        self.channel = channel
        self.settings = settings
        self.session_limiter = RateLimiter(settings.serve_session_messages_per_minute)
        self.client_limiter = RateLimiter(settings.serve_client_requests_per_minute)
        self.allowed_origins = {o.rstrip("/") for o in settings.serve_allowed_origins}
        # Turns run one at a time (the engine holds one connection); queueing them here,
        # not on the thread pool's lock, keeps threads free for the pages' long polls.
        self.turn_gate = asyncio.Lock()
        token = settings.serve_staff_token
        self._staff_token = token.get_secret_value().encode() if token else None

    # --- checks shared by every API request ------------------------------------------------

    def check_request(self, request: Request) -> bool:
        """Origin and per-client limit; returns whether staff authentication was given."""
        origin = request.headers.get("origin")
        if origin is not None and not self._origin_allowed(request, origin):
            raise ApiError(
                403, "origin_not_allowed", f"origin {origin!r} is not in serve_allowed_origins"
            )
        client = request.client.host if request.client else "unknown"
        wait = self.client_limiter.hit(client)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"more than {self.settings.serve_client_requests_per_minute} requests a minute "
                "from this address",
                {"Retry-After": str(int(wait) + 1)},
            )
        return self._is_staff(request)

    def _origin_allowed(self, request: Request, origin: str) -> bool:
        own = f"{request.url.scheme}://{request.url.netloc}"
        return origin.rstrip("/") in self.allowed_origins or origin == own

    def _is_staff(self, request: Request) -> bool:
        header = request.headers.get("authorization")
        if header is None:
            return False
        scheme, _, token = header.partition(" ")
        if (
            self._staff_token is None
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(token.strip().encode(), self._staff_token)
        ):
            raise ApiError(401, "unauthorized", "the bearer token is not the staff token")
        return True

    async def read_message(self, request: Request, staff: bool) -> tuple[str, str, Any]:
        """(session, text, customer) from the body, or an ApiError naming what is wrong."""
        content_type = request.headers.get("content-type", "application/json")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(415, "unsupported_media_type", "send the message as application/json")
        limit = self.settings.serve_max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise ApiError(413, "body_too_large", f"the body must be at most {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise ApiError(413, "body_too_large", f"the body must be at most {limit} bytes")
        try:
            data = json.loads(bytes(body).decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_json", "the body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc.msg}") from None
        except RecursionError:
            raise ApiError(400, "invalid_json", "the body is nested too deeply") from None
        if not isinstance(data, dict):
            raise ApiError(
                400, "invalid_body", 'send a JSON object like {"session": "...", "text": "..."}'
            )
        return self._check_fields(data, staff)

    def _check_fields(self, data: dict[str, Any], staff: bool) -> tuple[str, str, Any]:
        session, text, customer = data.get("session"), data.get("text"), data.get("customer")
        if session is None:
            session = (
                self.channel.assistant.new_session_id() + self.channel.assistant.new_session_id()
            )
        session = self.check_session_id(session, staff)
        if not isinstance(text, str):
            raise ApiError(400, "invalid_text", '"text" must be a string')
        limit = self.settings.serve_max_message_chars
        if len(text) > limit:
            raise ApiError(413, "message_too_long", f'"text" must be at most {limit} characters')
        if not clean_message(text):
            raise ApiError(
                400, "empty_text", '"text" has nothing to answer (empty or only controls)'
            )
        if customer is not None:
            if (
                isinstance(customer, bool)
                or not isinstance(customer, str | int)
                or (isinstance(customer, int) and not 0 <= customer < 2**63)
                or (isinstance(customer, str) and len(customer) > 320)
            ):
                raise ApiError(
                    400,
                    "invalid_customer",
                    '"customer" must be a customer id, an email (at most 320 characters) or null',
                )
            if not staff:
                raise ApiError(
                    403,
                    "customer_needs_staff_token",
                    "binding a conversation to a customer needs the staff token: the shop's "
                    "backend vouches for who is signed in; customers verify in the chat",
                )
        return session, text, customer

    def check_session_id(self, session: object, staff: bool) -> str:
        if not isinstance(session, str):
            raise ApiError(400, "invalid_session", '"session" must be a string')
        if staff:
            if not session.strip() or len(session) > 128 or not session.isprintable():
                raise ApiError(
                    400, "invalid_session", '"session" must be 1-128 printable characters'
                )
        elif not PUBLIC_SESSION_ID.fullmatch(session):
            raise ApiError(
                400,
                "invalid_session",
                '"session" must be 16-128 letters, digits, "-" or "_" (make it random)',
            )
        return session

    def check_session_limit(self, session: str) -> None:
        wait = self.session_limiter.hit(session)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"more than {self.settings.serve_session_messages_per_minute} messages a minute "
                "in this session",
                {"Retry-After": str(int(wait) + 1)},
            )

    def turn_error(self, exc: Exception) -> ApiError:
        from shopassist.engine.assistant import AssistantError, WriteWaitExceeded

        if isinstance(exc, ChannelConflict):
            return ApiError(409, "session_in_other_channel", str(exc))
        if isinstance(exc, AssistantError):
            return ApiError(400, "rejected", str(exc))
        if isinstance(exc, sqlite3.IntegrityError):
            # Two messages of one session answered at once by two processes: the second
            # turn's number is taken, and the whole turn was rolled back.
            return ApiError(
                409,
                "concurrent_message",
                "another message of this session was being answered; send this one again",
            )
        if isinstance(exc, WriteWaitExceeded):
            return ApiError(
                503,
                "busy",
                f"the shop's database was busy for over {exc.seconds:g} s (an import is "
                "running); this message was not stored: send it again",
                {"Retry-After": str(max(1, math.ceil(exc.seconds)))},
            )
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return ApiError(503, "busy", "the database is busy; try again", {"Retry-After": "1"})
        # The turn and its log rows commit in one transaction, so a failure before the
        # commit stored nothing: say so, as a 503 the page can retry, never a bare 500.
        log.exception("turn failed")
        return ApiError(
            503, "not_stored", "the message could not be answered and was not stored: send it again"
        )

    # --- responses --------------------------------------------------------------------------

    def reply_body(self, turn: WebTurn, staff: bool) -> dict[str, Any]:
        result = turn.result
        body: dict[str, Any] = {
            "session": result.session_id,
            "turn": result.turn_index,
            "text": result.text,  # the message as understood: controls and escapes removed
            "reply": None if turn.held else result.reply,
            "handoff": result.handoff,
            "pending": turn.held,  # a person answers (review mode, or after a hand-off)
            "language": result.language,
            "events": {
                "customer": turn.customer_event,
                "reply": None if turn.held else turn.reply_event,
            },
        }
        if staff:
            body["internals"] = result.model_dump(mode="json")
        return body


def _page(settings: Settings) -> str:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("__MAX_CHARS__", str(settings.serve_max_message_chars))


def _page_headers(settings: Settings) -> dict[str, str]:
    ancestors = " ".join(["'self'", *sorted(settings.serve_allowed_origins)])
    return {
        # No inline script or style: even injected markup could not run.
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            f"img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def create_app(
    settings: Settings, assistant: Assistant, *, close_on_shutdown: bool = True
) -> Starlette:
    """The app around an opened ``Assistant`` (the CLI opens it before serving)."""
    # A web request waits for an import's write lock this long, not the CLI's minutes.
    assistant.set_write_wait(settings.serve_write_wait_seconds)
    channel = WebChannel(assistant, settings)
    server = ChatServer(channel, settings)
    page = _page(settings)
    page_headers = _page_headers(settings)

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=page_headers)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "mode": settings.live_reply_mode})

    async def post_message(request: Request) -> Response:
        try:
            staff = server.check_request(request)
            session, text, customer = await server.read_message(request, staff)
            server.check_session_limit(session)
            try:
                async with server.turn_gate:
                    turn = await run_in_threadpool(
                        channel.run_turn, session, text, customer=customer
                    )
            except Exception as exc:
                raise server.turn_error(exc) from exc
        except ApiError as err:
            return error_response(err.status, err.code, err.detail, err.headers)
        return JSONResponse(server.reply_body(turn, staff))

    async def post_message_stream(request: Request) -> Response:
        try:
            staff = server.check_request(request)
            session, text, customer = await server.read_message(request, staff)
            server.check_session_limit(session)
        except ApiError as err:
            return error_response(err.status, err.code, err.detail, err.headers)
        return StreamingResponse(
            _stream_turn(server, channel, session, text, customer, staff),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def session_events(request: Request) -> Response:
        try:
            staff = server.check_request(request)
            session = server.check_session_id(request.path_params["session"], staff)
            after = _number(request.query_params.get("after", "0"), "after", int, 0, 2**62)
            wait = _number(request.query_params.get("wait", "0"), "wait", float, 0, LONG_POLL_MAX_S)
        except ApiError as err:
            return error_response(err.status, err.code, err.detail, err.headers)
        info = await run_in_threadpool(channel.conversation, session)
        if info is not None and info["channel"] != "web":
            return error_response(404, "not_found", "no web conversation with that session id")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(wait)
        while True:
            events, awaiting = await run_in_threadpool(channel.events, session, int(after))
            if events or loop.time() >= deadline or await request.is_disconnected():
                break
            await asyncio.sleep(LONG_POLL_STEP_S)
        info = info or await run_in_threadpool(channel.conversation, session)
        return JSONResponse(
            {
                "session": session,
                "events": events,
                "cursor": max([int(after)] + [e["id"] for e in events]),
                "awaiting_person": awaiting,
                "handoff": bool(info and info["handoff"]),
            }
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return error_response(status, code, str(detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "internal error")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            channel.close()

    middleware = []
    if settings.serve_allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=sorted(server.allowed_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["content-type", "authorization"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/health", health, methods=["GET"]),
            Route("/api/messages", post_message, methods=["POST"]),
            Route("/api/messages/stream", post_message_stream, methods=["POST"]),
            Route("/api/sessions/{session}/events", session_events, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.channel = channel
    return app


def _number(raw: str, name: str, kind: type, low: float, high: float) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(400, f"invalid_{name}", f'"{name}" must be a number') from None
    if not low <= value <= high or value != value:  # NaN
        raise ApiError(400, f"invalid_{name}", f'"{name}" must be between {low} and {high}')
    return value


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _stream_turn(
    server: ChatServer,
    channel: WebChannel,
    session: str,
    text: str,
    customer: Any,
    staff: bool,
) -> AsyncIterator[str]:
    """Verified chunks as the pipeline's sentence gate lets them out, then ``done``.

    The pipeline calls ``on_token`` only with text the verifier passed (or the grounded
    template). ``done`` carries the authoritative reply, sent after the turn is stored;
    the page replaces what was streamed with it.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def on_token(chunk: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, chunk)

    await server.turn_gate.acquire()
    task = loop.run_in_executor(
        None, lambda: channel.run_turn(session, text, customer=customer, on_token=on_token)
    )
    task.add_done_callback(lambda _: server.turn_gate.release())
    while not task.done() or not queue.empty():
        getter: asyncio.Future[Any] = asyncio.ensure_future(queue.get())
        waiting: set[asyncio.Future[Any]] = {getter, task}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            yield _sse("token", {"text": getter.result()})
        else:
            getter.cancel()
    try:
        turn = task.result()
    except Exception as exc:
        err = server.turn_error(exc)
        yield _sse("error", {"error": err.code, "detail": err.detail, "status": err.status})
        return
    yield _sse("done", server.reply_body(turn, staff))
