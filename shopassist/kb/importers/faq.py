"""``import-faq``: FAQ and policy entries from a CSV.

Columns: ``key, language, question, answer, intent, tags, kind``. Only question and answer
are required; a missing key is derived from the question, a missing language is guessed
(Chinese if the question has CJK characters, else English). Entries upsert on (key, language),
so the English and Chinese versions of one entry share a key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import sqlite_utils
from pydantic import BaseModel, BeforeValidator, ConfigDict

from shopassist.kb.importers.cleaning import clean_line, slugify, split_list
from shopassist.kb.importers.columns import Columns
from shopassist.kb.importers.duplicates import SeenKeys
from shopassist.kb.importers.options import ImportOptions
from shopassist.kb.importers.report import ImportReport, RejectedRowsFile, rejected_path_for
from shopassist.kb.importers.rows import (
    Description,
    OptionalLine,
    Rejection,
    RequiredLine,
    RowError,
    validate_row,
)
from shopassist.kb.importers.source import CsvSource, ImportFileError, open_source
from shopassist.kb.importers.transaction import (
    DemoDataError,
    import_transaction,
    rebuild_search_index,
)

FAQ_COLUMNS = ("key", "language", "question", "answer", "intent", "tags", "kind")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LANGUAGES = {"en": "en", "english": "en", "zh": "zh", "zh-cn": "zh", "cn": "zh", "chinese": "zh",
              "中文": "zh", "zh_cn": "zh", "zh-hans": "zh"}  # fmt: skip


def _language(value: Any) -> str:
    text = clean_line(str(value or "")).lower()
    language = _LANGUAGES.get(text)
    if language is None:
        raise ValueError(f"{text[:20]!r} is not a supported language (en or zh)")
    return language


def _kind(value: Any) -> str:
    text = clean_line(str(value or "")).lower() or "faq"
    if text not in ("faq", "policy"):
        raise ValueError(f"{text[:20]!r} must be 'faq' or 'policy'")
    return text


def _answer(value: Any) -> str:
    if not str(value or "").strip():
        raise ValueError("is missing")
    return str(value)


class FaqFields(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: RequiredLine
    language: Annotated[str, BeforeValidator(_language)]
    question: RequiredLine
    answer: Annotated[Description, BeforeValidator(_answer)]
    intent: OptionalLine = None
    tags: OptionalLine = None
    kind: Annotated[str, BeforeValidator(_kind)] = "faq"


def holds_demo_faqs(db: sqlite_utils.Database) -> bool:
    return db.execute("select 1 from faqs where source = 'demo' limit 1").fetchone() is not None


def import_faq(
    db: sqlite_utils.Database,
    path: Path,
    options: ImportOptions | None = None,
    source: CsvSource | None = None,
) -> ImportReport:
    options = options or ImportOptions()
    if source is None:
        source = open_source(path, encoding=options.encoding, delimiter=options.delimiter)
    cols = Columns(source.header)
    missing = [c for c in ("question", "answer") if c not in cols]
    if missing:
        raise ImportFileError(
            "an FAQ CSV needs the columns question and answer (and optionally key, language, "
            f"intent, tags, kind); missing {', '.join(missing)}"
        )
    getters = {name: cols.getter(name) for name in FAQ_COLUMNS if name in cols}
    names = {name: cols.name(name) for name in FAQ_COLUMNS}
    report = ImportReport(
        kind="faq",
        path=path,
        format="faq",
        encoding=source.encoding,
        delimiter=source.delimiter_name,
        dry_run=options.dry_run,
    )
    rejects = RejectedRowsFile(rejected_path_for(path), source.header, source.delimiter)
    counts = {"entries": 0, "created": 0, "updated": 0}
    with import_transaction(db) as conn:
        if holds_demo_faqs(db) and not options.replace:
            raise DemoDataError(
                "this database still holds the demo FAQs and policies; re-run with --replace "
                "to replace all FAQ entries with this file"
            )
        if options.replace:
            conn.execute("delete from faqs")
        seen = SeenKeys(conn, "faqs")
        try:
            for row in source.rows():
                report.rows += 1
                data = {name: get(row.cells) for name, get in getters.items()}
                question = str(data.get("question", ""))
                if not str(data.get("language", "")).strip():
                    data["language"] = "zh" if _CJK.search(question[:2000]) else "en"
                if not str(data.get("key", "")).strip():
                    data["key"] = slugify(question[:2000])[:80]
                if data.get("tags"):
                    data["tags"] = ", ".join(split_list(str(data["tags"])))
                entry, errors = validate_row(FaqFields, data, row.line, names)
                if entry is not None:
                    first = seen.check_and_add(
                        [(f"{entry.key}\x1f{entry.language}", row.line)]
                    ).get(row.line)
                    if first is not None:
                        reason = (
                            f"entry {entry.key!r} ({entry.language}) already appeared on "
                            f"line {first}"
                        )
                        errors = [RowError(row.line, names["key"], reason)]
                        entry = None
                if entry is None:
                    rejection = Rejection(row.line, row.cells, errors)
                    report.add_rejection(rejection)
                    if options.skip_invalid and not options.dry_run:
                        rejects.write(rejection)
                    continue
                exists = conn.execute(
                    "select 1 from faqs where key = ? and language = ?",
                    (entry.key, entry.language),
                ).fetchone()
                conn.execute(
                    "insert into faqs (key, kind, language, question, answer, intent, tags, "
                    "source) values (?, ?, ?, ?, ?, ?, ?, 'import') "
                    "on conflict(key, language) do update set kind = excluded.kind, "
                    "question = excluded.question, answer = excluded.answer, "
                    "intent = excluded.intent, tags = excluded.tags, source = 'import'",
                    (
                        entry.key, entry.kind, entry.language, entry.question, entry.answer,
                        entry.intent, entry.tags or "",
                    ),
                )  # fmt: skip
                counts["updated" if exists else "created"] += 1
                counts["entries"] += 1
        finally:
            rejects.close()
        seen.drop()
        if report.rows == 0:
            raise ImportFileError(f"{path} has a header row but no data rows; nothing to import")
        report.counts = counts
        if rejects.written:
            report.rejected_path = rejects.path
        if options.dry_run or (report.rejected and not options.skip_invalid):
            conn.rollback()
            return report
        rebuild_search_index(db, "faq")
        conn.commit()
        report.committed = True
    return report
