"""Resolving which products a message is about: named ones, "it", "the second one", "the blue one".

The state keeps the products mentioned (newest first) and the last list shown in order;
a reference resolves against those, never against the whole catalog.
"""

from __future__ import annotations

from shopassist.engine.dialogue.lexicon import colour_matches, lexicon, matches
from shopassist.engine.dialogue.state import DialogueState, MentionedProduct
from shopassist.engine.nlu.result import NLUResult

_ORDINAL_INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}


def named_product_ids(nlu: NLUResult) -> list[int]:
    ids: list[int] = []
    for entity in nlu.entities:
        if entity.type in ("product", "sku"):
            pid = entity.meta.get("product_id")
            if pid is None and isinstance(entity.value, dict):
                pid = entity.value.get("product_id")
            if pid is None and isinstance(entity.value, int):
                pid = entity.value
            if isinstance(pid, int) and pid not in ids:
                ids.append(pid)
    return ids


def referenced_product_ids(nlu: NLUResult, state: DialogueState) -> list[int]:
    """Products the message points at without naming them; [] when it points at none."""
    text = nlu.text
    lex = lexicon()
    ordinal = lex.ordinal(text)
    if ordinal is not None:
        pool = state.shown or [m.product_id for m in state.mentioned]
        idx = _ORDINAL_INDEX[ordinal]
        if pool and (idx == -1 or idx < len(pool)):
            return [pool[idx]]
    colours = [str(e.value).lower() for e in nlu.entities if e.type == "colour"]
    if state.mentioned and matches(lex.it, text):
        return [state.mentioned[0].product_id]  # "does it come in white?": the last one
    if colours and state.mentioned:
        for m in _listed_first(state):
            # "the blue one" is the product that comes in blue (or navy, or midnight blue).
            if any(colour_matches(c, x) for c in colours for x in m.colours):
                return [m.product_id]
    if state.mentioned and (matches(lex.it, text) or colours):
        return [state.mentioned[0].product_id]
    return []


def points_at_one(text: str) -> bool:
    """Does the message point at one product by position or as "it"/"这个"?

    Then a colour or size in it is a question about that product ("第二个有白色的吗"),
    never a hint to pick another product that happens to come in that colour.
    """
    lex = lexicon()
    return lex.ordinal(text) is not None or matches(lex.it, text)


def _listed_first(state: DialogueState) -> list[MentionedProduct]:
    """Mentioned products, the last list's first and in its order, then the rest."""
    by_id = {m.product_id: m for m in state.mentioned}
    listed = [by_id[pid] for pid in state.shown if pid in by_id]
    return listed + [m for m in state.mentioned if m.product_id not in state.shown]


def resolve_product_ids(nlu: NLUResult, state: DialogueState) -> list[int]:
    named = named_product_ids(nlu)
    return named or referenced_product_ids(nlu, state)
