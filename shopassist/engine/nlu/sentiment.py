"""Lexicon-based sentiment for English and Chinese, with a frustration flag for escalation.

Rules, in the spirit of VADER: a negator shortly before a term flips and damps it ("not
happy", "不满意"), an intensifier multiplies it ("very", "非常"), emoji carry their own
scores, and shouting (ALL CAPS, "!!!") amplifies. Frustration is what later stages escalate
on: strong negativity, swearing, or markers of a repeated complaint ("third time", "还是").
The word lists live in ``data/lexicon/`` so they can be tuned without touching code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from shopassist.engine.nlu.result import Sentiment
from shopassist.text import CJK_RANGES

LEXICON_DIR = Path(__file__).parent / "data" / "lexicon"
MAX_SENTIMENT_CHARS = 2000
NEGATION_FLIP = -0.75
_EN_WINDOW = 3
_ZH_WINDOW = 4
_ALPHA = 6.0  # normalisation: score = s / sqrt(s² + α)

_CJK = CJK_RANGES
# English words (with apostrophes), runs of CJK, emoticons, and single emoji codepoints.
_TOKEN = re.compile(
    rf"[a-z]+(?:'[a-z]+)?|[{_CJK}]+|:-?[()dp]|[\U0001f300-\U0001faff\u2600-\u27bf]\ufe0f?",
    re.IGNORECASE,
)
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_WORDS = re.compile(r"\b[A-Za-z]{3,}\b")
# "!!" and "???" (repeated question marks read as impatience, not curiosity).
_EXCLAIM = re.compile(r"[!！]{2,}|[?？]{3,}|[!！][?？]|[?？][!！]")


def _read_pairs(name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    path = LEXICON_DIR / name
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        term, _, number = line.rpartition(" ")
        if not term:
            term, _, number = line.rpartition("\t")
        try:
            out[term.strip().lower()] = float(number)
        except ValueError:
            continue
    return out


def _read_terms(name: str) -> set[str]:
    path = LEXICON_DIR / name
    return {
        line.strip().lower()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    }


@dataclass(frozen=True)
class Lexicon:
    terms: dict[str, float]  # en + zh + emoji
    intensifiers: dict[str, float]
    negators: frozenset[str]
    frustration: frozenset[str]
    profanity: frozenset[str]
    max_zh_len: int

    @property
    def en_phrases(self) -> dict[str, float]:
        return {t: s for t, s in self.terms.items() if " " in t}


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    terms = _read_pairs("en.txt")
    terms.update(_read_pairs("zh.txt"))
    terms.update(_read_pairs("emoji.txt"))
    zh_terms = [t for t in terms if re.search(f"[{_CJK}]", t)]
    return Lexicon(
        terms=terms,
        intensifiers=_read_pairs("intensifiers.txt"),
        negators=frozenset(_read_terms("negators.txt")),
        frustration=frozenset(_read_terms("frustration.txt")),
        profanity=frozenset(_read_terms("profanity.txt")),
        max_zh_len=max((len(t) for t in zh_terms), default=1),
    )


class SentimentAnalyser:
    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lex = lexicon or load_lexicon()
        self._phrases = self.lex.en_phrases
        self._phrase_firsts = {p.split()[0] for p in self._phrases}
        self._multiword_markers = [m for m in self.lex.frustration if " " in m]
        zh_vocab = set(self.lex.terms) | set(self.lex.intensifiers) | self.lex.negators
        zh_vocab |= self.lex.frustration | self.lex.profanity
        self._zh_vocab = {t for t in zh_vocab if re.search(f"[{_CJK}]", t)}
        self._zh_max = max((len(t) for t in self._zh_vocab), default=1)
        self._zh_first = frozenset(t[0] for t in self._zh_vocab)

    def _segment_zh(self, run: str) -> list[str]:
        """Greedy longest match against the lexicon; unknown characters stand alone."""
        out = []
        i = 0
        vocab = self._zh_vocab
        while i < len(run):
            if run[i] not in self._zh_first:  # starts no lexicon term: stands alone
                out.append(run[i])
                i += 1
                continue
            for n in range(min(self._zh_max, len(run) - i), 0, -1):
                piece = run[i : i + n]
                if n == 1 or piece in vocab:
                    out.append(piece)
                    i += n
                    break
        return out

    def analyse(self, text: str) -> Sentiment:
        text = text[:MAX_SENTIMENT_CHARS]
        lower = text.lower()
        lex = self.lex
        raw_tokens = _TOKEN.findall(lower)
        toks: list[str] = []
        for tok in raw_tokens:
            if "\u3400" <= tok[0] <= "\ufaff":
                toks.extend(self._segment_zh(tok))
            else:
                toks.append(tok)
        total = 0.0
        hits = 0
        profanity = False
        markers = 0
        i = 0
        n = len(toks)
        while i < n:
            tok = toks[i]
            span = 1
            score = None
            if tok in self._phrase_firsts:
                for k in (3, 2):
                    phrase = " ".join(toks[i : i + k])
                    if phrase in self._phrases:
                        score, span = self._phrases[phrase], k
                        break
            if score is None:
                score = lex.terms.get(tok)
            if tok in lex.profanity:
                profanity = True
            if tok in lex.frustration:
                markers += 1
            if score is not None:
                is_zh = "\u3400" <= tok[0] <= "\ufaff"
                window = _ZH_WINDOW if is_zh else _EN_WINDOW
                before = toks[max(0, i - window) : i]
                factor = 1.0
                if before and before[-1] in lex.intensifiers:
                    factor *= lex.intensifiers[before[-1]]
                if any(b in lex.negators for b in before):
                    factor *= NEGATION_FLIP
                total += score * factor
                hits += 1
            i += span
        for marker in self._multiword_markers:
            if marker in lower:
                markers += 1
        # Shouting: mostly-capitals text or runs of exclamation marks amplify what is there;
        # a shouted message with no sentiment words at all reads as annoyed.
        words = _WORDS.findall(text)
        caps = len(_CAPS_WORD.findall(text))
        shouting = len(words) >= 2 and caps / len(words) >= 0.6
        exclaims = len(_EXCLAIM.findall(text))
        if shouting:
            total = total * 1.4 - 1.0 if hits else total - 1.5
        if exclaims:
            total *= 1.0 + 0.15 * min(exclaims, 3)
            if not hits and not shouting:
                total -= 0.3 if markers else 0.0
        if profanity:
            total -= 2.0
        if markers and total <= 0.5:
            total -= 0.7 * min(markers, 3)
        score = total / (total * total + _ALPHA) ** 0.5 if total else 0.0
        score = max(-1.0, min(1.0, score))
        label: Literal["negative", "neutral", "positive"] = (
            "positive" if score >= 0.2 else "negative" if score <= -0.2 else "neutral"
        )
        frustrated = profanity or score <= -0.7 or (markers > 0 and score < -0.2)
        return Sentiment(label=label, score=round(score, 4), frustrated=frustrated)


@lru_cache(maxsize=1)
def default_analyser() -> SentimentAnalyser:
    return SentimentAnalyser()


def analyse_sentiment(text: str) -> Sentiment:
    return default_analyser().analyse(text)
