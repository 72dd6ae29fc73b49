"""Opening the database: checks first, then WAL, a busy timeout and the migrations.

Nothing is written to a file before it is known to be ShopAssist's (or new and empty):
not a table, not even the WAL journal mode. Errors say what is wrong with the file -
a directory, not SQLite, another program's database, read-only - instead of SQLite's
"unable to open database file".
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal

import sqlite_utils

from shopassist.kb.migrations import ForeignDatabaseError, check_ownership, migrate

# Writers wait this long for the write lock before SQLite gives up. Imports commit in
# short transactions, so a turn waits at most for one of them; the record stage retries
# on top of this (engine/record.py).
BUSY_TIMEOUT_MS = 30_000
SQLITE_HEADER = b"SQLite format 3\x00"

FileKind = Literal["missing", "directory", "empty", "not_sqlite", "shopassist", "foreign"]


class DatabaseError(Exception):
    """The database file cannot be opened or is not a ShopAssist database."""


def connect(path: Path | str, *, wal: bool = True) -> sqlite3.Connection:
    """A raw connection tuned for several operator processes sharing one file."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if wal:
        enable_wal(conn, path)
    return conn


def enable_wal(conn: sqlite3.Connection, path: Path | str) -> None:
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable in WAL mode across application crashes (only an OS crash
        # can lose the last transactions), and much faster than FULL.
        conn.execute("PRAGMA synchronous = NORMAL")
    # Deleted rows (an old dialogue state, a cleared slot) are overwritten with zeros
    # instead of lingering in free pages of the file.
    conn.execute("PRAGMA secure_delete = ON")


def inspect_database(path: Path | str) -> FileKind:
    """What is at ``path``, read without creating or changing anything."""
    p = Path(path)
    if not p.exists():
        return "missing"
    if p.is_dir():
        return "directory"
    with p.open("rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if not header:
        return "empty"
    if header != SQLITE_HEADER:
        return "not_sqlite"
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            check_ownership(conn)
        finally:
            conn.close()
    except ForeignDatabaseError:
        return "foreign"
    except sqlite3.DatabaseError:
        return "not_sqlite"
    return "shopassist"


def _read_only(p: Path) -> bool:
    if p.exists():
        return not os.access(p, os.W_OK) or not os.access(p.parent, os.W_OK)
    return not os.access(p.parent, os.W_OK)


def open_db(path: Path | str, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and if needed create and migrate) a ShopAssist database."""
    if str(path) != ":memory:":
        p = Path(path)
        if not p.exists() and not create:
            raise DatabaseError(f"database {p} does not exist")
        if p.exists() and p.is_dir():
            raise DatabaseError(f"database path {p} is a directory, not a file")
        if p.exists() and p.stat().st_size:
            with p.open("rb") as fh:
                if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise DatabaseError(
                        f"cannot open database {p}: it is not a SQLite database; "
                        "ShopAssist will not use it"
                    )
        p.parent.mkdir(parents=True, exist_ok=True)
        if _read_only(p):
            raise DatabaseError(
                f"database {p} is read-only: ShopAssist needs to write to the file and its "
                "directory (check the permissions)"
            )
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path, wal=False)
        check_ownership(conn)  # before WAL: another program's file stays untouched
        enable_wal(conn, path)
        db = sqlite_utils.Database(conn)
        migrate(db)
    except ForeignDatabaseError as exc:
        if conn is not None:
            conn.close()
        raise DatabaseError(f"refusing to use {path}: {exc}") from exc
    except sqlite3.OperationalError as exc:
        if conn is not None:
            conn.close()
        if "readonly" in str(exc) or "read-only" in str(exc):
            raise DatabaseError(f"database {path} is read-only: {exc}") from exc
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
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
