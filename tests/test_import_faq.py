"""FAQ import: bilingual entries keyed by (key, language)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopassist.kb.importers.faq import import_faq
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.transaction import DemoDataError

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def test_faq_import_keeps_both_languages_and_strips_html(db):
    report = import_faq(db, FIXTURES / "faq.csv")
    assert report.committed and report.counts["created"] == 3
    rows = db.execute("select key, language, kind, answer from faqs order by id").fetchall()
    assert rows[1][:2] == ("shipping-time", "zh")
    assert rows[2] == ("return-window", "en", "policy", "You can return items within 30 days.")


def test_faq_reimport_updates(db, tmp_path):
    import_faq(db, FIXTURES / "faq.csv")
    path = tmp_path / "faq.csv"
    path.write_text("key,language,question,answer\nshipping-time,en,How long?,Two days.\n")
    report = import_faq(db, path)
    assert report.counts == {"entries": 1, "created": 0, "updated": 1}
    assert db.execute(
        "select answer from faqs where key = 'shipping-time' and language = 'en'"
    ).fetchone() == ("Two days.",)


def test_faq_language_and_key_are_inferred(db, tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\n怎么退货？,在三十天内联系我们。\nCan I pay by card?,Yes.\n")
    import_faq(db, path)
    rows = set(db.execute("select key, language from faqs").fetchall())
    assert rows == {("怎么退货", "zh"), ("can-i-pay-by-card", "en")}


def test_faq_bad_rows(db, tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text(
        "key,language,question,answer,kind\n"
        "a,en,Q?,A.,faq\n"
        "b,fr,Q?,A.,faq\n"
        "c,en,Q?,,faq\n"
        "d,en,Q?,A.,rumour\n"
        "a,en,Q again?,A.,faq\n"
    )
    report = import_faq(db, path)
    errors = {e.line: (e.column, e.reason) for e in report.errors}
    assert errors[3][0] == "language"
    assert errors[4] == ("answer", "is missing")
    assert errors[5][0] == "kind"
    assert errors[6][0] == "key" and "already appeared on line 2" in errors[6][1]
    assert db.execute("select count(*) from faqs").fetchone()[0] == 0


def test_demo_faqs_are_refused_unless_replaced(db):
    with db.conn:
        db.execute(
            "insert into faqs (key, language, question, answer, source) "
            "values ('demo', 'en', 'Q', 'A', 'demo')"
        )
    with pytest.raises(DemoDataError, match="--replace"):
        import_faq(db, FIXTURES / "faq.csv")
    import_faq(db, FIXTURES / "faq.csv", ImportOptions(replace=True))
    assert db.execute("select count(*) from faqs where source = 'demo'").fetchone()[0] == 0
