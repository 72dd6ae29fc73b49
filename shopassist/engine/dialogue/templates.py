"""Reply templates in English and Chinese, kept in ``data/templates_<lang>.toml``.

Templates use named placeholders (``{order_number}``) filled with ``str.format_map``; a
placeholder the caller does not pass at all is a bug in a flow, so it raises instead of
printing braces.

A value that is passed but empty at run time (``None`` or blank: an imported order with no
cancellation date) never leaves a hole in a sentence ("It was cancelled on ."). The template
that needs it is replaced by the first of its alternatives (``data/template_alternatives.toml``)
whose values are all there, and otherwise dropped: :func:`render` returns ``""``, which
:func:`join_parts` skips. ``tests/test_templates.py`` checks this for every template key with
each of its values missing.

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
ALTERNATIVES_FILE = "template_alternatives.toml"
LANGUAGES = ("en", "zh")
_log = logging.getLogger(__name__)


class TemplateError(KeyError):
    """A template key or placeholder is missing: a bug in the data files or a flow."""


def is_missing(value: Any) -> bool:
    """A value a sentence cannot be said with: None, or text with nothing in it."""
    return value is None or (isinstance(value, str) and not value.strip())


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


@cache
def alternatives() -> dict[str, tuple[str, ...]]:
    """Template key -> the keys said instead when a value it needs is missing, in order.

    An alternative must exist and need no value the template it stands in for does not
    (the caller passes the same values); one that breaks this is left out, logged."""
    with (DATA_DIR / ALTERNATIVES_FILE).open("rb") as fh:
        data = tomllib.load(fh).get("alternatives", {})
    out: dict[str, tuple[str, ...]] = {}
    for key, alts in data.items():
        usable = []
        for alt in alts:
            reason = _alternative_problem(key, alt)
            if reason is None:
                usable.append(alt)
            else:
                _log.warning("template alternative %r for %r skipped: %s", alt, key, reason)
        out[key] = tuple(usable)
    return out


def _alternative_problem(key: str, alt: str) -> str | None:
    for language in LANGUAGES:
        templates = load_templates(language)
        if key not in templates or alt not in templates:
            return f"no template {key if key not in templates else alt!r} ({language})"
        extra = placeholders(templates[alt]) - placeholders(templates[key])
        if extra:
            return f"needs {sorted(extra)}, which {key!r} is not given"
    return None


def has_template(key: str, language: str = "en") -> bool:
    return key in load_templates(language if language in LANGUAGES else "en")


def render(key: str, language: str, values: dict[str, Any] | None = None) -> str:
    lang = language if language in LANGUAGES else "en"
    templates = load_templates(lang)
    if key not in templates:
        raise TemplateError(f"no template {key!r} for language {lang}")
    values = values or {}
    needed = placeholders(templates[key])
    absent = needed - set(values)
    if absent:
        raise TemplateError(f"template {key!r} ({lang}) needs a value for {sorted(absent)}")
    empty = {name for name in needed if is_missing(values[name])}
    if not empty:
        return templates[key].format_map(values)
    for alt in alternatives().get(key, ()):
        if not any(is_missing(values[name]) for name in placeholders(templates[alt])):
            return templates[alt].format_map(values)
    # Said with a hole it would be wrong ("cancelled on ."): the sentence is left out.
    _log.info("template %r (%s) dropped: no value for %s", key, lang, sorted(empty))
    return ""


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
