"""Making untrusted text (chat messages, catalog cells) safe to store, match and display.

Terminal escape sequences and control characters must never reach a terminal raw, and
they confuse matching. Shared by the knowledge base and the engine, so it depends on
neither.
"""

from __future__ import annotations

import re
import unicodedata

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other two-byte ESC sequences, and
# the 8-bit C1 CSI/OSC introducers.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)?"
)
# C0 and C1 controls except tab and newline, DEL, plus bidi overrides that can spoof text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")

MAX_MESSAGE_CHARS = 4000


def strip_controls(text: str) -> str:
    """Remove ANSI escape sequences and control characters; keep tabs and newlines."""
    if not text:
        return ""
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def clean_text(text: str, *, max_chars: int | None = None, single_line: bool = False) -> str:
    """Strip controls, normalise Unicode (NFC), fold runs of spaces, optionally truncate."""
    text = unicodedata.normalize("NFC", strip_controls(text))
    if single_line:
        text = text.replace("\n", " ")
    text = _SPACES.sub(" ", text).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]
    return text


def clean_message(text: str) -> str:
    """A customer's chat message, bounded so a huge paste cannot stall a turn."""
    return clean_text(text, max_chars=MAX_MESSAGE_CHARS)
