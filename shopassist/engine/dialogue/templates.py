"""Reply templates in English and Chinese, kept in ``data/templates_<lang>.toml``.

Templates use named placeholders (``{order_number}``) filled with ``str.format_map``; a
placeholder without a value is a bug in a flow, so it raises instead of printing braces.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
LANGUAGES = ("en", "zh")


class TemplateError(KeyError):
    """A template key or placeholder is missing: a bug in the data files or a flow."""


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


@cache
def load_templates(language: str) -> dict[str, str]:
    path = DATA_DIR / f"templates_{language}.toml"
    with path.open("rb") as fh:
        return _flatten(tomllib.load(fh))


def has_template(key: str, language: str = "en") -> bool:
    return key in load_templates(language if language in LANGUAGES else "en")


def render(key: str, language: str, values: dict[str, Any] | None = None) -> str:
    lang = language if language in LANGUAGES else "en"
    templates = load_templates(lang)
    if key not in templates:
        raise TemplateError(f"no template {key!r} for language {lang}")
    try:
        return templates[key].format_map(values or {})
    except KeyError as exc:
        raise TemplateError(f"template {key!r} ({lang}) needs a value for {exc}") from exc


def phrase(key: str, language: str) -> str:
    """A short fixed phrase (a status name, a label) with no placeholders."""
    return render(key, language)


def join_parts(parts: list[str], language: str) -> str:
    """Join rendered parts; a part ending in a line break (a list) needs no separator."""
    sep = "" if language == "zh" else " "
    out = ""
    for part in parts:
        if not part or not part.strip():
            continue
        part = part.strip(" ")
        if out and not out.endswith("\n"):
            out += sep
        out += part
    return out.strip()
