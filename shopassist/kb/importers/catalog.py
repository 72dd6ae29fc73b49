"""``import-catalog``: read a product export, validate every row, write it all or nothing.

A merge import (no ``--replace``) writes in one transaction. ``--replace`` builds the new
catalog in temp tables without holding the write lock and swaps it in with one short
transaction (``staging.py``), so chat turns are not held up for the whole import.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from shopassist.kb.db import get_meta
from shopassist.kb.importers.detect import CATALOG_FORMATS, detect_catalog_format
from shopassist.kb.importers.duplicates import SeenKeys
from shopassist.kb.importers.generic import map_headers, read_generic
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.report import ImportReport, RejectedRowsFile, rejected_path_for
from shopassist.kb.importers.rows import ProductGroup, Rejection, RowError
from shopassist.kb.importers.shopify import read_shopify
from shopassist.kb.importers.source import CsvSource, ImportFileError, open_source
from shopassist.kb.importers.staging import prepare_search_text, staged_catalog, swap_in
from shopassist.kb.importers.transaction import (
    DemoDataError,
    import_transaction,
    rebuild_search_index,
)
from shopassist.kb.importers.woocommerce import read_woocommerce
from shopassist.kb.importers.writer import CatalogWriter

BATCH_ROWS = 5000


def holds_demo_catalog(db: sqlite_utils.Database) -> bool:
    if get_meta(db, "demo_catalog") == "1":
        return True
    return db.execute("select 1 from products where source = 'demo' limit 1").fetchone() is not None


def import_catalog(
    db: sqlite_utils.Database,
    path: Path,
    options: ImportOptions | None = None,
    source: CsvSource | None = None,
) -> ImportReport:
    """Import a product CSV. All or nothing unless ``skip_invalid``; see docs/importing.md.

    Raises ImportFileError (unreadable file, unknown columns) and DemoDataError.
    """
    options = options or ImportOptions()
    if options.format is not None and options.format not in CATALOG_FORMATS:
        raise ImportFileError(
            f"unknown format {options.format!r}; use one of {', '.join(CATALOG_FORMATS)}"
        )
    if source is None:
        source = open_source(path, encoding=options.encoding, delimiter=options.delimiter)
    fmt = options.format or detect_catalog_format(source.header)
    report = ImportReport(
        kind="catalog",
        path=path,
        format=fmt,
        encoding=source.encoding,
        delimiter=source.delimiter_name,
        dry_run=options.dry_run,
    )
    records = _reader(fmt, source, options.mapping)
    rejects = RejectedRowsFile(rejected_path_for(path), source.header, source.delimiter)
    sku_column = _sku_column(fmt, source, options.mapping)
    if options.replace:
        # Built in temp tables with no lock held, then swapped in one short transaction.
        with staged_catalog(db):
            _load(db, records, options, report, rejects, sku_column, path, commit_batches=True)
            if options.dry_run or (report.rejected and not options.skip_invalid):
                return report
            search_text = prepare_search_text(db)
            swap_in(db, search_text=search_text)
            if not search_text:
                rebuild_search_index(db, "product")
        report.committed = True
        return report
    with import_transaction(db) as conn:
        if holds_demo_catalog(db):
            raise DemoDataError(
                "this database still holds the demo catalog; importing would mix your products "
                "with demo ones. Re-run with --replace to replace the whole catalog with this "
                "file (demo orders and customers stay until you import-orders --replace)"
            )
        _load(db, records, options, report, rejects, sku_column, path, commit_batches=False)
        if options.dry_run or (report.rejected and not options.skip_invalid):
            conn.rollback()
            return report
        rebuild_search_index(db, "product")
        conn.commit()
        report.committed = True
    return report


def _load(
    db: sqlite_utils.Database,
    records: Iterator[ProductGroup | Rejection],
    options: ImportOptions,
    report: ImportReport,
    rejects: RejectedRowsFile,
    sku_column: str,
    path: Path,
    *,
    commit_batches: bool,
) -> None:
    """Validate every record and write the good ones in batches of ``BATCH_ROWS``.

    ``commit_batches``: commit after each batch (the staged ``--replace``, whose writes go
    to temp tables); otherwise everything stays in the caller's one transaction.
    """
    conn = db.conn
    writer = CatalogWriter(db)
    seen = SeenKeys(conn, "skus")
    products = variants = 0

    def reject(rejection: Rejection) -> None:
        report.add_rejection(rejection)
        if options.skip_invalid and not options.dry_run:
            rejects.write(rejection)

    def flush(batch: list[ProductGroup]) -> None:
        nonlocal products, variants
        keys = [(v.fields.sku, v.line) for g in batch for v in g.variants if v.fields.sku]
        repeats = seen.check_and_add(keys)
        kept = []
        for group in batch:
            if repeats:
                survivors = []
                for v in group.variants:
                    first = repeats.get(v.line)
                    if first is None:
                        survivors.append(v)
                        continue
                    reason = f"duplicate SKU {v.fields.sku!r} (first on line {first})"
                    reject(Rejection(v.line, v.cells, [RowError(v.line, sku_column, reason)]))
                group.variants = survivors
            if group.expects_variants and not group.variants:
                continue
            kept.append(group)
            products += group.product is not None
            variants += len(group.variants)
        if not (report.rejected and not options.skip_invalid):
            writer.write(kept)  # else the import will be dropped: only keep validating
        if commit_batches and conn.in_transaction:
            conn.commit()

    batch: list[ProductGroup] = []
    batch_rows = 0
    try:
        for record in records:
            if isinstance(record, Rejection):
                report.rows += 1
                reject(record)
                continue
            report.rows += max(1, len(record.variants))
            batch.append(record)
            batch_rows += len(record.variants) + 1
            if batch_rows >= BATCH_ROWS:
                flush(batch)
                batch, batch_rows = [], 0
        flush(batch)
    finally:
        rejects.close()
        seen.drop()
    if report.rows == 0:
        raise ImportFileError(f"{path} has a header row but no data rows; nothing to import")
    report.counts = {
        "products": products,
        "variants": variants,
        "created": writer.counts.products_created,
        "updated": writer.counts.products_updated,
        "variants_created": writer.counts.variants_created,
        "variants_updated": writer.counts.variants_updated,
    }
    if rejects.written:
        report.rejected_path = rejects.path


def _reader(
    fmt: str, source: CsvSource, mapping: dict[str, str]
) -> Iterator[ProductGroup | Rejection]:
    if fmt == "shopify":
        return read_shopify(source)
    if fmt == "woocommerce":
        return read_woocommerce(source)
    return read_generic(source, mapping)


def _sku_column(fmt: str, source: CsvSource, mapping: dict[str, str]) -> str:
    if fmt == "shopify":
        return "Variant SKU"
    if fmt == "woocommerce":
        return "SKU"
    index = map_headers(source.header, mapping).get("sku")
    return source.header[index] if index is not None else "sku"
