"""Addresses typed in chat are read into fields (issue 8, item 6)."""

from __future__ import annotations

import pytest

from shopassist.engine.address import ParsedAddress, format_address, parse_address


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "The new address is 445 Maple Drive, Springfield, IL 62704",
            {
                "line1": "445 Maple Drive",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62704",
                "country": "US",
            },
        ),
        (
            "my new address is 445 Maple Drive, Apt 4B, Springfield, IL 62704",
            {
                "line1": "445 Maple Drive",
                "line2": "Apt 4B",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62704",
                "country": "US",
            },
        ),
        (
            "12 Baker Street, London, NW1 6XE, UK",
            {
                "line1": "12 Baker Street",
                "city": "London",
                "postal_code": "NW1 6XE",
                "country": "GB",
            },
        ),
        (
            "88 Queen St W, Toronto, ON M5H 2N2, Canada",
            {
                "line1": "88 Queen St W",
                "city": "Toronto",
                "region": "ON",
                "postal_code": "M5H 2N2",
                "country": "CA",
            },
        ),
        (
            "新地址是上海市浦东新区世纪大道100号8楼，邮编200120",
            {
                "line1": "浦东新区世纪大道100号8楼",
                "city": "上海",
                "region": "上海",
                "postal_code": "200120",
                "country": "CN",
            },
        ),
        (
            "广东省深圳市南山区科技园南路88号 518057",
            {
                "line1": "南山区科技园南路88号",
                "city": "深圳市",
                "region": "广东省",
                "postal_code": "518057",
                "country": "CN",
            },
        ),
        (
            "新疆维吾尔自治区乌鲁木齐市天山区解放北路5号 830000",
            {
                "line1": "天山区解放北路5号",
                "city": "乌鲁木齐市",
                "region": "新疆维吾尔自治区",
                "postal_code": "830000",
                "country": "CN",
            },
        ),
    ],
)
def test_addresses_are_read_into_fields(text: str, fields: dict[str, str]) -> None:
    parsed = parse_address(text)
    assert parsed.fields() == fields
    assert parsed.complete


def test_a_missing_postcode_or_city_is_reported() -> None:
    assert parse_address("445 Maple Drive, Springfield").missing == ["postal_code"]
    assert parse_address("请寄到北京市朝阳区建国路88号").missing == ["postal_code"]
    assert parse_address("445 Maple Drive, 62704").missing == ["city"]
    assert parse_address("hello there").missing  # nothing that is an address


def test_a_follow_up_fills_what_was_missing() -> None:
    first = parse_address("445 Maple Drive, Springfield")
    assert first.merged_with(parse_address("62704")).fields() == {
        "line1": "445 Maple Drive",
        "city": "Springfield",
        "postal_code": "62704",
    }
    no_city = parse_address("445 Maple Drive, 62704")
    merged = no_city.merged_with(parse_address("the city is Springfield"))
    assert merged.city == "Springfield" and merged.line1 == "445 Maple Drive"
    # A whole new address replaces the old one.
    full = first.merged_with(parse_address("1 Main St, Boston, MA 02110"))
    assert full.line1 == "1 Main St" and full.city == "Boston"


def test_addresses_are_shown_back_in_the_language_s_order() -> None:
    us = ParsedAddress(
        line1="445 Maple Drive", city="Springfield", region="IL", postal_code="62704", country="US"
    )
    assert format_address(us, "en") == "445 Maple Drive, Springfield, IL 62704, US"
    zh = parse_address("浙江杭州市西湖区文三路90号，邮编310012")
    assert format_address(zh, "zh") == "浙江杭州市西湖区文三路90号，邮编 310012"
