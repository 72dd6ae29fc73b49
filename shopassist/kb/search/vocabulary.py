"""The typo-correction vocabularies, loaded once per index version."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
import sqlite_utils
from rapidfuzz import process
from rapidfuzz.distance import OSA

from shopassist.kb.search.models import MAX_CORRECTIONS
from shopassist.kb.search_index import (
    FAQS_VERSION_KEY,
    PRODUCT_NAME_COLUMNS,
    PRODUCTS_VERSION_KEY,
    index_version,
    refresh_product_vocabulary,
)
from shopassist.kb.text_tokens import (
    has_cjk,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """Indexed words, for deciding which query words are typos and what they meant.

    ``pool`` (words of names, brands, categories, tags, options) is what a typo is
    corrected towards, bucketed by length so one query word is compared with a few
    thousand candidates rather than the whole catalog. ``doc_freq`` counts, per term,
    the documents that name it in those columns; the partial-match query uses it to
    leave out words so common that ranking their matches would cost a catalog scan.
    """

    def __init__(self, doc_freq: dict[str, int], documents: int, pool: Iterable[str]) -> None:
        self.doc_freq = doc_freq
        self.documents = documents
        self.pool = frozenset(t for t in pool if _is_pool_word(t))
        self._by_len: dict[int, list[str]] = defaultdict(list)
        for word in self.pool:
            self._by_len[len(word)].append(word)
        self._windows: dict[int, list[str]] = {}
        self._corrections: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def _window(self, n: int) -> list[str]:
        window = self._windows.get(n)
        if window is None:
            spread = max(2, n // 4)
            window = [w for k in range(n - spread, n + spread + 1) for w in self._by_len.get(k, ())]
            self._windows[n] = window
        return window

    def corrections(self, word: str, *, include_known: bool = False) -> tuple[str, ...]:
        """Indexed words one or two edits away from ``word``, closest and commonest first.

        Empty for a known word unless ``include_known`` (a real word can be a typo of
        another: "zenra" for "zenpa"). Edits are OSA: a swapped pair of letters is one.
        """
        if len(word) < 3 or not word.isalpha() or has_cjk(word):
            return ()
        if word in self.pool and not include_known:
            return ()
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        window = self._window(len(word))
        result: tuple[str, ...] = ()
        if window:
            max_edits = 1 if len(word) <= 4 else 2
            # One query against many short strings: cdist's bit-parallel path is several
            # times faster than process.extract here.
            dist = process.cdist(
                [word], window, scorer=OSA.distance, score_cutoff=max_edits, dtype=np.uint8
            )[0]
            close = [
                (int(dist[i]), -self.doc_freq.get(window[i], 0), window[i])
                for i in np.flatnonzero(dist <= max_edits)
                if window[i] != word
            ]
            result = tuple(w for _d, _f, w in sorted(close)[:MAX_CORRECTIONS])
        with self._lock:
            if len(self._corrections) > 20_000:
                self._corrections.clear()
            self._corrections[word] = result
        return result


# Partial matches are looked for only in what names a product, not in descriptions.
_PARTIAL_COLUMNS = (*PRODUCT_NAME_COLUMNS, "title_zh", "skus")
_VOCABS: dict[tuple[str, str], tuple[str, Vocabulary]] = {}
_VOCAB_LOCK = threading.Lock()


def clear_search_caches() -> None:
    """Forget every loaded vocabulary (they reload on the next search)."""
    with _VOCAB_LOCK:
        _VOCABS.clear()


def _db_identity(db: sqlite_utils.Database) -> str:
    row = db.execute("pragma database_list").fetchone()
    return row[2] if row and row[2] else f"memory:{id(db.conn)}"


def _vocabulary(
    db: sqlite_utils.Database, table: str, version_key: str, load: Callable[[], Vocabulary]
) -> Vocabulary:
    key = (_db_identity(db), table)
    version = index_version(db, version_key)
    cached = _VOCABS.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _VOCAB_LOCK:
        cached = _VOCABS.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        vocab = load()
        _VOCABS[key] = (version, vocab)
        return vocab


def _is_pool_word(term: str) -> bool:
    return 3 <= len(term) <= 30 and term.isalpha() and not has_cjk(term)


def product_vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    def load() -> Vocabulary:
        try:
            rows = db.execute("select term, doc from products_search_vocab").fetchall()
        except sqlite3.OperationalError:  # an index built before the table existed
            refresh_product_vocabulary(db)
            rows = db.execute("select term, doc from products_search_vocab").fetchall()
        documents = db.execute("select count(*) from products_fts_docsize").fetchone()[0]
        return Vocabulary({t: int(d) for t, d in rows}, int(documents), (t for t, _ in rows))

    return _vocabulary(db, "products", PRODUCTS_VERSION_KEY, load)


def faq_vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    def load() -> Vocabulary:
        rows = db.execute("select term, doc from faqs_fts_vocab").fetchall()
        return Vocabulary({t: int(d) for t, d in rows}, len(rows), (t for t, _ in rows))

    return _vocabulary(db, "faqs", FAQS_VERSION_KEY, load)
