"""Opening the database: WAL, a busy timeout and the migrations, every time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from shopassist.kb.migrations import migrate

BUSY_TIMEOUT_MS = 5000


class DatabaseError(Exception):
    """The database file cannot be opened or is not a ShopAssist database."""


def connect(path: Path | str) -> sqlite3.Connection:
    """A raw connection tuned for several operator processes sharing one file."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable in WAL mode across application crashes (only an OS crash
        # can lose the last transactions), and much faster than FULL.
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def open_db(path: Path | str, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and if needed create and migrate) a ShopAssist database."""
    if str(path) != ":memory:":
        p = Path(path)
        if not p.exists() and not create:
            raise DatabaseError(f"database {p} does not exist")
        if p.exists() and p.is_dir():
            raise DatabaseError(f"database path {p} is a directory")
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite_utils.Database(connect(path))
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    return db


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return None if row is None else row[0]


def set_meta(db: sqlite_utils.Database, key: str, value: str | None) -> None:
    if value is None:
        db.execute("delete from meta where key = ?", [key])
    else:
        db.execute(
            "insert into meta(key, value) values (?, ?) "
            "on conflict(key) do update set value = excluded.value",
            [key, value],
        )
