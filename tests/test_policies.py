"""The shop policy file: typed, validated (errors name the key and the reason), imported in
one transaction, shown by ``shopassist policies``; the demo shop loads through the same path."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.kb.demo import catalog_dir, load_demo
from shopassist.kb.policies import (
    DayRange,
    LocalText,
    PolicyError,
    ShopPolicy,
    import_policies,
    load_policy,
    parse_policy,
    read_policy_file,
    set_and_missing,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"
SMALL = """
[returns]
window_days = 14
non_returnable = ["gift cards", { en = "final-sale items", zh = "清仓商品" }]

[[shipping.methods]]
name = "Standard"
days = "2-4"
price = 4.5
"""


def _write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_is_optional_and_unset_reads_none() -> None:
    empty = ShopPolicy()
    assert empty.is_empty()
    for key in ("returns.window_days", "payments.accepted", "tiers.vip.return_window_days"):
        assert empty.get(key) is None
    _, missing = set_and_missing(empty)
    assert {"returns.window_days", "shipping.methods", "contact.hours", "tiers"} <= set(missing)


def test_values_are_typed(tmp_path: Path) -> None:
    policy = read_policy_file(_write(tmp_path, SMALL))
    assert policy.get("returns.window_days") == 14
    (method,) = policy.get("shipping.methods")
    assert method.days == DayRange(min=2, max=4) and str(method.days) == "2–4"
    assert method.price == Decimal("4.5")
    gift, sale = policy.get("returns.non_returnable")
    assert gift == LocalText(en="gift cards") and sale.text("zh") == "清仓商品"
    assert gift.text("zh") == "gift cards"  # no translation: the text as written


def test_an_empty_list_is_not_an_answer() -> None:
    assert parse_policy({"payments": {"accepted": []}}).get("payments.accepted") is None


def test_an_unknown_key_is_a_programming_error_not_a_silent_none() -> None:
    with pytest.raises(KeyError):
        ShopPolicy().get("returns.window")


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[returns]\nwindow_days = -3\n", "returns.window_days", "greater than 0"),
        ("[returns]\nwindow_day = 30\n", "returns.window_day", "not a key of the policy format"),
        ('[payments]\naccepted = "Visa"\n', "payments.accepted", "valid list"),
        (
            '[[shipping.methods]]\nname = "A"\ndays = "5-3"\n',
            "shipping.methods[1].days",
            "runs backwards",
        ),
        ("[[shipping.methods]]\nprice = 3\n", "shipping.methods[1].name", "required"),
        ("[cancellation]\nfee_max = 1.234\n", "cancellation.fee_max", "2 decimal places"),
        ('[shop]\ntimezone = "Mars/Base"\n', "shop.timezone", "IANA time zone"),
        ('[shop]\ncurrency = "dollars"\n', "shop.currency", "pattern"),
        ('[contact]\nemail = "nobody"\n', "contact.email", "pattern"),
        (
            "[cancellation]\nfree_statuses = ['gone']\n",
            "cancellation.free_statuses",
            "order status",
        ),
        ("[tiers.vip]\nreturn_window_days = 'long'\n", "tiers.vip.return_window_days", "integer"),
        ("[returns\n", "not valid TOML", ""),
    ],
)
def test_errors_name_the_key_and_the_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    with pytest.raises(PolicyError) as info:
        read_policy_file(_write(tmp_path, text))
    message = str(info.value)
    line = next((ln for ln in message.splitlines() if ln.startswith(key)), message)
    assert key in line and reason in line, message


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file"):
        read_policy_file(tmp_path / "nope.toml")


def test_import_replaces_the_whole_policy_atomically(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_policies(db, _write(tmp_path, SMALL))
    assert load_policy(db).get("returns.window_days") == 14
    # A bad file changes nothing, however much of it is valid.
    bad = _write(tmp_path, '[returns]\nwindow_days = 60\n[payments]\naccepted = "x"\n', "bad.toml")
    with pytest.raises(PolicyError):
        import_policies(db, bad)
    assert load_policy(db).get("returns.window_days") == 14
    # A good file replaces everything: keys it leaves out become unknown again.
    import_policies(db, _write(tmp_path, "[warranty]\nmonths = 6\n", "w.toml"))
    policy = load_policy(db)
    assert policy.get("warranty.months") == 6 and policy.get("returns.window_days") is None


def test_dry_run_writes_nothing(db: sqlite_utils.Database, tmp_path: Path) -> None:
    policy = import_policies(db, _write(tmp_path, SMALL), dry_run=True)
    assert policy.get("returns.window_days") == 14
    assert load_policy(db).is_empty()
    assert db.execute("select count(*) from policies").fetchone()[0] == 0


def test_stored_rows_that_break_the_format_are_not_trusted(db: sqlite_utils.Database) -> None:
    with db.conn:
        db.execute("insert into policies (key, value) values ('return_window_days', '30')")
        db.execute("insert into policies (key, value) values ('warranty', '{\"months\": \"x\"}')")
        db.execute("insert into policies (key, value) values ('returns', '{\"window_days\": 9}')")
    policy = load_policy(db)
    assert policy.get("returns.window_days") == 9 and policy.get("warranty.months") is None


def test_the_demo_loads_through_the_same_import(db: sqlite_utils.Database) -> None:
    load_demo(db)
    assert load_policy(db) == read_policy_file(catalog_dir() / "policies.toml")
    # The VIP return window has one source.
    assert load_policy(db).get("tiers.vip.return_window_days") == 45


def test_the_example_in_the_docs_is_a_valid_policy_file() -> None:
    policy = read_policy_file(DOCS / "policies.example.toml")
    _, missing = set_and_missing(policy)
    for key in ("returns.window_days", "shipping.methods", "payments.accepted", "contact.hours"):
        assert key not in missing
    # Every key of the format is documented.
    doc = (DOCS / "policies.md").read_text(encoding="utf-8")
    for key in set_and_missing(ShopPolicy())[1]:
        assert f"`{key.split('.')[-1]}`" in doc or f"[{key}" in doc, key


# --- the command line -----------------------------------------------------------------------


def test_cli_import_and_show(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(tmp_path / "shop.db")
    assert runner.invoke(app, ["init", "--db", path]).exit_code == 0
    res = runner.invoke(app, ["policies", "--json", "--db", path])
    assert res.exit_code == 0 and json.loads(res.stdout)["set"] == {}
    file = _write(tmp_path, SMALL)
    res = runner.invoke(app, ["import-policies", str(file), "--dry-run", "--db", path])
    assert res.exit_code == 0 and "dry run" in res.stdout
    assert json.loads(runner.invoke(app, ["policies", "--json", "--db", path]).stdout)["set"] == {}
    res = runner.invoke(app, ["import-policies", str(file), "--db", path])
    assert res.exit_code == 0, res.output
    shown = json.loads(runner.invoke(app, ["policies", "--json", "--db", path]).stdout)
    assert shown["set"]["returns.window_days"] == 14
    assert shown["set"]["shipping.methods"][0]["price"] == 4.5
    assert "payments.accepted" in shown["missing"] and shown["source"] == "p.toml"
    text = runner.invoke(app, ["policies", "--db", path]).stdout
    assert "returns.window_days" in text and "Not set" in text


def test_cli_import_error_exits_nonzero_and_names_the_key(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(tmp_path / "shop.db")
    runner.invoke(app, ["init", "--db", path])
    bad = _write(tmp_path, "[returns]\nwindow_days = 0\n")
    res = runner.invoke(app, ["import-policies", str(bad), "--db", path])
    assert res.exit_code == 1
    assert "returns.window_days" in res.output and "greater than 0" in res.output


def test_only_the_policy_module_reads_the_policies_table() -> None:
    """Every reader goes through ShopPolicy: no second reader with its own defaults."""
    root = Path(__file__).resolve().parent.parent / "shopassist"
    readers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "from policies" in path.read_text(encoding="utf-8")
    ]
    # (kb/migrations.py only looks for rows in the format before this one.)
    assert sorted(readers) == ["kb/migrations.py", "kb/policies.py"]


def test_a_demo_database_with_old_policy_rows_gets_the_demo_policy_back(tmp_path: Path) -> None:
    from shopassist.kb.db import open_db

    path = tmp_path / "old.db"
    db = open_db(path)
    load_demo(db)
    with db.conn:  # what the demo loader wrote before the policy file format
        db.execute("delete from policies")
        db.execute("insert into policies (key, value) values ('return_window_days', '30')")
        db.execute(
            "insert into policies (key, value) values ('vip', '{\"return_window_days\": 45}')"
        )
        db.execute("delete from _migrations where name = 'm010_policy_file_format'")
    assert load_policy(db).is_empty()
    db.conn.close()
    db = open_db(path)
    assert load_policy(db) == read_policy_file(catalog_dir() / "policies.toml")


# --- money from the policy: half-up to the cent, in one place ------------------------------


def test_a_percentage_fee_rounds_half_up_to_the_cent() -> None:
    from shopassist.kb.policies import cents, percent_of_cents

    assert percent_of_cents(6912, Decimal(5)) == 346  # 3.456 -> 3.46, not 3.45
    assert percent_of_cents(6910, Decimal(5)) == 346  # 3.455 -> 3.46 (half up)
    assert percent_of_cents(6908, Decimal(5)) == 345  # 3.454 -> 3.45
    assert percent_of_cents(6912, Decimal("7.5")) == 518  # 5.184
    assert percent_of_cents(100_000, Decimal(5), Decimal(25)) == 2500  # capped
    assert cents(Decimal("6.95")) == 695 and cents(None) is None


def test_a_cancellation_fee_on_a_shops_own_policy_rounds_half_up(tmp_path: Path) -> None:
    """A non-demo shop (init + its own policy file): 5% of 69.12 is 3.46, capped by fee_max,
    and the fee's source is the exact key."""
    from types import SimpleNamespace

    from shopassist.engine.dialogue.actions import cancellation_fee_cents
    from shopassist.engine.dialogue.outcome import Outcome

    db_path = tmp_path / "kites.db"
    assert CliRunner().invoke(app, ["init", "--db", str(db_path)]).exit_code == 0
    policy = tmp_path / "p.toml"
    policy.write_text("[cancellation]\nfee_percent = 5\nfee_max = 3.40\n", encoding="utf-8")
    db = sqlite_utils.Database(db_path)
    import_policies(db, policy)
    ctx = SimpleNamespace(db=db, state=SimpleNamespace(customer_tier=None))
    order = {"status": "paid", "placed_at": "2020-01-01T00:00:00", "total_cents": 6912}
    out = Outcome()
    assert cancellation_fee_cents(ctx, out, order) == 340  # 3.46, capped at 3.40  # type: ignore[arg-type]
    assert {s.id for s in out.sources} >= {"policy:cancellation.fee_percent"}
    policy.write_text("[cancellation]\nfee_percent = 5\n", encoding="utf-8")
    import_policies(db, policy)
    assert cancellation_fee_cents(ctx, Outcome(), order) == 346  # type: ignore[arg-type]
