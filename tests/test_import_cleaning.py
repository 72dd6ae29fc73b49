"""Cell-level parsing: money, counts, HTML bodies, slugs."""

from __future__ import annotations

import pytest

from shopassist.kb.importers.cleaning import html_to_text, parse_count, parse_money, slugify


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("19.99", 1999),
        ("19", 1900),
        ("$1,299.00", 129900),
        ("1.299,50", 129950),
        ("12,99", 1299),
        ("1,299", 129900),
        ("€8,00", 800),
        ("¥199", 19900),
        ("USD 5.5", 550),
        ("0.005", 1),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_money(text, cents):
    assert parse_money(text) == cents


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "is not a number"),
        ("-1.00", "must not be negative"),
        ("NaN", "is not a number"),
        ("1e999999999", "implausibly large"),
        ("12.34.56", "is not a number"),
    ],
)
def test_parse_money_rejects(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_money(text)


def test_parse_count():
    assert parse_count("12") == 12
    assert parse_count("12.0") == 12
    assert parse_count("1,200") == 1200
    assert parse_count("") is None
    for bad in ("1.5", "-3", "many", "99999999999"):
        with pytest.raises(ValueError):
            parse_count(bad)


def test_html_to_text_keeps_structure_and_drops_scripts():
    html = (
        "<h2>Specs</h2><p>Weight: 1&nbsp;kg &lt;light&gt;</p><br>"
        "<ul><li>One</li><li>Two</li></ul><script>alert(1)</script><style>p{}</style>"
    )
    assert html_to_text(html) == "Specs\nWeight: 1 kg <light>\n• One\n• Two"


def test_html_to_text_leaves_plain_text_alone():
    assert html_to_text("5 < 6 and 7 > 3") == "5 < 6 and 7 > 3"


def test_slugify():
    assert slugify("Harbor Fleece Hoodie (Navy)") == "harbor-fleece-hoodie-navy"
    assert slugify("  Crème brûlée — set ") == "crème-brûlée-set"
    assert slugify("无线 耳机") == "无线-耳机"
