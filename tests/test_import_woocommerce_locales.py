"""WooCommerce exports written in the shop's admin language import like English ones.

The header translations are WooCommerce's own (data/woocommerce_headers.toml names the
translation file each came from); these tests check the mechanism and the data file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from shopassist.kb.importers.catalog import import_catalog
from shopassist.kb.importers.detect import detect_catalog_format
from shopassist.kb.importers.woocommerce import HEADERS_FILE, english_woocommerce_header

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def test_pt_br_export_imports(db):
    report = import_catalog(db, FIXTURES / "woocommerce_pt_BR.csv")
    assert report.format == "woocommerce" and report.committed and not report.errors
    rows = db.execute(
        "select p.title, v.sku, v.price_cents, v.compare_at_cents, v.stock, c.path "
        "from variants v join products p on p.id = v.product_id "
        "left join categories c on c.id = p.category_id order by v.sku"
    ).fetchall()
    assert rows == [
        ("Caneca Azul", "MUG-BLUE", 2000, None, 12, "Cozinha > Canecas"),
        ("Camiseta Básica", "TEE-M", 2500, 3000, 0, "Roupas > Camisetas"),  # on sale
        ("Camiseta Básica", "TEE-P", 3000, None, 5, "Roupas > Camisetas"),
    ]
    # Variations keep their attribute ("Nome do atributo 1" / "Valores do atributo 1").
    options = db.execute("select options from variants where sku = 'TEE-M'").fetchone()[0]
    assert "Tamanho" in options


def test_zh_cn_export_imports(db, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        "ID,类型,SKU,名称,已发布,简短描述,描述,库存数,促销价格,常规售价,分类,标签\n"
        '1,simple,TEA-1,龙井茶,1,,明前龙井 250g,20,,"128.00",茶叶 > 绿茶,"绿茶, 杭州"\n',
        encoding="utf-8",
    )
    report = import_catalog(db, path)
    assert report.format == "woocommerce" and report.committed, report.errors
    row = db.execute(
        "select p.title, v.price_cents, v.stock from variants v join products p on p.id = v.product_id"
    ).fetchone()
    assert row == ("龙井茶", 12800, 20)


def test_detects_a_localised_header():
    header = ["ID", "Tipo", "SKU", "Nome", "Publicado", "Em estoque?", "Estoque", "Preço"]
    assert detect_catalog_format(header) == "woocommerce"


@pytest.mark.parametrize(
    ("header", "expected", "locale"),
    [
        (["Tipo", "Nome", "Preço", "Nome do atributo 2"],
         ["Type", "Name", "Regular price", "Attribute 2 name"], "pt_BR"),
        (["类型", "名称", "常规售价", "促销价格", "属性 1 名称", "属性 1 值"],
         ["Type", "Name", "Regular price", "Sale price", "Attribute 1 name",
          "Attribute 1 value(s)"], "zh_CN"),
        (["Tipo", "Nombre", "Precio normal", "Nombre del atributo 1"],
         ["Type", "Name", "Regular price", "Attribute 1 name"], "es_ES"),
        (["Typ", "Name", "Regulärer Preis", "Artikelnummer"],
         ["Type", "Name", "Regular price", "SKU"], "de_DE"),
        (["Type", "Nom", "Tarif régulier", "UGS", "Catégories"],
         ["Type", "Name", "Regular price", "SKU", "Categories"], "fr_FR"),
        (["タイプ", "名前", "標準価格", "親"], ["Type", "Name", "Regular price", "Parent"], "ja"),
        (["Type", "Name", "Regular price"], ["Type", "Name", "Regular price"], None),
        (["title", "price"], ["title", "price"], None),
    ],
)  # fmt: skip
def test_header_translation(header, expected, locale):
    assert english_woocommerce_header(header) == (expected, locale)


def test_errors_name_the_column_as_the_file_spells_it(db, tmp_path):
    path = tmp_path / "produtos.csv"
    path.write_text("Tipo,Nome,Preço\nsimple,Caneca,abc\n", encoding="utf-8")
    report = import_catalog(db, path)
    assert not report.committed
    assert [e.column for e in report.errors] == ["Preço"]


def test_every_locale_names_its_source_and_maps_the_required_columns():
    with HEADERS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    for locale, entry in data["locales"].items():
        assert "woocommerce" in entry["source"].lower(), locale
        headers = entry["headers"]
        assert {"Type", "Name", "Regular price"} <= set(headers), locale
        # Two English columns must never share one translation within a locale.
        translated = [t.lower() for t in headers.values()]
        assert len(translated) == len(set(translated)), locale


def test_de_export_keeps_stock_price_and_attributes(db, tmp_path):
    path = tmp_path / "produkte.csv"
    path.write_text(
        "ID,Typ,Artikelnummer,Name,Veröffentlicht,Lagerbestand,Angebotspreis,Regulärer Preis,"
        "Kategorien,Attribut 1 Name,Attribut 1 Wert(e)\n"
        '7,simple,MUG-BLAU,Becher,1,4,"8,00","9,50",Küche,Farbe,Blau\n',
        encoding="utf-8",
    )
    report = import_catalog(db, path)
    assert report.format == "woocommerce" and report.committed, report.errors
    row = db.execute(
        "select p.title, v.sku, v.price_cents, v.compare_at_cents, v.stock, v.options "
        "from variants v join products p on p.id = v.product_id"
    ).fetchone()
    assert row[:5] == ("Becher", "MUG-BLAU", 800, 950, 4)
    assert "Farbe" in row[5] and "Blau" in row[5]
