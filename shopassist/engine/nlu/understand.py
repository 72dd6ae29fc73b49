"""The understand stage: one message in, an :class:`NLUResult` out.

``Understander.load()`` gets the intent model (loading the artefact for the current
training data, or training it), the entity extractors, the sentiment lexicon and, when a
database is given, the catalog gazetteer (cached per database). ``understand()`` never
raises: whatever the customer pasted, the dialogue gets a usable result.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shopassist.config import Settings, load_settings
from shopassist.engine.nlu.entities import (
    Candidate,
    EntityExtractor,
    OptionVocabulary,
    build_option_vocabulary,
    resolve_overlaps,
)
from shopassist.engine.nlu.gazetteer import Gazetteer
from shopassist.engine.nlu.intent_model import IntentModel, TrainingReport, load_or_train
from shopassist.engine.nlu.language import detect_language
from shopassist.engine.nlu.result import Entity, IntentScore, Language, NLUResult, Sentiment
from shopassist.engine.nlu.sentiment import SentimentAnalyser
from shopassist.engine.nlu.training_data import OUT_OF_SCOPE, load_examples
from shopassist.kb.order_numbers import order_number_shapes
from shopassist.text import CJK_RANGES

log = logging.getLogger(__name__)

RANKING_SIZE = 5
# Clarify between the top two when the best is unsure but the runner-up is close behind.
CLARIFY_MARGIN = 0.2
CLARIFY_MIN_SECOND = 0.15
CLARIFY_MIN_PAIR = 0.6  # together the two must hold most of the mass: both plausible
# Few known words and no strong opinion from the classifier: probably not about the shop.
LOW_COVERAGE = 0.34
LOW_COVERAGE_MAX_CONFIDENCE = 0.75
BARE_REPLY_CONFIDENCE = 0.5
_LETTER = re.compile(r"[^\W\d_]")

_WORD = re.compile(r"[a-z]+")
# Lone surrogates cannot be encoded as UTF-8 or JSON; replacing each with U+FFFD keeps
# every offset, so entity spans stay valid against the returned text.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@lru_cache(maxsize=1)
def _training_vocabulary() -> frozenset[str]:
    """Ordinary words customers use (from the intent data), never sent to fuzzy matching."""
    words: set[str] = set()
    for ex in load_examples(include_user=False):
        words.update(_WORD.findall(ex.text.lower()))
    return frozenset(words)


_GAZETTEER_CACHE: dict[tuple[str, Any], tuple[Gazetteer, OptionVocabulary]] = {}
_CACHE_LOCK = threading.Lock()


def _db_key(db: Any) -> tuple[str, Any]:
    try:
        rows = db.execute("pragma database_list").fetchall()
        path = next((r[2] for r in rows if r[1] == "main"), "") or f"memory:{id(db)}"
    except Exception:  # an unusual connection object: cache by identity
        path = f"object:{id(db)}"
    try:
        stamp = db.execute(
            "select count(*), max(updated_at), (select count(*) from variants),"
            " (select max(id) from variants) from products"
        ).fetchone()
    except Exception:
        stamp = None
    return str(path), tuple(stamp) if stamp else None


_IDENTIFIERS = frozenset({"order_number", "invoice_number", "email", "phone", "sku"})
_INVOICE_WORD = re.compile(r"invoice|发票", re.IGNORECASE)
_REPLY_WORD = re.compile(f"[a-z']+|[{CJK_RANGES}]")


@lru_cache(maxsize=1)
def _reply_fillers() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "lexicon" / "reply_fillers.txt"
    return frozenset(
        line.strip().lower()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )


def is_bare_reply(text: str, entities: list[Entity]) -> bool:
    """Only an identifier and filler words ("it's 10096"): an answer, not a request."""
    ids = [e for e in entities if e.type in _IDENTIFIERS]
    if not ids or len(text) > 80:
        return False
    rest = text
    for e in sorted(ids, key=lambda e: -e.start):
        rest = rest[: e.start] + " " + rest[e.end :]
    fillers = _reply_fillers()
    if not any(e.type == "invoice_number" for e in ids) and _INVOICE_WORD.search(rest):
        # "订单10066的发票": the invoice of an order is a request, not an order number.
        return False
    return all(w in fillers for w in _REPLY_WORD.findall(rest.lower()))


_EVIDENCE = {"product": 0.75, "sku": 0.75, "order_number": 0.9, "invoice_number": 0.9}


def _shop_evidence(entities: list[Entity]) -> bool:
    return any(e.confidence >= _EVIDENCE.get(e.type, 2.0) for e in entities)


@dataclass(frozen=True)
class CueRule:
    """One rule of ``data/intent_cues.toml``: swap the top intent for ``to`` on word cues."""

    id: str
    from_intents: frozenset[str]
    to: str | None
    any: re.Pattern[str] | None
    all: tuple[re.Pattern[str], ...]
    none: re.Pattern[str] | None
    needs_entity: frozenset[str]
    clarify: tuple[str, ...] = ()
    # A case-sensitive shape ("CYBER20"): it must match outside every extracted entity.
    shape: re.Pattern[str] | None = None

    def fires(self, top: str, text: str, entities: list[Entity]) -> bool:
        if top not in self.from_intents or top == self.to:
            return False
        if self.needs_entity and not any(
            e.type in self.needs_entity and e.confidence >= _EVIDENCE.get(e.type, 2.0)
            for e in entities
        ):
            return False
        if self.any is not None and not self.any.search(text):
            return False
        if not all(p.search(text) for p in self.all):
            return False
        if self.shape is not None and not any(
            not any(e.start < m.end() and m.start() < e.end for e in entities)
            for m in self.shape.finditer(text)
        ):
            return False
        return self.none is None or not self.none.search(text)


def _cue_pattern(cues: list[str]) -> re.Pattern[str] | None:
    parts = []
    for cue in cues:
        cue = cue.strip().lower()
        if not cue:
            continue
        body = r"\s+".join(re.escape(w) for w in cue.split())
        # Latin cues on word boundaries ("cost" not in "costume"); Chinese as substrings.
        parts.append(rf"(?<![a-z]){body}(?![a-z])" if cue.isascii() else body)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@lru_cache(maxsize=1)
def cue_rules() -> tuple[CueRule, ...]:
    with (Path(__file__).parent / "data" / "intent_cues.toml").open("rb") as fh:
        data = tomllib.load(fh)
    rules = []
    for raw in data.get("rule", []):
        rules.append(
            CueRule(
                id=str(raw["id"]),
                from_intents=frozenset(raw["from"]),
                to=str(raw["to"]) if raw.get("to") else None,
                any=_cue_pattern(list(raw.get("any", []))),
                all=tuple(p for c in raw.get("all", []) if (p := _cue_pattern([c])) is not None),
                none=_cue_pattern(list(raw.get("none", []))),
                needs_entity=frozenset(raw.get("needs_entity", [])),
                clarify=tuple(raw.get("clarify", [])),
                shape=re.compile(raw["shape"]) if raw.get("shape") else None,
            )
        )
    return tuple(rules)


def catalog_vocabularies(db: Any) -> tuple[Gazetteer, OptionVocabulary]:
    """The gazetteer and colour/size vocabulary for a database, rebuilt when it changes."""
    key = _db_key(db)
    with _CACHE_LOCK:
        cached = _GAZETTEER_CACHE.get(key)
    if cached is not None:
        return cached
    gazetteer = Gazetteer.from_db(db, _training_vocabulary())
    colours: list[str] = []
    sizes: list[str] = []
    for colour, size in db.execute("select distinct colour, size from variants").fetchall():
        if colour:
            colours.append(str(colour))
        if size:
            sizes.append(str(size))
    options = build_option_vocabulary(colours, sizes)
    with _CACHE_LOCK:
        # Keep one entry per database path: the new stamp replaces the stale one.
        for old in [k for k in _GAZETTEER_CACHE if k[0] == key[0]]:
            del _GAZETTEER_CACHE[old]
        _GAZETTEER_CACHE[key] = (gazetteer, options)
    return gazetteer, options


class Understander:
    def __init__(
        self,
        model: IntentModel,
        *,
        settings: Settings | None = None,
        gazetteer: Gazetteer | None = None,
        options: OptionVocabulary | None = None,
        training_report: TrainingReport | None = None,
        order_shapes: list[dict[str, Any]] | None = None,
    ) -> None:
        self.model = model
        self.settings = settings or load_settings()
        self.gazetteer = gazetteer
        self.extractor = EntityExtractor(options or build_option_vocabulary(), order_shapes)
        self.sentiment = SentimentAnalyser()
        self.training_report = training_report
        self.threshold = float(self.settings.confidence_threshold)
        self._oos_index = model.label_index.get(OUT_OF_SCOPE)
        self._cue_rules = cue_rules()

    @classmethod
    def load(
        cls,
        db: Any = None,
        settings: Settings | None = None,
        *,
        models_directory: Path | None = None,
        gazetteer: Gazetteer | None = None,
    ) -> Understander:
        """Load (or train) the model for the current data; add the catalog of ``db`` if given."""
        settings = settings or load_settings()
        model, report = load_or_train(directory=models_directory)
        options = None
        if gazetteer is None and db is not None:
            gazetteer, options = catalog_vocabularies(db)
        # The shop's order-number shapes, so "sa 5107" reads as its stored "SA-5107".
        order_shapes = order_number_shapes(db) if db is not None else None
        return cls(
            model,
            settings=settings,
            gazetteer=gazetteer,
            options=options,
            training_report=report,
            order_shapes=order_shapes,
        )

    def intents(self) -> list[str]:
        return list(self.model.labels)

    # -- the stage -------------------------------------------------------------------
    def understand(
        self, text: Any, *, today: dt.date | None = None, default_language: Language | None = None
    ) -> NLUResult:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        default: Language = default_language or self.settings.language
        if _SURROGATE.search(text):
            text = _SURROGATE.sub("\ufffd", text)
        if not text.strip():
            return self._empty(text, default)
        language = self._safe(lambda: detect_language(text[:2000], default), default)
        entities = self._safe(lambda: self.entities(text, today), [])
        try:
            probs, coverage = self.model.probabilities(text)
            probs, ask = self.apply_cues(probs, text[:2000], entities)
            intent, ranking, clarify = self.decide(probs, coverage, _shop_evidence(entities))
            if ask and intent.name in ask:
                clarify = list(ask)
            if not _LETTER.search(text[:2000]) and not is_bare_reply(text, entities):
                # Digits, punctuation and emoji only ("[1,2]", "??", "👍"): the features
                # see nothing but masked digits, so any intent would be a guess.
                intent, clarify = self._oos(1.0), None
            elif is_bare_reply(text, entities):
                # The classifier's guess for "it's 10096" is noise; let the dialogue read
                # the identifier against the question it asked.
                intent, clarify = self._oos(BARE_REPLY_CONFIDENCE), None
        except Exception:  # pragma: no cover - a bug must not take the conversation down
            log.exception("intent classification failed")
            intent, ranking, clarify = self._oos(1.0), [self._oos(1.0)], None
        sentiment = self._safe(
            lambda: self.sentiment.analyse(text), Sentiment(label="neutral", score=0.0)
        )
        return NLUResult(
            text=text,
            language=language,
            intent=intent,
            ranking=ranking,
            entities=entities,
            sentiment=sentiment,
            clarify=clarify,
        )

    def understand_many(
        self, texts: Iterable[Any], *, today: dt.date | None = None
    ) -> list[NLUResult]:
        return [self.understand(t, today=today) for t in texts]

    def entities(self, text: str, today: dt.date | None = None) -> list[Entity]:
        candidates: list[Candidate] = self.extractor.candidates(text, today or dt.date.today())
        if self.gazetteer is not None:
            candidates += self.gazetteer.find(text)
        return [c.to_entity(text) for c in resolve_overlaps(candidates)]

    def apply_cues(
        self, probs: np.ndarray, text: str, entities: list[Entity]
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        """Apply the first rule of ``data/intent_cues.toml`` whose word cues are present:
        swap the top intent for the rule's target (the classifier cannot know the
        catalog, nor that 退单 before shipping is a cancellation), or name the pair to
        ask about when the message cannot tell them apart."""
        labels = self.model.labels
        top = int(np.argmax(probs))
        for rule in self._cue_rules:
            if not rule.fires(labels[top], text, entities):
                continue
            if rule.clarify:
                if all(name in self.model.label_index for name in rule.clarify):
                    return probs, rule.clarify
                continue
            target = self.model.label_index.get(rule.to or "")
            if target is not None:
                probs = probs.copy()
                probs[top], probs[target] = probs[target], probs[top]
                return probs, ()
        return probs, ()

    def decide(
        self, probs: np.ndarray, coverage: float, shop_evidence: bool = False
    ) -> tuple[IntentScore, list[IntentScore], list[str] | None]:
        """Top intent, ranking and clarification pair from calibrated probabilities.

        ``shop_evidence`` (a catalog product, SKU or keyword-backed order/invoice number in
        the message) rules out out_of_scope: the classifier cannot know the catalog's
        names, but a message naming one of our products or orders is about the shop. The
        other intents are then renormalised and judged by the same threshold.
        """
        labels = self.model.labels
        if shop_evidence and self._oos_index is not None:
            rest = 1.0 - float(probs[self._oos_index])
            if rest > 1e-6:
                probs = probs.copy()
                probs[self._oos_index] = 0.0
                probs /= rest
            coverage = 1.0
        order = np.argsort(-probs, kind="stable")[:RANKING_SIZE]
        ranking = [IntentScore(name=labels[i], confidence=round(float(probs[i]), 4)) for i in order]
        best = ranking[0]
        if best.name == OUT_OF_SCOPE:
            return best, ranking, None
        second = ranking[1] if len(ranking) > 1 else None
        low_coverage = coverage < LOW_COVERAGE and best.confidence < LOW_COVERAGE_MAX_CONFIDENCE
        if best.confidence >= self.threshold and not low_coverage:
            return best, ranking, None
        if (
            not low_coverage
            and second is not None
            and second.name != OUT_OF_SCOPE
            and second.confidence >= CLARIFY_MIN_SECOND
            and best.confidence - second.confidence <= CLARIFY_MARGIN
            and best.confidence + second.confidence >= CLARIFY_MIN_PAIR
        ):
            return best, ranking, [best.name, second.name]
        return self._oos(1.0 - best.confidence), ranking, None

    # -- helpers ---------------------------------------------------------------------
    @staticmethod
    def _oos(confidence: float) -> IntentScore:
        return IntentScore(name=OUT_OF_SCOPE, confidence=round(confidence, 4))

    def _empty(self, text: str, language: Language) -> NLUResult:
        oos = self._oos(1.0)
        return NLUResult(
            text=text,
            language=language,
            intent=oos,
            ranking=[oos],
            entities=[],
            sentiment=Sentiment(label="neutral", score=0.0, frustrated=False),
            clarify=None,
        )

    @staticmethod
    def _safe(fn: Any, fallback: Any) -> Any:
        try:
            return fn()
        except Exception:  # pragma: no cover - defensive: never fail a turn on NLU extras
            log.exception("NLU step failed; using a neutral fallback")
            return fallback


def understand(text: str, *, db: Any = None, today: dt.date | None = None) -> NLUResult:
    """One-off convenience; long-lived callers should keep an :class:`Understander`."""
    return Understander.load(db).understand(text, today=today)
