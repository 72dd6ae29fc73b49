"""The bundled demo shop: reads ``catalog/`` and fills an empty database in one transaction.

The catalog is hand-written data (TOML for products, FAQs and policies; JSONL for customers
and the generated orders), so it can be read and reviewed like prose. This module only
translates it into rows: dollars become cents, variant options become JSON, order items find
their variants by SKU. Everything it inserts is marked ``source = 'demo'`` and the meta key
``demo_catalog`` is set, so importers can tell a demo database from a shop's own.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlite_utils

import shopassist
from shopassist.kb import search_index
from shopassist.kb.db import set_meta
from shopassist.kb.policies import PolicyError, ShopPolicy, read_policy_file, write_policy

DEMO_META_KEY = "demo_catalog"
# Tables a demo load refuses to write into when they already hold rows: mixing the demo shop
# into a real catalog would show customers invented products.
_MUST_BE_EMPTY = ("products", "faqs", "customers", "orders", "categories", "policies")


class DemoCatalogError(Exception):
    """The demo catalog is missing or malformed, or the target database is not empty."""


def catalog_dir() -> Path:
    """Where the demo data lives: the repo's ``catalog/`` or, in a wheel, ``shopassist/_catalog``."""
    package = Path(shopassist.__file__).resolve().parent
    repo_catalog = package.parent / "catalog"
    if (repo_catalog / "policies.toml").is_file():
        return repo_catalog
    return package / "_catalog"


# --- reading ------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise DemoCatalogError(f"demo catalog file {path} is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DemoCatalogError(f"{path}: {exc}") from exc


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise DemoCatalogError(f"demo catalog file {path} is missing") from exc
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise DemoCatalogError(f"{path}:{lineno}: {exc}") from exc


def to_cents(amount: Any, where: str) -> int:
    """Dollars as written in the TOML (``149.0``, ``"12.99"``) to exact integer cents."""
    try:
        cents = Decimal(str(amount)) * 100
    except InvalidOperation as exc:
        raise DemoCatalogError(f"{where}: {amount!r} is not a price") from exc
    if cents != cents.to_integral_value() or cents < 0:
        raise DemoCatalogError(f"{where}: {amount!r} is not a whole number of cents")
    return int(cents)


def read_categories(root: Path) -> list[dict[str, Any]]:
    return list(_read_toml(root / "categories.toml").get("category", []))


def read_products(root: Path) -> list[dict[str, Any]]:
    """Every product with its variants, prices already in cents, options normalised."""
    products: list[dict[str, Any]] = []
    for path in sorted((root / "products").glob("*.toml")):
        for raw in _read_toml(path).get("product", []):
            where = f"{path.name}: {raw.get('handle', '?')}"
            variants = []
            for pos, var in enumerate(raw.get("variants") or []):
                vwhere = f"{where} variant {var.get('sku', pos)}"
                price = var.get("price", raw.get("price"))
                if price is None:
                    raise DemoCatalogError(f"{vwhere}: no price")
                compare_at = var.get("compare_at", raw.get("compare_at"))
                options: dict[str, str] = {}
                if var.get("colour"):
                    options["Color"] = var["colour"]
                if var.get("size"):
                    options["Size"] = var["size"]
                options.update(var.get("options") or {})
                variants.append(
                    {
                        "sku": var["sku"],
                        "title": " / ".join(options.values()) or "Default",
                        "options": options,
                        "colour": var.get("colour"),
                        "size": var.get("size"),
                        "price_cents": to_cents(price, vwhere),
                        "compare_at_cents": (
                            None if compare_at is None else to_cents(compare_at, vwhere)
                        ),
                        "stock": int(var.get("stock", 0)),
                        "barcode": var.get("barcode"),
                        "position": pos,
                    }
                )
            if not variants:
                raise DemoCatalogError(f"{where}: no variants")
            products.append({**raw, "variants": variants})
    return products


def read_faqs(root: Path) -> list[dict[str, Any]]:
    """One row per entry and language; an entry missing a translation is an error."""
    rows = []
    for entry in _read_toml(root / "faqs.toml").get("faq", []):
        for language in ("en", "zh"):
            text = entry.get(language)
            if not text or not text.get("q") or not text.get("a"):
                raise DemoCatalogError(f"faqs.toml: {entry.get('key')} has no {language} text")
            rows.append(
                {
                    "key": entry["key"],
                    "kind": entry.get("kind", "faq"),
                    "language": language,
                    "question": text["q"].strip(),
                    "answer": text["a"].strip(),
                    "intent": entry.get("intent"),
                    "tags": ", ".join(entry.get("tags", [])),
                }
            )
    return rows


def read_policies(root: Path) -> ShopPolicy:
    """The demo shop's policy file, validated exactly as ``import-policies`` validates one."""
    try:
        return read_policy_file(root / "policies.toml")
    except PolicyError as exc:
        raise DemoCatalogError(str(exc)) from exc


def read_customers(root: Path) -> list[dict[str, Any]]:
    return list(_read_jsonl(root / "customers.jsonl"))


def read_orders(root: Path) -> list[dict[str, Any]]:
    return list(_read_jsonl(root / "orders.jsonl"))


# --- writing ------------------------------------------------------------------------------


def _insert(db: sqlite_utils.Database, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """executemany over dict rows that all share the first row's keys.

    Not sqlite-utils' ``insert_all``: it wraps each chunk in ``with conn``, which would commit
    our outer transaction half-way and break the all-or-nothing load.
    """
    rows = list(rows)
    if not rows:
        return 0
    cols = list(rows[0])
    sql = f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})"
    db.conn.executemany(sql, [[row[c] for c in cols] for row in rows])
    return len(rows)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _insert_categories(
    db: sqlite_utils.Database, categories: list[dict[str, Any]]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    rows = []
    for n, cat in enumerate(categories, 1):
        path = cat["path"]
        parent, _, name = path.rpartition(" > ")
        if parent and parent not in ids:
            raise DemoCatalogError(f"categories.toml: {path!r} comes before its parent")
        ids[path] = n
        rows.append(
            {
                "id": n,
                "path": path,
                "name": name or path,
                "name_zh": cat.get("name_zh"),
                "parent_id": ids.get(parent),
            }
        )
    _insert(db, "categories", rows)
    return ids


def _insert_products(
    db: sqlite_utils.Database, products: list[dict[str, Any]], category_ids: dict[str, int]
) -> tuple[dict[str, int], int]:
    """Returns SKU -> variant id (orders need it) and the number of variants."""
    product_rows: list[dict[str, Any]] = []
    variant_rows: list[dict[str, Any]] = []
    tag_links: list[dict[str, Any]] = []
    tag_ids: dict[str, int] = {}
    sku_ids: dict[str, int] = {}
    for pid, prod in enumerate(products, 1):
        if prod["category"] not in category_ids:
            raise DemoCatalogError(f"{prod['handle']}: unknown category {prod['category']!r}")
        product_rows.append(
            {
                "id": pid,
                "handle": prod["handle"],
                "title": prod["title"],
                "title_zh": prod.get("title_zh"),
                "description": prod.get("description", ""),
                "description_zh": prod.get("description_zh"),
                "brand": prod.get("brand"),
                "product_type": prod.get("type") or prod["category"].rpartition(" > ")[2],
                "category_id": category_ids[prod["category"]],
                "specs": _dump(prod.get("specs", {})),
                "status": prod.get("status", "active"),
                "source": "demo",
            }
        )
        for tag in dict.fromkeys(t.strip().lower() for t in prod.get("tags", [])):
            tag_links.append(
                {"product_id": pid, "tag_id": tag_ids.setdefault(tag, len(tag_ids) + 1)}
            )
        for var in prod["variants"]:
            if var["sku"] in sku_ids:
                raise DemoCatalogError(f"duplicate SKU {var['sku']}")
            vid = len(variant_rows) + 1
            sku_ids[var["sku"]] = vid
            variant_rows.append(
                {**var, "id": vid, "product_id": pid, "options": _dump(var["options"])}
            )
    _insert(db, "products", product_rows)
    _insert(db, "tags", ({"id": i, "name": name} for name, i in tag_ids.items()))
    _insert(db, "product_tags", tag_links)
    _insert(db, "variants", variant_rows)
    return sku_ids, len(variant_rows)


def _insert_faqs_and_policies(
    db: sqlite_utils.Database, faqs: list[dict[str, Any]], policies: ShopPolicy
) -> tuple[int, int]:
    """FAQ rows, and the policy through the same writer ``import-policies`` uses."""
    _insert(db, "faqs", ({**row, "source": "demo"} for row in faqs))
    return len(faqs), write_policy(db, policies, "demo:policies.toml")


def _insert_customers(db: sqlite_utils.Database, customers: list[dict[str, Any]]) -> int:
    rows = [
        {
            "id": c["id"],
            "name": c["name"],
            "email": c.get("email"),
            "phone": c.get("phone"),
            "tier": c.get("tier", "standard"),
            "language": c.get("language", "en"),
            "address": _dump(c.get("address", {})),
            "source": "demo",
            "created_at": c.get("created_at"),
        }
        for c in customers
    ]
    return _insert(db, "customers", rows)


_ORDER_COLUMNS = (
    "number",
    "customer_id",
    "status",
    "financial_status",
    "fulfillment_status",
    "currency",
    "subtotal_cents",
    "shipping_cents",
    "tax_cents",
    "discount_cents",
    "total_cents",
    "shipping_method",
    "invoice_number",
    "placed_at",
    "paid_at",
    "cancelled_at",
    "cancellation_fee_cents",
)


def _insert_orders(
    db: sqlite_utils.Database,
    orders: list[dict[str, Any]],
    sku_ids: dict[str, int],
    tracking_urls: dict[str, str],
) -> int:
    order_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    shipment_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    return_rows: list[dict[str, Any]] = []
    for oid, order in enumerate(orders, 1):
        row = {col: order.get(col) for col in _ORDER_COLUMNS}
        row.update(
            id=oid,
            currency=order.get("currency", "USD"),
            shipping_address=_dump(order.get("shipping_address", {})),
            source="demo",
            updated_at=order.get("updated_at") or order["placed_at"],
        )
        order_rows.append(row)
        for item in order["items"]:
            if item["sku"] not in sku_ids:
                raise DemoCatalogError(f"order {order['number']}: unknown SKU {item['sku']}")
            item_rows.append(
                {
                    "order_id": oid,
                    "variant_id": sku_ids[item["sku"]],
                    "sku": item["sku"],
                    "title": item["title"],
                    "quantity": item["quantity"],
                    "unit_price_cents": item["unit_price_cents"],
                }
            )
        for ship in order.get("shipments", []):
            sid = len(shipment_rows) + 1
            url = tracking_urls.get(ship["carrier"])
            shipment_rows.append(
                {
                    "id": sid,
                    "order_id": oid,
                    "carrier": ship["carrier"],
                    "tracking_number": ship["tracking_number"],
                    "tracking_url": url.format(tracking_number=ship["tracking_number"])
                    if url
                    else None,
                    "status": ship["status"],
                    "shipped_at": ship.get("shipped_at"),
                    "estimated_delivery": ship.get("estimated_delivery"),
                    "delivered_at": ship.get("delivered_at"),
                }
            )
            event_rows.extend(
                {
                    "shipment_id": sid,
                    "at": ev["at"],
                    "status": ev["status"],
                    "location": ev.get("location"),
                    "description": ev.get("description", ""),
                }
                for ev in ship.get("events", [])
            )
        return_rows.extend(
            {
                "rma": ret["rma"],
                "order_id": oid,
                "status": ret["status"],
                "reason": ret.get("reason"),
                "items": _dump(ret.get("items", [])),
                "refund_cents": ret.get("refund_cents"),
                "refund_method": ret.get("refund_method"),
                "free_return_shipping": int(bool(ret.get("free_return_shipping"))),
                "created_at": ret["created_at"],
                "refunded_at": ret.get("refunded_at"),
            }
            for ret in order.get("returns", [])
        )
    _insert(db, "orders", order_rows)
    _insert(db, "order_items", item_rows)
    _insert(db, "shipments", shipment_rows)
    _insert(db, "tracking_events", event_rows)
    _insert(db, "returns", return_rows)
    return len(order_rows)


def load_demo(db: sqlite_utils.Database, root: Path | None = None) -> dict[str, int]:
    """Fill an empty, migrated database with the demo shop; all of it or nothing.

    Returns row counts by kind, for the caller's summary line.
    """
    root = root or catalog_dir()
    if not root.is_dir():
        raise DemoCatalogError(f"demo catalog directory {root} not found")
    # Parse everything before touching the database, so bad data fails fast and clean.
    categories = read_categories(root)
    products = read_products(root)
    faqs = read_faqs(root)
    policies = read_policies(root)
    customers = read_customers(root)
    orders = read_orders(root)
    for table in _MUST_BE_EMPTY:
        n = db.execute(f"select count(*) from {table}").fetchone()[0]
        if n:
            raise DemoCatalogError(
                f"the database already has {n} rows in {table}; "
                "the demo catalog loads only into an empty database"
            )
    tracking_urls = {
        c.code: c.tracking_url for c in policies.get("shipping.carriers") or [] if c.tracking_url
    }
    try:
        with db.conn:
            category_ids = _insert_categories(db, categories)
            sku_ids, n_variants = _insert_products(db, products, category_ids)
            n_faqs, n_policies = _insert_faqs_and_policies(db, faqs, policies)
            n_customers = _insert_customers(db, customers)
            n_orders = _insert_orders(db, orders, sku_ids, tracking_urls)
            set_meta(db, DEMO_META_KEY, "1")
            # The indexers join our open transaction, so a failed index rolls back the rows too.
            search_index.rebuild_product_index(db)
            search_index.rebuild_faq_index(db)
    except sqlite3.IntegrityError as exc:
        raise DemoCatalogError(f"demo catalog is inconsistent: {exc}") from exc
    return {
        "products": len(products),
        "variants": n_variants,
        "faqs": n_faqs,
        "policies": n_policies,
        "customers": n_customers,
        "orders": n_orders,
    }
