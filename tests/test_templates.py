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


# --- a value missing at run time ----------------------------------------------------------


def _marked(names: set[str]) -> dict[str, str]:
    return {name: f"<{name}>" for name in names}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("empty", [None, "", "  "], ids=["none", "empty", "blank"])
def test_no_template_is_said_with_a_value_missing(language: str, empty: object) -> None:
    """Every template key x each of its values missing: the reply gets an alternative that
    does not need the value, or nothing; never the sentence with a hole in it."""
    table = load_templates(language)
    alternatives = templates.alternatives()
    checked = 0
    for key, text in table.items():
        names = placeholders(text)
        for missing in names:
            values: dict[str, object] = {**_marked(names), missing: empty}
            said = render(key, language, values)
            checked += 1
            if said == "":
                continue
            alt = next(a for a in alternatives.get(key, ()) if said == render(a, language, values))
            assert missing not in placeholders(table[alt]), (key, alt, missing)
            # The values that were there are still said by the alternative it chose.
            assert "{" not in said
    assert checked > 200


def test_an_imported_order_without_a_date_drops_the_dated_sentence() -> None:
    assert render("track.cancelled", "en", {"cancelled_on": "2026-11-28"}).endswith("2026-11-28.")
    assert render("track.cancelled", "en", {"cancelled_on": ""}) == ""
    assert render("track.cancelled", "zh", {"cancelled_on": None}) == ""


def test_an_alternative_without_the_missing_value_is_said_instead() -> None:
    values = {"methods": "\n- Ground\n", "dispatch_days": None, "business_days": "days"}
    assert render("delivery.options", "en", values) == render(
        "delivery.options_no_dispatch", "en", {"methods": "\n- Ground\n"}
    )
    line = render("delivery.line_price_days", "en", {"name": "Air", "price": "", "days": "2"})
    assert line == "- Air: 2 business days"


def test_every_alternative_exists_and_needs_no_more_than_its_template() -> None:
    alternatives = templates.alternatives()
    assert alternatives  # the data file was read
    for language in LANGUAGES:
        table = load_templates(language)
        for key, alts in alternatives.items():
            for alt in alts:
                assert placeholders(table[alt]) <= placeholders(table[key]), (key, alt)


def test_a_value_never_passed_is_still_a_bug_that_raises() -> None:
    with pytest.raises(TemplateError):
        render("track.cancelled", "en", {})


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("where is my order SA-5105? my email is joao@example.test", "Order SA-5105 is cancelled."),
        ("订单SA-5105到哪了？邮箱 joao@example.test", "订单 SA-5105 的状态：已取消。"),
    ],
    ids=["en", "zh"],
)
def test_a_cancelled_import_with_no_date_is_told_without_the_dated_sentence(
    tmp_path: Path, text: str, said: str
) -> None:
    """A shop's own WooCommerce export (no demo): its cancelled order has no cancellation
    date, so 'It was cancelled on .' is left out, through the real converse command."""
    import json

    from typer.testing import CliRunner

    from shopassist.cli import app

    db = str(tmp_path / "woo.db")
    fixture = Path(__file__).parent / "fixtures" / "import" / "woocommerce_orders.csv"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["import-orders", str(fixture), "--db", db]).exit_code == 0
    line = json.dumps({"session": "w", "text": text}, ensure_ascii=False) + "\n"
    result = runner.invoke(app, ["converse", "--jsonl", "--no-llm", "--db", db], input=line)
    (turn,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    reply = turn["reply"]
    assert said in reply, reply
    # Nothing of the dated sentence is left, whatever else the reply says.
    dated = render(
        "track.cancelled", "zh" if said.startswith("订单") else "en", {"cancelled_on": "X"}
    )
    assert dated.split("X")[0].strip() not in reply, reply
