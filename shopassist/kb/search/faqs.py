"""Help-page (FAQ) search."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from shopassist.kb.search.fts import _Group, _match, _or_expr
from shopassist.kb.search.models import FaqHit, MatchKind
from shopassist.kb.search.products import _check_limit, _has_table, _needles, excerpt, head
from shopassist.kb.search.vocabulary import faq_vocabulary
from shopassist.kb.search_index import (
    ensure_search_index,
)
from shopassist.kb.text_tokens import (
    parse_query,
)

# --------------------------------------------------------------------------- FAQs


def search_faqs(
    db: sqlite_utils.Database,
    query: str,
    *,
    language: str | None = None,
    limit: int = 5,
    intent: str | None = None,
) -> list[FaqHit]:
    """FAQ and policy entries matching customer text, best first. Never raises on ``query``.

    ``language`` ('en'/'zh') and ``intent`` restrict the entries. With an ``intent`` and
    no text match, that intent's entries are returned (score 0, match "intent"), so the
    engine can fall back on what understanding decided.
    """
    limit = _check_limit(limit)
    parsed = parse_query(query)
    clauses: list[str] = []
    params: list[Any] = []
    if language:
        clauses.append("f.language = ?")
        params.append(str(language))
    if (
        intent
        and db.execute("select 1 from faqs where intent = ? limit 1", [str(intent)]).fetchone()
    ):
        # Only a filter when some entry carries it: an intent the FAQ data does not
        # use must not hide every answer.
        clauses.append("f.intent = ?")
        params.append(str(intent))
    else:
        intent = None
    where = "".join(f" and {c}" for c in clauses)
    found: dict[int, tuple[float, MatchKind]] = {}
    groups: list[_Group] = []
    if parsed.tokens:
        if not _has_table(db, "faqs_fts"):
            ensure_search_index(db)
        vocab = faq_vocabulary(db)
        sql = (
            "select faqs_fts.rowid, faqs_fts.rank from faqs_fts "
            "join faqs f on f.id = faqs_fts.rowid "
            f"where faqs_fts match ?{where} order by faqs_fts.rank limit ?"
        )
        found, groups = _match(
            db, "faqs_fts", sql, params, parsed, vocab, limit, lambda gs: _or_expr(gs, vocab)
        )
    if not found and intent:
        for (fid,) in db.execute(
            f"select f.id from faqs f where 1 = 1{where} order by f.kind, f.key limit ?",
            [*params, limit],
        ).fetchall():
            found[int(fid)] = (0.0, "intent")
    ranked = sorted(found.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    if not ranked:
        return []
    ids = [fid for fid, _ in ranked]
    marks = ", ".join("?" for _ in ids)
    rows = {r["id"]: r for r in db.query(f"select * from faqs where id in ({marks})", ids)}
    needles = _needles(parsed, groups)
    hits = []
    for fid, (score, match) in ranked:
        r = rows.get(fid)
        if r is None:
            continue
        snippet = excerpt(r["answer"], needles) or head(r["answer"])
        hits.append(
            FaqHit(
                id=fid,
                source_id=f"faq:{r['key']}:{r['language']}",
                key=r["key"],
                kind=r["kind"],
                language=r["language"],
                question=r["question"],
                answer=r["answer"],
                intent=r["intent"],
                tags=r["tags"] or "",
                score=score,
                match=match,
                snippet=snippet,
            )
        )
    return hits
