"""Spotting keys (SKUs, order numbers, FAQ keys) that a file repeats, in flat memory.

A Python set of a million SKUs would grow with the file; the keys go into a temporary
table instead (SQLite's temp store, on disk, inside the import's transaction) and each
batch is checked with one query.
"""

from __future__ import annotations

import json
import sqlite3


class SeenKeys:
    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        self.conn = conn
        self.table = f"temp.import_seen_{name}"
        conn.execute(f"drop table if exists {self.table}")
        conn.execute(f"create table {self.table} (key text primary key, line integer not null)")

    def check_and_add(self, keys: list[tuple[str, int]]) -> dict[int, int]:
        """Record ``(key, line)`` pairs; return ``{line: first_line}`` for repeated keys."""
        if not keys:
            return {}
        repeats: dict[int, int] = {}
        first_in_batch: dict[str, int] = {}
        for key, line in keys:
            if key in first_in_batch:
                repeats[line] = first_in_batch[key]
            else:
                first_in_batch[key] = line
        earlier = dict(
            self.conn.execute(
                f"select key, line from {self.table} where key in (select value from json_each(?))",
                (json.dumps(list(first_in_batch), ensure_ascii=False),),
            ).fetchall()
        )
        for key, line in first_in_batch.items():
            if key in earlier:
                repeats[line] = earlier[key]
        self.conn.executemany(
            f"insert into {self.table} (key, line) values (?, ?)",
            [(k, line) for k, line in first_in_batch.items() if k not in earlier],
        )
        return repeats

    def drop(self) -> None:
        self.conn.execute(f"drop table if exists {self.table}")
