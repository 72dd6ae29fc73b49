"""Catalog look-ups the dialogue needs besides search: categories, prices, best sellers.

The engine asks these questions; the SQL that answers them lives here, in ``kb``, so the
dialogue code holds no query text and ``kb`` stays free of dialogue.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils


def product_category_path(db: sqlite_utils.Database, product_id: int) -> str | None:
    """ "Clothing > Hoodies" for a product, or None."""
    row = db.execute(
        "select c.path from products p join categories c on c.id = p.category_id where p.id = ?",
        [product_id],
    ).fetchone()
    return str(row[0]) if row else None


def product_category_id(db: sqlite_utils.Database, product_id: int) -> int | None:
    row = db.execute("select category_id from products where id = ?", [product_id]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def category_ids_under(db: sqlite_utils.Database, path: str) -> list[int]:
    """The category at ``path`` and every category below it."""
    return [
        int(r[0])
        for r in db.execute(
            "select id from categories where path = ? or path like ?", [path, path + " > %"]
        )
    ]


def category_names(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every category's name, Chinese name and path."""
    return list(db.query("select name, name_zh, path from categories"))


def categories_version(db: sqlite_utils.Database) -> tuple[int, int]:
    """Changes when categories are added or removed (a cache key for category words)."""
    count, top = db.execute("select count(*), coalesce(max(id), 0) from categories").fetchone()
    return int(count), int(top)


def catalog_currency(db: sqlite_utils.Database) -> str:
    """The currency the catalog's prices are in ("" for an empty catalog)."""
    row = db.execute("select currency from variants limit 1").fetchone()
    return str(row[0]).upper() if row and row[0] else ""


def max_price_cents(db: sqlite_utils.Database, product_id: int) -> int:
    row = db.execute(
        "select coalesce(max(price_cents), 0) from variants where product_id = ?", [product_id]
    ).fetchone()
    return int(row[0])


def best_stocked_product_ids(
    db: sqlite_utils.Database,
    *,
    category_ids: list[int] | None = None,
    max_price_cents: int | None = None,
    limit: int = 12,
) -> list[int]:
    """Active products with stock, most stock first: what a recommendation starts from,
    optionally within categories and with a variant at or under a price."""
    where = ""
    params: list[Any] = []
    if category_ids:
        where = f"and p.category_id in ({', '.join('?' * len(category_ids))})"
        params.extend(category_ids)
    if max_price_cents is not None:
        where += " and v.price_cents <= ?"
        params.append(max_price_cents)
    sql = (
        "select p.id, sum(v.stock) as stock from products p join variants v on v.product_id = p.id "
        f"where p.status = 'active' {where} group by p.id having stock > 0 "
        "order by stock desc, p.id limit ?"
    )
    return [int(r[0]) for r in db.execute(sql, [*params, limit]).fetchall()]
