"""The import commands as a shop owner runs them: exit codes, messages, summary, --json."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.kb.db import open_db, set_meta

FIXTURES = Path(__file__).parent / "fixtures" / "import"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def flat(text: str) -> str:
    """Rich wraps long error lines at the terminal width; compare without the wrapping."""
    return " ".join(text.split())


def count(db_path: Path, table: str) -> int:
    db = open_db(db_path)
    try:
        return db.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        db.conn.close()


def test_import_catalog_prints_a_summary_table(tmp_path):
    db = tmp_path / "shop.db"
    result = run("import-catalog", FIXTURES / "shopify_products.csv", "--db", db)
    assert result.exit_code == 0, result.output
    assert "Imported catalog from shopify_products.csv (shopify, utf-8, comma)" in result.stdout
    for column in ("products", "variants", "created", "updated", "rejected"):
        assert column in result.stdout
    assert count(db, "variants") == 4


def test_json_summary_for_scripts(tmp_path):
    db = tmp_path / "shop.db"
    result = run("import-catalog", FIXTURES / "woocommerce_products.csv", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["format"] == "woocommerce"
    assert (summary["products"], summary["variants"], summary["rejected"]) == (4, 4, 0)
    assert summary["committed"] is True


def test_validation_errors_exit_1_and_list_the_rows(tmp_path):
    db = tmp_path / "shop.db"
    bad = tmp_path / "bad.csv"
    bad.write_text("title,price,sku\nLamp,abc,L1\nChair,5,C1\n,3,D1\n")
    result = run("import-catalog", bad, "--db", db)
    assert result.exit_code == 1
    assert "line 2, column 'price': 'abc' is not a number" in flat(result.stderr)
    assert "line 4, column 'title': is missing" in flat(result.stderr)
    assert "Nothing imported: 2 of 3 rows have errors" in flat(result.stderr)
    assert count(db, "products") == 0


def test_more_than_20_errors_are_summarised(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("title,price\n" + "".join(f"T{i},x\n" for i in range(25)))
    result = run("import-catalog", bad, "--db", tmp_path / "s.db")
    assert result.exit_code == 1
    assert flat(result.stderr).count("is not a number") == 20
    assert "… and 5 more rejected rows" in flat(result.stderr)


def test_skip_invalid_exits_0_and_names_the_rejected_file(tmp_path):
    db = tmp_path / "shop.db"
    bad = tmp_path / "bad.csv"
    bad.write_text("title,price,sku\nLamp,abc,L1\nChair,5,C1\n")
    result = run("import-catalog", bad, "--db", db, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "bad.rejected.csv" in result.stdout
    assert count(db, "products") == 1


def test_dry_run_says_so_and_writes_nothing(tmp_path):
    db = tmp_path / "shop.db"
    result = run("import-catalog", FIXTURES / "generic_tab.tsv", "--db", db, "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: nothing was written." in result.stdout
    assert count(db, "products") == 0


def test_nonexistent_file_exits_2(tmp_path):
    result = run("import-catalog", tmp_path / "nope.csv", "--db", tmp_path / "s.db")
    assert result.exit_code == 2
    assert "nope.csv does not exist" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_binary_empty_and_header_only_files_exit_2(tmp_path):
    binary = tmp_path / "img.csv"
    binary.write_bytes(b"\x00\x01\x02PNG" * 100)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = tmp_path / "header.csv"
    header.write_text("title,price\n")
    for path, message in [(binary, "binary"), (empty, "is empty"), (header, "no data rows")]:
        result = run("import-catalog", path, "--db", tmp_path / "s.db")
        assert result.exit_code == 2, path
        assert message in flat(result.stderr)
        assert "Traceback" not in result.output


def test_bad_map_and_format_are_usage_errors(tmp_path):
    db = tmp_path / "s.db"
    path = FIXTURES / "generic_tab.tsv"
    result = run("import-catalog", path, "--db", db, "--map", "title")
    assert result.exit_code == 2 and "COLUMN=FIELD" in flat(result.stderr)
    result = run("import-catalog", path, "--db", db, "--map", "title=nonsense")
    assert result.exit_code == 2 and "unknown field 'nonsense'" in flat(result.stderr)
    result = run("import-catalog", path, "--db", db, "--format", "magento")
    assert result.exit_code == 2 and "unknown format" in flat(result.stderr)


def test_map_option_maps_columns(tmp_path):
    db = tmp_path / "s.db"
    path = tmp_path / "de.csv"
    path.write_text("Bezeichnung;Preis\nKaffeemühle;39,90\n", encoding="utf-8")
    result = run(
        "import-catalog", path, "--db", db, "--map", "Bezeichnung=title", "--map", "Preis=price"
    )
    assert result.exit_code == 0, result.output
    assert count(db, "variants") == 1


def test_demo_catalog_refusal_explains_replace(tmp_path):
    db_path = tmp_path / "demo.db"
    db = open_db(db_path)
    with db.conn:
        set_meta(db, "demo_catalog", "1")
    db.conn.close()
    result = run("import-catalog", FIXTURES / "generic_tab.tsv", "--db", db_path)
    assert result.exit_code == 2
    assert "demo catalog" in flat(result.stderr) and "--replace" in flat(result.stderr)
    result = run("import-catalog", FIXTURES / "generic_tab.tsv", "--db", db_path, "--replace")
    assert result.exit_code == 0, result.output


def test_import_orders_and_faq_commands(tmp_path):
    db = tmp_path / "s.db"
    result = run("import-catalog", FIXTURES / "shopify_products.csv", "--db", db)
    assert result.exit_code == 0
    result = run("import-orders", FIXTURES / "shopify_orders.csv", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["orders"] == 4
    result = run("import-faq", FIXTURES / "faq.csv", "--db", db)
    assert result.exit_code == 0, result.output
    assert "entries" in result.stdout
    assert count(db, "faqs") == 3


def test_every_import_command_has_help():
    for command in ("import-catalog", "import-orders", "import-faq"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "--skip-invalid" in result.stdout and "--dry-run" in result.stdout


def test_locked_database_is_a_clear_error(tmp_path, monkeypatch):
    import shopassist.kb.db as kb_db

    monkeypatch.setattr(kb_db, "BUSY_TIMEOUT_MS", 50)
    db_path = tmp_path / "locked.db"
    holder = open_db(db_path)
    holder.conn.execute("begin immediate")  # another operator's process is writing
    try:
        result = run("import-catalog", FIXTURES / "generic_tab.tsv", "--db", db_path)
    finally:
        holder.conn.rollback()
        holder.conn.close()
    assert result.exit_code == 1
    assert "could not be written" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_default_database_starts_with_the_demo_so_import_asks_for_replace():
    result = run("import-catalog", FIXTURES / "generic_tab.tsv")
    assert result.exit_code == 2
    assert "--replace" in flat(result.stderr)
    result = run("import-catalog", FIXTURES / "generic_tab.tsv", "--replace", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["products"] == 2
