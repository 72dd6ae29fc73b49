"""Which kind of catalog export a header belongs to."""

from __future__ import annotations

from typing import Literal

from shopassist.kb.importers.columns import Columns
from shopassist.kb.importers.woocommerce import english_woocommerce_header

CatalogFormat = Literal["shopify", "woocommerce", "generic"]
CATALOG_FORMATS: tuple[CatalogFormat, ...] = ("shopify", "woocommerce", "generic")


def detect_catalog_format(header: list[str]) -> CatalogFormat:
    """Shopify and WooCommerce exports have distinctive column names; anything else is generic."""
    columns = Columns(header)
    if "Handle" in columns and ("Variant Price" in columns or "Variant SKU" in columns):
        return "shopify"
    woo_markers = ("Regular price", "Parent", "Attribute 1 name", "In stock?")
    # WooCommerce writes its headers in the shop's admin language ("Tipo", "Nome", "Preço").
    columns = Columns(english_woocommerce_header(header)[0])
    if "Type" in columns and "Name" in columns and any(m in columns for m in woo_markers):
        return "woocommerce"
    return "generic"
