"""``import-catalog --replace`` without holding the write lock for the whole import.

The new catalog is built in TEMP copies of the catalog tables: same names, same columns,
constraints and indexes, created from the main tables' own SQL. On the importing
connection those copies shadow the main tables, so the writer's ordinary statements fill
them. Writing to the temp schema takes no lock on the database file, so chat turns, other
writers and readers go on while the file is parsed, validated and written.

Then one short transaction swaps the new catalog in: delete the old rows, copy the new
ones (plain ``INSERT ... SELECT``, no Python per row), and load the search index from
text that was also prepared beforehand (the costly CJK/SKU pre-processing ran outside the
lock; only FTS5's own tokenizer runs inside it). Readers see the old catalog or the new
one, never a mix, and the index always matches the rows.

Temp tables belong to the connection: an import that fails, is interrupted or killed
leaves nothing in the database file for the next import to trip over, and two imports
never see each other's staging.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from shopassist.kb.db import set_meta
from shopassist.kb.importers.transaction import IMPORT_CACHE_KIB

# Parents before children (foreign keys); dropped and emptied in the reverse order.
CATALOG_TABLES = ("categories", "tags", "products", "product_tags", "variants")
# Pre-processed search-index text of the new catalog (rowid = product id).
FTS_TEXT_TABLE = "temp.catalog_staged_fts_text"
# How long the swap waits for the write lock on top of SQLite's busy timeout: writers
# hold it for one turn at a time, so this is only reached when something else is wrong.
SWAP_LOCK_WAIT_SECONDS = 120.0

_CREATE_TABLE = re.compile(r"^\s*create\s+table\s+(?:if\s+not\s+exists\s+)?", re.IGNORECASE)
_CREATE_INDEX = re.compile(
    r"^\s*create\s+(unique\s+)?index\s+(?:if\s+not\s+exists\s+)?(?:main\.)?", re.IGNORECASE
)


def _drop_staging(conn: sqlite3.Connection) -> None:
    """Drop the temp copies (qualified: never the main tables)."""
    conn.execute(f"drop table if exists {FTS_TEXT_TABLE}")
    for table in reversed(CATALOG_TABLES):
        conn.execute(f"drop table if exists temp.{table}")


@contextmanager
def staged_catalog(db: sqlite_utils.Database) -> Iterator[None]:
    """Empty temp copies of the catalog tables for the life of the block, then gone."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    marks = ", ".join("?" for _ in CATALOG_TABLES)
    schema = conn.execute(
        f"select type, tbl_name, sql from main.sqlite_master where tbl_name in ({marks}) "
        "and type in ('table', 'index') and sql is not null",
        CATALOG_TABLES,
    ).fetchall()
    tables = {name: sql for kind, name, sql in schema if kind == "table"}
    missing = [t for t in CATALOG_TABLES if t not in tables]
    if missing:
        raise sqlite3.OperationalError(f"the catalog tables are missing: {', '.join(missing)}")
    _drop_staging(conn)
    # The same bigger page cache a one-transaction import gets, for the temp schema.
    previous_cache = conn.execute("pragma temp.cache_size").fetchone()[0]
    conn.execute(f"pragma temp.cache_size = {IMPORT_CACHE_KIB}")
    try:
        for table in CATALOG_TABLES:
            conn.execute(_CREATE_TABLE.sub("create temp table ", tables[table], count=1))
        for kind, _, sql in schema:
            if kind == "index":
                conn.execute(_CREATE_INDEX.sub(r"create \1index temp.", sql, count=1))
        conn.commit()
        yield
    finally:
        if conn.in_transaction:
            conn.rollback()
        _drop_staging(conn)
        if conn.in_transaction:
            conn.commit()
        conn.execute(f"pragma temp.cache_size = {int(previous_cache)}")


def prepare_search_text(db: sqlite_utils.Database) -> bool:
    """The new catalog's search-index text, computed from the temp tables, outside the lock.

    Returns False when the search module is not installed (no index to keep).
    """
    try:
        from shopassist.kb import search_index
    except ModuleNotFoundError as exc:  # pragma: no cover - part of the package
        if exc.name != "shopassist.kb.search_index":
            raise
        return False
    conn = db.conn
    columns = ", ".join(search_index.PRODUCT_COLUMNS)
    conn.execute(f"drop table if exists {FTS_TEXT_TABLE}")
    conn.execute(f"create table {FTS_TEXT_TABLE} ({columns})")
    search_index.register_functions(conn)
    # Unqualified names in the statement resolve to the temp copies on this connection.
    conn.execute(search_index._product_insert(FTS_TEXT_TABLE))
    conn.commit()
    return True


def _begin_swap(conn: sqlite3.Connection) -> None:
    deadline = time.monotonic() + SWAP_LOCK_WAIT_SECONDS
    delay = 0.05
    while True:
        try:
            conn.execute("begin immediate")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def swap_in(db: sqlite_utils.Database, *, search_text: bool) -> None:
    """Replace the catalog with the staged one in one transaction (all or nothing)."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    _begin_swap(conn)
    try:
        for table in reversed(CATALOG_TABLES):
            conn.execute(f"delete from main.{table}")
        for table in CATALOG_TABLES:
            conn.execute(f"insert into main.{table} select * from temp.{table}")
        set_meta(db, "demo_catalog", "0")
        if search_text:
            _load_search_index(db)
        conn.commit()
    finally:
        if conn.in_transaction:
            conn.rollback()


def _load_search_index(db: sqlite_utils.Database) -> None:
    """Recreate the product index from the prepared text (the caller's transaction)."""
    from shopassist.kb import search_index

    columns = ", ".join(search_index.PRODUCT_COLUMNS)
    search_index._create_products_fts(db)
    db.execute(
        f"insert into main.products_fts(rowid, {columns}) "
        f"select rowid, {columns} from {FTS_TEXT_TABLE}"
    )
    search_index.refresh_product_vocabulary(db)
    search_index._bump(db, search_index.PRODUCTS_VERSION_KEY)
