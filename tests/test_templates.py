"""Every reply template can be satisfied: checked when the files load, and against the code
that says each template (every placeholder gets a value from every call)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shopassist.engine.dialogue import templates
from shopassist.engine.dialogue.templates import (
    LANGUAGES,
    TemplateError,
    load_templates,
    placeholders,
    render,
    template_problems,
)

ENGINE = Path(templates.__file__).resolve().parents[1]


def test_every_template_file_entry_loads() -> None:
    assert template_problems() == {}
    for language in LANGUAGES:
        assert load_templates(language)


@pytest.mark.parametrize("text", ["{}", "{0} days", "{order.number}", "{items[0]}", "a } b"])
def test_a_placeholder_no_flow_can_fill_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        placeholders(text)


def test_templates_whose_languages_disagree_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "templates_en.toml").write_text(
        '[x]\nok = "Hi {name}"\nbad = "Within {window_days} days"\nodd = "{0}"\n'
    )
    (tmp_path / "templates_zh.toml").write_text(
        '[x]\nok = "{name}您好"\nbad = "{days} 天内"\nodd = "好"\n'
    )
    monkeypatch.setattr(templates, "DATA_DIR", tmp_path)
    for fn in (templates._read, templates.load_templates):
        fn.cache_clear()
    try:
        problems = template_problems()
        assert set(problems) == {("en", "x.bad"), ("zh", "x.bad"), ("en", "x.odd")}
        assert set(load_templates("en")) == {"x.ok"}
        assert set(load_templates("zh")) == {"x.ok", "x.odd"}
        with pytest.raises(TemplateError):
            render("x.bad", "en", {"window_days": 30})
    finally:
        for fn in (templates._read, templates.load_templates):
            fn.cache_clear()


def test_a_missing_value_raises_instead_of_printing_braces() -> None:
    with pytest.raises(TemplateError):
        render("policy.unknown", "en", {})


# --- the code's calls against the templates ------------------------------------------------


def _calls() -> list[tuple[str, int, str, set[str] | None]]:
    """(file, line, template key, the value names passed; None when a ** spread hides some)
    for every ``x.say("key", ...)``, ``render("key", lang, {...})`` and
    ``Part(template="key", values={...})`` with a literal key."""
    found: list[tuple[str, int, str, set[str] | None]] = []
    for path in sorted(ENGINE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            key: ast.expr | None = None
            names: set[str] | None = set()
            if name == "say" and node.args:
                key = node.args[0]
                for kw in node.keywords:
                    if kw.arg is None:
                        names = None
                        break
                    assert names is not None
                    names.add(kw.arg)
            elif name == "render" and len(node.args) >= 2:
                key = node.args[0]
                values = node.args[2] if len(node.args) > 2 else None
                names = _dict_keys(values)
            elif name == "Part":
                kws = {kw.arg: kw.value for kw in node.keywords}
                key = kws.get("template")
                names = _dict_keys(kws.get("values"))
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                rel = str(path.relative_to(ENGINE.parent))
                found.append((rel, node.lineno, key.value, names))
    return found


def _dict_keys(node: ast.expr | None) -> set[str] | None:
    if node is None:
        return set()
    if not isinstance(node, ast.Dict):
        return None  # a variable: its keys are not known here
    if any(k is None or not isinstance(k, ast.Constant) for k in node.keys):
        return None
    return {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}


def test_the_scan_finds_the_calls() -> None:
    """A scan that found nothing would pass whatever the templates said."""
    calls = _calls()
    assert len(calls) > 100
    assert any(key == "refund.policy_window" for _, _, key, _ in calls)


def test_every_call_gives_every_placeholder_its_template_needs() -> None:
    en = load_templates("en")
    unsatisfied = []
    for where, line, key, names in _calls():
        if key not in en:
            unsatisfied.append(f"{where}:{line}: no template {key!r}")
            continue
        if names is None:
            continue  # values spread from a dict: checked when rendered
        missing = placeholders(en[key]) - names
        if missing:
            unsatisfied.append(f"{where}:{line}: {key} needs {sorted(missing)}")
    assert unsatisfied == []
