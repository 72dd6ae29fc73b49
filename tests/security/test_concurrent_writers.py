"""Writers under load (issue 10, Medium): no turn is lost, two processes share one session
without a UNIQUE error, and a turn that cannot be stored is an error the caller sees.

The full-size figures (2 x 200 turns against a 200k-row import) come from
benchmarks/bench_concurrency.py; this is the small version that runs with the tests.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from shopassist.engine import record
from shopassist.engine.assistant import Assistant

TURNS = 25


def _writer(db: Path, name: str) -> subprocess.Popen[str]:
    lines = [
        json.dumps(
            {"session": f"shared-{i % 3}", "text": f"what is your return policy? ({name} {i})"}
        )
        for i in range(TURNS)
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopassist", "converse", "--jsonl", "--no-llm", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdin is not None
    proc.stdin.write("\n".join(lines) + "\n")
    proc.stdin.close()
    return proc


def _catalog(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["sku", "title", "price", "stock"])
        for i in range(rows):
            out.writerow([f"SKU-{i:06d}", f"Item {i}", "9.99", 5])
    return path


@pytest.mark.slow
def test_two_processes_on_one_session_during_an_import_lose_nothing(
    demo_db_path: Path, tmp_path: Path
) -> None:
    importer = subprocess.Popen(
        [
            sys.executable, "-m", "shopassist", "import-catalog",
            str(_catalog(tmp_path / "c.csv", 5000)), "--replace", "-q", "--db", str(demo_db_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    writers = [_writer(demo_db_path, name) for name in ("w1", "w2")]
    outputs = [(w.stdout.read(), w.stderr.read()) for w in writers if w.stdout and w.stderr]
    for w in writers:
        w.wait(timeout=600)
    assert importer.wait(timeout=600) == 0, importer.stderr.read() if importer.stderr else ""
    replies = []
    for proc, (out, err) in zip(writers, outputs, strict=True):
        assert "UNIQUE" not in out + err
        lines = [json.loads(x) for x in out.splitlines()]
        assert proc.returncode == 0, [x for x in lines if "error" in x] or err[-500:]
        replies += lines
    assert len(replies) == 2 * TURNS and not [r for r in replies if "error" in r]
    conn = sqlite3.connect(demo_db_path)
    rows = conn.execute(
        "select conversation_id, idx, user_text from turns where conversation_id like 'shared-%'"
    ).fetchall()
    conn.close()
    assert len(rows) == 2 * TURNS  # every turn stored once
    assert {r["text"] for r in replies} == {r[2] for r in rows}
    for session in ("shared-0", "shared-1", "shared-2"):
        idx = sorted(r[1] for r in rows if r[0] == session)
        assert idx == list(range(len(idx)))  # indices allocated without gaps or clashes


def test_a_busy_database_is_waited_for_not_skipped(bot: Assistant, demo_db_path: Path) -> None:
    """SQLite's busy handler off (timeout 0): the record stage's own retry must wait."""
    bot.db.conn.execute("pragma busy_timeout = 0")
    blocker = sqlite3.connect(demo_db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("begin immediate")
    threading.Timer(1.0, lambda: blocker.execute("commit")).start()
    start = time.monotonic()
    result = bot.turn("busy", "hi")
    assert time.monotonic() - start >= 0.9
    stored = bot.db.execute("select count(*) from turns where conversation_id = 'busy'")
    assert stored.fetchone()[0] == 1 and result.turn_index == 0


def test_a_turn_that_cannot_be_stored_raises_and_leaves_nothing(
    bot: Assistant,
    demo_db: sqlite_utils.Database,
    demo_db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(record, "RECORD_RETRY_SECONDS", 0.3)
    bot.db.conn.execute("pragma busy_timeout = 0")
    blocker = sqlite3.connect(demo_db_path, isolation_level=None)
    blocker.execute("begin immediate")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            bot.turn("lost", "hi")
    finally:
        blocker.execute("rollback")
        blocker.close()
    assert (
        demo_db.execute("select count(*) from conversations where id = 'lost'").fetchone()[0] == 0
    )
