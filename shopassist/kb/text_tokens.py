"""Turning catalog text and customer queries into the same search terms.

FTS5's ``unicode61`` tokenizer folds case and diacritics but keeps a run of Chinese
characters as one token, so "蓝牙耳机" in a title would only match the query "蓝牙耳机"
exactly. Both sides therefore go through :func:`index_text` / :func:`parse_query`, which
turn every run of CJK characters into overlapping character bigrams ("蓝牙 牙耳 耳机",
a lone character stays a unigram). A query's run becomes a phrase of its bigrams, which
matches the run anywhere in the text, with no dictionary to maintain.

Query parsing is also the security boundary: FTS5 has its own query language, and raw
customer text ("AND", quotes, ``*``, ``NEAR(``, ``col:``) must never reach ``MATCH``.
Every term produced here is made only of letters and digits, so quoting it is always safe.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

from shopassist.safe_text import strip_controls
from shopassist.text import UNSPACED_SCRIPT_RANGES

# Han (with extensions), kana, hangul: scripts written without spaces between words.
_CJK_CHARS = UNSPACED_SCRIPT_RANGES
CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
_HAS_CJK = re.compile(f"[{_CJK_CHARS}]")
# Letters and digits of any script, but no underscore: what unicode61 calls a token.
_WORD = re.compile(r"[^\W_]+")
_SKU_EDGE = re.compile(r"^[^\w]+|[^\w]+$")

MAX_QUERY_CHARS = 500
MAX_QUERY_TOKENS = 12
MAX_TOKEN_CHARS = 40
MAX_CODE_PARTS = 8

TokenKind = Literal["word", "cjk", "code"]


def has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


def cjk_grams(run: str) -> list[str]:
    """Overlapping bigrams of a CJK run; a one-character run is its own unigram."""
    if len(run) <= 1:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_text(text: str | None) -> str:
    """The copy of a catalog field that goes into the FTS index.

    Latin text is left for unicode61 to fold; only CJK runs are rewritten. Registered
    as an SQL function so a rebuild is one ``INSERT … SELECT``.
    """
    if not text:
        return ""
    if text.isascii():  # O(1) in CPython: most catalog text takes this path
        return text
    text = unicodedata.normalize("NFKC", text)
    if not _HAS_CJK.search(text):
        return text
    return CJK_RUN.sub(lambda m: " " + " ".join(cjk_grams(m.group())) + " ", text)


def compact_code(text: str) -> str:
    """A SKU or model number without separators, lowercased: 'SON-ABP-01' -> 'sonabp01'."""
    return "".join(_WORD.findall(unicodedata.normalize("NFKC", text))).lower()


def sku_index_text(skus: str | None) -> str:
    """SKUs as written plus their compact forms, so 'son-abp-01' and 'sonabp01' both match."""
    if not skus:
        return ""
    out: list[str] = []
    for sku in skus.split("\x1f"):
        sku = sku.strip()
        if not sku:
            continue
        out.append(sku)
        compact = compact_code(sku)
        if compact and compact != sku.lower():
            out.append(compact)
    return " ".join(out)


@dataclass(frozen=True)
class QueryToken:
    """One unit of meaning in a query; its ``terms`` form an FTS5 phrase."""

    text: str
    kind: TokenKind
    terms: tuple[str, ...]

    @property
    def phrase(self) -> str:
        """The token as a quoted FTS5 phrase. Terms hold only letters and digits."""
        return '"' + " ".join(self.terms) + '"'


@dataclass
class ParsedQuery:
    tokens: list[QueryToken] = field(default_factory=list)
    # Whitespace-separated chunks that could be a SKU, in their original case.
    sku_candidates: list[str] = field(default_factory=list)
    # Every Latin word of the query, stopwords included, for matching colours and sizes.
    words: set[str] = field(default_factory=set)
    # CJK runs as typed (after stopword trimming), for picking snippets.
    cjk_runs: list[str] = field(default_factory=list)
    language: Literal["en", "zh"] = "en"

    @property
    def empty(self) -> bool:
        return not self.tokens and not self.sku_candidates


@lru_cache(maxsize=1)
def stopwords() -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    """(Latin words, multi-character CJK words longest first, single CJK characters)."""
    raw = resources.files("shopassist.kb").joinpath("search_stopwords.txt").read_text("utf-8")
    latin: set[str] = set()
    cjk_multi: set[str] = set()
    cjk_single: set[str] = set()
    for line in raw.splitlines():
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        if has_cjk(word):
            (cjk_multi if len(word) > 1 else cjk_single).add(word)
        else:
            latin.add(word.lower())
            latin.add(compact_code(word))
    return (
        frozenset(latin),
        tuple(sorted(cjk_multi, key=len, reverse=True)),
        frozenset(cjk_single),
    )


def _split_cjk_run(run: str) -> list[str]:
    """Cut stopwords out of a CJK run: '你们有蓝牙耳机吗' -> ['蓝牙耳机']."""
    _, multi, single = stopwords()
    pieces = [run]
    for stop in multi:
        next_pieces: list[str] = []
        for piece in pieces:
            next_pieces.extend(p for p in piece.split(stop) if p)
        pieces = next_pieces
    out = []
    for piece in pieces:
        while piece and piece[0] in single:
            piece = piece[1:]
        while piece and piece[-1] in single:
            piece = piece[:-1]
        if piece:
            out.append(piece)
    return out


def parse_query(text: str | None) -> ParsedQuery:
    """Split customer text into safe search tokens. Never raises, whatever the input."""
    parsed = ParsedQuery()
    if not text:
        return parsed
    text = strip_controls(str(text)[: MAX_QUERY_CHARS * 4])
    text = unicodedata.normalize("NFKC", text)[:MAX_QUERY_CHARS]
    latin_stop, _, _ = stopwords()
    content: list[QueryToken] = []
    stop_tokens: list[QueryToken] = []
    seen: set[tuple[str, ...]] = set()

    def add(token: QueryToken, is_stop: bool) -> None:
        if token.terms in seen:
            return
        seen.add(token.terms)
        (stop_tokens if is_stop else content).append(token)

    for chunk in text.split():
        bare = _SKU_EDGE.sub("", chunk)
        if (
            3 <= len(bare) <= 64
            and not has_cjk(bare)
            and any(c.isdigit() or c in "-_./" for c in bare)
        ):
            parsed.sku_candidates.append(bare)
        pos = 0
        for m in CJK_RUN.finditer(chunk):
            _parse_latin(chunk[pos : m.start()], add, parsed, latin_stop)
            parsed.language = "zh"
            for piece in _split_cjk_run(m.group()):
                parsed.cjk_runs.append(piece)
                add(QueryToken(piece, "cjk", tuple(cjk_grams(piece[:MAX_TOKEN_CHARS]))), False)
            pos = m.end()
        _parse_latin(chunk[pos:], add, parsed, latin_stop)

    # A query of nothing but stopwords ("where is it") still searches for them.
    parsed.tokens = (content or stop_tokens)[:MAX_QUERY_TOKENS]
    parsed.sku_candidates = parsed.sku_candidates[:MAX_QUERY_TOKENS]
    return parsed


def _parse_latin(
    segment: str,
    add: Callable[[QueryToken, bool], None],
    parsed: ParsedQuery,
    latin_stop: frozenset[str],
) -> None:
    parts = [p.lower()[:MAX_TOKEN_CHARS] for p in _WORD.findall(segment)]
    if not parts:
        return
    parsed.words.update(parts)
    if len(parts) > 1 and (any(c.isdigit() for c in segment) or segment.isupper()):
        # A model number or SKU ("WH-1000XM5", "SON-ABP-BLK"): keep its parts together.
        parts = parts[:MAX_CODE_PARTS]
        add(QueryToken("-".join(parts), "code", tuple(parts)), False)
        return
    for part in parts:
        if len(part) == 1 and not part.isdigit():
            continue  # "s" of "men's", a stray letter: noise for FTS, kept in words
        add(QueryToken(part, "word", (part,)), part in latin_stop)
