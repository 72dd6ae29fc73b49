"""Text → sparse feature rows: hashed word 1–2-grams plus character 2–4-grams.

Character n-grams let Chinese work without a word segmenter and make English robust to
typos ("cancdling" still shares most trigrams with "cancelling"). Hashing uses CRC32, a
stable hash: Python's ``hash()`` is salted per process and would make every model
unreproducible.

Speed comes from *chunks*: the normalised message is split on spaces and punctuation,
and everything except the word bigrams that straddle two chunks is computed inside one
chunk (its word tokens, its inner bigrams, the character n-grams of `` chunk ``). Chunks
repeat endlessly across messages ("my", "order", "where"), so their hashed features and
model columns are cached, and a message costs a handful of dict lookups plus a few small
numpy operations.

Rows are a small CSR triple (``indptr``, ``indices``, ``data``) built with numpy, so
training needs no scipy.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from shopassist.text import CJK_RANGES

FEATURE_VERSION = 2
# Only this much of a message feeds the classifier; a 100k-character paste must not stall
# a turn, and the first few hundred characters carry the intent anyway.
MAX_FEATURE_CHARS = 600
_CACHE_LIMIT = 200_000

_CJK = CJK_RANGES
_CHUNK = re.compile(r"[^\W_]+")
_CHUNK_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_DIGITS = re.compile(r"\d+")
_APOSTROPHE = re.compile(r"['’]")


@dataclass(frozen=True)
class FeatureConfig:
    n_bits: int = 18
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)
    # Word features are fewer than character ones but more telling; weigh them up.
    word_weight: float = 1.6

    def as_dict(self) -> dict[str, object]:
        return {
            "version": FEATURE_VERSION,
            "n_bits": self.n_bits,
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "word_weight": self.word_weight,
            "max_chars": MAX_FEATURE_CHARS,
        }


def normalise_for_features(text: str) -> str:
    """Width-fold, lower-case, drop apostrophes and mask digits ("order 10023" ≈ "order 77")."""
    text = unicodedata.normalize("NFKC", text[: MAX_FEATURE_CHARS * 2])[:MAX_FEATURE_CHARS]
    return _DIGITS.sub("0", _APOSTROPHE.sub("", text.lower()))


def chunks(text: str) -> list[str]:
    return _CHUNK.findall(normalise_for_features(text))


@dataclass(frozen=True)
class ChunkGrams:
    """Hashed features of one chunk, independent of any fitted vocabulary."""

    word: tuple[int, ...]  # unigrams and inner bigrams
    char: tuple[int, ...]
    unigrams: tuple[int, ...]
    first: str
    last: str


class GramHasher:
    """Hashes chunks (cached) and the bigrams between neighbouring chunks."""

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self.mask = (1 << config.n_bits) - 1
        self._cache: dict[str, ChunkGrams] = {}

    def _word_hash(self, gram: str) -> int:
        return zlib.crc32(b"w\x00" + gram.encode("utf-8")) & self.mask

    def chunk(self, chunk: str) -> ChunkGrams:
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        crc, mask = zlib.crc32, self.mask
        toks = _CHUNK_TOKEN.findall(chunk) or [chunk]
        lo, hi = self.config.word_ngrams
        unigrams = tuple(crc(b"w\x00" + t.encode("utf-8")) & mask for t in toks)
        word: list[int] = list(unigrams) if lo <= 1 else []
        for n in range(max(2, lo), hi + 1):
            word.extend(
                crc(b"w\x00" + " ".join(toks[i : i + n]).encode("utf-8")) & mask
                for i in range(len(toks) - n + 1)
            )
        padded = f" {chunk} "
        clo, chi = self.config.char_ngrams
        char = [
            crc(b"c\x00" + padded[i : i + n].encode("utf-8")) & mask
            for n in range(clo, chi + 1)
            for i in range(len(padded) - n + 1)
        ]
        grams = ChunkGrams(tuple(word), tuple(char), unigrams, toks[0], toks[-1])
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[chunk] = grams
        return grams

    def message(self, text: str) -> tuple[list[ChunkGrams], list[int]]:
        """(per-chunk grams, hashes of the word bigrams across chunk boundaries)."""
        parts = [self.chunk(c) for c in chunks(text)]
        bridges: list[int] = []
        if self.config.word_ngrams[1] >= 2:
            bridges = [
                self._word_hash(f"{a.last} {b.first}")
                for a, b in zip(parts, parts[1:], strict=False)
            ]
        return parts, bridges


@dataclass(frozen=True)
class _ChunkColumns:
    cols: np.ndarray  # known columns of this chunk's features (duplicates kept)
    n_unigrams: int
    n_known: int


class Vectoriser:
    """Maps messages to L2-normalised, sublinear-tf × idf rows over a compact column space.

    Only hash buckets seen in training get a column; everything else is dropped at
    inference and counted as out-of-vocabulary, which is a useful out-of-scope signal.
    """

    def __init__(
        self,
        config: FeatureConfig,
        buckets: np.ndarray,
        col_weight: np.ndarray,
        word_buckets: np.ndarray | None = None,
    ) -> None:
        self.config = config
        self.buckets = buckets.astype(np.int64)  # sorted hash buckets, one per column
        self.col_weight = col_weight.astype(np.float32)  # idf × (word weight for word grams)
        self._lookup: dict[int, int] = {int(b): i for i, b in enumerate(self.buckets.tolist())}
        # Hash buckets of whole words seen in training, for the coverage signal.
        self.word_buckets: frozenset[int] = frozenset(
            (word_buckets if word_buckets is not None else np.zeros(0, np.int64)).tolist()
        )
        self.hasher = GramHasher(config)
        self._columns: dict[str, _ChunkColumns] = {}

    @property
    def n_columns(self) -> int:
        return int(self.buckets.shape[0])

    @classmethod
    def fit(
        cls, texts: list[str], config: FeatureConfig, hasher: GramHasher | None = None
    ) -> Vectoriser:
        hasher = hasher or GramHasher(config)
        df: Counter[int] = Counter()
        word_keys: set[int] = set()
        unigram_set: set[int] = set()
        for text in texts:
            parts, bridges = hasher.message(text)
            keys: set[int] = set(bridges)
            for part in parts:
                keys.update(part.word)
                keys.update(part.char)
                word_keys.update(part.word)
                unigram_set.update(part.unigrams)
            word_keys.update(bridges)
            df.update(keys)
        buckets = np.array(sorted(df), dtype=np.int64)
        n = len(texts)
        weights = [
            (math.log((1 + n) / (1 + df[b])) + 1.0)
            * (config.word_weight if b in word_keys else 1.0)
            for b in buckets.tolist()
        ]
        return cls(
            config,
            buckets,
            np.array(weights, dtype=np.float32),
            np.array(sorted(unigram_set), dtype=np.int64),
        )

    def _chunk_columns(self, chunk: str) -> _ChunkColumns:
        cached = self._columns.get(chunk)
        if cached is not None:
            return cached
        grams = self.hasher.chunk(chunk)
        lookup = self._lookup
        cols = [lookup[h] for h in grams.word + grams.char if h in lookup]
        known = sum(1 for h in grams.unigrams if h in self.word_buckets)
        value = _ChunkColumns(np.array(cols, dtype=np.int64), len(grams.unigrams), known)
        if len(self._columns) >= _CACHE_LIMIT:
            self._columns.clear()
        self._columns[chunk] = value
        return value

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray, float]:
        """(column indices, weights, word coverage in [0, 1]) for one message."""
        parts = chunks(text)
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), 0.0
        columns = [self._chunk_columns(c) for c in parts]
        arrays = [c.cols for c in columns]
        if len(parts) > 1 and self.config.word_ngrams[1] >= 2:
            hasher, lookup = self.hasher, self._lookup
            grams = [hasher.chunk(c) for c in parts]
            bridge_cols = []
            for a, b in zip(grams, grams[1:], strict=False):
                col = lookup.get(hasher._word_hash(f"{a.last} {b.first}"))
                if col is not None:
                    bridge_cols.append(col)
            if bridge_cols:
                arrays.append(np.array(bridge_cols, dtype=np.int64))
        n_unigrams = sum(c.n_unigrams for c in columns)
        coverage = sum(c.n_known for c in columns) / n_unigrams if n_unigrams else 0.0
        all_cols = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        if all_cols.size == 0:
            return all_cols, np.zeros(0, np.float32), coverage
        cols, tf = np.unique(all_cols, return_counts=True)
        # Sublinear tf keeps a repeated word from dominating ("refund refund refund").
        weights = (1.0 + np.log(tf.astype(np.float32))) * self.col_weight[cols]
        norm = float(np.sqrt(np.dot(weights, weights)))
        if norm > 0:
            weights /= norm
        return cols, weights, coverage

    def transform(self, texts: list[str]) -> tuple[CSR, np.ndarray]:
        indptr = [0]
        all_cols: list[np.ndarray] = []
        all_vals: list[np.ndarray] = []
        coverage = np.zeros(len(texts), dtype=np.float32)
        for i, text in enumerate(texts):
            cols, vals, cov = self.row(text)  # np.unique: columns come sorted
            all_cols.append(cols)
            all_vals.append(vals.astype(np.float32))
            indptr.append(indptr[-1] + len(cols))
            coverage[i] = cov
        indices = np.concatenate(all_cols) if all_cols else np.zeros(0, np.int64)
        data = np.concatenate(all_vals) if all_vals else np.zeros(0, np.float32)
        return CSR(np.array(indptr, dtype=np.int64), indices, data, self.n_columns), coverage


@dataclass
class CSR:
    """Compressed sparse rows: just enough of scipy's csr_matrix for softmax training."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_cols: int

    @property
    def n_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_rows), np.diff(self.indptr))

    def take(self, rows: np.ndarray) -> CSR:
        starts = self.indptr[rows]
        ends = self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if lengths.sum() == 0:
            return CSR(indptr, np.zeros(0, np.int64), np.zeros(0, np.float32), self.n_cols)
        pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return CSR(indptr, self.indices[pos], self.data[pos], self.n_cols)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """self @ weights for a dense (n_cols, k) matrix."""
        out = np.zeros((self.n_rows, weights.shape[1]), dtype=weights.dtype)
        if self.indices.size == 0:
            return out
        contrib = weights[self.indices] * self.data[:, None]
        nonempty = np.flatnonzero(np.diff(self.indptr) > 0)
        out[nonempty] = np.add.reduceat(contrib, self.indptr[nonempty], axis=0)
        return out
