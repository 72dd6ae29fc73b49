"""PII formats found after issue 10 (QA report): US social security numbers and IBANs typed
in chat were stored raw in ``turns`` and the IBAN showed in ``stats --json``; and the
phone detector took a signed number ("Sentiment trend: +0.00" in a hand-off summary) for a
phone. Real phones, SSNs and IBANs are masked; common numeric shop text is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.engine.assistant import Assistant
from shopassist.kb.db import open_db
from shopassist.pii import IBAN_MASK, PHONE_MASK, SSN_MASK, contains_pii, mask_pii

from .conftest import make_bot


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my ssn is 123-45-6789", f"my ssn is {SSN_MASK}"),
        ("ssn 123 45 6789 thanks", f"ssn {SSN_MASK} thanks"),
        ("social security number: 123456789", f"social security number: {SSN_MASK}"),
        ("here: 123-45-6789.", f"here: {SSN_MASK}."),
        ("iban DE89 3704 0044 0532 0130 00 please", f"iban {IBAN_MASK} please"),
        ("GB82WEST12345698765432", IBAN_MASK),
        ("refund to gb82 west 1234 5698 7654 32 then", f"refund to {IBAN_MASK} then"),
        ("IBAN：ＤＥ８９３７０４００４４０５３２０１３０００。", f"IBAN：{IBAN_MASK}。"),
    ],
)
def test_ssn_and_iban_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GB82WEST12345698765433",  # one digit off: the mod-97 check fails
        "DE88 3704 0044 0532 0130 00",  # wrong check digits
        "000-12-3456",  # area 000 is never issued
        "666-12-3456",
        "order 123456789",  # 9 digits without an SSN word: an order number
    ],
)
def test_look_alikes_that_fail_their_checks_are_kept(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Sentiment trend (oldest first): +0.00, -0.35, +0.80.",
        "score +1.25 and +12.50 and delta +100.00",
        "it costs $1,299.00 (was $1,499.00), ¥4,999, €89,95",
        "delivered on 2026-11-29, shipped 2026/11/27 10:30, due 11/30/2026",
        "order 10023 and order #W8665881, invoice INV-2026-10023",
        "tracking 1Z999AA10123456784",
        "I want 3 of them, qty 12, +3 more",
        "SKU-123-456-7890 and SKU AERO-BLK-42 and ABC-13800138000",
        "EAN 4006381333931, ISBN 978-3-16-148410-0, version 1.2.3.4",
        "temperature +22.5, rating 4.5/5, 100% cotton, size 42",
    ],
)
def test_common_numeric_text_survives_masking(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_pii(text)


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+1 (415) 555-0132",
        "+86 138 0013 8000",
        "+49 30 12345678",
        "+1-800-555-0199",
        "415-555-0132",
        "(415) 555-0132",
        "13800138000",
    ],
)
def test_real_phones_are_still_masked(phone: str) -> None:
    assert mask_pii(f"call me on {phone} today") == f"call me on {PHONE_MASK} today"


def test_the_handoff_summary_keeps_its_sentiment_trend(
    bot: Assistant, demo_db: sqlite_utils.Database
) -> None:
    """The summary staff read (``assist``): the scores are not masked into ``[phone]``."""
    bot.turn("trend", "where is my order?")
    bot.turn("trend", "this is useless, I am really angry")
    bot.turn("trend", "I want to talk to a human")
    row = demo_db.execute("select handoff_summary from conversations where id = 'trend'").fetchone()
    assert row and row[0], "no hand-off summary: this test would prove nothing"
    summary = row[0]
    assert "Sentiment trend (oldest first): " in summary
    trend_line = next(line for line in summary.splitlines() if line.startswith("Sentiment"))
    assert PHONE_MASK not in trend_line
    assert "+0." in trend_line or "+1." in trend_line, trend_line  # a "+" score, as in QA


def test_ssn_and_iban_typed_in_chat_are_not_stored_nor_in_stats(
    demo_db_path: Path, shared_nlu_models: Path
) -> None:
    values = ["123-45-6789", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]
    db = open_db(demo_db_path)
    bot = make_bot(db, shared_nlu_models)
    bot.turn("ssn", "my ssn is 123-45-6789")
    bot.turn("iban", "please refund to my IBAN DE89 3704 0044 0532 0130 00")
    bot.turn("iban", "or GB82WEST12345698765432, I want a human")
    db.conn.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()
    raw = demo_db_path.read_bytes()
    wal = demo_db_path.with_name(demo_db_path.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    forms = [*values, "DE89370400440532013000", "123456789"]
    assert not [v for v in forms if v.encode() in raw]
    res = CliRunner().invoke(app, ["stats", "--json", "--db", str(demo_db_path)])
    assert res.exit_code == 0, res.output
    text = json.dumps(json.loads(res.stdout), ensure_ascii=False)
    assert not [v for v in forms if v in text or v in res.stdout]
