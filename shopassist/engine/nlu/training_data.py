"""Where labelled examples come from, and how a user adds one.

Three layers, loaded the same way (one example per line, ``#`` comments, the file name is
the intent): the bundled ``data/intents/<lang>/``, our ``data/intents/supplement/<lang>/``
and the user's ``<user data dir>/training/<lang>/``, where ``shopassist train --add`` and
agent-assist corrections write. All three feed the data hash that keys the model artefact,
so adding an example retrains automatically on next load.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from shopassist.config import user_data_dir
from shopassist.engine.nlu.language import detect_language
from shopassist.safe_text import clean_text

DATA_DIR = Path(__file__).parent / "data"
INTENTS_DIR = DATA_DIR / "intents"
SUPPLEMENT_DIR = INTENTS_DIR / "supplement"
LANGUAGES = ("en", "zh")
MAX_EXAMPLE_CHARS = 500

# The taxonomy the dialogue layer relies on (issue 3). Files may add more intents.
INTENTS: tuple[str, ...] = (
    "cancel_order",
    "change_order",
    "place_order",
    "track_order",
    "check_cancellation_fee",
    "change_shipping_address",
    "set_up_shipping_address",
    "delivery_options",
    "delivery_period",
    "check_invoice",
    "get_invoice",
    "check_payment_methods",
    "payment_issue",
    "check_refund_policy",
    "get_refund",
    "track_refund",
    "complaint",
    "review",
    "contact_customer_service",
    "contact_human_agent",
    "create_account",
    "delete_account",
    "edit_account",
    "switch_account",
    "recover_password",
    "registration_problems",
    "newsletter_subscription",
    "product_search",
    "product_info",
    "product_compare",
    "recommendation",
    "promotions",
    "greet",
    "thank",
    "goodbye",
    "affirm",
    "deny",
    "out_of_scope",
)
OUT_OF_SCOPE = "out_of_scope"
_INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class TrainingDataError(ValueError):
    """A training example or intent name is unusable; the message says why."""


@dataclass(frozen=True, order=True)
class Example:
    intent: str
    language: str
    text: str
    source: str = "bundled"  # "bundled", "supplement" or "user"


def user_training_dir() -> Path:
    return user_data_dir() / "training"


def _read_examples(path: Path, intent: str, language: str, source: str) -> list[Example]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        text = clean_text(line, single_line=True, max_chars=MAX_EXAMPLE_CHARS)
        if not text or text.startswith("#"):
            continue
        out.append(Example(intent, language, text, source))
    return out


def _intent_files(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.txt")):
        stem = path.stem
        # README-like and scratch files ("_notes.txt") are not intents.
        if stem.startswith("_") or not _INTENT_NAME.match(stem):
            continue
        found.append((stem, path))
    return found


def example_sources(include_user: bool = True) -> list[tuple[str, str, Path]]:
    """(source, language, folder) for every folder examples are read from."""
    folders = []
    for lang in LANGUAGES:
        folders.append(("bundled", lang, INTENTS_DIR / lang))
        folders.append(("supplement", lang, SUPPLEMENT_DIR / lang))
        if include_user:
            folders.append(("user", lang, user_training_dir() / lang))
    return folders


def load_examples(include_user: bool = True) -> list[Example]:
    """Every example, deduplicated per (intent, language, text), in a stable order."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Example] = []
    for source, lang, folder in example_sources(include_user):
        for intent, path in _intent_files(folder):
            for ex in _read_examples(path, intent, lang, source):
                key = (ex.intent, ex.language, ex.text.casefold())
                if key in seen:
                    continue
                seen.add(key)
                out.append(ex)
    out.sort(key=lambda e: (e.intent, e.language, e.text, e.source))
    return out


def known_intents(examples: list[Example] | None = None) -> list[str]:
    names = set(INTENTS)
    for ex in examples if examples is not None else load_examples(include_user=False):
        names.add(ex.intent)
    return sorted(names)


def data_fingerprint(examples: list[Example]) -> str:
    """A hash of the examples' content, independent of file layout and order."""
    digest = hashlib.blake2b(digest_size=16)
    for ex in sorted(examples):
        digest.update(f"{ex.intent}\t{ex.language}\t{ex.text}\n".encode())
    return digest.hexdigest()


def add_training_example(text: str, intent: str, language: str | None = None) -> Path:
    """Append one labelled example to the user's training file and return that file.

    Used by ``shopassist train --add`` and by agent-assist corrections. The text is cleaned
    to one line; the intent must be one the classifier knows. Raises
    :class:`TrainingDataError` with a specific reason otherwise.
    """
    cleaned = clean_text(text or "", single_line=True, max_chars=MAX_EXAMPLE_CHARS)
    if not cleaned:
        raise TrainingDataError("the example text is empty after cleaning")
    if cleaned.startswith("#"):
        # A leading '#' would turn the line into a comment ("#10023 where is it"); the
        # features ignore '#' anyway, so dropping it loses nothing.
        cleaned = cleaned.lstrip("#").strip()
        if not cleaned:
            raise TrainingDataError("the example text is empty after cleaning")
    name = (intent or "").strip()
    valid = known_intents()
    if name not in valid:
        close = [v for v in valid if name and (name in v or v in name)]
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
        raise TrainingDataError(f"unknown intent {name!r}{hint}; known intents: {', '.join(valid)}")
    lang = language or detect_language(cleaned)
    if lang == "mixed":
        lang = "zh"
    if lang not in LANGUAGES:
        raise TrainingDataError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    path = user_training_dir() / lang / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = set()
    if path.exists():
        existing = {
            line.strip().casefold() for line in path.read_text(encoding="utf-8").splitlines()
        }
    if cleaned.casefold() not in existing:
        needs_newline = (
            path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
        )
        with path.open("a", encoding="utf-8") as fh:
            if needs_newline:
                fh.write("\n")
            fh.write(cleaned + "\n")
    return path
