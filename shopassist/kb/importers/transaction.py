"""One transaction per import, and the search index rebuilt inside it when available."""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

IMPORT_CACHE_KIB = -32768  # negative: KiB, i.e. 32 MiB


class DemoDataError(Exception):
    """The database still holds demo data of the kind being imported."""


@contextmanager
def import_transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (take the write lock up front, so a concurrent writer waits on the
    busy timeout rather than failing half-way); the caller commits, anything else rolls back."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    # A bigger page cache for the bulk upsert: index pages stay in memory instead of being
    # spilled and re-read. Bounded, so memory is still flat on a million-row file.
    previous_cache = conn.execute("pragma cache_size").fetchone()[0]
    conn.execute(f"pragma cache_size = {IMPORT_CACHE_KIB}")
    conn.execute("begin immediate")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.rollback()
        conn.execute(f"pragma cache_size = {int(previous_cache)}")


def rebuild_search_index(db: sqlite_utils.Database, which: str) -> bool:
    """Rebuild the product or FAQ search index if the search module is installed."""
    try:
        search_index = importlib.import_module("shopassist.kb.search_index")
    except ModuleNotFoundError as exc:
        if exc.name != "shopassist.kb.search_index":
            raise
        return False
    rebuild = getattr(search_index, f"rebuild_{which}_index", None)
    if rebuild is None:
        return False
    rebuild(db)
    return True
