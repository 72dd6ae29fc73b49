"""Product mentions: catalog titles (English and Chinese), brands and SKUs.

Built for big catalogs: nothing here is O(products) per message.

1. Exact phrases: every title, title without its brand, brand and SKU is indexed as a
   token sequence; the message's token windows are looked up while they remain a prefix of
   some key, so a message costs about one dict lookup per token. Leading words of a
   title ("Tide ANC" for "Tide ANC Earbuds") count when they name one product only and
   start with a name rather than an ordinary word. Latin tokens are found the same way
   inside Chinese text ("AeroBuds Pro和Tide ANC哪个好").
2. Chinese titles: indexed by their first two characters and confirmed with
   ``startswith`` at each position.
3. Typos ("airbuds pro" → "AeroBuds Pro"): only for message tokens that are neither in the
   product vocabulary nor ordinary words (the intent training vocabulary). Such a token
   is matched against product-vocabulary tokens through a character-trigram index (cached),
   the few products containing those tokens become candidates, and rapidfuzz scores the
   candidate titles against message windows of the same length, with a score cutoff.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from shopassist.engine.nlu.entities import Candidate
from shopassist.text import CJK_RANGES

MAX_GAZETTEER_CHARS = 2000
FUZZY_TOKEN_CUTOFF = 78.0
FUZZY_TITLE_CUTOFF = 84.0
PARTIAL_CONFIDENCE = 0.82  # above the 0.75 that counts as shop evidence, below exact titles
MAX_POSTING = 60  # a vocabulary token in more titles than this is not distinctive
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_MODEL_NAME = re.compile(r"[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]")  # CrispPro, X12, 65W
_CJK_RUN = re.compile(f"[{CJK_RANGES}]{{2,}}")


@dataclass(frozen=True)
class ProductRecord:
    id: int
    title: str
    title_zh: str | None = None
    brand: str | None = None


@dataclass(frozen=True)
class SkuRecord:
    sku: str
    product_id: int
    variant_id: int | None = None


@dataclass(frozen=True)
class _Entry:
    kind: str  # "title", "title_zh", "alias", "brand", "sku"
    product_id: int | None
    value: str
    variant_id: int | None = None


def _norm_tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


class Gazetteer:
    def __init__(
        self,
        products: Iterable[ProductRecord],
        skus: Iterable[SkuRecord] = (),
        common_words: Iterable[str] = (),
    ) -> None:
        self.products: dict[int, ProductRecord] = {}
        self._phrases: dict[str, list[_Entry]] = {}
        self._prefixes: set[str] = set()
        self._zh: dict[str, list[tuple[str, _Entry]]] = {}
        # Leading words of a title ("Tide ANC" of "Tide ANC Earbuds") -> the products
        # whose title or brand-less title starts with them; used only when there is one.
        self._partial: dict[str, set[int]] = {}
        self._postings: dict[str, list[int]] = {}  # vocab token -> product ids
        self._titles_norm: dict[int, str] = {}
        self._title_len: dict[int, int] = {}
        self.common_words = frozenset(w.lower() for w in common_words)
        brand_titles: Counter[str] = Counter()
        for product in products:
            self.products[product.id] = product
            if product.brand:
                brand_titles[product.brand.lower()] += 1
            self._add_product(product)
        for sku in skus:
            if sku.sku:
                self._add_phrase(sku.sku, _Entry("sku", sku.product_id, sku.sku, sku.variant_id))
        for bucket in self._zh.values():
            bucket.sort(key=lambda item: -len(item[0]))  # longest Chinese title first
        self.vocabulary = sorted(self._postings)
        self._trigrams: dict[str, list[int]] = {}
        for i, token in enumerate(self.vocabulary):
            for gram in _trigrams(token):
                self._trigrams.setdefault(gram, []).append(i)
        self._similar = lru_cache(maxsize=50_000)(self._similar_uncached)

    # -- building ------------------------------------------------------------------
    def _add_phrase(self, text: str, entry: _Entry) -> None:
        tokens = _norm_tokens(text)
        if not tokens:
            return
        key = " ".join(tokens)
        bucket = self._phrases.setdefault(key, [])
        if entry not in bucket:
            bucket.append(entry)
        for n in range(1, len(tokens) + 1):
            self._prefixes.add(" ".join(tokens[:n]))

    def _add_product(self, product: ProductRecord) -> None:
        tokens = _norm_tokens(product.title)
        self._add_phrase(product.title, _Entry("title", product.id, product.title))
        self._titles_norm[product.id] = " ".join(tokens)
        self._title_len[product.id] = len(tokens)
        for token in set(tokens):
            if not token.isdigit():
                self._postings.setdefault(token, []).append(product.id)
        self._add_partials(tokens, product.id)
        raw_tokens = _TOKEN.findall(product.title)
        if product.brand:
            brand_tokens = _norm_tokens(product.brand)
            self._add_phrase(product.brand, _Entry("brand", None, product.brand))
            if tokens[: len(brand_tokens)] == brand_tokens and len(tokens) - len(brand_tokens) >= 2:
                rest = " ".join(tokens[len(brand_tokens) :])
                self._add_phrase(rest, _Entry("alias", product.id, product.title))
                # Without the brand only a model-style name leads a partial ("CrispPro
                # Air", "X12"), not a plain word ("Classic Pullover", "Wide Leg").
                if _MODEL_NAME.search(raw_tokens[len(brand_tokens)]):
                    self._add_partials(tokens[len(brand_tokens) :], product.id)
        if product.title_zh:
            zh = product.title_zh.strip().lower()
            entries = [zh]
            entries += [run for run in _CJK_RUN.findall(zh) if len(run) >= 4 and run != zh]
            for phrase in entries:
                if len(phrase) >= 2:
                    self._zh.setdefault(phrase[:2], []).append(
                        (phrase, _Entry("title_zh", product.id, product.title))
                    )

    def _add_partials(self, tokens: list[str], product_id: int) -> None:
        """Two or more leading words that start with a name, not an ordinary word: "tide
        anc" or "northfold classic" names a product, "classic pullover" or "smart led"
        could be anything."""
        if len(tokens) < 3 or tokens[0].isdigit() or tokens[0] in self.common_words:
            return
        for n in range(2, len(tokens)):
            self._partial.setdefault(" ".join(tokens[:n]), set()).add(product_id)

    @classmethod
    def from_db(cls, db: Any, common_words: Iterable[str] = ()) -> Gazetteer:
        products = [
            ProductRecord(row[0], row[1], row[2], row[3])
            for row in db.execute(
                "select id, title, title_zh, brand from products where status != 'archived'"
            ).fetchall()
        ]
        skus = [
            SkuRecord(row[0], row[1], row[2])
            for row in db.execute(
                "select sku, product_id, id from variants where sku is not null and sku != ''"
            ).fetchall()
        ]
        return cls(products, skus, common_words)

    # -- matching ------------------------------------------------------------------
    def _similar_uncached(self, token: str) -> tuple[str, ...]:
        counts: Counter[int] = Counter()
        for gram in _trigrams(token):
            for idx in self._trigrams.get(gram, ()):
                counts[idx] += 1
        if not counts:
            return ()
        need = max(2, len(token) // 3)
        choices = [self.vocabulary[i] for i, c in counts.items() if c >= need]
        if not choices:
            return ()
        found = process.extract(
            token, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_TOKEN_CUTOFF, limit=4
        )
        return tuple(match for match, _score, _ in found)

    def find(self, text: str) -> list[Candidate]:
        text = text[:MAX_GAZETTEER_CHARS]
        spans = [(m.start(), m.end(), m.group().lower()) for m in _TOKEN.finditer(text)]
        out: list[Candidate] = []
        covered: set[int] = set()
        # 1. exact token-sequence phrases, longest at each position; an unambiguous
        #    partial title counts when it is longer than any exact phrase there.
        for i in range(len(spans)):
            key = ""
            best: tuple[int, list[_Entry]] | None = None
            partial: tuple[int, int] | None = None
            for j in range(i, len(spans)):
                key = spans[j][2] if j == i else key + " " + spans[j][2]
                if key not in self._prefixes:
                    break
                entries = self._phrases.get(key)
                if entries:
                    best = (j, entries)
                else:
                    ids = self._partial.get(key)
                    if ids is not None and len(ids) == 1:
                        partial = (j, next(iter(ids)))
            if partial is not None and (best is None or partial[0] > best[0]):
                j, pid = partial
                out.append(
                    Candidate(
                        "product",
                        self.products[pid].title,
                        spans[i][0],
                        spans[j][1],
                        PARTIAL_CONFIDENCE,
                        {"product_id": pid, "matched": "partial"},
                    )
                )
                covered.update(range(i, j + 1))
            elif best is not None:
                j, entries = best
                cand = self._exact_candidate(entries, spans[i][0], spans[j][1])
                if cand is not None:
                    out.append(cand)
                    covered.update(range(i, j + 1))
        # 2. Chinese titles
        if _CJK_RUN.search(text):
            lowered = text.lower()
            if len(lowered) != len(text):
                lowered = text
            for pos in range(len(lowered) - 1):
                bucket = self._zh.get(lowered[pos : pos + 2])
                if not bucket:
                    continue
                for phrase, entry in bucket:
                    if lowered.startswith(phrase, pos):
                        out.append(
                            Candidate(
                                "product",
                                entry.value,
                                pos,
                                pos + len(phrase),
                                0.97,
                                {"product_id": entry.product_id, "matched": "title_zh"},
                            )
                        )
                        break
        # 3. typo-tolerant titles
        if self.vocabulary:
            out.extend(self._fuzzy(spans, covered))
        return out

    def _exact_candidate(self, entries: list[_Entry], start: int, end: int) -> Candidate | None:
        first = entries[0]
        if first.kind == "sku":
            return Candidate(
                "sku",
                first.value,
                start,
                end,
                0.99,
                {"product_id": first.product_id, "variant_id": first.variant_id},
            )
        if first.kind == "brand":
            return Candidate("brand", first.value, start, end, 0.85, {})
        product_entries = [e for e in entries if e.product_id is not None]
        if not product_entries:
            return None
        ids = sorted({e.product_id for e in product_entries if e.product_id is not None})
        conf = 0.98 if first.kind == "title" else 0.9
        if len(ids) > 1:
            conf -= 0.2  # an alias shared by several products
        meta: dict[str, Any] = {"product_id": ids[0], "matched": first.kind}
        if len(ids) > 1:
            meta["product_ids"] = ids
        return Candidate("product", first.value, start, end, conf, meta)

    def _fuzzy(self, spans: list[tuple[int, int, str]], covered: set[int]) -> list[Candidate]:
        hits: Counter[int] = Counter()
        anchor: dict[int, int] = {}
        for i, (_s, _e, token) in enumerate(spans):
            if i in covered or len(token) < 4 or token.isdigit():
                continue
            if token in self._postings:
                similar: tuple[str, ...] = (token,)
            elif token in self.common_words:
                continue
            else:
                similar = self._similar(token)
            for vocab_token in similar:
                posting = self._postings.get(vocab_token, ())
                if len(posting) > MAX_POSTING:
                    continue
                for pid in posting:
                    hits[pid] += 1
                    anchor.setdefault(pid, i)
        if not hits:
            return []
        out = []
        for pid, _count in hits.most_common(8):
            title = self._titles_norm[pid]
            k = self._title_len[pid]
            i = anchor[pid]
            best_score, best_span = 0.0, (0, 0)
            for size in {max(1, k - 1), k, k + 1}:
                for start in range(max(0, i - size + 1), min(i, len(spans) - size) + 1):
                    window = " ".join(s[2] for s in spans[start : start + size])
                    score = fuzz.ratio(window, title, score_cutoff=FUZZY_TITLE_CUTOFF)
                    if score > best_score:
                        best_score = score
                        best_span = (spans[start][0], spans[start + size - 1][1])
            if best_score >= FUZZY_TITLE_CUTOFF:
                product = self.products[pid]
                out.append(
                    Candidate(
                        "product",
                        product.title,
                        best_span[0],
                        best_span[1],
                        round(0.9 * best_score / 100.0, 4),
                        {"product_id": pid, "matched": "fuzzy", "score": round(best_score, 1)},
                    )
                )
        return out


def _trigrams(token: str) -> set[str]:
    padded = f"^{token}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}
