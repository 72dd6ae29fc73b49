"""Any other product CSV/TSV: headers are mapped to our fields by name.

Rows that share a handle (given, or derived from the title) next to each other are the
variants of one product, so a file with one row per colour/size works as expected.
Columns that map to nothing are kept as product specs ("Material": "Cotton").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from shopassist.kb.importers.cleaning import clean_line, slugify
from shopassist.kb.importers.columns import header_key, mapped_columns
from shopassist.kb.importers.rows import (
    ProductFields,
    ProductGroup,
    Rejection,
    VariantFields,
    VariantRecord,
    validate_row,
)
from shopassist.kb.importers.source import CsvSource, ImportFileError

# Field -> header spellings (compared after lower-casing and folding punctuation to '_').
SYNONYMS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "product_name", "product", "product_title", "item_name",
              "item", "商品名称", "商品名", "名称", "标题", "品名", "产品名称"),
    "handle": ("handle", "slug", "url_key", "product_handle", "parent_sku", "group"),
    "sku": ("sku", "variant_sku", "item_sku", "product_sku", "sku_code", "货号", "编码",
            "商品编码"),
    "id": ("id", "product_id", "item_id", "code", "product_code", "编号"),
    "price": ("price", "unit_price", "sale_price", "selling_price", "retail_price",
              "variant_price", "价格", "售价", "单价", "现价"),
    "compare_at": ("compare_at", "compare_at_price", "regular_price", "original_price",
                   "list_price", "msrp", "rrp", "was_price", "原价", "市场价"),
    "description": ("description", "desc", "body", "body_html", "details",
                    "long_description", "product_description", "描述", "详情", "商品描述"),
    "category": ("category", "categories", "category_path", "department", "分类", "类别",
                 "类目"),
    "product_type": ("type", "product_type"),
    "brand": ("brand", "vendor", "manufacturer", "make", "品牌"),
    "stock": ("stock", "quantity", "qty", "inventory", "stock_quantity", "on_hand",
              "inventory_quantity", "available", "库存", "数量"),
    "colour": ("colour", "color", "颜色", "顏色"),
    "size": ("size", "尺码", "尺寸", "规格"),
    "barcode": ("barcode", "ean", "upc", "gtin", "isbn", "条码", "条形码"),
    "tags": ("tags", "tag", "keywords", "labels", "标签", "关键词"),
    "currency": ("currency", "币种", "货币"),
}  # fmt: skip
FIELDS = tuple(SYNONYMS) + ("spec", "ignore")
REQUIRED = ("title", "price")


def normalise_header(name: str) -> str:
    return re.sub(r"[^\w]+", "_", header_key(name)).strip("_")


def map_headers(header: list[str], overrides: dict[str, str]) -> dict[str, int]:
    """Field -> column index, from synonyms and the user's ``--map column=field``."""
    lookup = {spelling: field for field, names in SYNONYMS.items() for spelling in names}
    mapping, claimed = mapped_columns(header, overrides, FIELDS, ("spec", "ignore"))
    for i, name in enumerate(header):
        if i in claimed:
            continue
        guessed = lookup.get(normalise_header(name))
        if guessed is not None and guessed not in mapping:
            mapping[guessed] = i
    if "sku" not in mapping and "id" in mapping:
        mapping["sku"] = mapping.pop("id")
    mapping.pop("id", None)
    return mapping


def read_generic(
    source: CsvSource, overrides: dict[str, str]
) -> Iterator[ProductGroup | Rejection]:
    header = source.header
    mapping = map_headers(header, overrides)
    missing = [f for f in REQUIRED if f not in mapping]
    if missing:
        raise ImportFileError(
            "cannot tell which column holds the product "
            + " and ".join(missing)
            + "; columns are "
            + ", ".join(repr(h) for h in header)
            + ". Name it with --map, e.g. --map 'Your Column=title'"
        )
    ignored = {header_key(c) for c, f in overrides.items() if f == "ignore"}
    used = set(mapping.values())
    spec_columns = [
        (i, clean_line(h))
        for i, h in enumerate(header)
        if i not in used and header_key(h) not in ignored and h
    ]
    columns = {field: header[i] for field, i in mapping.items()}
    product_fields = [
        f
        for f in ("title", "description", "brand", "product_type", "category", "tags")
        if f in mapping
    ]
    variant_fields = [
        f
        for f in ("sku", "price", "compare_at", "stock", "currency", "colour", "size", "barcode")
        if f in mapping
    ]
    product_index = [(f, mapping[f]) for f in product_fields]
    variant_index = [(f, mapping[f]) for f in variant_fields]
    handle_index = mapping.get("handle")
    title_index = mapping["title"]
    sku_index = mapping.get("sku")

    current: ProductGroup | None = None
    for row in source.rows():
        cells = row.cells
        if handle_index is not None and cells[handle_index].strip():
            handle = slugify(cells[handle_index])
        else:
            title = cells[title_index]
            handle = slugify(title) if len(title) <= 2000 else ""
            if not handle and title.strip() and sku_index is not None:
                handle = slugify(cells[sku_index][:200])
            if not handle and title.strip():
                # A title of only punctuation or symbols: stable, so re-imports still match.
                handle = "product-" + hashlib.sha1(title.encode()).hexdigest()[:10]
        continuing = current is not None and handle and handle == current.handle
        vdata: dict[str, Any] = {f: cells[i] for f, i in variant_index}
        options = {}
        if "colour" in vdata and vdata["colour"].strip():
            options[header[mapping["colour"]].strip()] = clean_line(vdata["colour"])
        if "size" in vdata and vdata["size"].strip():
            options[header[mapping["size"]].strip()] = clean_line(vdata["size"])
        vdata["options"] = options
        variant, verrors = validate_row(VariantFields, vdata, row.line, columns)
        if continuing:
            if variant is None:
                yield Rejection(row.line, cells, verrors)
            else:
                assert current is not None
                current.variants.append(VariantRecord(variant, row.line, cells))
            continue
        pdata: dict[str, object] = {f: cells[i] for f, i in product_index}
        if spec_columns:
            pdata["specs"] = {
                name: value for i, name in spec_columns if (value := clean_line(cells[i][:2000]))
            }
        product, perrors = validate_row(ProductFields, pdata, row.line, columns)
        if product is None or variant is None or not handle:
            if current is not None:
                yield current
                current = None
            yield Rejection(row.line, cells, perrors + verrors)
            continue
        if current is not None:
            yield current
        current = ProductGroup(handle, product, row.line, cells)
        current.variants.append(VariantRecord(variant, row.line, cells))
    if current is not None:
        yield current
