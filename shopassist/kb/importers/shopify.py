"""Shopify's product CSV: one product spans several rows sharing a ``Handle``.

The first row of a product carries its Title, Body (HTML), Vendor, Type and Tags;
continuation rows leave Title empty and add variants, or only images (skipped).
Option names are given on the first row only.
"""

from __future__ import annotations

from collections.abc import Iterator

from shopassist.kb.importers.cleaning import slugify
from shopassist.kb.importers.columns import Columns
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

_NO_OPTION = {"title": "default title"}  # Shopify's placeholder for "no options"


def read_shopify(source: CsvSource) -> Iterator[ProductGroup | Rejection]:
    cols = Columns(source.header)
    cols.require(["Handle", "Title", "Variant Price"], "Shopify product export")
    handle_of = cols.getter("Handle")
    title_of = cols.getter("Title")
    body_of = cols.getter("Body (HTML)")
    vendor_of = cols.getter("Vendor")
    type_of = cols.getter("Type")
    category_of = cols.getter("Product Category")
    tags_of = cols.getter("Tags")
    status_of = cols.getter("Status")
    published_of = cols.getter("Published")
    sku_of = cols.getter("Variant SKU")
    price_of = cols.getter("Variant Price")
    compare_of = cols.getter("Variant Compare At Price")
    qty_of = cols.getter("Variant Inventory Qty")
    barcode_of = cols.getter("Variant Barcode")
    option_names_of = [cols.getter(f"Option{i} Name") for i in (1, 2, 3)]
    option_values_of = [cols.getter(f"Option{i} Value") for i in (1, 2, 3)]
    product_columns = {
        "title": cols.name("Title"),
        "description": cols.name("Body (HTML)"),
        "brand": cols.name("Vendor"),
        "product_type": cols.name("Type"),
        "category": cols.name("Product Category") if "Product Category" in cols else "Type",
        "tags": cols.name("Tags"),
    }
    variant_columns = {
        "sku": cols.name("Variant SKU"),
        "price": cols.name("Variant Price"),
        "compare_at": cols.name("Variant Compare At Price"),
        "stock": cols.name("Variant Inventory Qty"),
        "barcode": cols.name("Variant Barcode"),
        "options": cols.name("Option1 Value"),
    }

    current: ProductGroup | None = None
    option_names: list[str] = []
    rejected_handle: tuple[str, int] | None = None  # (handle, line) of a rejected product

    def variant_from(row: Row) -> VariantRecord | Rejection | None:
        cells = row.cells
        options: dict[str, str] = {}
        for name, value_of in zip(option_names, option_values_of, strict=True):
            value = value_of(cells).strip()
            if name and value and _NO_OPTION.get(name.lower()) != value.lower():
                options[name] = value
        sku, price = sku_of(cells), price_of(cells)
        if not (sku.strip() or price.strip() or options or qty_of(cells).strip()):
            return None  # an image-only row
        colour, size = split_options(options)
        data = {
            "sku": sku,
            "price": price,
            "compare_at": compare_of(cells),
            "stock": qty_of(cells),
            "barcode": barcode_of(cells).lstrip("'"),
            "options": options,
            "colour": colour,
            "size": size,
        }
        fields, errors = validate_row(VariantFields, data, row.line, variant_columns)
        if fields is None:
            return Rejection(row.line, cells, errors)
        if fields.compare_at is not None and fields.compare_at <= fields.price:
            fields = fields.model_copy(update={"compare_at": None})
        return VariantRecord(fields, row.line, cells)

    for row in source.rows():
        cells = row.cells
        handle = slugify(handle_of(cells)) if handle_of(cells).strip() else ""
        if not handle:
            yield Rejection(
                row.line, cells, [RowError(row.line, cols.name("Handle"), "is missing")]
            )
            continue
        if rejected_handle is not None and handle == rejected_handle[0]:
            reason = f"belongs to product {handle!r}, rejected on line {rejected_handle[1]}"
            yield Rejection(row.line, cells, [RowError(row.line, cols.name("Handle"), reason)])
            continue
        if current is None or handle != current.handle:
            if current is not None:
                yield current
                current = None
            title = title_of(cells)
            if not title.strip():
                reason = f"is missing on the first row of product {handle!r}"
                yield Rejection(row.line, cells, [RowError(row.line, cols.name("Title"), reason)])
                rejected_handle = (handle, row.line)
                continue
            status = status_of(cells).strip().lower()
            if status not in ("active", "draft", "archived"):
                published = published_of(cells).strip().lower()
                status = "draft" if published in ("false", "no", "0") else "active"
            data = {
                "title": title,
                "description": body_of(cells),
                "brand": vendor_of(cells),
                "product_type": type_of(cells),
                "category": category_of(cells) or type_of(cells),
                "tags": tags_of(cells),
                "status": status,
            }
            product, errors = validate_row(ProductFields, data, row.line, product_columns)
            if product is None:
                option_names = [of(cells).strip() for of in option_names_of]
                variant = variant_from(row)  # report the row's variant errors too
                if isinstance(variant, Rejection):
                    errors += variant.errors
                yield Rejection(row.line, cells, errors)
                rejected_handle = (handle, row.line)
                continue
            rejected_handle = None
            option_names = [of(cells).strip() for of in option_names_of]
            current = ProductGroup(handle, product, row.line, cells)
        variant = variant_from(row)
        if isinstance(variant, Rejection):
            yield variant
        elif variant is not None:
            current.variants.append(variant)
    if current is not None:
        yield current
