"""``serve`` under a long write (issue 10, writers under load): a web turn waits for another
process's write lock only ``serve_write_wait_seconds`` (not the CLI's minutes), then gets a
503 JSON error with Retry-After; that turn is not stored, and the client can send it again.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from shopassist.config import Settings  # noqa: E402
from shopassist.engine import record  # noqa: E402
from shopassist.kb.db import open_db  # noqa: E402
from shopassist.server import create_app  # noqa: E402

from .conftest import make_bot  # noqa: E402

SID = "writewait0123456789ab"


def _stored(db_path: Path, session: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return int(
            conn.execute(
                "select count(*) from turns where conversation_id = ?", [session]
            ).fetchone()[0]
        )
    finally:
        conn.close()


def test_a_web_turn_behind_a_held_write_lock_gets_a_503_and_is_not_stored(
    demo_db_path: Path, shared_nlu_models: Path
) -> None:
    bot = make_bot(open_db(demo_db_path), shared_nlu_models)
    app = create_app(Settings(no_llm=True, serve_write_wait_seconds=1.5), bot)
    importer = sqlite3.connect(demo_db_path, isolation_level=None)
    with TestClient(app) as client:
        importer.execute("begin immediate")  # another process holds the write lock
        try:
            started = time.monotonic()
            r = client.post("/api/messages", json={"session": SID, "text": "hi there"})
            waited = time.monotonic() - started
        finally:
            importer.execute("rollback")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["error"] == "busy" and "not stored" in body["detail"]
        assert "1.5 s" in body["detail"]
        assert r.headers["Retry-After"] == "2"
        # The configured wait, not SQLite's 30 s busy timeout or the CLI's 300 s retry.
        assert 1.0 <= waited < 15, waited
        assert _stored(demo_db_path, SID) == 0
        again = client.post("/api/messages", json={"session": SID, "text": "hi there"})
        assert again.status_code == 200, again.text
        assert _stored(demo_db_path, SID) == 1
    importer.close()


def test_the_cli_keeps_its_long_wait() -> None:
    """Only the server's connection is bounded: other connections keep RECORD_RETRY_SECONDS."""
    db_a, db_b = open_db(":memory:"), open_db(":memory:")
    record.set_write_wait(db_a, 2.0)
    assert record.write_wait(db_a) == 2.0
    assert record.write_wait(db_b) == record.RECORD_RETRY_SECONDS
    assert int(db_a.conn.execute("pragma busy_timeout").fetchone()[0]) == 2000


def test_the_setting_is_bounded() -> None:
    with pytest.raises(ValueError):
        Settings(serve_write_wait_seconds=0)
    with pytest.raises(ValueError):
        Settings(serve_write_wait_seconds=301)
