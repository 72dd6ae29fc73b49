"""What a search returns: hits, product details, variants, and the error for bad input."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

MAX_LIMIT = 200
SNIPPET_CHARS = 160
PARTIAL_MATCH_FACTOR = 0.5
SKU_BONUS = 10.0
MAX_CORRECTIONS = 6
MatchKind = Literal["sku", "all", "partial", "intent"]


class SearchError(ValueError):
    """A search option (not the query text, which is never an error) is invalid."""


class ProductHit(BaseModel):
    id: int
    source_id: str  # "product:42"
    handle: str
    title: str
    title_zh: str | None = None
    brand: str | None = None
    category: str | None = None  # the path: "Audio > Headphones"
    category_zh: str | None = None
    score: float
    match: MatchKind
    snippet: str = ""
    snippet_field: str = ""
    currency: str = "USD"
    min_price_cents: int | None = None
    min_price: float | None = None
    total_stock: int = 0
    in_stock: bool = False
    # The variant to talk about: the one the query named (SKU, colour, size) when
    # ``variant_matched``, else the first in-stock one.
    sku: str | None = None
    variant_id: int | None = None
    variant_title: str | None = None
    variant_price_cents: int | None = None
    variant_stock: int | None = None
    variant_matched: bool = False


class FaqHit(BaseModel):
    id: int
    source_id: str  # "faq:<key>:<lang>"
    key: str
    kind: str
    language: str
    question: str
    answer: str
    intent: str | None = None
    tags: str = ""
    score: float
    match: MatchKind
    snippet: str = ""


class VariantInfo(BaseModel):
    id: int
    source_id: str  # "variant:7"
    sku: str | None
    title: str
    options: dict[str, Any] = Field(default_factory=dict)
    colour: str | None = None
    size: str | None = None
    price_cents: int
    price: float
    compare_at_cents: int | None = None
    currency: str = "USD"
    stock: int
    in_stock: bool
    barcode: str | None = None


class ProductDetail(BaseModel):
    id: int
    source_id: str
    handle: str
    title: str
    title_zh: str | None = None
    description: str = ""
    description_zh: str | None = None
    brand: str | None = None
    product_type: str | None = None
    category: str | None = None
    category_zh: str | None = None
    tags: list[str] = Field(default_factory=list)
    specs: dict[str, Any] = Field(default_factory=dict)
    status: str = "active"
    variants: list[VariantInfo] = Field(default_factory=list)
    currency: str = "USD"
    min_price_cents: int | None = None
    min_price: float | None = None
    total_stock: int = 0
    in_stock: bool = False
