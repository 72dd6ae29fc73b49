"""The dialogue evaluation: suite validation, a runner that catches failures, leak and
grounding checks, the CLI, and the bundled suite against its targets."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.config import load_settings
from shopassist.engine.dialogue_eval import (
    DialogueEvaluator,
    EvalReport,
    SuiteError,
    find_leaks,
    grounding_violations,
    load_suite,
    passes,
    protected_values,
)
from shopassist.engine.nlu.result import NLUResult
from shopassist.engine.turn_result import Fact, Provenance, TurnResult

SUITE_DIR = Path(__file__).resolve().parent.parent / "evals" / "dialogues"

GOOD = """
[[conversation]]
id = "cancel-ok"
language = "en"
customer = 1

[[conversation.turns]]
user = "Please cancel order 10112"
expect = { intent = "cancel_order", action = "none", reply_contains = ["10112"] }

[[conversation.turns]]
user = "yes"
expect = { action = "order.cancelled" }

[[conversation.db]]
sql = "select status from orders where number = '10112'"
equals = "cancelled"
"""

# The same conversation asserting the wrong things: every one of them must be reported.
WRONG = """
[[conversation]]
id = "cancel-wrong"
language = "en"
customer = 1

[[conversation.turns]]
user = "Please cancel order 10112"
expect = { action = "order.cancelled", reply_contains = ["RMA-99999-1"], handoff = true }

[[conversation.db]]
sql = "select status from orders where number = '10112'"
equals = "cancelled"
"""


def flat(output: str) -> str:
    """Rich wraps long lines at the terminal width; compare with single spaces."""
    return " ".join(output.split())


def write_suite(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


# --- suite format -------------------------------------------------------------------------------


def test_bundled_suite_loads_and_has_the_required_breadth() -> None:
    suite = load_suite(SUITE_DIR)
    convs = suite.conversations
    assert len(convs) >= 40
    assert sum(c.language == "zh" for c in convs) >= 12
    assert suite.settings.now is not None  # the demo shop's fixed "today"
    tags = {t for c in convs for t in c.tags}
    for flow in [
        "track_order",
        "cancel_order",
        "change_order",
        "change_shipping_address",
        "set_up_shipping_address",
        "get_refund",
        "track_refund",
        "get_invoice",
        "delivery_options",
        "check_payment_methods",
        "payment_issue",
        "complaint",
        "contact_human_agent",
        "product_search",
        "product_info",
        "product_compare",
        "recommendation",
        "promotions",
        "greet",
        "thank",
        "goodbye",
        "out_of_scope",
        "correction",
        "digression",
        "abandon",
        "access",
        "injection",
        "verification",
    ]:
        assert flow in tags, f"no conversation tagged {flow}"
    assert any(c.db for c in convs if "cancel_order" in c.tags)
    assert any(c.attacker for c in convs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace('action = "order.cancelled"', 'acton = "order.cancelled"'),
            'conversation[0] (id "cancel-ok").turns[1].expect.acton: unknown field',
        ),
        (
            GOOD.replace('user = "yes"', ""),
            'conversation[0] (id "cancel-ok").turns[1].user: Field required',
        ),
        (
            GOOD.replace("select status from", "delete from"),
            "db[0].sql: must be a read-only query",
        ),
        (
            GOOD.replace('equals = "cancelled"', ""),
            "db[0]: give `equals` (first value) or `rows` (row count)",
        ),
        (
            GOOD.replace('language = "en"', 'language = "fr"'),
            'conversation[0] (id "cancel-ok").language',
        ),
        ("[[conversation]]\nid = 'x'\nlanguage = 'en'\n", "turns: Field required"),
        ("this is = not toml [", "not valid TOML"),
        ("title = 'nothing here'\n", "title: unknown field"),
        ("", "no [[conversation]] tables"),
    ],
)
def test_format_errors_name_the_file_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    root = write_suite(tmp_path / "suite", {"broken.toml": text})
    with pytest.raises(SuiteError) as info:
        load_suite(root)
    message = str(info.value)
    assert "broken.toml" in message
    assert expected in message


def test_duplicate_ids_and_empty_directories_are_errors(tmp_path: Path) -> None:
    root = write_suite(tmp_path / "dup", {"a.toml": GOOD, "b.toml": GOOD})
    with pytest.raises(SuiteError, match="'cancel-ok' is already used in a.toml"):
        load_suite(root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="no conversations"):
        load_suite(tmp_path / "empty")
    with pytest.raises(SuiteError, match="is not a directory"):
        load_suite(tmp_path / "missing")


def test_suite_settings_are_validated(tmp_path: Path) -> None:
    root = write_suite(
        tmp_path / "s", {"a.toml": GOOD, "suite.toml": "[suite]\nnow = 'yesterday'\n"}
    )
    with pytest.raises(SuiteError, match=r"suite.toml: suite.now|suite.toml: now"):
        load_suite(root)


# --- the runner -------------------------------------------------------------------------------


def run_suite(root: Path, db_path: Path) -> EvalReport:
    settings = load_settings(db=db_path, no_llm=True)
    with DialogueEvaluator(settings, db_path) as evaluator:
        return evaluator.run(load_suite(root))


def test_runner_passes_a_right_suite_and_reports_every_wrong_expectation(
    tmp_path: Path, demo_db_path: Path
) -> None:
    root = write_suite(tmp_path / "suite", {"good.toml": GOOD, "wrong.toml": WRONG})
    report = run_suite(root, demo_db_path)
    by_id = {c.id: c for c in report.conversations}

    good = by_id["cancel-ok"]
    assert good.passed, good.failures
    assert good.turns[1].action == "order.cancelled"

    wrong = by_id["cancel-wrong"]
    assert not wrong.passed
    text = "\n".join(wrong.failures)
    assert "action: expected order.cancelled, got none" in text
    assert "reply should contain 'RMA-99999-1'" in text
    assert "handoff: expected True, got False" in text
    # Each conversation has its own database copy: the other one's cancellation is not seen.
    assert "expected 'cancelled', got 'pending'" in text

    assert report.metrics.conversations == 2
    assert report.metrics.succeeded == 1
    assert report.metrics.task_success_rate == 0.5
    ok, why = passes(report, 0.95)
    assert not ok and "task success 50.0% is below 95.0%" in why[0]


def test_the_template_database_is_never_changed(tmp_path: Path, demo_db_path: Path) -> None:
    import sqlite3

    root = write_suite(tmp_path / "suite", {"good.toml": GOOD})
    run_suite(root, demo_db_path)
    conn = sqlite3.connect(demo_db_path)
    try:
        status = conn.execute("select status from orders where number = '10112'").fetchone()[0]
    finally:
        conn.close()
    assert status == "pending"


def test_an_engine_error_fails_only_its_conversation(tmp_path: Path, demo_db_path: Path) -> None:
    bad_customer = GOOD.replace('id = "cancel-ok"', 'id = "ghost"').replace(
        "customer = 1", "customer = 9999"
    )
    root = write_suite(tmp_path / "suite", {"a.toml": GOOD, "b.toml": bad_customer})
    report = run_suite(root, demo_db_path)
    by_id = {c.id: c for c in report.conversations}
    assert by_id["cancel-ok"].passed
    assert not by_id["ghost"].passed
    assert "no customer 9999" in (by_id["ghost"].error or "")


def test_the_suite_clock_decides_return_windows(tmp_path: Path, demo_db_path: Path) -> None:
    # Order 10053 was delivered on 2026-11-24: returnable on the demo's "now", not in March.
    conv = """
    [[conversation]]
    id = "window"
    language = "en"
    customer = 9

    [[conversation.turns]]
    user = "I want to return order 10053 for a refund"
    expect = { action = "%s" }
    """
    inside = write_suite(
        tmp_path / "inside",
        # Inside the window the return goes ahead: it asks which of the two items (not refused).
        {"a.toml": conv % "items.asked", "suite.toml": "[suite]\nnow = 2026-11-29T09:00:00Z\n"},
    )
    later = write_suite(
        tmp_path / "later",
        {"a.toml": conv % "return.refused", "suite.toml": "[suite]\nnow = 2027-03-01T09:00:00Z\n"},
    )
    first = run_suite(inside, demo_db_path)
    assert first.conversations[0].passed, first.conversations[0].failures
    assert first.clock == "frozen at 2026-11-29T09:00:00Z"
    second = run_suite(later, demo_db_path)
    assert second.conversations[0].passed, second.conversations[0].failures


def test_one_conversation_run_alone_uses_the_suite_clock(
    tmp_path: Path, demo_db_path: Path
) -> None:
    # Order 10053 was delivered on 2026-11-24: returnable at the demo's "now", whatever
    # today's date is, because the pipeline itself carries the frozen time.
    root = write_suite(
        tmp_path / "s",
        {
            "a.toml": """
            [[conversation]]
            id = "window"
            language = "en"
            customer = 9

            [[conversation.turns]]
            user = "I want to return order 10053 for a refund"
            expect = { action = "items.asked" }
            """
        },
    )
    conv = load_suite(root).conversations[0]
    settings = load_settings(db=demo_db_path, no_llm=True)
    with DialogueEvaluator(settings, demo_db_path) as evaluator:
        early = evaluator.run_conversation(conv, now=datetime(2026, 11, 29, 9))
        late = evaluator.run_conversation(conv, now=datetime(2027, 3, 1, 9))
    assert early.passed, early.failures
    assert late.turns[0].action == "return.refused"


def test_time_is_read_from_the_dialogue_clock_only() -> None:
    """No second hook to patch: the runner freezes ``dialogue.clock`` and nothing else."""
    engine = Path(__file__).resolve().parent.parent / "shopassist" / "engine"
    offenders = [
        f"{path.name}: {hit}"
        for path in [*engine.glob("dialogue/*.py"), engine / "dialogue_eval.py"]
        if path.name != "clock.py"
        for hit in re.findall(r"datetime\.now\(|date\.today\(|\b_now\(|setattr\(", path.read_text())
    ]
    assert not offenders


# --- leak and grounding checks ---------------------------------------------------------------


def test_leaks_are_other_customers_values_not_the_owners(demo_db: Any) -> None:
    # Order 10064 belongs to customer 25; its tracking number is 1ZGHT7EF5985492341.
    protected = {"10064": protected_values(demo_db, "10064")}
    reply = "Order 10064 is out for delivery, tracking 1ZGHT7EF5985492341, total $121.91."
    leaks = find_leaks(reply, speaker=1, numbers=["10064"], protected=protected, customer_texts=[])
    kinds = " ".join(leaks)
    assert "tracking '1ZGHT7EF5985492341'" in kinds
    assert "total '$121.91'" in kinds
    assert "status 'out for delivery'" not in kinds  # the order's status is in_transit
    assert (
        find_leaks(reply, speaker=25, numbers=["10064"], protected=protected, customer_texts=[])
        == []
    )
    assert find_leaks(
        reply, speaker=None, numbers=["10064"], protected=protected, customer_texts=[]
    )
    denial = "I can't find order 10064 among the orders on your account. Please check the number."
    assert (
        find_leaks(denial, speaker=1, numbers=["10064"], protected=protected, customer_texts=[])
        == []
    )
    status = "Order 10064 is in transit."
    assert find_leaks(
        status, speaker=None, numbers=["10064"], protected=protected, customer_texts=[]
    )
    # A value the customer typed themselves is not revealed by echoing it.
    echo = "Sorry, I couldn't match daniel.kim@example.com to that order."
    assert (
        find_leaks(
            echo,
            speaker=None,
            numbers=["10064"],
            protected=protected,
            customer_texts=["it's daniel.kim@example.com"],
        )
        == []
    )
    assert protected_values(demo_db, "19999") == {}


def _result(reply: str, facts: list[Fact]) -> TurnResult:
    return TurnResult(
        session_id="s",
        turn_index=0,
        text="where is my order",
        reply=reply,
        language="en",
        nlu=NLUResult.model_validate(
            {
                "text": "where is my order",
                "language": "en",
                "intent": {"name": "track_order", "confidence": 1.0},
                "ranking": [],
                "sentiment": {"label": "neutral", "score": 0.0},
            }
        ),
        facts=facts,
        provenance=Provenance(kind="llm"),
    )


def test_grounding_flags_values_no_fact_supports() -> None:
    facts = [
        Fact(key="order.number", value="10065", source_id="order:10065"),
        Fact(key="shipment.estimated_delivery", value="2026-11-30", source_id="shipment:1"),
    ]
    ok = _result("Order 10065 should arrive on 2026-11-30.", facts)
    assert grounding_violations(ok, ["where is my order"]) == []
    invented = _result("Order 10065 arrives on 2026-12-02 and your refund is $40.00.", facts)
    found = grounding_violations(invented, ["where is my order"])
    assert found and "2026-12-02" in found[0] and "$40.00" in found[0]
    # A number the customer typed may be repeated back.
    echoed = _result("Order 10077 is not on your account.", facts)
    assert grounding_violations(echoed, ["where is 10077"]) == []


# --- CLI ------------------------------------------------------------------------------------


def test_cli_broken_suite_is_a_clear_error(tmp_path: Path) -> None:
    root = write_suite(tmp_path / "suite", {"broken.toml": GOOD.replace("expect", "expext")})
    result = CliRunner().invoke(app, ["eval", "dialogues", str(root), "--no-llm"])
    assert result.exit_code == 2
    assert "invalid dialogue suite" in flat(result.output)
    assert "broken.toml" in result.output and "expext" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["eval", "dialogues", str(tmp_path / "nope"), "--no-llm"])
    assert missing.exit_code == 2 and "does not exist" in flat(missing.output)


def test_cli_exit_codes_and_json(tmp_path: Path, demo_db_path: Path) -> None:
    good = write_suite(tmp_path / "good", {"good.toml": GOOD})
    result = CliRunner().invoke(
        app, ["eval", "dialogues", str(good), "--no-llm", "--db", str(demo_db_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["metrics"]["task_success_rate"] == 1.0
    assert data["metrics"]["access_leaks"] == 0
    assert data["conversations"][0]["turns"][1]["action"] == "order.cancelled"
    assert data["clock"] == "real clock"

    wrong = write_suite(tmp_path / "wrong", {"wrong.toml": WRONG})
    result = CliRunner().invoke(
        app, ["eval", "dialogues", str(wrong), "--no-llm", "--db", str(demo_db_path)]
    )
    assert result.exit_code == 1
    assert "cancel-wrong" in result.output
    assert "action: expected order.cancelled, got none" in flat(result.output)
    assert "task success 0.0% is below 95.0%" in flat(result.output)

    lenient = CliRunner().invoke(
        app,
        [
            "eval",
            "dialogues",
            str(wrong),
            "--no-llm",
            "--db",
            str(demo_db_path),
            "--min-success",
            "0",
        ],
    )
    assert lenient.exit_code == 0, lenient.output

    both = CliRunner().invoke(app, ["eval", "dialogues", str(good), "--no-llm", "--compare-llm"])
    assert both.exit_code == 2 and "--compare-llm" in flat(both.output)


# --- the bundled suite ------------------------------------------------------------------------


def test_bundled_suite_meets_its_targets_without_the_llm(demo_db_path: Path) -> None:
    report = run_suite(SUITE_DIR, demo_db_path)
    m = report.metrics
    failures = {c.id: c.failures for c in report.failed}
    assert report.clock.startswith("frozen")
    assert m.llm_attempts == 0
    # Hard limits: no leak ever, and no collapse of the engine.
    assert m.access_leaks == 0, [t.leaks for c in report.conversations for t in c.turns if t.leaks]
    grounding = {
        f"{c.id} turn {t.index + 1}": t.grounding
        for c in report.conversations
        for t in c.turns
        if t.grounding
    }
    # The targets, as hard assertions: every conversation of the dev suite succeeds, and no
    # template reply states a value the facts do not hold.
    assert m.task_success_rate == 1.0, failures
    assert not grounding, grounding
