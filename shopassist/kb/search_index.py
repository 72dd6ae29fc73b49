"""The FTS5 indexes behind product and FAQ search, and how they are kept current.

The indexes hold a pre-processed copy of the catalog text (CJK runs as bigrams, see
:mod:`shopassist.kb.text_tokens`), so they are ordinary FTS5 tables rather than
external-content ones. Only active products are indexed: drafts and archived products
must never be offered to a customer.

Every change bumps a version token in ``meta``; search uses it to know when its cached
vocabulary (for typo correction) is stale, including after another process imported.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlite_utils

from shopassist.kb.text_tokens import index_text, sku_index_text

PRODUCTS_VERSION_KEY = "search_products_version"
FAQS_VERSION_KEY = "search_faqs_version"

# Column order matters: bm25() weights below and in search.py follow it.
PRODUCT_COLUMNS = (
    "title",
    "title_zh",
    "brand",
    "category",
    "tags",
    "options",
    "skus",
    "description",
    "description_zh",
)
PRODUCT_WEIGHTS = (10.0, 10.0, 6.0, 4.0, 3.0, 2.0, 8.0, 1.0, 1.0)
# Columns whose words feed the typo-correction vocabulary: what customers name products by.
PRODUCT_NAME_COLUMNS = ("title", "brand", "category", "tags", "options")
# Columns counted in products_search_vocab (SKUs would multiply its size for nothing).
PRODUCT_VOCAB_COLUMNS = (*PRODUCT_NAME_COLUMNS, "title_zh")

FAQ_COLUMNS = ("question", "answer", "tags")
FAQ_WEIGHTS = (4.0, 1.0, 2.0)

_TOKENIZE = "unicode61 remove_diacritics 2"
HIDDEN_STATUSES = ("draft", "archived", "deleted")


def _product_insert(table: str = "products_fts", *, only_ids: int = 0) -> str:
    """INSERT … SELECT of the index text for every visible product, or ``only_ids`` of them.

    Variants are aggregated once with GROUP BY rather than by a subquery per product
    (twice as fast at 100k). ``only_ids`` adds that many ``?`` placeholders. The WITH
    clause follows INSERT so that Python's sqlite3 still reports ``rowcount``.
    """
    ids = ", ".join("?" for _ in range(only_ids))
    variant_filter = f"where v.product_id in ({ids})" if only_ids else ""
    product_filter = f"and p.id in ({ids})" if only_ids else ""
    hidden = ", ".join(repr(s) for s in HIDDEN_STATUSES)
    return f"""
    insert into {table}(rowid, {", ".join(PRODUCT_COLUMNS)})
    with vt as (
        select
            v.product_id as product_id,
            group_concat(v.sku, char(31)) as skus,
            group_concat(
                coalesce(v.colour, '') || ' ' || coalesce(v.size, '') || ' ' || coalesce(
                    case when json_valid(v.options) and v.options not in ('{{}}', '')
                    then (select group_concat(j.value, ' ') from json_each(v.options) j
                          where j.type = 'text') end,
                    ''
                ),
                ' '
            ) as options
        from variants v {variant_filter}
        group by v.product_id
    )
    select
        p.id,
        sa_index_text(p.title),
        sa_index_text(p.title_zh),
        sa_index_text(p.brand),
        sa_index_text(
            coalesce(c.path, '') || ' ' || coalesce(c.name_zh, '') || ' '
            || coalesce(parent.name_zh, '') || ' ' || coalesce(p.product_type, '')
        ),
        sa_index_text((
            select group_concat(t.name, ' ') from product_tags pt
            join tags t on t.id = pt.tag_id where pt.product_id = p.id
        )),
        sa_index_text(vt.options),
        sa_sku_text(vt.skus),
        sa_index_text(p.description),
        sa_index_text(p.description_zh)
    from products p
    left join vt on vt.product_id = p.id
    left join categories c on c.id = p.category_id
    left join categories parent on parent.id = c.parent_id
    where p.status not in ({hidden}) {product_filter}
    """


_FAQ_INSERT = """
    insert into faqs_fts(rowid, question, answer, tags)
    select id, sa_index_text(question), sa_index_text(answer),
           sa_index_text(tags || ' ' || coalesce(intent, ''))
    from faqs
"""


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the index statements call; cheap, so done on every use."""
    conn.create_function("sa_index_text", 1, index_text, deterministic=True)
    conn.create_function("sa_sku_text", 1, sku_index_text, deterministic=True)


@contextmanager
def _transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """Join the caller's transaction if there is one (an importer's ``--replace``), else own one."""
    if db.conn.in_transaction:
        yield
    else:
        with db.conn:
            yield


def _bump(db: sqlite_utils.Database, key: str) -> None:
    db.execute(
        "insert into meta(key, value) values (?, ?) "
        "on conflict(key) do update set value = excluded.value",
        [key, uuid.uuid4().hex],
    )


def _create_products_fts(db: sqlite_utils.Database) -> None:
    weights = ", ".join(str(w) for w in PRODUCT_WEIGHTS)
    db.execute("drop table if exists products_fts_vocab")
    db.execute("drop table if exists products_fts")
    db.execute(
        f"create virtual table products_fts using fts5({', '.join(PRODUCT_COLUMNS)}, "
        f"tokenize = '{_TOKENIZE}')"
    )
    # A persistent rank: ``order by rank`` then means weighted BM25, title highest.
    db.execute(f"insert into products_fts(products_fts, rank) values ('rank', 'bm25({weights})')")
    db.execute("create virtual table products_fts_vocab using fts5vocab(products_fts, 'col')")


def _create_faqs_fts(db: sqlite_utils.Database) -> None:
    weights = ", ".join(str(w) for w in FAQ_WEIGHTS)
    db.execute("drop table if exists faqs_fts_vocab")
    db.execute("drop table if exists faqs_fts")
    db.execute(
        f"create virtual table faqs_fts using fts5({', '.join(FAQ_COLUMNS)}, "
        f"tokenize = '{_TOKENIZE}')"
    )
    db.execute(f"insert into faqs_fts(faqs_fts, rank) values ('rank', 'bm25({weights})')")
    db.execute("create virtual table faqs_fts_vocab using fts5vocab(faqs_fts, 'row')")


def rebuild_product_index(db: sqlite_utils.Database) -> int:
    """Index every visible product from scratch. Returns how many were indexed.

    Dropping and recreating the table is much faster than deleting 100k rows from it.
    """
    register_functions(db.conn)
    with _transaction(db):
        _create_products_fts(db)
        db.execute(_product_insert())
        refresh_product_vocabulary(db)
        count = db.execute("select count(*) from products_fts").fetchone()[0]
        _bump(db, PRODUCTS_VERSION_KEY)
    return int(count)


def refresh_product_vocabulary(db: sqlite_utils.Database) -> None:
    """Store each name word with its document count, for typo correction.

    Reading fts5vocab walks the whole index (half a second at 100k products), so it is
    done here, once per rebuild, instead of in the first search of every process.
    """
    marks = ", ".join(f"'{c}'" for c in PRODUCT_VOCAB_COLUMNS)
    with _transaction(db):
        db.execute("drop table if exists products_search_vocab")
        db.execute(
            "create table products_search_vocab (term text primary key, doc integer not null) "
            "without rowid"
        )
        db.execute(
            "insert into products_search_vocab(term, doc) select term, sum(doc) "
            f"from products_fts_vocab where col in ({marks}) group by term"
        )


def _add_to_vocabulary(db: sqlite_utils.Database, ids: list[int]) -> None:
    """Count the words of re-indexed products into products_search_vocab.

    Runs FTS5's own tokenizer over just these products in a temp table, so the words
    match the index exactly. Words of a product's old text are not subtracted: counts
    only steer heuristics, and the next rebuild makes them exact again.
    """
    if not _table_exists(db, "products_search_vocab"):
        refresh_product_vocabulary(db)
        return
    db.execute("drop table if exists temp.products_fts_delta_vocab")
    db.execute("drop table if exists temp.products_fts_delta")
    db.execute(
        f"create virtual table temp.products_fts_delta using fts5({', '.join(PRODUCT_COLUMNS)}, "
        f"tokenize = '{_TOKENIZE}')"
    )
    db.execute(
        "create virtual table temp.products_fts_delta_vocab "
        "using fts5vocab(temp, products_fts_delta, 'col')"
    )
    db.execute(_product_insert("temp.products_fts_delta", only_ids=len(ids)), [*ids, *ids])
    cols = ", ".join(f"'{c}'" for c in PRODUCT_VOCAB_COLUMNS)
    db.execute(
        "insert into products_search_vocab(term, doc) select term, sum(doc) "
        f"from temp.products_fts_delta_vocab where col in ({cols}) group by term "
        "on conflict(term) do update set doc = doc + excluded.doc"
    )
    db.execute("drop table temp.products_fts_delta_vocab")
    db.execute("drop table temp.products_fts_delta")


def rebuild_faq_index(db: sqlite_utils.Database) -> int:
    """Index every FAQ and policy entry from scratch. Returns how many were indexed."""
    register_functions(db.conn)
    with _transaction(db):
        _create_faqs_fts(db)
        db.execute(_FAQ_INSERT)
        count = db.execute("select count(*) from faqs_fts").fetchone()[0]
        _bump(db, FAQS_VERSION_KEY)
    return int(count)


def index_products(db: sqlite_utils.Database, product_ids: Iterable[int]) -> int:
    """Re-index the given products after they were created, changed or deleted.

    A deleted or hidden product simply disappears from the index. Returns how many of
    the ids are indexed afterwards.
    """
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        return 0
    register_functions(db.conn)
    indexed = 0
    with _transaction(db):
        if not _table_exists(db, "products_fts"):
            _create_products_fts(db)
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ", ".join("?" for _ in batch)
            db.execute(f"delete from products_fts where rowid in ({marks})", batch)
            cursor = db.execute(_product_insert(only_ids=len(batch)), [*batch, *batch])
            indexed += max(cursor.rowcount, 0)
            _add_to_vocabulary(db, batch)
        _bump(db, PRODUCTS_VERSION_KEY)
    return indexed


def _table_exists(db: sqlite_utils.Database, name: str) -> bool:
    row = db.execute("select 1 from sqlite_master where name = ?", [name]).fetchone()
    return row is not None


def ensure_search_index(db: sqlite_utils.Database) -> None:
    """Build any missing index, for databases created before search existed."""
    if not _table_exists(db, "products_fts"):
        rebuild_product_index(db)
    if not _table_exists(db, "faqs_fts"):
        rebuild_faq_index(db)


def index_version(db: sqlite_utils.Database, key: str) -> str:
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return "" if row is None or row[0] is None else str(row[0])
