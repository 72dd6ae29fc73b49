"""WooCommerce's product CSV: simple, variable, variation, grouped and external rows.

A ``variation`` row names its parent in ``Parent`` as ``id:123`` or as the parent's SKU.
Exports usually list the parent first; variations that come before their parent wait
until the end of the file (the only rows held in memory).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shopassist.kb.importers.cleaning import slugify, split_list
from shopassist.kb.importers.columns import Columns, header_key
from shopassist.kb.importers.rows import (
    ProductFields,
    ProductGroup,
    Rejection,
    RowError,
    VariantFields,
    VariantRecord,
    split_options,
    validate_row,
)
from shopassist.kb.importers.source import CsvSource, Row

HEADERS_FILE = Path(__file__).parent / "data" / "woocommerce_headers.toml"
_PRODUCT_KINDS = {"simple", "variable", "grouped", "external"}
_FALSE = {"0", "no", "false", "outofstock", "out of stock"}


@dataclass
class _Parent:
    handle: str
    line: int
    attribute_names: list[str]


@lru_cache(maxsize=1)
def header_translations() -> dict[str, list[tuple[re.Pattern[str], str]]]:
    """``data/woocommerce_headers.toml``: per locale, (translated header pattern, English
    template); "%d" in both is the attribute number."""
    with HEADERS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    out: dict[str, list[tuple[re.Pattern[str], str]]] = {}
    for locale, entry in data.get("locales", {}).items():
        pairs = []
        for english, translated in entry.get("headers", {}).items():
            body = re.escape(header_key(str(translated))).replace("%d", r"(\d+)")
            pairs.append((re.compile(rf"^{body}$"), str(english)))
        out[locale] = pairs
    return out


def english_woocommerce_header(header: list[str]) -> tuple[list[str], str | None]:
    """A localised WooCommerce export header in English, and the locale it was written in.

    The locale is the one whose translations rename the most columns; a header that no
    locale renames (an English export, or not WooCommerce at all) comes back unchanged.
    """
    best: tuple[int, list[str], str | None] = (0, list(header), None)
    keys = [header_key(h) for h in header]
    for locale, pairs in header_translations().items():
        renamed, changed = [], 0
        for original, key in zip(header, keys, strict=True):
            english = original
            for pattern, template in pairs:
                m = pattern.match(key)
                if m:
                    english = template.replace("%d", m.group(1)) if m.groups() else template
                    break
            changed += header_key(english) != key
            renamed.append(english)
        if changed > best[0]:
            best = (changed, renamed, locale)
    return best[1], best[2]


def read_woocommerce(source: CsvSource) -> Iterator[ProductGroup | Rejection]:
    english, _locale = english_woocommerce_header(source.header)
    cols = Columns(english)
    cols.header = list(source.header)  # errors name the column as the file spells it
    cols.require(["Type", "Name"], "WooCommerce product export")
    if "Regular price" not in cols and "Sale price" not in cols:
        cols.require(["Regular price"], "WooCommerce product export")
    id_of = cols.getter("ID")
    type_of = cols.getter("Type")
    sku_of = cols.getter("SKU")
    name_of = cols.getter("Name")
    published_of = cols.getter("Published")
    short_of = cols.getter("Short description")
    description_of = cols.getter("Description")
    in_stock_of = cols.getter("In stock?")
    stock_of = cols.getter("Stock")
    sale_of = cols.getter("Sale price")
    regular_of = cols.getter("Regular price")
    categories_of = cols.getter("Categories")
    tags_of = cols.getter("Tags")
    parent_of = cols.getter("Parent")
    brand_of = cols.getter("Brands") if "Brands" in cols else cols.getter("Brand")
    barcode_of = cols.getter("GTIN, UPC, EAN, or ISBN")
    attribute_count = 0
    while f"Attribute {attribute_count + 1} name" in cols:
        attribute_count += 1
    attr_names_of = [cols.getter(f"Attribute {i} name") for i in range(1, attribute_count + 1)]
    attr_values_of = [cols.getter(f"Attribute {i} value(s)") for i in range(1, attribute_count + 1)]
    product_columns = {
        "title": cols.name("Name"),
        "description": cols.name("Description"),
        "brand": cols.name("Brands"),
        "category": cols.name("Categories"),
        "tags": cols.name("Tags"),
    }
    parents: dict[str, _Parent] = {}
    waiting: list[Row] = []

    def variant_from(row: Row, attribute_names: list[str]) -> VariantRecord | Rejection:
        cells = row.cells
        options: dict[str, str] = {}
        for i, (name_of_attr, value_of) in enumerate(
            zip(attr_names_of, attr_values_of, strict=True)
        ):
            name = name_of_attr(cells).strip() or (
                attribute_names[i] if i < len(attribute_names) else ""
            )
            value = value_of(cells).strip()
            if name and value:
                options[name] = value
        colour, size = split_options(options)
        sale, regular = sale_of(cells), regular_of(cells)
        on_sale = bool(sale.strip())
        stock = stock_of(cells)
        if not stock.strip() and in_stock_of(cells).strip().lower() in _FALSE:
            stock = "0"
        data = {
            "sku": sku_of(cells),
            "price": sale if on_sale else regular,
            "compare_at": regular if on_sale else "",
            "stock": stock,
            "barcode": barcode_of(cells),
            "options": options,
            "colour": colour,
            "size": size,
        }
        columns = {
            "sku": cols.name("SKU"),
            "price": cols.name("Sale price" if on_sale else "Regular price"),
            "compare_at": cols.name("Regular price"),
            "stock": cols.name("Stock"),
            "barcode": "GTIN, UPC, EAN, or ISBN",
            "options": "Attribute 1 value(s)",
        }
        fields, errors = validate_row(VariantFields, data, row.line, columns)
        if fields is None:
            return Rejection(row.line, cells, errors)
        if fields.compare_at is not None and fields.compare_at <= fields.price:
            fields = fields.model_copy(update={"compare_at": None})
        return VariantRecord(fields, row.line, cells)

    def variation(row: Row) -> ProductGroup | Rejection | None:
        """The variation as a group under its parent; None if the parent is not seen yet."""
        reference = parent_of(row.cells).strip()
        if not reference:
            reason = "is missing: a variation row needs its parent product"
            return Rejection(row.line, row.cells, [RowError(row.line, cols.name("Parent"), reason)])
        parent = parents.get(_parent_key(reference))
        if parent is None:
            return None
        variant = variant_from(row, parent.attribute_names)
        if isinstance(variant, Rejection):
            return variant
        return ProductGroup(parent.handle, None, row.line, row.cells, [variant])

    for row in source.rows():
        cells = row.cells
        kinds = {k.strip().lower() for k in type_of(cells).split(",") if k.strip()}
        if "variation" in kinds:
            group = variation(row)
            if group is None:
                waiting.append(row)
            else:
                yield group
            continue
        kind = next(iter(kinds & _PRODUCT_KINDS), "simple" if not kinds else "")
        if not kind:
            reason = f"{type_of(cells).strip()[:40]!r} is not a WooCommerce product type"
            yield Rejection(row.line, cells, [RowError(row.line, cols.name("Type"), reason)])
            continue
        name, sku, woo_id = name_of(cells), sku_of(cells).strip(), id_of(cells).strip()
        categories = _split_escaped(categories_of(cells))
        published = published_of(cells).strip()
        data = {
            "title": name,
            "description": description_of(cells) or short_of(cells),
            "brand": brand_of(cells),
            "product_type": kind,
            "category": categories[0] if categories else "",
            "tags": _split_escaped(tags_of(cells)),
            "status": "draft" if published in ("0", "-1") else "active",
        }
        product, errors = validate_row(ProductFields, data, row.line, product_columns)
        if product is None:
            if kind not in ("variable", "grouped"):
                variant = variant_from(row, [])  # report the row's price/stock errors too
                if isinstance(variant, Rejection):
                    errors += variant.errors
            yield Rejection(row.line, cells, errors)
            continue
        handle = slugify(f"{product.title}-{sku or woo_id}") or f"product-{row.line}"
        group = ProductGroup(handle, product, row.line, cells)
        if kind in ("variable", "grouped"):
            group.expects_variants = False
            if kind == "variable":
                parent = _Parent(handle, row.line, [of(cells).strip() for of in attr_names_of])
                if woo_id:
                    parents[f"id:{woo_id}"] = parent
                if sku:
                    parents.setdefault(sku, parent)
        else:
            variant = variant_from(row, [])
            if isinstance(variant, Rejection):
                yield variant
            else:
                group.variants.append(variant)
        yield group

    for row in waiting:
        group = variation(row)
        if group is None:
            reference = parent_of(row.cells).strip()
            reason = f"parent {reference[:60]!r} is not a variable product in this file"
            yield Rejection(row.line, row.cells, [RowError(row.line, cols.name("Parent"), reason)])
        else:
            yield group


def _split_escaped(value: str) -> list[str]:
    """WooCommerce lists are comma-separated, with a comma inside a name written as ``\\,``."""
    if "\\," not in value:
        return split_list(value)
    parts = re.split(r"(?<!\\),", value)
    return split_list("\x1f".join(p.replace("\\,", ",") for p in parts), "\x1f")


def _parent_key(reference: str) -> str:
    reference = reference.strip()
    if reference.isdigit():
        return f"id:{reference}"
    if reference.lower().startswith("id:"):
        return "id:" + reference[3:].strip()
    return reference
