"""The retrieve stage: the knowledge a reply may rest on, before any decision.

It resolves which products the message points at ("it", "the second one"), searches
products and FAQs when the intent calls for them, and turns a typed email or phone into
the customer it belongs to. It never loads an order: orders are read only by the
decide stage, behind the access check, so unverified order facts cannot leak into
sources, plans or prompts.
"""

from __future__ import annotations

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field

from shopassist.engine.dialogue.access import Claim, claim_from_message
from shopassist.engine.dialogue.interpret import PRODUCT_INTENTS, is_short, is_unsure
from shopassist.engine.dialogue.product_query import (
    ProductRequest,
    attribute_words,
    has_attributes,
    parse_request,
    search_request,
    variant_filter,
)
from shopassist.engine.dialogue.references import (
    asks_for_a_product,
    points_at_one,
    resolve_product_ids,
    unknown_name,
)
from shopassist.engine.dialogue.state import DialogueState
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.turn_result import Source
from shopassist.kb.search import FaqHit, ProductHit, catalog, get_product_cached, search_faqs

FAQ_INTENTS = frozenset(
    {
        "create_account",
        "edit_account",
        "switch_account",
        "recover_password",
        "registration_problems",
        "newsletter_subscription",
        "review",
        "place_order",
        "delete_account",
        "payment_issue",
        "check_refund_policy",
        "out_of_scope",
        "complaint",
    }
)
PRODUCT_LIMIT = 5
FAQ_LIMIT = 3


class RetrieveInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str
    nlu: NLUResult
    state: DialogueState
    language: str


class Retrieval(BaseModel):
    product_ids: list[int] = Field(default_factory=list)  # named or referenced, in order
    product_hits: list[ProductHit] = Field(default_factory=list)
    faq_hits: list[FaqHit] = Field(default_factory=list)
    claim: Claim = Field(default_factory=Claim)
    # What a product question asked for (kind, price, colour, size), and whether any hit
    # has a variant in the colour/size asked for.
    request: ProductRequest | None = None
    variant_found: bool = True
    # Nothing satisfies every constraint: which one fails ("price": items with the
    # attributes exist above the budget; "attribute": no item of that kind has them), and
    # the nearest items, to be shown as such and never as matches.
    unmet: str | None = None
    nearest: list[ProductHit] = Field(default_factory=list)
    # A product name the customer gave that no product has ("iPhone 16 Pro"), their words.
    unknown_name: str | None = None
    sources: list[Source] = Field(default_factory=list)


def _shown_category(db: sqlite_utils.Database, state: DialogueState) -> str | None:
    return catalog.product_category_path(db, state.shown[0]) if state.shown else None


def _with_attributes(
    db: sqlite_utils.Database,
    inp: RetrieveInput,
    req: ProductRequest,
    hits: list[ProductHit],
    out: Retrieval,
) -> list[ProductHit]:
    """Only hits that have every attribute; when none has, the nearest items and why."""
    full = [h for h in hits if has_attributes(db, h.id, req.attributes)]
    if full:
        return full
    priced = req.max_price is not None or req.min_price is not None
    if priced:
        unpriced = req.model_copy(update={"max_price": None, "min_price": None})
        wider = search_request(
            db, " ".join(req.attributes), unpriced, limit=PRODUCT_LIMIT, language=inp.language
        )
        nearest = [h for h in wider if has_attributes(db, h.id, req.attributes)]
        if nearest:
            out.unmet, out.nearest = "price", nearest[:PRODUCT_LIMIT]
            return []
    out.unmet, out.nearest = "attribute", hits[:PRODUCT_LIMIT]
    return []


def _nearest_over_budget(
    db: sqlite_utils.Database, inp: RetrieveInput, req: ProductRequest, out: Retrieval
) -> None:
    """Nothing of the kind within the budget: the cheapest of that kind above it, as the
    nearest (a robot vacuum asked for under $140 -> the one there is, at its price)."""
    unpriced = req.model_copy(update={"max_price": None, "min_price": None})
    wider = search_request(db, inp.text, unpriced, limit=PRODUCT_LIMIT * 2, language=inp.language)
    if not req.category:
        # No kind named: only products the message names in full, never a chance match.
        wider = [h for h in wider if h.match in ("sku", "all")]
    priced = []
    for h in wider:
        p = get_product_cached(db, h.id)
        if p is not None and p.variants:
            priced.append((min(v.price_cents for v in p.variants), h))
    priced.sort(key=lambda x: x[0])
    if priced:
        out.unmet, out.nearest = "price", [h for _, h in priced[:3]]


def _last_identity_first(nlu: NLUResult) -> NLUResult:
    """Several emails or phones in one message ("x@exmaple.org sorry x@example.org"): the
    last one given is the one meant, as a correction comes after the mistake."""
    ids = [e for e in nlu.entities if e.type in ("email", "phone")]
    if len(ids) < 2:
        return nlu
    rest = [e for e in nlu.entities if e.type not in ("email", "phone")]
    return nlu.model_copy(update={"entities": list(reversed(ids)) + rest})


def retrieve(db: sqlite_utils.Database, inp: RetrieveInput) -> Retrieval:
    intent = inp.nlu.intent.name
    out = Retrieval(claim=claim_from_message(db, _last_identity_first(inp.nlu)))
    if inp.text.strip():
        out.product_ids = resolve_product_ids(inp.nlu, inp.state, db, language=inp.language)
        wants_products = intent in PRODUCT_INTENTS and (
            intent != "product_info" or not out.product_ids
        )
        # "我想买一件外套" reads as place_order (an FAQ about ordering) to the classifier.
        # A message the classifier cannot place is searched too when it names a kind of
        # product ("卫衣"); the interpret stage then reads it as a product search.
        unsure = is_unsure(inp.nlu)
        if intent in PRODUCT_INTENTS or (unsure and not out.product_ids):
            req = parse_request(db, inp.nlu, inp.text)
            priced = req.max_price is not None or req.min_price is not None or req.asked_money
            if (
                intent == "product_search"
                and not req.category
                and (req.wants_variant or (priced and is_short(inp.text)))
            ):
                # "有黑色的吗？" or "under $50" right after a list narrows that list's kind.
                req.category = _shown_category(db, inp.state)
            out.request = req
            if (
                not out.product_ids
                and not req.category
                and (intent in PRODUCT_INTENTS or asks_for_a_product(inp.text))
            ):
                # A kind of product we carry ("a bluetooth speaker ... for the beach") is
                # what is asked for; the rest is context, not a name we lack.
                out.unknown_name = unknown_name(db, inp.nlu, inp.state, language=inp.language)
            if intent == "product_search" and out.product_ids and points_at_one(inp.text):
                # "那款有黑色的吗" asks about the product it points at (the dialogue manager
                # reads it as product_info), unless it names another kind of product.
                wants_products = bool(req.category_word)
            if wants_products or (unsure and req.category):
                # An unplaced message naming a kind of product ("有耳机吗？") is searched
                # too; the dialogue manager reads it as a product search.
                hits = search_request(db, inp.text, req, limit=PRODUCT_LIMIT, language=inp.language)
                hits, out.variant_found = variant_filter(db, hits, req)
                req.attributes = attribute_words(db, inp.nlu, req, language=inp.language)
                if req.attributes:
                    hits = _with_attributes(db, inp, req, hits, out)
                elif not hits and req.max_price is not None:
                    _nearest_over_budget(db, inp, req, out)
                out.product_hits = hits[:PRODUCT_LIMIT]
        elif unsure and out.product_ids:
            # A product named in a message the classifier cannot place: keep what was asked
            # of it (a budget, a colour), so the answer can say where it falls short.
            out.request = parse_request(db, inp.nlu, inp.text)
        if intent in FAQ_INTENTS:
            out.faq_hits = search_faqs(
                db,
                inp.text,
                language=inp.language,
                limit=FAQ_LIMIT,
                intent=None if intent == "out_of_scope" else intent,
            )
    for hit in out.product_hits:
        title = hit.title_zh if inp.language == "zh" and hit.title_zh else hit.title
        out.sources.append(
            Source(
                id=hit.source_id,
                kind="product",
                title=title,
                snippet=hit.snippet[:200],
                score=hit.score,
            )
        )
    for faq in out.faq_hits:
        out.sources.append(
            Source(
                id=faq.source_id,
                kind="faq",
                title=faq.question,
                snippet=faq.answer[:200],
                score=faq.score,
            )
        )
    return out
