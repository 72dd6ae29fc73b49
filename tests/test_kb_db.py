import sqlite3
from pathlib import Path

import pytest

from shopassist.kb.db import DatabaseError, get_meta, open_db, set_meta
from shopassist.kb.migrations import MIGRATIONS, migrate


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    db = open_db(tmp_path / "a.db")
    names = [r[0] for r in db.execute("select name from _migrations order by rowid").fetchall()]
    assert names == [fn.__name__ for fn in MIGRATIONS]
    assert migrate(db) == []  # idempotent: nothing pending on reopen
    assert open_db(tmp_path / "a.db").execute("select count(*) from _migrations").fetchone()[
        0
    ] == len(MIGRATIONS)


def test_schema_has_every_table(db) -> None:  # type: ignore[no-untyped-def]
    tables = set(db.table_names())
    for name in (
        "products",
        "variants",
        "categories",
        "tags",
        "product_tags",
        "faqs",
        "policies",
        "customers",
        "orders",
        "order_items",
        "shipments",
        "tracking_events",
        "returns",
        "conversations",
        "turns",
        "feedback",
        "tickets",
    ):
        assert name in tables, name


def test_wal_mode_and_busy_timeout(db) -> None:  # type: ignore[no-untyped-def]
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("pragma busy_timeout").fetchone()[0] >= 1000


def test_two_processes_can_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    a = open_db(path)
    b = open_db(path)
    set_meta(a, "k", "1")
    a.conn.commit()
    assert get_meta(b, "k") == "1"


def test_constraints_reject_bad_money_and_status(db) -> None:  # type: ignore[no-untyped-def]
    db.execute("insert into products(handle, title) values ('h', 'T')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("insert into variants(product_id, sku, price_cents) values (1, 'S', -1)")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "insert into orders(number, status, placed_at) values ('1', 'lost', '2026-01-01')"
        )


def test_directory_or_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="directory"):
        open_db(tmp_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot open"):
        open_db(junk)


def test_missing_db_without_create(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        open_db(tmp_path / "nope.db", create=False)
