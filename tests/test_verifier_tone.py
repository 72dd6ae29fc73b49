"""Rule ``tone``: good news may not open a refusal, a failed outcome or a cancelled order."""

from __future__ import annotations

import pytest

from shopassist.engine.plan import ReplyPlan
from shopassist.engine.turn_result import Fact
from shopassist.engine.verify import check_sentence, split_sentences, verify_reply


def cancelled_order(language: str = "en", action: str = "order.tracked") -> ReplyPlan:
    status = "cancelled" if language == "en" else "已取消"
    template = (
        "Order 10031 was cancelled on 2026-11-28."
        if language == "en"
        else "订单 10031 已于 2026-11-28 取消。"
    )
    return ReplyPlan(
        intent="track_order",
        action=action,
        language=language,  # type: ignore[arg-type]
        facts=[
            Fact(key="order.number", value="10031", source_id="order:10031"),
            Fact(key="order.status", value=status, source_id="order:10031"),
            Fact(key="order.cancelled_at", value="2026-11-28", source_id="order:10031"),
        ],
        template_reply=template,
    )


def refused_return() -> ReplyPlan:
    return ReplyPlan(
        intent="return_item",
        action="return.refused",
        language="en",
        facts=[
            Fact(key="order.number", value="10044", source_id="order:10044"),
            Fact(key="policy.return_window_days", value="30", source_id="policy:returns"),
        ],
        template_reply="Order 10044 is past the 30-day return window, so it can't be returned.",
    )


def tone_failed(text: str, plan: ReplyPlan) -> bool:
    return "tone" in verify_reply(text, plan).failed_rules


@pytest.mark.parametrize(
    "text",
    [
        "Good news! Order 10031 was cancelled on 2026-11-28.",
        "Great, order 10031 was cancelled on 2026-11-28.",
        "Fortunately, order 10031 was cancelled on 2026-11-28.",
    ],
)
def test_good_news_on_a_cancelled_order_is_rejected(text: str) -> None:
    assert tone_failed(text, cancelled_order())
    # The streaming gate stops it before the first sentence is shown.
    first = split_sentences(text)[0]
    assert "tone" in check_sentence(first, cancelled_order()).failed_rules


def test_good_news_in_chinese_on_a_cancelled_order_is_rejected() -> None:
    assert tone_failed("好消息！订单 10031 已于 2026-11-28 取消。", cancelled_order("zh"))
    assert not tone_failed("您的订单 10031 已于 2026-11-28 取消。", cancelled_order("zh"))


def test_good_news_on_a_refusal_is_rejected_by_the_action() -> None:
    plan = refused_return()
    bad = "Good news: order 10044 is past the 30-day return window, so it can't be returned."
    assert tone_failed(bad, plan)
    plain = "Sorry, order 10044 is past the 30-day return window, so it can't be returned."
    assert not tone_failed(plain, plan)


def test_tone_that_fits_the_facts_passes() -> None:
    # The customer asked to cancel: the cancellation is their request done.
    done = cancelled_order(action="order.cancelled")
    assert not tone_failed("Good news: order 10031 was cancelled on 2026-11-28.", done)
    shipped = cancelled_order()
    shipped.facts[1] = Fact(key="order.status", value="shipped", source_id="order:10031")
    assert not tone_failed("Great news, order 10031 has shipped.", shipped)
    # "great" inside a sentence is not an opener.
    assert not tone_failed(
        "Sorry, order 10031 was cancelled on 2026-11-28; a great pity.", cancelled_order()
    )
