"""Ordered, named schema migrations, recorded in ``_migrations`` (after simonw/llm).

Append new migrations at the end; never edit or reorder one that has shipped.
Money is stored as integer cents (``*_cents``) so sums and comparisons are exact.

All pending migrations run in ONE transaction: a failure leaves the file exactly as it
was. ``executescript`` would commit midway (Python's sqlite3 commits before a script), so
the runner hands migrations a connection whose ``executescript`` runs the statements one
by one inside the transaction. A database is stamped with ShopAssist's application id
(``PRAGMA application_id``); one that has tables but neither the stamp nor our
``_migrations`` table belongs to another program and is refused before anything is
written to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []

# "SHOP" in ASCII: the SQLite header's application id for ShopAssist databases.
APPLICATION_ID = 0x53484F50


class ForeignDatabaseError(Exception):
    """The file is a SQLite database of another program; ShopAssist will not touch it."""


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def split_statements(script: str) -> Iterator[str]:
    """The complete SQL statements of a script, in order (triggers' bodies stay whole)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip() and buffer.strip(" \n\t;"):
        yield buffer


class _InTransactionConnection:
    """A connection whose ``executescript`` does not commit (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def executescript(self, script: str) -> sqlite3.Cursor:
        cursor = self._conn.cursor()
        for statement in split_statements(script):
            cursor.execute(statement)
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def user_tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "select name from sqlite_master where type in ('table', 'view') "
        "and name not like 'sqlite_%'"
    ).fetchall()
    return {r[0] for r in rows}


def check_ownership(conn: sqlite3.Connection) -> None:
    """Refuse a database of another program (read-only: nothing is created to find out)."""
    (app_id,) = conn.execute("pragma application_id").fetchone()
    if app_id == APPLICATION_ID:
        return
    tables = user_tables(conn)
    if not tables:
        return  # a new, empty file: ours to set up
    if "_migrations" in tables:
        names = {r[0] for r in conn.execute("select name from _migrations").fetchall()}
        if "m001_catalog" in names:
            return  # made by ShopAssist before the application id was stamped
    if app_id:
        raise ForeignDatabaseError(
            f"it belongs to another program (application id {app_id:#x}, not ShopAssist's)"
        )
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise ForeignDatabaseError(
        f"it is not a ShopAssist database: it has tables ({shown}) but no ShopAssist marker"
    )


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in one transaction. Returns the names applied.

    Raises ``ForeignDatabaseError`` (writing nothing) for another program's database.
    """
    conn = db.conn
    check_ownership(conn)
    tables = user_tables(conn)
    done: set[str] = set()
    if "_migrations" in tables:
        done = {row[0] for row in conn.execute("select name from _migrations").fetchall()}
    pending = [fn for fn in MIGRATIONS if fn.__name__ not in done]
    (app_id,) = conn.execute("pragma application_id").fetchone()
    if not pending and app_id == APPLICATION_ID:
        return []
    if conn.in_transaction:
        conn.commit()
    conn.execute("begin immediate")
    original = db.conn
    db.conn = _InTransactionConnection(original)  # type: ignore[assignment]
    applied = []
    try:
        # Re-read inside the write lock: another process may have migrated meanwhile.
        if "_migrations" in user_tables(original):
            done = {r[0] for r in original.execute("select name from _migrations").fetchall()}
        original.execute(
            "create table if not exists _migrations "
            "(name text primary key, applied_at text not null)"
        )
        for fn in MIGRATIONS:
            if fn.__name__ in done:
                continue
            fn(db)
            original.execute(
                "insert into _migrations(name, applied_at) values (?, datetime('now'))",
                [fn.__name__],
            )
            applied.append(fn.__name__)
        original.execute(f"pragma application_id = {APPLICATION_ID}")
        original.commit()
    except BaseException:
        if original.in_transaction:
            original.rollback()
        raise
    finally:
        db.conn = original
    return applied


@migration
def m001_catalog(db: sqlite_utils.Database) -> None:
    db.conn.executescript(
        """
        create table meta (key text primary key, value text);

        create table categories (
            id integer primary key,
            path text not null unique,          -- 'Clothing > Hoodies'
            name text not null,                 -- 'Hoodies'
            name_zh text,
            parent_id integer references categories(id)
        );

        create table products (
            id integer primary key,
            handle text not null unique,
            title text not null,
            title_zh text,
            description text not null default '',
            description_zh text,
            brand text,
            product_type text,
            category_id integer references categories(id),
            specs text not null default '{}',  -- JSON object: {"Battery": "30 h", ...}
            status text not null default 'active',
            source text not null default 'import',  -- 'demo' or 'import'
            created_at text not null default (datetime('now')),
            updated_at text not null default (datetime('now'))
        );
        create index products_category on products(category_id);

        create table tags (id integer primary key, name text not null unique);
        create table product_tags (
            product_id integer not null references products(id) on delete cascade,
            tag_id integer not null references tags(id) on delete cascade,
            primary key (product_id, tag_id)
        );

        create table variants (
            id integer primary key,
            product_id integer not null references products(id) on delete cascade,
            sku text unique,
            title text not null default '',     -- 'Blue / M'
            options text not null default '{}', -- JSON: {"Color": "Blue", "Size": "M"}
            colour text,
            size text,
            price_cents integer not null check (price_cents >= 0),
            compare_at_cents integer check (compare_at_cents >= 0),
            currency text not null default 'USD',
            stock integer not null default 0 check (stock >= 0),
            barcode text,
            position integer not null default 0
        );
        create index variants_product on variants(product_id);

        create table faqs (
            id integer primary key,
            key text not null,                  -- groups translations of one entry
            kind text not null default 'faq',   -- 'faq' or 'policy'
            language text not null,             -- 'en' or 'zh'
            question text not null,
            answer text not null,
            intent text,
            tags text not null default '',
            source text not null default 'import',
            unique (key, language)
        );

        -- Structured policy values the flows compute with (return window, fees ...).
        create table policies (
            key text primary key,
            value text not null,                -- JSON
            description text not null default ''
        );
        """
    )


@migration
def m002_customers_orders(db: sqlite_utils.Database) -> None:
    db.conn.executescript(
        """
        create table customers (
            id integer primary key,
            name text not null,
            email text unique,
            phone text,
            tier text not null default 'standard' check (tier in ('standard', 'vip')),
            language text not null default 'en' check (language in ('en', 'zh')),
            address text not null default '{}',  -- JSON: default shipping address
            source text not null default 'import',
            created_at text not null default (datetime('now'))
        );
        create index customers_phone on customers(phone);

        create table orders (
            id integer primary key,
            number text not null unique,        -- what the customer quotes: '10023'
            customer_id integer references customers(id),
            status text not null check (status in
                ('pending', 'paid', 'shipped', 'in_transit', 'delivered', 'cancelled', 'returned')),
            financial_status text,
            fulfillment_status text,
            currency text not null default 'USD',
            subtotal_cents integer not null default 0,
            shipping_cents integer not null default 0,
            tax_cents integer not null default 0,
            discount_cents integer not null default 0,
            total_cents integer not null default 0,
            shipping_method text,
            shipping_address text not null default '{}',  -- JSON
            invoice_number text unique,
            placed_at text not null,
            paid_at text,
            cancelled_at text,
            cancellation_fee_cents integer,
            source text not null default 'import',
            updated_at text not null default (datetime('now'))
        );
        create index orders_customer on orders(customer_id);

        create table order_items (
            id integer primary key,
            order_id integer not null references orders(id) on delete cascade,
            variant_id integer references variants(id) on delete set null,
            sku text,
            title text not null,
            quantity integer not null check (quantity > 0),
            unit_price_cents integer not null check (unit_price_cents >= 0)
        );
        create index order_items_order on order_items(order_id);

        create table shipments (
            id integer primary key,
            order_id integer not null references orders(id) on delete cascade,
            carrier text,
            tracking_number text,
            tracking_url text,
            status text not null default 'label_created',
            shipped_at text,
            estimated_delivery text,
            delivered_at text
        );
        create index shipments_order on shipments(order_id);

        create table tracking_events (
            id integer primary key,
            shipment_id integer not null references shipments(id) on delete cascade,
            at text not null,
            status text not null,
            location text,
            description text not null default ''
        );
        create index tracking_events_shipment on tracking_events(shipment_id, at);

        create table returns (
            id integer primary key,
            rma text not null unique,
            order_id integer not null references orders(id) on delete cascade,
            status text not null default 'requested' check (status in
                ('requested', 'approved', 'received', 'refunded', 'rejected')),
            reason text,
            items text not null default '[]',   -- JSON list of {sku, quantity}
            refund_cents integer,
            refund_method text,
            free_return_shipping integer not null default 0,
            created_at text not null default (datetime('now')),
            refunded_at text
        );
        create index returns_order on returns(order_id);
        """
    )


@migration
def m003_conversations(db: sqlite_utils.Database) -> None:
    db.conn.executescript(
        """
        create table conversations (
            id text primary key,                -- the session id
            customer_id integer references customers(id),
            verified integer not null default 0,
            language text,
            state text not null default '{}',   -- JSON dialogue state
            handoff integer not null default 0,
            handoff_summary text,
            status text not null default 'open',
            channel text not null default 'chat',  -- 'chat', 'assist', 'api'
            started_at text not null default (datetime('now')),
            updated_at text not null default (datetime('now'))
        );

        create table turns (
            id integer primary key,
            conversation_id text not null references conversations(id) on delete cascade,
            idx integer not null,
            created_at text not null default (datetime('now')),
            user_text text not null,            -- masked: no emails, phones or card numbers
            reply text not null,
            language text,
            intent text,
            confidence real,
            nlu text not null default '{}',     -- JSON (masked)
            action text,
            provenance text,                    -- 'template' | 'llm' | 'llm_rejected'
            rejection_reason text,
            sources text not null default '[]', -- JSON
            timings text not null default '{}', -- JSON: stage -> ms
            latency_ms real,
            sentiment text,
            sentiment_score real,
            resolved integer,
            unique (conversation_id, idx)
        );

        create table feedback (
            id integer primary key,
            turn_id integer references turns(id) on delete cascade,
            conversation_id text references conversations(id) on delete cascade,
            kind text not null check (kind in ('accepted', 'edited', 'rejected', 'relabelled')),
            suggestion_rank integer,
            suggested_text text,
            final_text text,
            corrected_intent text,
            created_at text not null default (datetime('now'))
        );

        create table tickets (
            id integer primary key,
            conversation_id text references conversations(id) on delete set null,
            customer_id integer references customers(id),
            order_id integer references orders(id),
            kind text not null,                 -- 'complaint', 'handoff', 'account'
            summary text not null,
            status text not null default 'open',
            created_at text not null default (datetime('now'))
        );
        """
    )


@migration
def m004_search_index(db: sqlite_utils.Database) -> None:
    """FTS5 indexes for product and FAQ search, built from whatever is already stored."""
    from shopassist.kb.search_index import rebuild_faq_index, rebuild_product_index

    # Customers type SKUs in any case; this keeps the exact-SKU lookup an index probe.
    db.execute("create index if not exists variants_sku_nocase on variants(sku collate nocase)")
    rebuild_product_index(db)
    rebuild_faq_index(db)


@migration
def m005_order_lifecycle(db: sqlite_utils.Database) -> None:
    """What real exports say about an order beyond our status: the shop's own status word,
    the money refunded, when it was fulfilled, how it was paid, the billing address, and
    each line's own fulfilment (Shopify's ``Lineitem fulfillment status``)."""
    db.conn.executescript(
        """
        alter table orders add column shop_status text;        -- 'on-hold', 'completed' ...
        alter table orders add column refunded_cents integer not null default 0;
        alter table orders add column fulfilled_at text;
        alter table orders add column payment_method text;
        alter table orders add column billing_address text not null default '{}';  -- JSON
        alter table order_items add column fulfillment_status text;  -- 'fulfilled', 'pending' ...
        alter table order_items add column fulfilled_at text;
        """
    )


@migration
def m006_live_events(db: sqlite_utils.Database) -> None:
    """The live web channel's message log (``shopassist/kb/live_queue.py``): what the
    customer's page shows and what staff must answer, shared by every server process."""
    db.conn.executescript(
        """
        create table live_events (
            id integer primary key autoincrement,  -- only grows: the pages' polling cursor
            conversation_id text not null references conversations(id) on delete cascade,
            turn_idx integer,                      -- the turn this message belongs to
            author text not null check (author in ('customer', 'bot', 'staff')),
            text text not null,                    -- customer text masked as in turns
            status text not null default 'sent'
                check (status in ('sent', 'pending', 'approved', 'replaced')),
            suggestions text,                      -- JSON: ranked replies for staff (bot rows)
            staff text,
            created_at text not null
        );
        create index live_events_conversation on live_events(conversation_id, id);
        """
    )


@migration
def m007_verification_failures(db: sqlite_utils.Database) -> None:
    """Failed ownership checks (``shopassist/kb/verification.py``): the limits on guessing an
    order's email or a customer's order numbers hold across conversations and processes."""
    db.conn.executescript(
        """
        create table verification_failures (
            id integer primary key,
            conversation_id text not null,
            order_number text,                     -- the number tried (may not exist)
            customer_id integer,                   -- the customer claimed or owning the order
            at text not null,
            cleared_at text                        -- set by `shopassist unlock`
        );
        create index verification_failures_conversation
            on verification_failures(conversation_id);
        create index verification_failures_order on verification_failures(order_number, at);
        create index verification_failures_customer on verification_failures(customer_id, at);
        """
    )


@migration
def m008_knowledge_gaps(db: sqlite_utils.Database) -> None:
    """Questions the shop's data could not answer (``shopassist/kb/knowledge_gaps.py``): the
    masked question and the policy key or FAQ that would have answered it, for ``stats``."""
    db.conn.executescript(
        """
        create table knowledge_gaps (
            id integer primary key,
            conversation_id text,
            language text,
            intent text,
            question text not null,                -- masked like turns.user_text
            kind text not null check (kind in ('policy', 'faq')),
            answer_key text not null,              -- 'returns.window_days' or an FAQ intent
            created_at text not null
        );
        create index knowledge_gaps_key on knowledge_gaps(kind, answer_key);
        """
    )


@migration
def m009_order_item_actions(db: sqlite_utils.Database) -> None:
    """Item-level order actions (``shopassist/kb/order_actions.py``): the reason a customer
    gave for cancelling, and exchanges of delivered items for another variant."""
    db.conn.executescript(
        """
        alter table orders add column cancel_reason text;
        create table exchanges (
            id integer primary key,
            order_id integer not null references orders(id) on delete cascade,
            order_item_id integer references order_items(id) on delete set null,
            from_variant_id integer references variants(id) on delete set null,
            to_variant_id integer references variants(id) on delete set null,
            quantity integer not null check (quantity > 0),
            price_difference_cents integer not null default 0,  -- > 0 charged, < 0 refunded
            reason text,
            status text not null default 'requested',
            created_at text not null
        );
        create index exchanges_order on exchanges(order_id);
        """
    )


@migration
def m010_policy_file_format(db: sqlite_utils.Database) -> None:
    """Policies stored before the policy file format (one row per old key, such as
    ``return_window_days``) read as unknown now (``kb/policies.py``). Only the demo loader
    wrote such rows, so a demo database gets its policy again from the demo's policy file,
    through the same validation as an import; any other database's rows stay as they are."""
    from shopassist.kb.demo import catalog_dir
    from shopassist.kb.policies import PolicyError, ShopPolicy, read_policy_file, write_policy

    keys = {row[0] for row in db.execute("select key from policies").fetchall()}
    if not keys - set(ShopPolicy.model_fields):
        return
    demo = db.execute("select value from meta where key = 'demo_catalog'").fetchone()
    if demo is None or demo[0] != "1":
        return
    try:
        policy = read_policy_file(catalog_dir() / "policies.toml")
    except PolicyError:
        return
    write_policy(db, policy, "demo:policies.toml")


@migration
def m011_turn_draft(db: sqlite_utils.Database) -> None:
    """What a turn's reply rephrased (``engine/record.py``): the plan's template reply and the
    facts it rests on, both masked like the reply, so ``export-training`` can turn an
    accepted model reply into an example (draft -> reply). Null on turns stored before."""
    db.conn.executescript(
        """
        alter table turns add column draft text;
        alter table turns add column facts text;  -- JSON list of the plan's facts, masked
        """
    )
