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
    ):
        assert table[kind]["cases"] > 0, kind
    assert table["swap"]["cases"] >= 20


@pytest.mark.parametrize(
    "kind", ["swap", "perturb", "negation", "unit", "order", "variant", "field_swap"]
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
