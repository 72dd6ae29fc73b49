"""Catalog import: Shopify, WooCommerce and generic files land as products and variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from shopassist.kb.importers.catalog import import_catalog
from shopassist.kb.importers.detect import detect_catalog_format
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.source import ImportFileError

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def variants_by_sku(db: sqlite_utils.Database) -> dict[str, dict]:
    rows = db.execute(
        "select v.sku, v.title, v.options, v.colour, v.size, v.price_cents, v.compare_at_cents, "
        "v.stock, v.barcode, p.handle, p.title from variants v join products p on p.id = v.product_id"
    ).fetchall()
    keys = ("sku", "title", "options", "colour", "size", "price", "compare_at", "stock",
            "barcode", "handle", "product")  # fmt: skip
    return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}


def product(db: sqlite_utils.Database, handle: str) -> dict:
    row = db.execute(
        "select p.title, p.description, p.brand, p.product_type, c.path, p.status, p.specs "
        "from products p left join categories c on c.id = p.category_id where p.handle = ?",
        [handle],
    ).fetchone()
    assert row is not None, f"no product {handle}"
    keys = ("title", "description", "brand", "type", "category", "status", "specs")
    return dict(zip(keys, row, strict=True))


def tags(db: sqlite_utils.Database, handle: str) -> set[str]:
    return {
        r[0]
        for r in db.execute(
            "select t.name from tags t join product_tags pt on pt.tag_id = t.id "
            "join products p on p.id = pt.product_id where p.handle = ?",
            [handle],
        )
    }


def test_shopify_multi_row_products_become_one_product_with_variants(db):
    report = import_catalog(db, FIXTURES / "shopify_products.csv")
    assert report.format == "shopify"
    assert report.committed
    assert report.counts["products"] == 2
    assert report.counts["variants"] == 4  # the image-only row is not a variant
    variants = variants_by_sku(db)
    assert set(variants) == {"HH-NAVY-S", "HH-NAVY-M", "HH-SAND-M", "TB-750"}
    navy_s = variants["HH-NAVY-S"]
    assert navy_s["handle"] == "harbor-hoodie"
    assert json.loads(navy_s["options"]) == {"Color": "Navy", "Size": "S"}
    assert (navy_s["colour"], navy_s["size"]) == ("Navy", "S")
    assert (navy_s["price"], navy_s["compare_at"], navy_s["stock"]) == (4900, 5900, 12)
    assert navy_s["barcode"] == "0123456789012"  # Excel's leading apostrophe dropped
    # Continuation rows inherit option names from the first row.
    assert json.loads(variants["HH-SAND-M"]["options"]) == {"Color": "Sand", "Size": "M"}
    # "Default Title" is Shopify's placeholder for a product without options.
    assert json.loads(variants["TB-750"]["options"]) == {}


def test_shopify_html_body_becomes_plain_text(db):
    import_catalog(db, FIXTURES / "shopify_products.csv")
    hoodie = product(db, "harbor-hoodie")
    assert hoodie["description"] == (
        "Brushed fleece hoodie & kangaroo pocket.\n• 80% cotton\n• Machine wash"
    )
    assert "<" not in hoodie["description"]
    assert hoodie["brand"] == "Northline"
    assert hoodie["type"] == "Hoodie"
    assert hoodie["category"] == "Apparel & Accessories > Clothing > Hoodies"
    assert tags(db, "harbor-hoodie") == {"warm", "winter", "cotton"}


def test_woocommerce_variations_attach_to_their_parent(db):
    report = import_catalog(db, FIXTURES / "woocommerce_products.csv")
    assert report.format == "woocommerce"
    variants = variants_by_sku(db)
    red, blue = variants["WOO-TEE-RED-S"], variants["WOO-TEE-BLUE-M"]
    # Parent given as "id:101" and as the parent's SKU both resolve.
    assert red["product"] == blue["product"] == "Ridge Cotton Tee"
    assert red["handle"] == blue["handle"]
    assert json.loads(red["options"]) == {"Color": "Red", "Size": "S"}
    # On sale: the sale price is the price, the regular price the compare-at price.
    assert (red["price"], red["compare_at"], red["stock"]) == (1500, 1900, 7)
    assert (blue["price"], blue["compare_at"], blue["stock"]) == (1900, None, 0)
    assert variants["WOO-MUG"]["price"] == 1250
    assert variants["WOO-LAMP"]["price"] == 3990  # external products are sellable too
    tee = product(db, red["handle"])
    assert tee["category"] == "Clothing > T-shirts"  # the first of several categories
    assert tee["description"] == "Organic cotton tee."
    # Variable and grouped parents are products without variants of their own.
    assert report.counts["products"] == 4
    assert report.counts["variants"] == 4


def test_woocommerce_variation_before_its_parent_is_linked(db, tmp_path):
    lines = (FIXTURES / "woocommerce_products.csv").read_text().splitlines()
    reordered = [lines[0], lines[2], lines[3], lines[1], *lines[4:]]
    path = tmp_path / "woo.csv"
    path.write_text("\n".join(reordered) + "\n")
    report = import_catalog(db, path)
    assert report.rejected == 0
    assert variants_by_sku(db)["WOO-TEE-RED-S"]["product"] == "Ridge Cotton Tee"


def test_generic_semicolon_file_with_decimal_commas_and_specs(db):
    report = import_catalog(db, FIXTURES / "generic_semicolon.csv")
    assert (report.format, report.delimiter) == ("generic", "semicolon")
    variants = variants_by_sku(db)
    assert variants["SOCK-1"]["price"] == 1250
    assert variants["TOTE-1"]["price"] == 800  # "€8,00"
    # Adjacent rows with the same title are variants of one product.
    assert variants["SOCK-1"]["handle"] == variants["SOCK-2"]["handle"] == "alpine-wool-socks"
    assert (variants["SOCK-2"]["colour"], variants["SOCK-2"]["size"]) == ("Grey", "L")
    # A column that maps to no field is kept as a spec.
    assert json.loads(product(db, "canvas-tote")["specs"]) == {"Material": "Cotton canvas"}


def test_generic_tab_separated(db):
    report = import_catalog(db, FIXTURES / "generic_tab.tsv")
    assert report.delimiter == "tab"
    assert variants_by_sku(db)["PEN-B"]["stock"] == 250


def test_map_overrides_an_unknown_header(db, tmp_path):
    path = tmp_path / "es.csv"
    path.write_text("Nombre,Precio,Codigo\nSilla plegable,35.00,SIL-1\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="--map"):
        import_catalog(db, path)
    options = ImportOptions(mapping={"Nombre": "title", "Precio": "price", "Codigo": "sku"})
    import_catalog(db, path, options)
    assert variants_by_sku(db)["SIL-1"]["product"] == "Silla plegable"


def test_map_names_an_unknown_field_or_column(db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("title,price\nLamp,5\n")
    with pytest.raises(ImportFileError, match="unknown field 'colourz'"):
        import_catalog(db, path, ImportOptions(mapping={"title": "colourz"}))
    with pytest.raises(ImportFileError, match="no column 'Nope'"):
        import_catalog(db, path, ImportOptions(mapping={"Nope": "title"}))


def test_forced_format_checks_its_columns(db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("title,price\nLamp,5\n")
    with pytest.raises(ImportFileError, match="Shopify product export.*'Handle'"):
        import_catalog(db, path, ImportOptions(format="shopify"))
    with pytest.raises(ImportFileError, match="unknown format"):
        import_catalog(db, path, ImportOptions(format="magento"))


def test_format_detection_from_headers():
    assert detect_catalog_format(["Handle", "Title", "Variant SKU", "Variant Price"]) == "shopify"
    assert detect_catalog_format(["ID", "Type", "SKU", "Name", "Regular price"]) == "woocommerce"
    assert detect_catalog_format(["name", "price", "sku"]) == "generic"


def test_reimport_upserts_by_sku_and_handle(db, tmp_path):
    import_catalog(db, FIXTURES / "shopify_products.csv")
    path = tmp_path / "update.csv"
    path.write_text(
        "sku,title,price,stock\n"
        "HH-NAVY-S,Harbor Fleece Hoodie v2,52.00,5\n"  # known SKU: updates that variant
        "NEW-1,Brand New Thing,3.00,1\n"
    )
    report = import_catalog(db, path)
    assert report.counts["created"] == 1 and report.counts["updated"] == 1
    variants = variants_by_sku(db)
    assert variants["HH-NAVY-S"]["price"] == 5200
    # The known SKU stayed on its product, which took the new title.
    assert variants["HH-NAVY-S"]["handle"] == "harbor-hoodie"
    assert product(db, "harbor-hoodie")["title"] == "Harbor Fleece Hoodie v2"
    assert db.execute("select count(*) from products").fetchone()[0] == 3


def test_variants_without_sku_upsert_by_handle_and_options(db, tmp_path):
    path = tmp_path / "nosku.csv"
    path.write_text("handle,title,price,size\nbeanie,Beanie,10,S\nbeanie,Beanie,10,M\n")
    import_catalog(db, path)
    path.write_text("handle,title,price,size\nbeanie,Beanie,12,S\n")
    report = import_catalog(db, path)
    assert report.counts["updated"] == 1
    prices = dict(db.execute("select size, price_cents from variants").fetchall())
    assert prices == {"S": 1200, "M": 1000}


def test_replace_swaps_the_whole_catalog(db):
    import_catalog(db, FIXTURES / "shopify_products.csv")
    import_catalog(db, FIXTURES / "generic_tab.tsv", ImportOptions(replace=True))
    assert set(variants_by_sku(db)) == {"NB-A5", "PEN-B"}
    categories = {r[0] for r in db.execute("select path from categories")}
    assert categories == {"Stationery"}
    assert db.execute("select count(*) from tags").fetchone()[0] == 0


def test_chinese_titles_get_distinct_handles(db, tmp_path):
    path = tmp_path / "zh.csv"
    path.write_text("商品名称,价格,库存\n无线耳机,199,5\n蓝牙音箱,299,0\n", encoding="utf-8")
    import_catalog(db, path)
    handles = {r[0] for r in db.execute("select handle from products")}
    assert handles == {"无线耳机", "蓝牙音箱"}


def test_text_is_cleaned_of_control_characters(db, tmp_path):
    path = tmp_path / "ansi.csv"
    path.write_text('title,price,description\n"Lamp\x1b[31m red\x07",5,"a\x1b]0;pwned\x07b"\n')
    import_catalog(db, path)
    title, description = db.execute("select title, description from products").fetchone()
    assert title == "Lamp red"
    assert "\x1b" not in description and "\x07" not in description


def test_woocommerce_escaped_commas_in_categories_and_tags(db, tmp_path):
    path = tmp_path / "woo.csv"
    path.write_text(
        "ID,Type,SKU,Name,Regular price,Categories,Tags\n"
        '7,simple,PAN-1,Frying Pan,30,"Kitchen > Pots\\, pans, Sale","cast iron\\, heavy, gift"\n'
    )
    import_catalog(db, path)
    handle = db.execute("select handle from products").fetchone()[0]
    assert product(db, handle)["category"] == "Kitchen > Pots, pans"
    assert tags(db, handle) == {"cast iron, heavy", "gift"}
