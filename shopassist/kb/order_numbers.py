"""The shapes of a shop's order numbers, learned from the orders it imported.

A shop that numbers its orders ``#W8665881``, ``SA-5107``, ``ORD-2024-00012`` or Amazon's
``112-1234567-1234567`` writes them in a few fixed shapes: literal letters, runs of digits
of a known length, and separators. The shapes are learned at import time and stored in
``meta`` (key ``order_number_shapes``), so the understanding side can read a customer's
``sa 5107`` or ``订单ord2024-00012`` as the stored number without knowing the shop.

A shape is a list of parts: ``["L", "SA"]`` (letters, as stored), ``["S", "-"]`` (a
separator) and ``["D", min, max]`` (a digit run of ``min``..``max`` digits).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import sqlite_utils

META_KEY = "order_number_shapes"
MAX_SHAPES = 20
# A shape seen on fewer orders than this share of the shop's is an outlier (a test
# order, a typo in the export), not a numbering scheme.
MIN_SHARE = 0.01
_PART = re.compile(r"[^\W\d_]+|\d+|[^\w]+|_+")

Shape = list[list[Any]]


def shape_parts(number: str) -> Shape:
    """'SA-5107' -> [['L', 'SA'], ['S', '-'], ['D', 4, 4]]."""
    parts: Shape = []
    for m in _PART.finditer(number):
        piece = m.group()
        if piece.isdigit():
            parts.append(["D", len(piece), len(piece)])
        elif piece[0].isalpha():
            parts.append(["L", piece])
        else:
            parts.append(["S", piece])
    return parts


def _key(parts: Shape) -> tuple[tuple[Any, ...], ...]:
    return tuple((p[0], p[1].upper()) if p[0] != "D" else ("D",) for p in parts)


def learn_shapes(numbers: list[str]) -> list[dict[str, Any]]:
    """The distinct shapes of ``numbers``, most common first, digit lengths merged."""
    merged: dict[tuple[tuple[Any, ...], ...], dict[str, Any]] = {}
    counts: Counter[tuple[tuple[Any, ...], ...]] = Counter()
    for raw in numbers:
        number = re.sub(r"\s+", "", str(raw).strip().lstrip("#"))
        if not number or not any(ch.isdigit() for ch in number):
            continue
        parts = shape_parts(number)
        key = _key(parts)
        counts[key] += 1
        known = merged.get(key)
        if known is None:
            merged[key] = {"parts": parts, "example": number}
            continue
        for mine, theirs in zip(known["parts"], parts, strict=True):
            if mine[0] == "D":
                mine[1], mine[2] = min(mine[1], theirs[1]), max(mine[2], theirs[2])
    total = sum(counts.values())
    shapes = []
    for key, count in counts.most_common(MAX_SHAPES):
        if count < MIN_SHARE * total and count < 3:
            continue
        shapes.append({**merged[key], "orders": count})
    return shapes


def learn_order_number_shapes(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Learn the shapes from every stored order and store them in ``meta`` (no commit:
    the import that called this commits or rolls back with it)."""
    numbers = [row[0] for row in db.execute("select number from orders").fetchall()]
    shapes = learn_shapes(numbers)
    db.execute(
        "insert into meta(key, value) values (?, ?) "
        "on conflict(key) do update set value = excluded.value",
        [META_KEY, json.dumps(shapes, ensure_ascii=False)],
    )
    return shapes


def order_number_shapes(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The stored shapes; learned on the fly (not stored) for a database whose orders came
    from somewhere other than ``import-orders`` (the demo shop)."""
    row = db.execute("select value from meta where key = ?", [META_KEY]).fetchone()
    if row is not None and row[0]:
        try:
            shapes = json.loads(row[0])
        except ValueError:
            shapes = None
        if isinstance(shapes, list):
            return shapes
    numbers = [r[0] for r in db.execute("select number from orders").fetchall()]
    return learn_shapes(numbers)
