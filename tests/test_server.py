"""``shopassist serve``: the HTTP API, its limits and errors, the SSE stream and the live log."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from shopassist.config import Settings  # noqa: E402
from shopassist.engine.llm import FakeLLM  # noqa: E402
from shopassist.kb import live_queue  # noqa: E402
from shopassist.kb.db import open_db  # noqa: E402
from shopassist.server import create_app  # noqa: E402

SID = "0123456789abcdef0123"
TOKEN = "staff-secret-token"


def _client(assistant: Any, **settings: Any) -> TestClient:
    app = create_app(Settings(no_llm=True, **settings), assistant)
    return TestClient(app)


@pytest.fixture
def demo_assistant(demo_db_path: Path) -> Any:
    from shopassist.engine.assistant import Assistant

    return Assistant.open(Settings(db=demo_db_path, no_llm=True), db=demo_db_path)


@pytest.fixture
def client(demo_assistant: Any) -> Iterator[TestClient]:
    with _client(demo_assistant, serve_staff_token=TOKEN) as c:
        yield c


def _turns(client: TestClient) -> int:
    return live_queue.stored_turn_count(client.app.state.channel._log_db)  # type: ignore[attr-defined]


def post(client: TestClient, body: Any, **kw: Any) -> Any:
    return client.post("/api/messages", json=body, **kw)


# --- the happy path ----------------------------------------------------------------------------


def test_a_product_question_is_answered_stored_and_logged(client: TestClient) -> None:
    r = post(client, {"session": SID, "text": "do you have wireless earbuds?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session"] == SID and body["handoff"] is False and body["pending"] is False
    assert "AeroBuds" in body["reply"]
    assert "internals" not in body  # NLU, facts and prompt are for staff only
    assert _turns(client) == 1
    events = client.get(f"/api/sessions/{SID}/events").json()
    assert [e["author"] for e in events["events"]] == ["customer", "bot"]
    assert events["events"][1]["text"] == body["reply"]
    assert events["cursor"] == body["events"]["reply"]


def test_internals_need_the_staff_token(client: TestClient) -> None:
    r = post(
        client,
        {"session": "staff-1", "text": "do you have wireless earbuds?"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 200
    internals = r.json()["internals"]
    assert internals["nlu"]["intent"]["name"] and internals["provenance"]["kind"] == "template"
    assert "facts" in internals and "prompt" in internals
    wrong = post(client, {"session": SID, "text": "hi"}, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"


def test_binding_a_customer_needs_the_staff_token(client: TestClient) -> None:
    r = post(client, {"session": SID, "text": "where is my order 10023?", "customer": 4})
    assert r.status_code == 403 and r.json()["error"] == "customer_needs_staff_token"
    assert _turns(client) == 0
    ok = post(
        client,
        {"session": SID, "text": "where is my order 10023?", "customer": 4},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert ok.status_code == 200 and "10023" in ok.json()["reply"]


def test_an_order_question_asks_for_verification_first(client: TestClient) -> None:
    first = post(client, {"session": SID, "text": "where is my order 10023?"}).json()
    assert "email" in first["reply"].lower()
    assert "delivered" not in first["reply"].lower()  # no order detail before verification
    second = post(client, {"session": SID, "text": "olivia.martinez@example.org"}).json()
    assert "10023" in second["reply"] and "delivered" in second["reply"].lower()


# --- bad input: a clear 4xx, never a 500, nothing stored -----------------------------------------


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, "invalid_json"),
        (b"\xff\xfe", {}, 400, "invalid_json"),
        (b"[1, 2]", {}, 400, "invalid_body"),
        (b"[" * 50_00 + b"]" * 50_00, {}, 400, "invalid_json"),
        (b'{"session": "0123456789abcdef0123"}', {}, 400, "invalid_text"),
        (b'{"session": 5, "text": "hi"}', {}, 400, "invalid_session"),
        (b'{"session": "short", "text": "hi"}', {}, 400, "invalid_session"),
        (b'{"session": "0123456789abcdef0123", "text": "\\u0000\\u001b "}', {}, 400, "empty_text"),
        (
            b'{"session": "0123456789abcdef0123", "text": "hi", "customer": true}',
            {},
            400,
            "invalid_customer",
        ),
        (
            b'{"session": "0123456789abcdef0123", "text": "hi"}',
            {"content-type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        (
            b'{"session": "0123456789abcdef0123", "text": "' + b"x" * 2001 + b'"}',
            {},
            413,
            "message_too_long",
        ),
        (
            b'{"session": "0123456789abcdef0123", "text": "' + b"x" * 20_000 + b'"}',
            {},
            413,
            "body_too_large",
        ),
    ],
)
def test_bad_bodies_get_a_specific_4xx(
    client: TestClient, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    sent = {"content-type": "application/json", **headers}
    for path in ("/api/messages", "/api/messages/stream"):
        r = client.post(path, content=content, headers=sent)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"] == code and r.json()["detail"]
    assert _turns(client) == 0


def test_unknown_routes_and_methods_are_json_errors(client: TestClient) -> None:
    assert client.get("/nope").json()["error"] == "not_found"
    r = client.put("/api/messages")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    bad = client.get(f"/api/sessions/{SID}/events?after=x")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_after"
    assert client.get(f"/api/sessions/{SID}/events?wait=nan").status_code == 400


def test_a_session_of_another_channel_is_refused(demo_assistant: Any) -> None:
    demo_assistant.turn(SID, "hello", channel="chat")
    with _client(demo_assistant) as c:
        r = post(c, {"session": SID, "text": "hello again"})
        assert r.status_code == 409 and r.json()["error"] == "session_in_other_channel"
        assert c.get(f"/api/sessions/{SID}/events").status_code == 404


def test_a_crash_inside_the_turn_is_a_json_503_and_stores_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopassist.engine.pipeline as pipeline

    def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "record_turn", boom)
    r = post(client, {"session": SID, "text": "hello"})
    assert r.status_code == 503 and r.json()["error"] == "not_stored"
    assert _turns(client) == 0


# --- limits and origins ------------------------------------------------------------------------


def test_messages_per_session_are_limited(demo_assistant: Any) -> None:
    with _client(demo_assistant, serve_session_messages_per_minute=2) as c:
        assert post(c, {"session": SID, "text": "hello"}).status_code == 200
        assert post(c, {"session": SID, "text": "hello"}).status_code == 200
        r = post(c, {"session": SID, "text": "hello"})
        assert r.status_code == 429 and r.json()["error"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1
        other = post(c, {"session": "another-session-0001", "text": "hello"})
        assert other.status_code == 200  # the limit is per session
        assert _turns(c) == 3


def test_requests_per_client_address_are_limited(demo_assistant: Any) -> None:
    with _client(demo_assistant, serve_client_requests_per_minute=3) as c:
        codes = [c.get(f"/api/sessions/{SID}/events").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


def test_origins_outside_the_allow_list_are_refused(demo_assistant: Any) -> None:
    with _client(demo_assistant, serve_allowed_origins=["https://shop.example"]) as c:
        evil = post(c, {"session": SID, "text": "hi"}, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403 and evil.json()["error"] == "origin_not_allowed"
        ok = post(c, {"session": SID, "text": "hi"}, headers={"Origin": "https://shop.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://shop.example"
        same = post(c, {"session": SID, "text": "hi"}, headers={"Origin": "http://testserver"})
        assert same.status_code == 200
        page = c.get("/")
        assert (
            "frame-ancestors 'self' https://shop.example" in page.headers["content-security-policy"]
        )


def test_the_page_is_plain_html_with_no_inline_script(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="static/chat.js"' in page.text and "<script>" not in page.text
    assert 'maxlength="2000"' in page.text
    js = client.get("/static/chat.js")
    assert js.status_code == 200 and "innerHTML" not in js.text and "textContent" in js.text


# --- streaming ------------------------------------------------------------------------------------


def _sse(client: TestClient, body: dict[str, Any], **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with client.stream("POST", "/api/messages/stream", json=body, **kw) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for block in r.read().decode().split("\n\n"):
            if not block.strip():
                continue
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def _streaming_client(demo_assistant: Any, llm_text: str | None = None) -> TestClient:
    """The demo shop with a fake model that says ``llm_text`` (default: the grounded reply)."""
    probe = demo_assistant.turn("probe", ORDER_QUESTION, customer=4, channel="api")
    demo_assistant.set_llm(FakeLLM([llm_text or probe.template_reply]))
    return _client(demo_assistant, serve_staff_token=TOKEN)


ORDER_QUESTION = "where is my order 10023?"
STAFF = {"Authorization": f"Bearer {TOKEN}"}


def test_the_stream_sends_verified_text_then_the_stored_reply(demo_assistant: Any) -> None:
    with _streaming_client(demo_assistant) as c:
        events = _sse(c, {"session": "s1", "text": ORDER_QUESTION, "customer": 4}, headers=STAFF)
        stored = demo_assistant.db.execute(
            "select reply from turns where conversation_id = 's1'"
        ).fetchone()[0]
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and kinds.count("token") >= 1
    done = events[-1][1]
    streamed = "".join(d["text"] for k, d in events if k == "token")
    assert done["internals"]["provenance"]["kind"] == "llm", done["internals"]["provenance"]
    assert streamed.strip() == done["reply"].strip()
    assert stored == done["reply"]  # stored before done was sent


def test_the_stream_never_sends_text_the_verifier_rejected(demo_assistant: Any) -> None:
    invented = "Order 10023 arrives tomorrow and you get a 50% discount with code FREE50."
    with _streaming_client(demo_assistant, invented) as c:
        events = _sse(c, {"session": "s1", "text": ORDER_QUESTION, "customer": 4}, headers=STAFF)
    done = events[-1][1]
    assert done["internals"]["llm_reply"] == invented  # the model did say it
    streamed = "".join(d["text"] for k, d in events if k == "token")
    assert "FREE50" not in streamed and "50%" not in streamed and "tomorrow" not in streamed
    assert done["reply"] == done["internals"]["template_reply"]


# --- review mode, hand-off and staff replies ---------------------------------------------------


def test_review_mode_holds_every_reply_until_staff_send(
    client: TestClient, demo_assistant: Any
) -> None:
    with _client(demo_assistant, live_reply_mode="review") as c:
        body = post(c, {"session": SID, "text": "do you have wireless earbuds?"}).json()
        assert body["reply"] is None and body["pending"] is True
        streamed = _sse(c, {"session": SID, "text": "and headphones?"})
        assert [k for k, _ in streamed] == ["done"]  # a held reply is never streamed
        page = c.get(f"/api/sessions/{SID}/events").json()
        assert [e["author"] for e in page["events"]] == ["customer", "customer"]
        assert page["awaiting_person"] is True
        log_db = c.app.state.channel._log_db  # type: ignore[attr-defined]
        [row] = [q for q in live_queue.queue(log_db) if q["session_id"] == SID]
        assert row["pending"] and row["awaiting"] and row["waiting_s"] is not None
        pending = [h for h in live_queue.history(log_db, SID) if h["status"] == "pending"]
        assert len(pending) == 2 and pending[0]["suggestions"]
        live_queue.send_staff_reply(
            log_db, SID, "We have AeroBuds Lite.", turn_index=1, approved=False
        )
        page = c.get(f"/api/sessions/{SID}/events?after={page['cursor']}").json()
        assert [(e["author"], e["text"]) for e in page["events"]] == [
            ("staff", "We have AeroBuds Lite.")
        ]
        assert page["awaiting_person"] is False


def test_after_a_hand_off_a_person_answers(client: TestClient) -> None:
    first = post(client, {"session": SID, "text": "I want to talk to a human"}).json()
    assert first["handoff"] is True and first["reply"]  # the hand-off reply itself goes out
    second = post(client, {"session": SID, "text": "hello? anyone there?"}).json()
    assert second["pending"] is True and second["reply"] is None
    page = client.get(f"/api/sessions/{SID}/events").json()
    assert page["handoff"] is True and page["awaiting_person"] is True


def test_the_long_poll_returns_as_soon_as_staff_reply(client: TestClient) -> None:
    post(client, {"session": SID, "text": "I want to talk to a human"})
    cursor = client.get(f"/api/sessions/{SID}/events").json()["cursor"]
    log_db = open_db(live_queue.database_path(client.app.state.channel.assistant.db))  # type: ignore[attr-defined,arg-type]

    def staff_reply() -> None:
        time.sleep(0.5)
        live_queue.send_staff_reply(log_db, SID, "Hi, this is Sam.", turn_index=0, approved=False)

    threading.Thread(target=staff_reply).start()
    start = time.monotonic()
    page = client.get(f"/api/sessions/{SID}/events?after={cursor}&wait=10").json()
    assert [e["text"] for e in page["events"]] == ["Hi, this is Sam."]
    assert time.monotonic() - start < 5


def test_web_conversations_count_in_stats(client: TestClient, demo_assistant: Any) -> None:
    from shopassist.engine.stats import compute_stats

    post(client, {"session": SID, "text": "hello"})
    assert compute_stats(demo_assistant.db).channels.get("web") == 1
    assert compute_stats(demo_assistant.db, channel="web").conversations == 1


def test_serve_has_help_and_refuses_a_bad_reply_mode() -> None:
    from typer.testing import CliRunner

    from shopassist.cli import app

    runner = CliRunner()
    assert "--reply-mode" in runner.invoke(app, ["serve", "--help"]).output
    r = runner.invoke(app, ["serve", "--reply-mode", "sometimes", "--no-llm"])
    assert r.exit_code == 2 and "live_reply_mode" in r.output


def test_random_bodies_and_paths_never_get_a_500(client: TestClient) -> None:
    import random

    rng = random.Random(11)
    values: list[Any] = [None, True, 0, -1, 2**70, 1.5, "", "x" * 300, [], {}, {"a": [1]}, "\x00"]
    for _ in range(150):
        body: Any = {
            key: rng.choice(values + [SID, "hello"])
            for key in rng.sample(["session", "text", "customer", "extra"], rng.randint(0, 4))
        }
        if rng.random() < 0.2:
            body = rng.choice(values)
        headers = {"Authorization": f"Bearer {TOKEN}"} if rng.random() < 0.3 else {}
        r = client.post(
            rng.choice(["/api/messages", "/api/messages/stream"]), json=body, headers=headers
        )
        assert r.status_code < 500, (body, r.text)
    raw = [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(30)]
    for content in raw:
        r = client.post(
            "/api/messages", content=content, headers={"content-type": "application/json"}
        )
        assert r.status_code < 500, (content, r.text)
    for path in (
        "%00",
        "a" * 300,
        "..%2F..%2Fetc",
        "<script>",
        SID + "?after=-1",
        SID + "?wait=99",
    ):
        r = client.get(f"/api/sessions/{path}/events")
        assert r.status_code < 500 and "error" in r.json() or r.status_code == 200, (path, r.text)


def test_event_reads_need_a_well_formed_session_id(client: TestClient) -> None:
    r = client.get("/api/sessions/short/events")
    assert r.status_code == 400 and r.json()["error"] == "invalid_session"
    staff = client.get("/api/sessions/short/events", headers=STAFF)
    assert staff.status_code == 200 and staff.json()["events"] == []


def test_two_servers_on_one_database_share_conversations(demo_db_path: Path) -> None:
    from shopassist.engine.assistant import Assistant

    settings = Settings(db=demo_db_path, no_llm=True)
    apps = [
        create_app(settings, Assistant.open(settings, db=demo_db_path)),
        create_app(settings, Assistant.open(settings, db=demo_db_path)),
    ]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        texts = ["hello", "do you have wireless earbuds?", "tell me more about the second one"]
        for n, text in enumerate(texts):
            r = post((one, two)[n % 2], {"session": SID, "text": text})
            assert r.status_code == 200 and r.json()["turn"] == n
        seen = two.get(f"/api/sessions/{SID}/events").json()["events"]
        assert [e["text"] for e in seen if e["author"] == "customer"] == texts
        # the second server continued the conversation the first one started
        assert "AeroBuds" in seen[-1]["text"] or "Lite" in seen[-1]["text"]
