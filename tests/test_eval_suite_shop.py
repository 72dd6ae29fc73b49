"""`[suite.shop]`: a dialogue suite runs on a shop built from its own export files."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopassist.engine.dialogue_eval import (
    ShopFiles,
    SuiteError,
    build_shop_database,
    build_suite_database,
    load_suite,
)
from shopassist.kb.db import open_db

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def _suite(tmp_path: Path, shop: str) -> Path:
    root = tmp_path / "suite"
    (root / "shop").mkdir(parents=True)
    for name in ("woocommerce_pt_BR.csv", "woocommerce_orders.csv"):
        (root / "shop" / name).write_bytes((FIXTURES / name).read_bytes())
    if "policies" in shop:
        (root / "shop" / "policies.toml").write_text("[returns]\nwindow_days = 30\n")
    (root / "suite.toml").write_text(f'[suite]\ndescription = "x"\n\n[suite.shop]\n{shop}')
    (root / "orders.toml").write_text(
        '[[conversation]]\nid = "c1"\nlanguage = "en"\n\n'
        '[[conversation.turns]]\nuser = "where is order sa 5101?"\n'
    )
    return root


def test_suite_shop_builds_the_database_from_its_files(tmp_path):
    root = _suite(
        tmp_path,
        'products = "shop/woocommerce_pt_BR.csv"\norders = "shop/woocommerce_orders.csv"\n'
        'policies = "shop/policies.toml"\n',
    )
    suite = load_suite(root)  # the policy .toml is data, not a conversation file
    assert [c.id for c in suite.conversations] == ["c1"]
    assert suite.settings.shop == ShopFiles(
        products="shop/woocommerce_pt_BR.csv",
        orders="shop/woocommerce_orders.csv",
        policies="shop/policies.toml",
    )
    path, _warnings = build_suite_database(suite, tmp_path / "shop.db")
    kb = open_db(path)
    try:
        assert kb.execute("select count(*) from orders").fetchone()[0] == 6
        assert kb.execute("select count(*) from variants").fetchone()[0] == 3
        assert kb.execute("select count(*) from orders where source = 'demo'").fetchone()[0] == 0
    finally:
        kb.conn.close()


def test_missing_shop_file_is_a_suite_error(tmp_path):
    root = _suite(tmp_path, 'orders = "shop/nope.csv"\n')
    suite = load_suite(root)
    with pytest.raises(SuiteError, match="orders = 'shop/nope.csv': no such file"):
        build_suite_database(suite, tmp_path / "shop.db")


def test_bad_orders_file_names_the_errors(tmp_path):
    root = _suite(tmp_path, 'orders = "shop/bad.csv"\n')
    (root / "shop" / "bad.csv").write_text(
        "order_number,placed_at,item_title,quantity,unit_price\nX-1,never,Thing,1,5\n"
    )
    with pytest.raises(SuiteError, match="did not import: line 2, column 'placed_at'"):
        build_shop_database(tmp_path / "shop.db", root, ShopFiles(orders="shop/bad.csv"))


def test_leak_check_reads_the_shops_order_numbers(tmp_path, db):
    from shopassist.config import load_settings
    from shopassist.engine.dialogue_eval import DialogueEvaluator
    from shopassist.kb.importers.orders import import_orders

    import_orders(db, FIXTURES / "woocommerce_orders.csv")
    db.conn.close()
    template = tmp_path / "test.db"
    with DialogueEvaluator(load_settings(), template) as evaluator:
        assert evaluator.order_numbers_in("what about SA 5102 and #sa-5104?") == [
            "SA-5102",
            "SA-5104",
        ]
