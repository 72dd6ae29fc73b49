"""Bad rows: every one reported with line, column and reason; nothing half-imported."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from shopassist.kb.db import get_meta, set_meta
from shopassist.kb.importers.catalog import import_catalog
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.transaction import DemoDataError

FIXTURES = Path(__file__).parent / "fixtures" / "import"

SHOPIFY_HEADER = (
    "Handle,Title,Body (HTML),Vendor,Type,Tags,Option1 Name,Option1 Value,"
    "Variant SKU,Variant Inventory Qty,Variant Price,Variant Compare At Price\n"
)
SHOPIFY_BAD = SHOPIFY_HEADER + (
    "cap,Trail Cap,<p>Cap</p>,Peak,Hat,,Size,S,CAP-S,5,20.00,\n"  # line 2: fine
    "cap,,,,,,,M,CAP-M,-2,20.00,\n"  # line 3: negative stock
    "cap,,,,,,,L,CAP-L,4,,\n"  # line 4: missing price
    "cap,,,,,,,XL,CAP-S,4,20.00,\n"  # line 5: duplicate SKU of line 2
    "scarf,Wool Scarf,,Peak,Scarf,,Title,Default Title,SCARF,3,twelve,\n"  # line 6: not a number
    ",,,,,,,,ORPHAN,1,3.00,\n"  # line 7: no handle
    "belt,,,,,,,,BELT,1,3.00,\n"  # line 8: first row of a product without a title
)
WOO_ORPHAN = (
    "ID,Type,SKU,Name,Regular price,Sale price,Stock,Parent,Attribute 1 name,Attribute 1 value(s)\n"
    '201,variable,JKT,Rain Jacket,,,,,Size,"S, M"\n'
    "202,variation,JKT-S,Rain Jacket - S,80.00,,3,id:201,Size,S\n"
    "203,variation,JKT-M,Rain Jacket - M,80.00,,3,id:999,Size,M\n"
    "204,variation,JKT-L,Rain Jacket - L,80.00,,3,,Size,L\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dump(db) -> str:
    return "\n".join(db.conn.iterdump())


def errors_by_line(report) -> dict[int, tuple[str, str]]:
    return {e.line: (e.column, e.reason) for e in report.errors}


def test_every_bad_shopify_row_is_reported_with_line_column_and_reason(db, tmp_path):
    report = import_catalog(db, write(tmp_path, "bad.csv", SHOPIFY_BAD))
    errors = errors_by_line(report)
    assert errors[3] == ("Variant Inventory Qty", "must not be negative (got -2)")
    assert errors[4] == ("Variant Price", "is missing")
    assert errors[5][0] == "Variant SKU"
    assert errors[5][1] == "duplicate SKU 'CAP-S' (first on line 2)"
    assert errors[6] == ("Variant Price", "'twelve' is not a number")
    assert errors[7] == ("Handle", "is missing")
    assert errors[8][0] == "Title" and "first row of product 'belt'" in errors[8][1]
    assert report.rejected == 6
    assert not report.committed


def test_rejected_import_leaves_the_database_unchanged(db, tmp_path):
    import_catalog(db, FIXTURES / "generic_tab.tsv")
    before = dump(db)
    report = import_catalog(db, write(tmp_path, "bad.csv", SHOPIFY_BAD))
    assert report.rejected and not report.committed
    assert dump(db) == before


def test_rejected_replace_leaves_the_database_unchanged(db, tmp_path):
    import_catalog(db, FIXTURES / "shopify_products.csv")
    before = dump(db)
    import_catalog(db, write(tmp_path, "bad.csv", SHOPIFY_BAD), ImportOptions(replace=True))
    assert dump(db) == before


def test_woocommerce_variation_without_its_parent(db, tmp_path):
    report = import_catalog(db, write(tmp_path, "woo.csv", WOO_ORPHAN))
    errors = errors_by_line(report)
    assert errors[4] == ("Parent", "parent 'id:999' is not a variable product in this file")
    assert errors[5][0] == "Parent" and "is missing" in errors[5][1]
    assert set(errors) == {4, 5}


def test_generic_missing_title_and_bad_values(db, tmp_path):
    text = "title,price,sku,stock\n,5,A,1\nLamp,-3,B,1\nChair,4,C,lots\nDesk,1e400000,D,1\n"
    report = import_catalog(db, write(tmp_path, "g.csv", text))
    errors = errors_by_line(report)
    assert errors[2] == ("title", "is missing")
    assert errors[3] == ("price", "must not be negative (got -3)")
    assert errors[4] == ("stock", "'lots' is not a whole number")
    assert errors[5][0] == "price"


def test_only_the_first_20_errors_are_kept(db, tmp_path):
    rows = "".join(f"Item {i},oops,S{i}\n" for i in range(50))
    report = import_catalog(db, write(tmp_path, "many.csv", "title,price,sku\n" + rows))
    assert report.rejected == 50
    assert len(report.errors) == 20
    assert report.unlisted_errors == 30
    assert [e.line for e in report.errors] == list(range(2, 22))


def test_skip_invalid_imports_good_rows_and_writes_the_rejects_beside_the_input(db, tmp_path):
    path = write(tmp_path, "shop.csv", SHOPIFY_BAD)
    report = import_catalog(db, path, ImportOptions(skip_invalid=True))
    assert report.committed
    assert report.rejected_path == tmp_path / "shop.rejected.csv"
    skus = {r[0] for r in db.execute("select sku from variants")}
    assert skus == {"CAP-S"}  # scarf's only variant was bad, so no empty scarf product
    assert {r[0] for r in db.execute("select handle from products")} == {"cap"}
    with report.rejected_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    # Duplicates are found when a batch is written, so they may come after later rows.
    assert sorted(r["Variant SKU"] for r in rows) == sorted(
        ["CAP-M", "CAP-L", "CAP-S", "SCARF", "ORPHAN", "BELT"]
    )
    assert rows[0]["error"] == "Variant Inventory Qty: must not be negative (got -2)"
    assert rows[0]["Option1 Value"] == "M"  # the row as it was, to fix and re-import
    assert list(rows[0])[-1] == "error"


def test_dry_run_writes_nothing(db, tmp_path):
    before = dump(db)
    report = import_catalog(db, FIXTURES / "shopify_products.csv", ImportOptions(dry_run=True))
    assert report.counts["created"] == 2 and report.counts["variants"] == 4
    assert not report.committed
    assert dump(db) == before


def test_dry_run_with_skip_invalid_writes_no_rejected_file(db, tmp_path):
    path = write(tmp_path, "shop.csv", SHOPIFY_BAD)
    report = import_catalog(db, path, ImportOptions(dry_run=True, skip_invalid=True))
    assert report.rejected == 6
    assert not (tmp_path / "shop.rejected.csv").exists()


def make_demo(db) -> None:
    """What the demo loader leaves behind, without depending on it."""
    with db.conn:
        db.execute(
            "insert into products (handle, title, source) values ('demo-lamp', 'Demo Lamp', 'demo')"
        )
        set_meta(db, "demo_catalog", "1")


def test_import_into_the_demo_catalog_is_refused(db):
    make_demo(db)
    before = dump(db)
    with pytest.raises(DemoDataError, match="--replace"):
        import_catalog(db, FIXTURES / "generic_tab.tsv")
    assert dump(db) == before


def test_replace_clears_the_demo_catalog(db):
    make_demo(db)
    import_catalog(db, FIXTURES / "generic_tab.tsv", ImportOptions(replace=True))
    assert {r[0] for r in db.execute("select handle from products")} == {
        "paper-notebook-a5",
        "gel-pen-blue",
    }
    assert get_meta(db, "demo_catalog") == "0"
    # Now a normal import works.
    import_catalog(db, FIXTURES / "generic_semicolon.csv")


def test_real_demo_database_is_refused_then_replaced(demo_db):
    with pytest.raises(DemoDataError, match="--replace"):
        import_catalog(demo_db, FIXTURES / "generic_tab.tsv")
    orders_before = demo_db.execute("select count(*) from orders").fetchone()[0]
    import_catalog(demo_db, FIXTURES / "generic_tab.tsv", ImportOptions(replace=True))
    assert demo_db.execute("select count(*) from products where source = 'demo'").fetchone() == (0,)
    assert demo_db.execute("select count(*) from products").fetchone() == (2,)
    assert get_meta(demo_db, "demo_catalog") == "0"
    # Demo orders stay (import-orders --replace removes them); their items lose the link.
    assert demo_db.execute("select count(*) from orders").fetchone()[0] == orders_before
    linked = demo_db.execute("select count(*) from order_items where variant_id is not null")
    assert linked.fetchone() == (0,)
