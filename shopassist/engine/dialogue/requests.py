"""Several requests in one long message: the parts each answered in order.

A long message ("order 10001 ... the bottle leaks ... and do you still have the rain
jacket in M?") is cut at sentence ends and before words that start another request
(data/requests.toml). When two or more parts read as requests of their own, every part is
answered one after the other, the state each leaves the context of the next (the order
verified in the first makes "the bottle leaks" about its item); a part the dialogue cannot
place at all is context, not a question (decide.py leaves its fallback out).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shopassist.engine.dialogue.interpret import group, is_unsure
from shopassist.engine.nlu.result import NLUResult
from shopassist.text import CJK_CHAR

DATA = Path(__file__).parent / "data" / "requests.toml"
# A Latin sentence ends at punctuation and a space (not inside "a.b@example.com").
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])\s*")


@dataclass(frozen=True)
class RequestWords:
    min_chars: int
    min_part_words: int
    min_part_chars: int
    separators: re.Pattern[str]


@cache
def request_words() -> RequestWords:
    with DATA.open("rb") as fh:
        raw = tomllib.load(fh)
    parts = []
    for word in sorted(raw["separators"], key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in word.split())
        parts.append(rf"(?<![A-Za-z]){body}(?![A-Za-z])" if word.isascii() else body)
    return RequestWords(
        min_chars=int(raw["min_chars"]),
        min_part_words=int(raw["min_part_words"]),
        min_part_chars=int(raw["min_part_chars"]),
        separators=re.compile("|".join(parts), re.IGNORECASE),
    )


def split_parts(text: str) -> list[str]:
    """The message cut at sentence ends and before request separators; [] when it is
    shorter than the data's min_chars (then it is read whole)."""
    words = request_words()
    if len(text) < words.min_chars:
        return []
    parts: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        start = 0
        for m in words.separators.finditer(sentence):
            if m.start() > start:
                parts.append(sentence[start : m.start()])
                start = m.start()
        parts.append(sentence[start:])
    return [p.strip(" ,，、") for p in parts if p.strip(" ,，、")]


def _long_enough(part: str) -> bool:
    words = request_words()
    if CJK_CHAR.search(part):
        return len(part) >= words.min_part_chars
    return len(part.split()) >= words.min_part_words


def is_request(nlu: NLUResult) -> bool:
    """Does a part ask for something of its own: a confident intent that is not small
    talk, or an order number?"""
    if nlu.first("order_number") is not None:
        return True
    return nlu.intent.name not in group("smalltalk") and not is_unsure(nlu)


def requests_in(text: str, understand: Callable[[str], NLUResult]) -> list[tuple[str, NLUResult]]:
    """The message's parts in the order written, each understood on its own (a short one,
    "hello!!", joins the next as its context); [] unless two or more of them are requests
    of their own (is_request), so a long message with one request is read whole."""
    parts = split_parts(text)
    if len(parts) < 2:
        return []
    out: list[tuple[str, NLUResult]] = []
    pending = ""
    for part in parts:
        joined = f"{pending} {part}".strip()
        if not _long_enough(part):
            pending = joined
            continue
        out.append((joined, understand(joined)))
        pending = ""
    if pending and out:
        merged = f"{out[-1][0]} {pending}"
        out[-1] = (merged, understand(merged))
    requests = [n for _, n in out if is_request(n)]
    intents = {n.intent.name for n in requests}
    if len(requests) < 2 or (len(intents) < 2 and not intents & group("product")):
        return []  # one request, perhaps said in several sentences: read the message whole
    return out


__all__ = ["is_request", "request_words", "requests_in", "split_parts"]
