"""Sentiment (negation, intensifiers, emoji, shouting, frustration) and language detection."""

from __future__ import annotations

import pytest

from shopassist.engine.nlu.language import detect_language
from shopassist.engine.nlu.sentiment import analyse_sentiment


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love it, works great", "positive"),
        ("this is awful", "negative"),
        ("I am not happy with this", "negative"),
        ("not bad at all", "positive"),
        ("我很满意", "positive"),
        ("我不满意", "negative"),
        ("where is my order", "neutral"),
        ("订单到哪了", "neutral"),
        ("thanks 👍", "positive"),
        ("😡", "negative"),
        ("WHERE IS MY REFUND???", "negative"),
    ],
)
def test_sentiment_labels(text: str, label: str) -> None:
    assert analyse_sentiment(text).label == label


def test_intensifiers_caps_and_exclamations_strengthen() -> None:
    plain = analyse_sentiment("this is bad").score
    assert analyse_sentiment("this is very bad").score < plain
    assert analyse_sentiment("THIS IS BAD").score < plain
    assert analyse_sentiment("this is bad!!!").score < plain
    assert analyse_sentiment("非常满意").score > analyse_sentiment("满意").score


@pytest.mark.parametrize(
    "text",
    [
        "this is the third time I'm asking, still nothing",
        "what the fuck is going on with my parcel",
        "ridiculous, I want my money back",
        "垃圾，太差了",
        "还是没收到货，又要等",
    ],
)
def test_frustration(text: str) -> None:
    result = analyse_sentiment(text)
    assert result.frustrated and result.label == "negative"


@pytest.mark.parametrize(
    "text", ["thanks again, great service", "could you check my order", "谢谢，再见"]
)
def test_no_false_frustration(text: str) -> None:
    assert not analyse_sentiment(text).frustrated


def test_sentiment_score_is_bounded() -> None:
    for text in ["bad " * 500, "great! " * 500, "", "!!!", "😡" * 1000]:
        assert -1.0 <= analyse_sentiment(text).score <= 1.0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("where is my order", "en"),
        ("我的订单在哪里", "zh"),
        ("我要退货 order 10023", "mixed"),
        ("can I get a 发票 for my order please", "mixed"),
        ("这件T恤有XL码吗", "zh"),
        ("12345", "en"),
        ("😀😀", "en"),
        ("", "en"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_language_default_for_text_without_letters() -> None:
    assert detect_language("10023 !!!", default="zh") == "zh"
    assert detect_language("10023 order", default="zh") == "en"
