"""Text → sparse feature rows: hashed word 1–2-grams plus character 2–4-grams.

Character n-grams let Chinese work without a word segmenter and make English robust to
typos ("cancdling" still shares most trigrams with "cancelling"). Hashing uses CRC32, a
stable hash: Python's ``hash()`` is salted per process and would make every model
unreproducible.

Rows are represented as a small CSR triple (``indptr``, ``indices``, ``data``) built with
numpy, so training needs no scipy.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

FEATURE_VERSION = 1
# Only this much of a message feeds the classifier; a 100k-character paste must not stall
# a turn, and the first few hundred characters carry the intent anyway.
MAX_FEATURE_CHARS = 600

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DIGITS = re.compile(r"\d+")
_NON_TEXT = re.compile(r"[^\w\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


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
    """Width-fold, lower-case and mask digits ("order 10023" ≈ "order 77"), bounded length."""
    text = unicodedata.normalize("NFKC", text[: MAX_FEATURE_CHARS * 2])[:MAX_FEATURE_CHARS]
    text = _DIGITS.sub("0", text.lower())
    return text


def tokens(normalised: str) -> list[str]:
    return _TOKEN.findall(normalised)


def extract_grams(text: str, config: FeatureConfig) -> tuple[list[str], list[str]]:
    """(word n-grams, char n-grams) of one message, each with duplicates kept for tf."""
    norm = normalise_for_features(text)
    toks = tokens(norm)
    lo, hi = config.word_ngrams
    words: list[str] = []
    for n in range(lo, hi + 1):
        if n == 1:
            words.extend(toks)
        else:
            words.extend(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    squashed = " " + _NON_TEXT.sub(" ", norm).strip() + " "
    clo, chi = config.char_ngrams
    chars: list[str] = []
    length = len(squashed)
    for n in range(clo, chi + 1):
        chars.extend(squashed[i : i + n] for i in range(length - n + 1))
    # A lone space gram carries nothing.
    return words, [g for g in chars if g.strip()]


def hashed_grams(text: str, config: FeatureConfig) -> tuple[list[int], list[int], list[int]]:
    """(word-gram hashes, char-gram hashes, word-unigram hashes) of one message."""
    words, chars = extract_grams(text, config)
    mask = (1 << config.n_bits) - 1
    crc = zlib.crc32
    word_hashes = [crc(b"w\x00" + g.encode("utf-8")) & mask for g in words]
    char_hashes = [crc(b"c\x00" + g.encode("utf-8")) & mask for g in chars]
    unigrams = [h for h, w in zip(word_hashes, words, strict=True) if " " not in w]
    return word_hashes, char_hashes, unigrams


class Vectoriser:
    """Maps messages to L2-normalised, sublinear-tf × idf rows over a compact column space.

    Only hash buckets seen in training get a column; everything else is dropped at
    inference and counted as out-of-vocabulary, which is a useful out-of-scope signal.
    """

    def __init__(
        self,
        config: FeatureConfig,
        buckets: np.ndarray,
        idf: np.ndarray,
        word_buckets: np.ndarray | None = None,
    ) -> None:
        self.config = config
        self.buckets = buckets.astype(np.int64)  # sorted hash buckets, one per column
        self.idf = idf.astype(np.float32)
        self.mask = (1 << config.n_bits) - 1
        self._lookup: dict[int, int] = {int(b): i for i, b in enumerate(self.buckets.tolist())}
        # Hash buckets of whole words seen in training, for the coverage signal.
        self.word_buckets: set[int] = set(
            (word_buckets if word_buckets is not None else np.zeros(0, np.int64)).tolist()
        )

    @property
    def n_columns(self) -> int:
        return int(self.buckets.shape[0])

    @classmethod
    def fit(
        cls,
        texts: list[str],
        config: FeatureConfig,
        hashed: list[tuple[list[int], list[int], list[int]]] | None = None,
    ) -> Vectoriser:
        df: Counter[int] = Counter()
        word_set: set[int] = set()
        for i, text in enumerate(texts):
            wh, ch, uni = hashed[i] if hashed is not None else hashed_grams(text, config)
            keys = set(wh)
            keys.update(ch)
            df.update(keys)
            word_set.update(uni)
        buckets = np.array(sorted(df), dtype=np.int64)
        n = len(texts)
        idf = np.array(
            [math.log((1 + n) / (1 + df[int(b)])) + 1.0 for b in buckets.tolist()],
            dtype=np.float32,
        )
        return cls(config, buckets, idf, np.array(sorted(word_set), dtype=np.int64))

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray, float]:
        """(column indices, weights, word coverage in [0, 1]) for one message."""
        return self.row_from_hashes(*hashed_grams(text, self.config))

    def row_from_hashes(
        self, wh: list[int], ch: list[int], unigrams: list[int]
    ) -> tuple[np.ndarray, np.ndarray, float]:
        lookup = self._lookup
        counts: dict[int, float] = {}
        ww = self.config.word_weight
        for h in wh:
            col = lookup.get(h)
            if col is not None:
                counts[col] = counts.get(col, 0.0) + ww
        for h in ch:
            col = lookup.get(h)
            if col is not None:
                counts[col] = counts.get(col, 0.0) + 1.0
        if unigrams:
            known = sum(1 for h in unigrams if h in self.word_buckets)
            coverage = known / len(unigrams)
        else:
            coverage = 1.0 if not ch else 0.0
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), coverage
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        # Sublinear tf keeps a repeated word from dominating ("refund refund refund").
        weights = (1.0 + np.log(tf)) * self.idf[cols]
        norm = float(np.sqrt(np.dot(weights, weights)))
        if norm > 0:
            weights /= norm
        return cols, weights.astype(np.float32), coverage

    def transform(
        self,
        texts: list[str],
        hashed: list[tuple[list[int], list[int], list[int]]] | None = None,
    ) -> tuple[CSR, np.ndarray]:
        indptr = [0]
        all_cols: list[np.ndarray] = []
        all_vals: list[np.ndarray] = []
        coverage = np.zeros(len(texts), dtype=np.float32)
        for i, text in enumerate(texts):
            if hashed is not None:
                cols, vals, cov = self.row_from_hashes(*hashed[i])
            else:
                cols, vals, cov = self.row(text)
            order = np.argsort(cols, kind="stable")
            all_cols.append(cols[order])
            all_vals.append(vals[order])
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
        pos = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
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
