"""The verifier against lies made from real plans (benchmarks/bench_verifier.py's generator).

``tests/fixtures/verifier_plans.json`` holds the plans the dev dialogue suite produced
(template-only run; regenerate with ``python benchmarks/bench_verifier.py --save-plans``).
Every swap between subjects, every perturbed number and every negation must be rejected,
and no faithful rephrasing may be.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLANS = Path(__file__).parent / "fixtures" / "verifier_plans.json"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_verifier", ROOT / "benchmarks" / "bench_verifier.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table() -> dict:
    bench = _bench()
    records = json.loads(PLANS.read_text("utf-8"))
    return bench.measure(records)


def test_the_sample_has_every_kind_of_lie(table: dict) -> None:
    for kind in (
        "faithful",
        "swap",
        "perturb",
        "negation",
        "variant",
        "order",
        "unit",
        "field_swap",
        "name",
    ):
        assert table[kind]["cases"] > 0, kind
    assert table["swap"]["cases"] >= 20


@pytest.mark.parametrize(
    "kind", ["swap", "perturb", "negation", "unit", "order", "variant", "field_swap", "name"]
)
def test_every_lie_of_this_kind_is_rejected(table: dict, kind: str) -> None:
    row = table[kind]
    assert row["rejected"] == row["cases"], row["missed"]


def test_no_faithful_rephrasing_is_rejected(table: dict) -> None:
    assert table["faithful"]["rejected"] == 0, table["faithful"]["missed"]


def test_the_reported_price_swap_is_caught() -> None:
    assert _bench().headline_case()


def test_a_swap_mutation_is_really_a_lie() -> None:
    """The generator swaps values between two subjects (a test that cannot fail is no test)."""
    bench = _bench()
    records = json.loads(PLANS.read_text("utf-8"))
    plan = next(
        bench._plan(r["plan"]) for r in records if r["plan"]["action"] == "products.compared"
    )
    lies = bench.swaps(plan)
    assert lies and all(lie != plan.template_reply for lie in lies)
    from shopassist.engine.verify import RULE_UNSUPPORTED, verify_reply

    report = verify_reply(lies[0], plan)
    assert RULE_UNSUPPORTED not in report.failed_rules  # every value is a true value ...
    assert "relations" in report.failed_rules  # ... of the other product


def test_a_shortened_product_name_is_not_an_unsupported_claim() -> None:
    """A template or reply that leaves an inner word out of a catalog name ("Tide Earbuds"
    for "Tide ANC Earbuds", "Pinnacle Pack" for "Pinnacle 30L Pack") states no name the
    facts lack; the ``name`` lies above show an invented word in a name still fails."""
    from shopassist.engine.verify import RULE_UNSUPPORTED, verify_reply

    bench = _bench()
    records = json.loads(PLANS.read_text("utf-8"))
    checked = 0
    for rec in records:
        plan = bench._plan(rec["plan"])
        for text in bench.shortened_names(plan):
            report = verify_reply(text, plan)
            before = verify_reply(plan.template_reply, plan)
            new = set(report.reasons) - set(before.reasons)
            assert not [r for r in new if r.startswith(RULE_UNSUPPORTED)], (text, new)
            checked += 1
    assert checked > 0
    from shopassist.engine.plan import ReplyPlan
    from shopassist.engine.turn_result import Fact

    # Grounding as the dialogue eval checks it: against the facts only, no template.
    plan = ReplyPlan(
        intent="get_refund",
        language="en",
        facts=[Fact(key="order_item.title", value="Tide ANC Earbuds - Sand", source_id="o:1")],
        template_reply="",
    )
    for text, ok in [
        ("I'll open a return for the Tide ANC Earbuds - Sand.", True),
        ("I'll open a return for the Tide Earbuds.", True),
        ("I'll open a return for the Tide Sport Earbuds.", False),
        ("I'll open a return for the Wave Earbuds.", False),
    ]:
        failed = RULE_UNSUPPORTED in verify_reply(text, plan).failed_rules
        assert failed is not ok, text
