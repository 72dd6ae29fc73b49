"""FTS5 query building: AND of every token with its corrections, relaxed AND, OR of
name words."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from shopassist.kb.search.models import PARTIAL_MATCH_FACTOR, MatchKind
from shopassist.kb.search.vocabulary import Vocabulary
from shopassist.kb.search_index import (
    ensure_search_index,
)
from shopassist.kb.text_tokens import (
    ParsedQuery,
    QueryToken,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- FTS queries


@dataclass
class _Group:
    """One query token and the FTS alternatives that satisfy it."""

    token: QueryToken
    alternatives: list[str]  # quoted phrases: the token itself, its compact form, corrections
    prefix: str | None = None  # '"aerob" *' for an unknown word that may be half typed

    @property
    def expr(self) -> str:
        alts = self.alternatives + ([self.prefix] if self.prefix else [])
        return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"


def _groups(
    parsed: ParsedQuery, vocab: Vocabulary | None, *, correct_known: bool = False
) -> list[_Group]:
    groups = []
    for token in parsed.tokens:
        group = _Group(token, [token.phrase])
        if token.kind == "code":
            group.alternatives.append('"' + "".join(token.terms) + '"')
        elif token.kind == "word" and vocab is not None:
            word = token.terms[0]
            if not word.isdigit():
                group.alternatives.extend(
                    f'"{c}"' for c in vocab.corrections(word, include_known=correct_known)
                )
                if len(word) >= 4 and word not in vocab.pool:
                    group.prefix = f'"{word}" *'
        groups.append(group)
    return groups


def _and_expr(groups: Sequence[_Group]) -> str:
    return " AND ".join(g.expr for g in groups)


def _wants_partial(groups: Sequence[_Group]) -> bool:
    """Whether an OR query could find something the AND query did not."""
    return len(groups) > 1 or any(g.token.kind == "cjk" and len(g.token.terms) > 1 for g in groups)


@dataclass
class _Unit:
    expr: str
    doc_freq: int
    numeric: bool = False


def _or_units(groups: Sequence[_Group], vocab: Vocabulary) -> list[_Unit]:
    units: list[_Unit] = []
    df = vocab.doc_freq
    for g in groups:
        if g.token.kind == "cjk":
            # A partial Chinese match: any of the bigrams ("无线耳机" ~ "无线降噪耳机").
            units.extend(_Unit(f'"{t}"', df.get(t, 0)) for t in g.token.terms)
        elif g.token.kind == "word":
            words = [g.token.terms[0], *(a.strip('"') for a in g.alternatives[1:])]
            expr = (
                g.alternatives[0]
                if len(g.alternatives) == 1
                else "(" + " OR ".join(g.alternatives) + ")"
            )
            units.append(_Unit(expr, sum(df.get(w, 0) for w in words), g.token.text.isdigit()))
        else:
            # SKU words are not counted in the vocabulary; a code is assumed rare.
            units.append(_Unit("(" + " OR ".join(g.alternatives) + ")", 1))
    return units


def _or_expr(
    groups: Sequence[_Group], vocab: Vocabulary, *, budget: int | None = None, columns: str = ""
) -> str | None:
    """Any of the tokens, for partial matches; None when no token could match anything.

    With a ``budget``, the rarest tokens are kept until their summed document frequency
    exceeds it (the rarest always stays), so one very common word cannot make ranking
    the partial matches scan the catalog. Numbers only count when no word matches.
    """
    units = sorted(
        (u for u in _or_units(groups, vocab) if u.doc_freq > 0), key=lambda u: u.doc_freq
    )
    units = [u for u in units if not u.numeric] or units
    if budget is not None:
        kept: list[_Unit] = []
        total = 0
        for u in units:
            if kept and total + u.doc_freq > budget:
                break
            kept.append(u)
            total += u.doc_freq
        units = kept
    if not units:
        return None
    expr = " OR ".join(dict.fromkeys(u.expr for u in units))
    return f"{columns} : ({expr})" if columns else expr


def _fts_rows(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any]
) -> list[tuple[int, float]]:
    """Run a MATCH query whose expression was built only from sanitized tokens."""
    for attempt in (1, 2):
        try:
            return [(int(r[0]), float(r[1])) for r in db.execute(sql, list(params)).fetchall()]
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if attempt == 1 and "no such table" in message:
                ensure_search_index(db)
                continue
            if "fts5" in message or "syntax" in message:
                # Cannot happen with sanitized tokens; if it ever does, a customer's
                # message must still not crash the turn.
                log.warning("FTS query rejected (%s): %r", message, params[:1])
                return []
            raise
    return []


def _joined_words(groups: list[_Group], vocab: Vocabulary) -> list[_Group]:
    """Merge two adjacent words that, written as one, are (close to) a known name word."""
    out: list[_Group] = []
    i = 0
    while i < len(groups):
        g = groups[i]
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        if nxt is not None and g.token.kind == nxt.token.kind == "word":
            a, b = g.token.text, nxt.token.text
            joined = a + b
            if joined.isalpha() and len(joined) <= 20:
                names = ([joined] if joined in vocab.pool else []) + list(vocab.corrections(joined))
                if names:
                    token = QueryToken(joined, "word", (joined,))
                    out.append(_Group(token, [f'"{a} {b}"', *(f'"{n}"' for n in names)]))
                    i += 2
                    continue
        out.append(g)
        i += 1
    return out


def _relaxed(
    db: sqlite_utils.Database,
    table: str,
    parsed: ParsedQuery,
    groups: list[_Group],
    vocab: Vocabulary,
) -> list[_Group] | None:
    """Looser groups for when no document has every token, or None if nothing changes.

    Five relaxations, one extra query: two words may be one ("air buds" for "AeroBuds");
    a Chinese run need not be contiguous ("蓝牙耳机"
    becomes 蓝牙 AND 耳机, for "蓝牙降噪耳机"); a known word may be a typo of another
    known word; a token that matches nothing at all ("please", "asap") is dropped, since
    no document could ever satisfy it; and so is a bare number ("under 80" is a price,
    which the caller passes as ``max_price``, not a word to find).
    """
    retry = _joined_words(_groups(parsed, vocab, correct_known=True), vocab)
    for g in retry:
        terms = g.token.terms
        if g.token.kind == "cjk" and len(terms) >= 2:
            # Non-overlapping bigrams, plus the last one for an odd-length run; bigrams
            # no name contains are left out ("有耳机" keeps 耳机: 有 is a verb here).
            picks = list(dict.fromkeys([*terms[::2], terms[-1]]))
            picks = [t for t in picks if vocab.doc_freq.get(t, 0) > 0] or picks
            g.alternatives = ["(" + " AND ".join(f'"{t}"' for t in picks) + ")"]
    exists = f"select 1 from {table} where {table} match ? limit 1"
    kept = [
        g
        for g in retry
        if not (g.token.kind == "word" and g.token.text.isdigit())
        and db.execute(exists, [g.expr]).fetchone() is not None
    ]
    if not kept or [g.expr for g in kept] == [g.expr for g in groups]:
        return None
    return kept


def _match(
    db: sqlite_utils.Database,
    table: str,
    sql: str,
    params: Sequence[Any],
    parsed: ParsedQuery,
    vocab: Vocabulary,
    limit: int,
    partial: Callable[[list[_Group]], str | None],
) -> tuple[dict[int, tuple[float, MatchKind]], list[_Group]]:
    """Run strict, relaxed and partial queries until ``limit`` hits; returns them and the groups used.

    ``sql`` takes the MATCH expression first, then ``params``, then the limit.
    """
    groups = _groups(parsed, vocab)
    found: dict[int, tuple[float, MatchKind]] = {}
    if not groups:
        return found, groups
    for rowid, rank in _fts_rows(db, sql, [_and_expr(groups), *params, limit]):
        found[rowid] = (-rank, "all")
    if not found:
        relaxed = _relaxed(db, table, parsed, groups, vocab)
        if relaxed is not None:
            groups = relaxed
            for rowid, rank in _fts_rows(db, sql, [_and_expr(groups), *params, limit]):
                found[rowid] = (-rank, "all")
    expr = partial(groups) if len(found) < limit and _wants_partial(groups) else None
    if expr:
        for rowid, rank in _fts_rows(db, sql, [expr, *params, limit + len(found)]):
            if rowid not in found:
                found[rowid] = (-rank * PARTIAL_MATCH_FACTOR, "partial")
    return found, groups
