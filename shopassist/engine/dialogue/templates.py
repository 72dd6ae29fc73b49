"""Reply templates in English and Chinese, kept in ``data/templates_<lang>.toml``.

Templates use named placeholders (``{order_number}``) filled with ``str.format_map``; a
placeholder without a value is a bug in a flow, so it raises instead of printing braces.

A template is checked when the files load: its placeholders must be plain names (no
``{}``, ``{0}``, ``{a.b}``, no stray brace) and the same in every language, since the flow
that says it passes one set of values whatever the language. A template failing that
cannot be satisfied and is skipped (logged, and ``has_template`` is False for it), so it is
never rendered with a value missing. ``tests/test_templates.py`` also checks every call in
the engine passes each placeholder its template needs.
"""

from __future__ import annotations

import logging
import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
LANGUAGES = ("en", "zh")
_log = logging.getLogger(__name__)


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


def placeholders(template: str) -> set[str]:
    """The value names a template needs. Raises ValueError when it has a placeholder a
    flow cannot fill by name (``{}``, ``{0}``, ``{a.b}``, ``{a[0]}``) or a stray brace."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"placeholder {{{name}}} is not a plain value name")
        names.add(name)
    return names


@cache
def _read(language: str) -> dict[str, str]:
    path = DATA_DIR / f"templates_{language}.toml"
    with path.open("rb") as fh:
        return _flatten(tomllib.load(fh))


def template_problems() -> dict[tuple[str, str], str]:
    """(language, key) -> why that template cannot be satisfied; empty when all are fine."""
    problems: dict[tuple[str, str], str] = {}
    needs: dict[str, dict[str, set[str]]] = {}
    for language in LANGUAGES:
        for key, text in _read(language).items():
            try:
                needs.setdefault(key, {})[language] = placeholders(text)
            except ValueError as exc:
                problems[(language, key)] = str(exc)
    for key, by_language in needs.items():
        if len(set(map(frozenset, by_language.values()))) > 1:
            described = "; ".join(
                f"{lang}: {sorted(names)}" for lang, names in sorted(by_language.items())
            )
            for language in by_language:
                problems[(language, key)] = f"placeholders differ between languages ({described})"
    return problems


@cache
def load_templates(language: str) -> dict[str, str]:
    """The language's templates, without any that cannot be satisfied (see the module doc)."""
    problems = template_problems()
    templates = {}
    for key, text in _read(language).items():
        reason = problems.get((language, key))
        if reason is not None:
            _log.warning("template %r (%s) skipped: %s", key, language, reason)
            continue
        templates[key] = text
    return templates


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
