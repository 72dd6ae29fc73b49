"""A web turn and what the customer's page shows of it are stored together or not at all.

The record stage writes the turn and the page's log rows (``live_events``) in one
transaction, so a failure injected anywhere before its commit leaves neither, and the HTTP
answer is a clear JSON error saying nothing was stored (never a 500). The server reaches
the engine only through the ``Assistant``.
"""

from __future__ import annotations

import ast
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from shopassist.config import Settings  # noqa: E402
from shopassist.kb import live_queue  # noqa: E402
from shopassist.server import create_app  # noqa: E402

SID = "feedfacefeedface0001"


@pytest.fixture
def db_path(demo_db_path: Path) -> Path:
    return demo_db_path


@pytest.fixture
def client(db_path: Path) -> Iterator[TestClient]:
    from shopassist.engine.assistant import Assistant

    assistant = Assistant.open(Settings(db=db_path, no_llm=True), db=db_path)
    with TestClient(create_app(Settings(no_llm=True), assistant)) as c:
        yield c


def stored(db_path: Path, session: str = SID) -> tuple[list[int], list[tuple[int, str, str]]]:
    """(the session's stored turn indices, its log rows as (turn, author, status)), read on a
    fresh connection so only committed rows count."""
    conn = sqlite3.connect(db_path)
    try:
        turns = [
            r[0]
            for r in conn.execute(
                "select idx from turns where conversation_id = ? order by idx", [session]
            )
        ]
        events = [
            (r[0], r[1], r[2])
            for r in conn.execute(
                "select turn_idx, author, status from live_events where conversation_id = ? "
                "order by id",
                [session],
            )
        ]
    finally:
        conn.close()
    return turns, events


def post(client: TestClient, text: str) -> Any:
    return client.post("/api/messages", json={"session": SID, "text": text})


def assert_not_stored(r: Any, db_path: Path) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"] == "not_stored" and "not stored" in body["detail"]
    assert stored(db_path) == ([], [])


def test_a_failure_between_the_turn_and_its_log_rows_stores_neither(
    client: TestClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    turns_seen: list[int] = []
    real_turn_count = live_queue.stored_turn_count

    def crash(db: Any, conversation_id: str, turn_index: int, **kw: Any) -> Any:
        # the turn row is written (on the turn's connection) when the log is asked for
        turns_seen.append(real_turn_count(db))
        raise RuntimeError("crash between the turn and its log")

    monkeypatch.setattr(live_queue, "record_exchange", crash)
    assert_not_stored(post(client, "hello"), db_path)
    assert turns_seen == [1]  # the failure really fell between the two writes


def test_a_failure_after_both_writes_before_the_commit_stores_neither(
    client: TestClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = live_queue.record_exchange

    def write_then_crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise RuntimeError("crash after the log rows")

    monkeypatch.setattr(live_queue, "record_exchange", write_then_crash)
    assert_not_stored(post(client, "do you have wireless earbuds?"), db_path)
    # the page shows nothing of it either
    assert client.get(f"/api/sessions/{SID}/events").json().get("events", []) == []


def test_a_failure_writing_the_turn_itself_stores_neither(
    client: TestClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopassist.engine.record as record

    logged: list[int] = []
    real = live_queue.record_exchange
    monkeypatch.setattr(
        live_queue, "record_exchange", lambda *a, **k: logged.append(1) or real(*a, **k)
    )

    def broken(*a: Any, **k: Any) -> int:
        raise sqlite3.DatabaseError("disk I/O error")

    monkeypatch.setattr(record, "_write", broken)
    assert_not_stored(post(client, "hello"), db_path)
    assert logged == []


def test_after_a_failure_the_same_message_is_stored_with_its_log_rows(
    client: TestClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = live_queue.record_exchange
    fail = [True]

    def once(*args: Any, **kwargs: Any) -> Any:
        if fail.pop() if fail else False:
            raise RuntimeError("first try fails")
        return real(*args, **kwargs)

    monkeypatch.setattr(live_queue, "record_exchange", once)
    assert_not_stored(post(client, "hello"), db_path)
    r = post(client, "hello")
    assert r.status_code == 200, r.text
    turns, events = stored(db_path)
    assert turns == [r.json()["turn"]]
    assert events == [(turns[0], "customer", "sent"), (turns[0], "bot", "sent")]
    shown = client.get(f"/api/sessions/{SID}/events").json()["events"]
    assert [e["author"] for e in shown] == ["customer", "bot"]
    assert shown[-1]["text"] == r.json()["reply"]


def test_every_stored_web_turn_has_its_two_log_rows(client: TestClient, db_path: Path) -> None:
    for text in ("hello", "do you have wireless earbuds?", "what is your return policy?"):
        assert post(client, text).status_code == 200
    turns, events = stored(db_path)
    assert len(turns) == 3
    for turn in turns:
        assert [a for t, a, _ in events if t == turn] == ["customer", "bot"]


def test_review_mode_still_holds_the_reply_and_a_failure_stores_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopassist.engine.assistant import Assistant

    settings = Settings(no_llm=True, live_reply_mode="review")
    assistant = Assistant.open(Settings(db=db_path, no_llm=True), db=db_path)
    real = live_queue.record_exchange
    with TestClient(create_app(settings, assistant)) as c:
        r = post(c, "do you have wireless earbuds?")
        assert r.status_code == 200 and r.json()["pending"] and r.json()["reply"] is None
        turns, events = stored(db_path)
        assert events == [(turns[0], "customer", "sent"), (turns[0], "bot", "pending")]

        def crash(*a: Any, **k: Any) -> Any:
            real(*a, **k)
            raise RuntimeError("crash")

        monkeypatch.setattr(live_queue, "record_exchange", crash)
        assert post(c, "and headphones?").status_code == 503
        assert stored(db_path) == (turns, events)  # the failed turn left nothing behind


def test_the_stream_reports_a_failed_turn_as_not_stored(
    client: TestClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*a: Any, **k: Any) -> Any:
        raise RuntimeError("crash")

    monkeypatch.setattr(live_queue, "record_exchange", crash)
    with client.stream("POST", "/api/messages/stream", json={"session": SID, "text": "hi"}) as r:
        blocks = [b for b in r.read().decode().split("\n\n") if b.strip()]
    last = dict(line.split(": ", 1) for line in blocks[-1].splitlines())
    assert last["event"] == "error"
    data = json.loads(last["data"])
    assert data["error"] == "not_stored" and data["status"] == 503
    assert stored(db_path) == ([], [])


def test_the_log_writer_refuses_to_commit_on_its_own(demo_db: Any) -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        live_queue.record_exchange(demo_db, SID, 0, customer_text="hi", reply="hello", held=False)


# --- the server uses only the engine's public surface ------------------------------------------

ALLOWED = ("shopassist.engine.assistant", "shopassist.engine.turn_result")


def test_the_server_only_uses_the_engines_public_surface() -> None:
    folder = Path(__file__).parent.parent / "shopassist" / "server"
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            bad += [
                f"{path.name} imports {n}"
                for n in names
                if n.startswith("shopassist.engine") and not n.startswith(ALLOWED)
            ]
    assert bad == []
