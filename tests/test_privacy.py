"""Masking personal data: what must be masked, and the look-alikes that must not be."""

from __future__ import annotations

import pytest

from shopassist.engine.privacy import contains_pii, luhn_ok, mask_pii


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email me at anna.li@example.com please", "email me at [email] please"),
        ("邮箱anna@example.com谢谢", "邮箱[email]谢谢"),
        ("call +1 (415) 555-0132 today", "call [phone] today"),
        ("+86 138 0013 8000", "[phone]"),
        ("我的电话是+86-13800138000", "我的电话是[phone]"),
        ("我的手机13800138000已停机", "我的手机[phone]已停机"),
        ("Call 415.555.0132.", "Call [phone]."),
        ("415-555-0132 please", "[phone] please"),
        ("my phone is 4155550132", "my phone is [phone]"),
        ("card 4111 1111 1111 1111 exp 12/28", "card [card] exp 12/28"),
        ("5555555555554444", "[card]"),
        ("4111-1111-1111-1111", "[card]"),
        # A typo breaks Luhn, but the word "card" says what it is.
        ("card number: 4111-1111-1111-1112", "card number: [card]"),
        ("我的卡号是6222021234567890123", "我的卡号是[card]"),
    ],
)
def test_masks_personal_data(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "where is order 10023?",
        "order 732201349959 has not arrived",
        "订单13800138000在哪",  # an order number shaped like a mobile number
        "order #4111111111111111",  # passes Luhn, but it is called an order
        "tracking 9400111899223817630000",
        "tracking 1Z999AA10123456784",
        "it costs $1,299.99, was ¥4999",
        "delivered on 2026-12-03 or 12/03/2026",
        "4111111111111112",  # 16 digits that fail Luhn, no card context
        "version 1.5 and 3.14",
        "",
    ],
)
def test_leaves_identifiers_prices_and_dates_alone(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_pii(text)


def test_masks_every_occurrence_in_mixed_text() -> None:
    text = "I'm a@b.co, phone 13912345678, card 4111111111111111, order 10023"
    assert mask_pii(text) == "I'm [email], phone [phone], card [card], order 10023"


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112")
