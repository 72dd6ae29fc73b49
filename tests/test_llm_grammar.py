"""Constrained decoding: numbers, prices, dates and codes only as the plan spells them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from shopassist.engine.generate import decoding_grammar, generate_reply
from shopassist.engine.llm.fake import FakeLLM
from shopassist.engine.llm.grammar import reply_literals
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.turn_result import Fact

TEMPLATE = "Order 10073 is in transit with FedEx, tracking number 213697314527. Estimated delivery: 2026-12-02, total $85.32."


def track_plan() -> ReplyPlan:
    return ReplyPlan(
        intent="track_order",
        action="order.tracked",
        language="en",
        facts=[
            Fact(key="order.number", value="10073", source_id="order:10073"),
            Fact(key="order.total", value="$85.32", source_id="order:10073"),
            Fact(key="shipment.tracking_number", value="213697314527", source_id="shipment:1"),
            Fact(key="shipment.estimated_delivery", value="2026-12-02", source_id="shipment:1"),
        ],
        template_reply=TEMPLATE,
    )


def test_literals_are_the_fact_shaped_values_of_the_plan() -> None:
    literals = reply_literals(track_plan())
    assert {"10073", "$85.32", "213697314527", "2026-12-02"} <= set(literals)
    assert all(re.search(r"[0-9$:]", t) for t in literals)


def test_free_text_admits_no_digit_currency_or_colon() -> None:
    grammar = decoding_grammar(track_plan())
    free = next(line for line in grammar.splitlines() if line.startswith("free ::="))
    assert free.startswith("free ::= [^0-9")
    for ch in ("$", ":", "\\n", "<", "|", "\\["):
        assert ch in free, ch
    assert "piece ::= literal sep | free" in grammar


def test_the_grammar_parses_in_llama_cpp() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    zh = ReplyPlan(
        intent="x",
        language="zh",
        facts=[Fact(key="order.number", value="10066", source_id="order:10066")],
        template_reply='订单 10066 的状态：运输中。"引号" \\ 反斜杠',
    )
    for plan in (track_plan(), zh):
        assert llama_cpp.LlamaGrammar.from_string(decoding_grammar(plan), verbose=False)


class GrammarFake(FakeLLM):
    supports_grammar = True

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[str]:  # type: ignore[override]
        self.grammars = getattr(self, "grammars", []) + [kwargs.pop("grammar", None)]
        return super().stream(messages, **kwargs)


def test_generate_passes_the_grammar_only_to_backends_that_take_one() -> None:
    fake = GrammarFake(["Your order 10073 is in transit with FedEx."])
    generate_reply(track_plan(), fake, customer_text="where?")
    assert fake.grammars and "213697314527" in fake.grammars[0]
    plain = FakeLLM(["Your order 10073 is in transit with FedEx."])
    generate_reply(track_plan(), plain, customer_text="where?")
    assert "grammar" not in plain.calls[0].kwargs


@pytest.mark.llm
def test_the_real_model_cannot_write_a_number_the_plan_lacks() -> None:
    from shopassist.engine.llm.llama_cpp_backend import LlamaCppBackend
    from shopassist.engine.llm.model_locator import default_model_path

    path = default_model_path()
    if path is None:
        pytest.skip("bundled model not installed")
    backend = LlamaCppBackend(path, n_ctx=512)
    try:
        text = "".join(
            backend.stream(
                [{"role": "user", "content": "Count from 1 to 20, separated by commas."}],
                max_tokens=24,
                temperature=0.0,
                grammar=decoding_grammar(track_plan()),
            )
        )
    finally:
        backend.close()
    numbers = re.findall(r"\d[\d.,-]*\d|\d", text)
    allowed = reply_literals(track_plan())
    assert numbers, text  # it tried to count ...
    assert all(any(n in a for a in allowed) for n in numbers), (
        text
    )  # ... with the plan's numbers only
