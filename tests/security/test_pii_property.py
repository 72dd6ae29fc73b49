"""PII property test (issue 10, Medium): generated personal data typed in chat survives
nowhere - not in the database FILE (main file and WAL, after a checkpoint), not in
``stats --json``, not in tickets or hand-off summaries, not in the prompt sent to an LLM.

hypothesis generates the formats the attack run found stored raw: cards grouped by
spaces, dots or dashes, in fullwidth digits, 19-digit UnionPay numbers (valid Luhn);
Chinese ID numbers with a valid check character (X included); Chinese mobiles with dots
or in fullwidth digits; bare 10-digit US numbers; internationalised and fullwidth emails;
street addresses in en and zh; and (found by QA afterwards) IBANs with valid mod-97 check
digits and US social security numbers. A leak shrinks to its smallest example.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.config import Settings
from shopassist.engine.assistant import Assistant
from shopassist.engine.llm.fake import FakeLLM
from shopassist.engine.pipeline import TurnPipeline
from shopassist.kb.db import open_db

from .conftest import DEMO_NOW, make_bot

# --- generators -------------------------------------------------------------------------------


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _group(digits: str, sep: str, sizes: tuple[int, ...] = (4,)) -> str:
    size = sizes[0]
    return sep.join(digits[i : i + size] for i in range(0, len(digits), size))


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from([("4", 16), ("51", 16), ("37", 15), ("62", 19)]))
    body = prefix + "".join(str(draw(st.integers(0, 9))) for _ in range(length - 1 - len(prefix)))
    number = _luhn_complete(body)
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    text = _group(number, sep) if sep else number
    return _fullwidth(text) if draw(st.booleans()) else text


_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


@st.composite
def cn_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110105", "440308", "310101", "510104", "330106"]))
    born = date(1940, 1, 1) + timedelta(days=draw(st.integers(0, 365 * 65)))
    seq = f"{draw(st.integers(0, 999)):03d}"
    body = f"{region}{born:%Y%m%d}{seq}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    text = body + check
    return text.lower() if check == "X" and draw(st.booleans()) else text


@st.composite
def cn_mobiles(draw: st.DrawFn) -> str:
    number = "1" + draw(st.sampled_from("3456789")) + f"{draw(st.integers(0, 10**9 - 1)):09d}"
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    text = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    return _fullwidth(text) if draw(st.booleans()) else text


@st.composite
def us_phones(draw: st.DrawFn) -> str:
    """Bare 10-digit North American numbers (real area codes, exchange not N11 or 555)."""
    area = draw(st.sampled_from(["415", "212", "646", "303", "617", "312", "206", "512"]))
    exchange = draw(st.integers(200, 999).filter(lambda n: n % 100 != 11 and n != 555))
    line = draw(st.integers(0, 9999))
    return f"{area}{exchange}{line:04d}"


_LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10)


@st.composite
def emails(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["ascii", "accented", "chinese", "fullwidth"]))
    local = draw(_LOCAL)
    if kind == "accented":
        return f"{local}{draw(st.sampled_from(['é', 'ñ', 'ü', 'ø']))}@correo.es"
    if kind == "chinese":
        return f"{draw(st.sampled_from(['用户', '张伟', '客服']))}{local}@例子.中国"
    address = f"{local}.{draw(_LOCAL)}@{draw(_LOCAL)}.com"
    return _fullwidth(address) if kind == "fullwidth" else address


@st.composite
def addresses(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        street = draw(st.sampled_from(["Maple", "Harbor View", "Oak", "Sunset", "Elm"]))
        suffix = draw(st.sampled_from(["Street", "Avenue", "Road", "Drive", "Lane"]))
        return f"{draw(st.integers(1, 9999))} {street} {suffix}"
    city, district = draw(st.sampled_from([("北京市", "朝阳区"), ("深圳市", "南山区")]))
    road = draw(st.sampled_from(["建国路", "科技园路", "世纪大道"]))
    return f"{city}{district}{road}{draw(st.integers(1, 999))}号"


def _iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 mod-97, written out here so the test does not trust the code's library."""
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """German (18 digits), Dutch (bank letters + 10 digits) and British (bank letters,
    sort code, account) IBANs with valid check digits, in one run or grouped by four."""
    country = draw(st.sampled_from(["DE", "NL", "GB"]))
    digits = st.integers(0, 9).map(str)
    if country == "DE":
        bban = "".join(draw(st.lists(digits, min_size=18, max_size=18)))
    else:
        bank = draw(
            st.sampled_from(
                ["ABNA", "RABO", "INGB"] if country == "NL" else ["WEST", "BARC", "MIDL"]
            )
        )
        size = 10 if country == "NL" else 14
        bban = bank + "".join(draw(st.lists(digits, min_size=size, max_size=size)))
    number = country + _iban_check_digits(country, bban) + bban
    if draw(st.booleans()):
        number = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number.lower() if draw(st.booleans()) else number


@st.composite
def ssns(draw: st.DrawFn) -> str:
    """US social security numbers that could be issued (area not 000, 666 or 9xx)."""
    area = draw(st.integers(1, 899).filter(lambda n: n != 666))
    group, serial = draw(st.integers(1, 99)), draw(st.integers(1, 9999))
    sep = draw(st.sampled_from(["-", " "]))
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


PII = {
    "iban": (ibans(), ["my IBAN is {}", "please refund to {}", "账号{}"]),
    "ssn": (ssns(), ["my ssn is {}", "social security {}", "here: {}"]),
    "card": (cards(), ["my card number is {}", "卡号{}", "charge {} please"]),
    "cn_id": (cn_ids(), ["我的身份证号是{}", "ID {}"]),
    "cn_mobile": (cn_mobiles(), ["我的手机是{}", "call me on {}"]),
    "us_phone": (us_phones(), ["my number is {}", "text me at {}"]),
    "email": (emails(), ["my email is {}", "邮箱{}"]),
    "address": (addresses(), ["send it to {}", "地址是{}"]),
}


@st.composite
def pii_messages(draw: st.DrawFn) -> tuple[str, str, str]:
    """(kind, the value, a message holding it)."""
    kind = draw(st.sampled_from(sorted(PII)))
    values, frames = PII[kind]
    value = draw(values)
    return kind, value, draw(st.sampled_from(frames)).format(value)


# --- where a value could survive ----------------------------------------------------------------


def _forms(value: str) -> list[str]:
    """The value as typed, and its digits alone when it is a long number (how a
    normaliser would store it)."""
    folded = value.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
    forms = {value, folded}
    digits = re.sub(r"\D", "", folded)
    if len(digits) >= 10:
        forms.add(digits)
    return [f for f in forms if len(f) >= 6]


def _file_bytes(db: sqlite_utils.Database) -> bytes:
    """The database file and its WAL, after a checkpoint, as they lie on disk."""
    path = Path(db.conn.execute("pragma database_list").fetchone()[2])
    db.conn.execute("pragma wal_checkpoint(truncate)")
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _leaks(haystack: bytes, values: list[str]) -> list[str]:
    return [f for v in values for f in _forms(v) if f.encode("utf-8") in haystack]


# --- the properties -------------------------------------------------------------------------------

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(message=pii_messages())
def test_no_generated_pii_survives_in_the_database_file(
    bot: Assistant, demo_db: sqlite_utils.Database, message: tuple[str, str, str]
) -> None:
    kind, value, text = message
    assume(not _leaks(_file_bytes(demo_db), [value]))  # not the shop's own customer data
    bot.turn(f"pii-{kind}", text)
    bot.turn(f"pii-{kind}", "I want to talk to a human")  # a hand-off summary of the chat
    assert not _leaks(_file_bytes(demo_db), [value]), (kind, value, text)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(pii_messages(), min_size=12, max_size=12))
def test_stats_tickets_and_handoffs_hold_no_generated_pii(
    demo_db_path: Path, shared_nlu_models: Path, batch: list[tuple[str, str, str]]
) -> None:
    db = open_db(demo_db_path)
    bot = make_bot(db, shared_nlu_models)
    values = [value for _, value, _ in batch]
    assume(not _leaks(_file_bytes(db), values))
    for i, (_, _, text) in enumerate(batch):
        session = f"batch-{i}"
        bot.turn(session, text)
        bot.turn(session, f"this is useless, I want a refund and a manager now. {text}")
        bot.turn(session, "I want to talk to a human")
    stored = db.execute(
        "select coalesce(summary, '') from tickets union all "
        "select coalesce(handoff_summary, '') from conversations"
    ).fetchall()
    assert not _leaks("\n".join(r[0] for r in stored).encode(), values)
    assert not _leaks(_file_bytes(db), values)
    db.conn.close()
    res = CliRunner().invoke(app, ["stats", "--json", "--db", str(demo_db_path)])
    assert res.exit_code == 0, res.output
    assert not _leaks(res.stdout.encode(), values)
    # The stored summaries and stats are JSON-escaped in places: check the decoded text too.
    assert not _leaks(json.dumps(json.loads(res.stdout), ensure_ascii=False).encode(), values)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(message=pii_messages())
def test_the_llm_prompt_is_masked(
    demo_db: sqlite_utils.Database, shared_nlu_models: Path, message: tuple[str, str, str]
) -> None:
    from shopassist.engine.nlu.understand import Understander

    _, value, text = message
    conf = Settings()
    fake = FakeLLM(responses=["We ship within 3 to 5 business days."] * 10)
    understander = Understander.load(db=demo_db, settings=conf, models_directory=shared_nlu_models)
    pipeline = TurnPipeline(demo_db, conf, understander, fake, now=DEMO_NOW)
    bot = Assistant(conf, demo_db, pipeline)
    # Each in its own conversation, so a flow one message opens (an address change) does not
    # keep the next from the model; the greeting reaches it whatever the NLU makes of the rest.
    questions = ("how long does delivery take?", "what is your return policy?", "hello!")
    for i, question in enumerate(questions):
        bot.turn(f"llm-{i}", f"{text}. {question}")
    assert fake.calls, "the fake model was never asked: this test would prove nothing"
    prompts = json.dumps([c.messages for c in fake.calls], ensure_ascii=False)
    assert not _leaks(prompts.encode(), [value]), (value, prompts[:500])


@pytest.mark.parametrize(
    "value",
    [
        "6222020200112233404",  # the issue's UnionPay number
        "6222.0202.0011.2233.404",
        "４１１１ １１１１ １１１１ １１１１",
        "440308199901011234",
        "11010519491231002X",
        "138.0013.8000",
        "１３８００１３８０００",
        "4155550134",
        "josé@correo.es",
        "ｅｍｍａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "1600 Harbor View Lane",
        "北京市朝阳区建国路88号",
        "123-45-6789",  # QA: SSN and IBAN were stored raw, the IBAN also in stats --json
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
    ],
)
def test_the_issues_own_examples_are_not_stored(
    bot: Assistant, demo_db: sqlite_utils.Database, value: str
) -> None:
    assert not _leaks(_file_bytes(demo_db), [value])
    bot.turn("s", f"here you go: {value}")
    assert not _leaks(_file_bytes(demo_db), [value])


def test_the_file_check_would_see_a_raw_value(demo_db: sqlite_utils.Database) -> None:
    """The leak check itself can fail: a value written raw is found in the file bytes."""
    with demo_db.conn:
        demo_db.execute("insert into meta(key, value) values ('probe', ?)", ["440308199901011234"])
    assert _leaks(_file_bytes(demo_db), ["440308199901011234"])
