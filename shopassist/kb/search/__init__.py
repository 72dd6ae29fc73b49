"""Product and FAQ search: the library API the engine and the CLI call.

A query runs in up to four steps, each cheap at 100k products (docs/search.md):

1. Exact SKU look-up for chunks that look like one (an index probe).
2. FTS5 with every query token required (AND). Each token is OR-ed with its typo
   corrections, found with rapidfuzz in a vocabulary of product-name words that is
   loaded once per index version, never by scanning the catalog.
3. Only if that found nothing: a relaxed AND (see :func:`_relaxed`).
4. If there are still fewer than ``limit``, the tokens OR-ed, in the name columns only;
   those partial matches score half, so a product matching everything stays on top.

Scores are ``-bm25`` (higher is better; title weighted highest, see search_index), an
exact SKU ranks above every text match. Every hit carries a citable ``source_id`` and the
snippet it was found by, so later stages can show their sources.
"""

from __future__ import annotations

from shopassist.kb.search.faqs import search_faqs
from shopassist.kb.search.models import FaqHit, ProductDetail, ProductHit, SearchError, VariantInfo
from shopassist.kb.search.products import (
    get_product,
    get_product_cached,
    resolve_category,
    search_products,
)
from shopassist.kb.search.vocabulary import Vocabulary, clear_search_caches
from shopassist.kb.search_index import PRODUCT_COLUMNS

__all__ = [
    "PRODUCT_COLUMNS",
    "FaqHit",
    "ProductDetail",
    "ProductHit",
    "SearchError",
    "VariantInfo",
    "Vocabulary",
    "clear_search_caches",
    "get_product",
    "get_product_cached",
    "resolve_category",
    "search_faqs",
    "search_products",
]
