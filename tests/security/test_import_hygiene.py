"""Import hygiene (issue 10): duplicate headers and spreadsheet formula cells (OWASP CSV
injection) are refused on import, and the rejected-rows file never carries a live formula."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.kb.importers.cleaning import formula_trigger, neutralise_formula
from shopassist.kb.importers.source import ImportFileError, open_source


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_headers_are_an_error_naming_the_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.csv", "title,price,price\nShirt,10,12\n")
    with pytest.raises(ImportFileError, match=r"'price' twice \(columns 2 and 3\)"):
        open_source(path)


def test_duplicate_headers_differing_in_case_are_duplicates(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.csv", "Title,Price,PRICE\nShirt,10,12\n")
    with pytest.raises(ImportFileError, match="twice"):
        open_source(path)


def test_duplicate_header_import_writes_nothing(tmp_path: Path, db: sqlite_utils.Database) -> None:
    path = _write(tmp_path / "dup.csv", "title,price,price\nShirt,10,12\n")
    db_path = db.conn.execute("pragma database_list").fetchone()[2]
    res = CliRunner().invoke(app, ["import-catalog", str(path), "--db", db_path])
    assert res.exit_code != 0 and "'price' twice" in res.output
    assert db.execute("select count(*) from products").fetchone()[0] == 0


def test_blank_trailing_headers_are_not_duplicates(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.csv", "title,price,,\nShirt,10,,\n")
    assert open_source(path).header[:2] == ["title", "price"]


@pytest.mark.parametrize(
    ("cell", "trigger"),
    [
        ('=HYPERLINK("http://evil.example","click")', "="),
        ("+cmd|' /C calc'!A0", "+"),
        ("-2+3+cmd|' /C calc'!A0", "-"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "@"),
        ("\t=1+2", "="),
        ("\r=1+2", "="),
        ("  =1+2", "="),
        ("-SUM(A1)", "-"),
    ],
)
def test_formula_cells_are_flagged(cell: str, trigger: str) -> None:
    assert formula_trigger(cell) == trigger


@pytest.mark.parametrize(
    "cell", ["-5", "+1 (415) 555-0134", "-5 cm longer", "- 100% cotton", "Cotton", "a=b", ""]
)
def test_numbers_phones_and_words_are_not_formulas(cell: str) -> None:
    assert formula_trigger(cell) is None


@pytest.mark.parametrize("cell", ["=1", "+1", "-1", "@a", "\t=1", "\r=1"])
def test_owasp_neutralises_every_trigger_with_an_apostrophe(cell: str) -> None:
    assert neutralise_formula(cell) == "'" + cell


FORMULA_CSV = (
    "title,price,description,Material\n"
    "Shirt,10,nice,Cotton\n"
    '"=HYPERLINK(""http://evil.example"",""click"")",5,a,b\n'
    "Hat,7,\"+cmd|' /C calc'!A0\",wool\n"
    "Sock,3,ok,@SUM(1)\n"
    "Belt,4,-5 cm longer,leather\n"
)


def test_formula_cells_are_rejected_with_their_column(
    tmp_path: Path, db: sqlite_utils.Database
) -> None:
    path = _write(tmp_path / "f.csv", FORMULA_CSV)
    db_path = db.conn.execute("pragma database_list").fetchone()[2]
    res = CliRunner().invoke(app, ["import-catalog", str(path), "--db", db_path])
    assert res.exit_code != 0
    assert "line 3, column 'title': starts with '='" in res.output
    assert "line 4, column 'description': starts with '+'" in res.output
    assert "column 'Material': starts with '@'" in res.output
    assert db.execute("select count(*) from products").fetchone()[0] == 0  # all or nothing


def test_rejected_file_neutralises_formula_cells(tmp_path: Path, db: sqlite_utils.Database) -> None:
    path = _write(tmp_path / "f.csv", FORMULA_CSV)
    db_path = db.conn.execute("pragma database_list").fetchone()[2]
    res = CliRunner().invoke(
        app, ["import-catalog", str(path), "--db", db_path, "--skip-invalid", "-q"]
    )
    assert res.exit_code == 0, res.output
    titles = {r[0] for r in db.execute("select title from products")}
    assert titles == {"Shirt", "Belt"}
    with (tmp_path / "f.rejected.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], cells
    assert '\'=HYPERLINK("http://evil.example","click")' in cells
    assert "'@SUM(1)" in cells
    # Nothing stored anywhere starts a formula either.
    stored = db.execute("select title, description from products").fetchall()
    assert not [v for row in stored for v in row if v and formula_trigger(v)]
