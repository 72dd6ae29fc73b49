"""Product and FAQ search: safety with hostile text, typos, Chinese, filters, index upkeep, CLI.

The tests write their own small shop, so they do not depend on the demo catalog.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from shopassist.kb.db import open_db
from shopassist.kb.search import (
    SearchError,
    Vocabulary,
    get_product,
    resolve_category,
    search_faqs,
    search_products,
)
from shopassist.kb.search_index import index_products, rebuild_faq_index, rebuild_product_index
from shopassist.kb.text_tokens import index_text, parse_query

CATEGORIES = [
    (1, "Audio", "Audio", "音频", None),
    (2, "Audio > Headphones", "Headphones", "耳机", 1),
    (3, "Clothing", "Clothing", "服装", None),
    (4, "Clothing > Hoodies", "Hoodies", "卫衣", 3),
    (5, "Home > Kitchen", "Kitchen", "厨房", None),
    (6, "Electronics", "Electronics", "电子产品", None),
]
# id, handle, title, title_zh, description, description_zh, brand, category, status
PRODUCTS = [
    (1, "aerobuds-pro", "AeroBuds Pro", "AeroBuds Pro 无线降噪蓝牙耳机",
     "True wireless earbuds with active noise cancelling and a 30 hour battery.",
     "真无线蓝牙耳机，主动降噪，续航30小时。", "Sonique", 2, "active"),
    (2, "bassline-over-ear", "BassLine Over-Ear Headphones", "BassLine 头戴式耳机",
     "Wired over-ear headphones with deep bass and a folding headband.",
     "有线头戴式耳机，低音浑厚。", "Sonique", 2, "active"),
    (3, "trail-hoodie", "Trail Hoodie", "户外连帽卫衣",
     "Fleece hoodie for cold mornings on the trail.", "抓绒连帽卫衣，适合寒冷的早晨。",
     "Northpeak", 4, "active"),
    (4, "cafe-creme-mug", "Café Crème Mug", "陶瓷马克杯", "Ceramic mug, dishwasher safe.",
     "陶瓷马克杯，可用洗碗机清洗。", "Homely", 5, "active"),
    (5, "secret-prototype", "Secret Prototype Earbuds", None, "Not for sale yet.", None,
     "Sonique", 2, "draft"),
    (6, "charging-pad", "Wireless Charging Pad", None, "Qi charging pad for phones and earbuds.",
     None, "Voltix", 6, "active"),
    (7, "pro-studio-mic", "Pro Studio Microphone", None, "Condenser microphone for podcasts.",
     None, "Voltix", 1, "active"),
]  # fmt: skip
# product, sku, title, options, colour, size, price cents, stock
VARIANTS = [
    (1, "SON-ABP-BLK", "Black", {"Color": "Black"}, "Black", None, 12999, 5),
    (1, "SON-ABP-WHT", "White", {"Color": "White"}, "White", None, 12999, 0),
    (2, "SON-BL-01", "Default", {}, None, None, 5999, 12),
    (3, "NP-TH-BLU-M", "Blue / M", {"Color": "Blue", "Size": "M"}, "Blue", "M", 4500, 3),
    (3, "NP-TH-BLU-L", "Blue / L", {"Color": "Blue", "Size": "L"}, "Blue", "L", 4500, 0),
    (3, "NP-TH-RED-M", "Red / M", {"Color": "Red", "Size": "M"}, "Red", "M", 4800, 7),
    (4, "HM-MUG-1", "Default", {}, None, None, 1200, 0),
    (5, "SON-SP-1", "Default", {}, None, None, 9999, 9),
    (6, "VX-QI-10", "Default", {}, None, None, 2499, 40),
    (7, "VX-MIC-1", "Default", {}, None, None, 8900, 2),
]
# key, language, question, answer, intent, tags
FAQS = [
    ("shipping-times", "en", "How long does delivery take?",
     "Standard shipping takes 3-5 business days; express arrives in 1-2 days.",
     "shipping_info", "shipping delivery"),
    ("shipping-times", "zh", "配送需要多长时间？", "标准配送需要3-5个工作日，加急配送1-2天送达。",
     "shipping_info", "配送 快递"),
    ("returns-window", "en", "What is your return policy?",
     "You can return unworn items within 30 days of delivery for a full refund.",
     "return_policy", "returns refund"),
    ("returns-window", "zh", "退货政策是什么？", "收货后30天内，未使用的商品可以退货并全额退款。",
     "return_policy", "退货 退款"),
    ("payment-methods", "en", "Which payment methods do you accept?",
     "We accept Visa, Mastercard, PayPal and Alipay.", "payment_methods", "payment card"),
    ("payment-methods", "zh", "支持哪些付款方式？", "我们支持Visa、万事达卡、PayPal和支付宝。",
     "payment_methods", "付款 支付"),
]  # fmt: skip

HOSTILE = [
    "",
    "   ",
    '"',
    '""',
    '"unterminated',
    "*",
    "-",
    "- -",
    "aero*",
    "*aero",
    "-aero",
    "NEAR",
    "NEAR(aero buds, 2)",
    "AND",
    "OR",
    "NOT",
    "aero AND",
    "OR OR OR",
    "NOT aerobuds",
    "(",
    ")",
    "((aero)",
    "title:aero",
    ":",
    "^aero",
    "{title}: aero",
    "aero + buds",
    "' OR 1=1 --",
    "'; drop table products; --",
    "🎧🎧 earbuds 😀",
    "\x00\x01\x02 earbuds \x7f",
    "\x1b[31mred\x1b[0m hoodie",
    "\u202eevil\u202c",
    "蓝牙\x00耳机",
    "a" * 10_000,
    "aerobuds " * 2_000,
    "蓝" * 10_000,
    "\\",
    "%_",
    "\ufeff\u200b",
    '中文 AND "english" NEAR(x) *',
]


def seed_shop(db: sqlite_utils.Database) -> None:
    db.conn.executemany(
        "insert into categories(id, path, name, name_zh, parent_id) values (?,?,?,?,?)", CATEGORIES
    )
    db.conn.executemany(
        "insert into products(id, handle, title, title_zh, description, description_zh, brand, "
        "category_id, status) values (?,?,?,?,?,?,?,?,?)",
        PRODUCTS,
    )
    db.conn.executemany(
        "insert into variants(product_id, sku, title, options, colour, size, price_cents, stock) "
        "values (?,?,?,?,?,?,?,?)",
        [(p, s, t, json.dumps(o), c, z, pr, st) for p, s, t, o, c, z, pr, st in VARIANTS],
    )
    db.conn.execute("insert into tags(id, name) values (1, 'bluetooth'), (2, 'gift')")
    db.conn.execute("insert into product_tags values (1, 1), (4, 2)")
    db.conn.execute("update products set specs = ? where id = 1", [json.dumps({"Battery": "30 h"})])
    db.conn.executemany(
        "insert into faqs(key, language, question, answer, intent, tags) values (?,?,?,?,?,?)", FAQS
    )
    db.conn.commit()
    rebuild_product_index(db)
    rebuild_faq_index(db)


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    seed_shop(db)
    return db


def titles(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.title for h in hits]


# --------------------------------------------------------------------------- tokens


def test_index_text_turns_chinese_runs_into_bigrams() -> None:
    assert index_text("AeroBuds 蓝牙耳机 好").split() == ["AeroBuds", "蓝牙", "牙耳", "耳机", "好"]
    assert index_text("Café") == "Café"
    assert index_text(None) == ""


def test_parse_query_drops_operators_and_stopwords() -> None:
    parsed = parse_query('do you have "AeroBuds" AND NOT (pro*) near:x')
    assert [t.text for t in parsed.tokens] == ["aerobuds", "pro", "near"]
    for token in parsed.tokens:
        assert all(term.isalnum() for term in token.terms)
    assert [t.text for t in parse_query("你们有蓝牙耳机吗").tokens] == ["蓝牙耳机"]
    # 有 starts a real word here and must not be trimmed as a stopword.
    assert parse_query("有线耳机").tokens[0].text == "有线耳机"


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(
    shop: sqlite_utils.Database, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    hits = search_products(shop, query)
    assert isinstance(hits, list)
    assert all(h.source_id.startswith("product:") for h in hits)
    assert isinstance(search_faqs(shop, query), list)
    # The safety net in search.py must not have been needed: FTS5 accepted every query.
    assert "FTS query rejected" not in caplog.text


def test_random_hostile_text_never_raises(
    shop: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(1234)
    alphabet = list('"*-()^:{}+,.\'\\/ ~!@#$%&|<>=?') + [
        "AND", "OR", "NOT", "NEAR", "aero", "buds", "蓝牙", "耳机", "\x00", "\x1b", "🎧", " ", "\u0301",
    ]  # fmt: skip
    for _ in range(400):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25)))
        search_products(shop, query, category="audio", max_price=200, in_stock=True)
        search_faqs(shop, query, language="en")
    assert "FTS query rejected" not in caplog.text


def test_huge_query_still_finds_what_it_names(shop: sqlite_utils.Database) -> None:
    assert titles(search_products(shop, "aerobuds " * 2_000))[0] == "AeroBuds Pro"


def test_empty_query_returns_nothing(shop: sqlite_utils.Database) -> None:
    assert search_products(shop, "") == []
    assert search_products(shop, "  \n ") == []
    assert search_faqs(shop, "") == []


def test_bad_options_are_clear_errors(shop: sqlite_utils.Database) -> None:
    with pytest.raises(SearchError, match="limit"):
        search_products(shop, "hoodie", limit=0)
    with pytest.raises(SearchError, match="max_price"):
        search_products(shop, "hoodie", max_price=-1)
    with pytest.raises(SearchError, match="max_price"):
        search_products(shop, "hoodie", max_price=float("nan"))


# --------------------------------------------------------------------------- ranking


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("airbuds pro", "AeroBuds Pro"),
        ("aerobudz", "AeroBuds Pro"),
        ("headphnes", "BassLine Over-Ear Headphones"),
        ("sonqiue bassline", "BassLine Over-Ear Headphones"),
        ("trial hoody", "Trail Hoodie"),
        ("aerob", "AeroBuds Pro"),
        ("air buds pro", "AeroBuds Pro"),
        ("aero buds", "AeroBuds Pro"),
        ("ＡｅｒｏＢｕｄｓ", "AeroBuds Pro"),
        ("cafe creme", "Café Crème Mug"),
    ],
)
def test_typos_and_spelling_variants_find_the_product(
    shop: sqlite_utils.Database, query: str, expected: str
) -> None:
    assert titles(search_products(shop, query))[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("蓝牙耳机", "AeroBuds Pro"),
        ("无线耳机 降噪", "AeroBuds Pro"),
        ("你们有蓝牙耳机吗", "AeroBuds Pro"),
        ("头戴式耳机", "BassLine Over-Ear Headphones"),
        ("卫衣", "Trail Hoodie"),
        ("马克杯多少钱", "Café Crème Mug"),
    ],
)
def test_chinese_queries_find_chinese_titles_and_descriptions(
    shop: sqlite_utils.Database, query: str, expected: str
) -> None:
    hits = search_products(shop, query)
    assert titles(hits)[0] == expected
    assert any("\u4e00" <= ch <= "\u9fff" for ch in hits[0].snippet)


def test_two_typed_words_can_be_one_name_word(shop: sqlite_utils.Database) -> None:
    hits = search_products(shop, "air buds pro")
    # Not just "pro" once the unknown words are dropped: "air buds" is read as AeroBuds.
    assert [h.title for h in hits if h.match == "all"] == ["AeroBuds Pro"]


def test_chinese_words_need_not_be_adjacent(shop: sqlite_utils.Database) -> None:
    # The title says 无线降噪蓝牙耳机: 降噪 and 耳机 are both there, but not side by side.
    hits = search_products(shop, "降噪耳机")
    assert (hits[0].title, hits[0].match) == ("AeroBuds Pro", "all")


def test_have_before_a_product_is_not_part_of_its_name(shop: sqlite_utils.Database) -> None:
    # 有 is kept in 有线 (wired), so "有耳机" is first searched as written, then relaxed.
    hits = search_products(shop, "有耳机吗？")
    assert {h.title for h in hits} == {"AeroBuds Pro", "BassLine Over-Ear Headphones"}
    assert {h.match for h in hits} == {"all"}


def test_prices_and_unknown_words_do_not_block_a_match(shop: sqlite_utils.Database) -> None:
    hits = search_products(shop, "any wireless charging pad under 30 pls asap")
    assert (hits[0].title, hits[0].match) == ("Wireless Charging Pad", "all")


def test_vocabulary_corrections() -> None:
    vocab = Vocabulary(
        {"earbuds": 50, "aerobuds": 1, "zenpa": 3, "zenra": 2},
        10,
        ["earbuds", "aerobuds", "zenpa", "zenra"],
    )
    assert vocab.corrections("airbuds") == ("earbuds", "aerobuds")  # two edits each; commoner first
    assert vocab.corrections("aerobdus") == ("aerobuds",)  # a swapped pair is one edit
    assert vocab.corrections("zenra") == ()
    assert vocab.corrections("zenra", include_known=True) == ("zenpa",)
    assert vocab.corrections("xq") == ()


def test_unrelated_chinese_does_not_match(shop: sqlite_utils.Database) -> None:
    assert search_products(shop, "冰箱") == []


def test_hits_carry_ids_scores_snippets_and_prices(shop: sqlite_utils.Database) -> None:
    hits = search_products(shop, "headphones")
    assert titles(hits)[:2] == ["BassLine Over-Ear Headphones", "AeroBuds Pro"]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    top = hits[0]
    assert top.source_id == "product:2" and top.id == 2 and top.handle == "bassline-over-ear"
    assert "headphones" in top.snippet.lower()
    assert (top.min_price_cents, top.min_price, top.total_stock) == (5999, 59.99, 12)
    assert top.category == "Audio > Headphones" and top.category_zh == "耳机"
    assert top.sku == "SON-BL-01" and not top.variant_matched


def test_title_outranks_description(shop: sqlite_utils.Database) -> None:
    # "earbuds" is in AeroBuds' description and the charging pad's description, and in
    # the category of neither; the pad mentions it once in a short text. Both are found.
    assert set(titles(search_products(shop, "earbuds"))) == {
        "AeroBuds Pro",
        "Wireless Charging Pad",
    }
    assert titles(search_products(shop, "wireless"))[0] == "Wireless Charging Pad"


def test_drafts_are_never_offered(shop: sqlite_utils.Database) -> None:
    assert search_products(shop, "secret prototype") == []
    assert search_products(shop, "SON-SP-1") == []


def test_sku_in_query_picks_that_variant(shop: sqlite_utils.Database) -> None:
    hits = search_products(shop, "is SON-ABP-WHT available?")
    assert hits[0].title == "AeroBuds Pro"
    assert (hits[0].sku, hits[0].variant_matched, hits[0].match) == ("SON-ABP-WHT", True, "sku")
    assert search_products(shop, "son-abp-wht")[0].sku == "SON-ABP-WHT"
    assert search_products(shop, "np-th-red-m")[0].variant_stock == 7


def test_colour_and_size_pick_the_variant(shop: sqlite_utils.Database) -> None:
    red = search_products(shop, "red hoodie")[0]
    assert (red.sku, red.variant_matched) == ("NP-TH-RED-M", True)
    blue_l = search_products(shop, "trail hoodie blue L")[0]
    assert blue_l.sku == "NP-TH-BLU-L"
    plain = search_products(shop, "hoodie")[0]
    assert plain.sku == "NP-TH-BLU-M" and not plain.variant_matched


# --------------------------------------------------------------------------- filters


def test_max_price_filter(shop: sqlite_utils.Database) -> None:
    assert set(titles(search_products(shop, "sonique"))) == {
        "AeroBuds Pro",
        "BassLine Over-Ear Headphones",
    }
    assert titles(search_products(shop, "sonique", max_price=100)) == [
        "BassLine Over-Ear Headphones"
    ]
    assert search_products(shop, "sonique", max_price=10) == []


def test_in_stock_filter(shop: sqlite_utils.Database) -> None:
    assert titles(search_products(shop, "mug")) == ["Café Crème Mug"]
    assert search_products(shop, "mug", in_stock=True) == []


def test_price_and_stock_must_hold_for_one_variant(shop: sqlite_utils.Database) -> None:
    # The only in-stock AeroBuds is 129.99; the white one is out of stock.
    assert (
        search_products(shop, "aerobuds", in_stock=True, max_price=129.99)[0].sku == "SON-ABP-BLK"
    )
    hoodie = search_products(shop, "hoodie red", in_stock=True, max_price=45)
    assert hoodie[0].sku == "NP-TH-BLU-M"  # red costs 48, so the cheaper in-stock blue one


@pytest.mark.parametrize(
    "category", ["Headphones", "headphones", "耳机", "Audio", "AUDIO > HEADPHONES", "headphnes"]
)
def test_category_filter_by_name_path_or_chinese(
    shop: sqlite_utils.Database, category: str
) -> None:
    hits = search_products(shop, "earbuds", category=category)
    assert titles(hits) == ["AeroBuds Pro"]


def test_unknown_category_gives_nothing(shop: sqlite_utils.Database) -> None:
    assert resolve_category(shop, "garden furniture") == []
    assert search_products(shop, "earbuds", category="garden furniture") == []
    assert sorted(resolve_category(shop, "clothing")) == [3, 4]
    assert resolve_category(shop, "hoodie") == [4]


# --------------------------------------------------------------------------- FAQs


def test_faq_search_in_english_and_chinese(shop: sqlite_utils.Database) -> None:
    en = search_faqs(shop, "how long does delivery take?")
    assert en[0].source_id == "faq:shipping-times:en"
    assert en[0].snippet and en[0].score > 0
    zh = search_faqs(shop, "退货政策")
    assert zh[0].source_id == "faq:returns-window:zh"
    assert search_faqs(shop, "can I pay with paypal", language="en")[0].key == "payment-methods"
    assert search_faqs(shop, "支付宝")[0].source_id == "faq:payment-methods:zh"


def test_faq_language_filter_and_typos(shop: sqlite_utils.Database) -> None:
    hits = search_faqs(shop, "paypal", language="zh")
    assert [h.language for h in hits] == ["zh"]
    assert search_faqs(shop, "delivary time")[0].key == "shipping-times"


def test_faq_intent_fallback(shop: sqlite_utils.Database) -> None:
    hits = search_faqs(shop, "something unrelated entirely", intent="return_policy", language="en")
    assert [(h.source_id, h.match) for h in hits] == [("faq:returns-window:en", "intent")]
    assert search_faqs(shop, "something unrelated entirely") == []
    # The intent narrows the search to its entries...
    assert [h.key for h in search_faqs(shop, "delivery", intent="return_policy")] == [
        "returns-window"
    ]
    # ...unless no entry carries it: then it must not hide every answer.
    assert search_faqs(shop, "refund", intent="no_such_intent", language="en")[0].key == (
        "returns-window"
    )


# --------------------------------------------------------------------------- index upkeep


def test_search_index_exists_after_migrations(db: sqlite_utils.Database) -> None:
    names = set(db.table_names())
    assert {"products_fts", "faqs_fts"} <= names
    indexes = {r[0] for r in db.execute("select name from sqlite_master where type = 'index'")}
    assert "variants_sku_nocase" in indexes


def test_incremental_index_updates(shop: sqlite_utils.Database) -> None:
    shop.execute(
        "insert into products(id, handle, title, description, brand, category_id) "
        "values (17, 'zephyr-kettle', 'Zephyr Kettle', 'A quiet electric kettle.', 'Homely', 5)"
    )
    shop.execute(
        "insert into variants(product_id, sku, price_cents, stock) values (17, 'HM-ZK-1', 3900, 4)"
    )
    shop.conn.commit()
    assert search_products(shop, "zephyr") == []
    assert index_products(shop, [17]) == 1
    assert titles(search_products(shop, "zephyr kettle")) == ["Zephyr Kettle"]
    # The typo vocabulary follows the index, without reopening the database.
    assert titles(search_products(shop, "zepyhr"))[:1] == ["Zephyr Kettle"]

    shop.execute("update products set title = 'Mistral Kettle' where id = 17")
    shop.conn.commit()
    index_products(shop, [17])
    assert search_products(shop, "zephyr") == []
    assert titles(search_products(shop, "mistral")) == ["Mistral Kettle"]

    shop.execute("update products set status = 'archived' where id = 17")
    shop.conn.commit()
    assert index_products(shop, [17]) == 0
    assert search_products(shop, "mistral") == []

    shop.execute("delete from products where id = 1")
    shop.conn.commit()
    index_products(shop, [1, 999])
    assert search_products(shop, "aerobuds") == []
    assert index_products(shop, []) == 0


def test_rebuild_joins_the_callers_transaction(shop: sqlite_utils.Database) -> None:
    shop.conn.execute(
        "insert into products(id, handle, title) values (8, 'ghost-lamp', 'Ghost Lamp')"
    )
    assert shop.conn.in_transaction
    rebuild_product_index(shop)
    assert titles(search_products(shop, "ghost lamp")) == ["Ghost Lamp"]
    shop.conn.rollback()
    assert search_products(shop, "ghost lamp") == []
    assert titles(search_products(shop, "aerobuds")) == ["AeroBuds Pro"]


def test_missing_index_is_rebuilt_on_demand(shop: sqlite_utils.Database) -> None:
    shop.execute("drop table products_fts")
    shop.execute("drop table faqs_fts")
    shop.conn.commit()
    assert search_faqs(shop, "refund")[0].key == "returns-window"
    assert titles(search_products(shop, "aerobuds"))[0] == "AeroBuds Pro"


def test_get_product_returns_variants_specs_and_tags(shop: sqlite_utils.Database) -> None:
    product = get_product(shop, 1)
    assert product is not None
    assert product.source_id == "product:1" and product.title == "AeroBuds Pro"
    assert [v.sku for v in product.variants] == ["SON-ABP-BLK", "SON-ABP-WHT"]
    assert product.variants[1].in_stock is False and product.variants[0].price == 129.99
    assert product.specs == {"Battery": "30 h"} and product.tags == ["bluetooth"]
    assert (product.min_price_cents, product.total_stock, product.category) == (
        12999,
        5,
        "Audio > Headphones",
    )
    assert get_product(shop, 999) is None


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def shop_path(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    kb = open_db(path)
    seed_shop(kb)
    kb.conn.close()
    return path


def run_cli(*args: str) -> tuple[int, str, str]:
    from shopassist.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_search_json(shop_path: Path) -> None:
    code, out, _ = run_cli("search", "airbuds pro", "--json", "--db", str(shop_path))
    assert code == 0
    data = json.loads(out)
    assert data[0]["title"] == "AeroBuds Pro"
    for key in ("sku", "title", "price", "stock", "score", "id", "source_id", "snippet"):
        assert key in data[0]
    assert (data[0]["sku"], data[0]["price"], data[0]["stock"]) == ("SON-ABP-BLK", 129.99, 5)


def test_cli_search_table_and_filters(shop_path: Path) -> None:
    code, out, _ = run_cli("search", "sonique", "--max-price", "100", "--db", str(shop_path))
    assert code == 0
    assert "BassLine" in out and "AeroBuds" not in out
    code, out, _ = run_cli(
        "search", "earbuds", "--category", "耳机", "--in-stock", "--limit", "1", "--json",
        "--db", str(shop_path),
    )  # fmt: skip
    assert code == 0 and [d["title"] for d in json.loads(out)] == ["AeroBuds Pro"]


def test_cli_search_no_results_and_hostile_text(shop_path: Path) -> None:
    code, out, _ = run_cli("search", "冰箱", "--db", str(shop_path))
    assert code == 0 and "No products match" in out
    code, out, _ = run_cli("search", '"NEAR( * AND -', "--json", "--db", str(shop_path))
    assert code == 0 and isinstance(json.loads(out), list)


def test_cli_table_shows_markup_like_text_literally(shop_path: Path) -> None:
    kb = open_db(shop_path)
    kb.execute("update products set title = 'Trail Hoodie [/] [bold]' where id = 3")
    kb.conn.commit()
    index_products(kb, [3])
    kb.conn.close()
    code, out, _ = run_cli("search", "[/] hoodie [red]", "--db", str(shop_path))
    assert code == 0 and "Trail Hoodie [/] [bold]" in out
    code, out, _ = run_cli("search-faq", "[/] refund", "--db", str(shop_path))
    assert code == 0 and "faq:returns-window:en" in out


def test_cli_search_errors(shop_path: Path) -> None:
    code, _, err = run_cli("search", "x", "--category", "garden", "--db", str(shop_path))
    assert code == 1 and "no category matches 'garden'" in err and "Headphones" in err
    code, _, _ = run_cli("search", "x", "--limit", "0", "--db", str(shop_path))
    assert code == 2
    code, _, _ = run_cli("search", "x", "--max-price", "-5", "--db", str(shop_path))
    assert code == 2
    code, _, err = run_cli("search-faq", "refund", "--lang", "fr", "--db", str(shop_path))
    assert code == 2 and "--lang" in err
    code, _, err = run_cli("search", "x", "--category", "[/]", "--db", str(shop_path))
    assert code == 1 and "no category matches '[/]'" in err


def test_cli_search_faq(shop_path: Path) -> None:
    code, out, _ = run_cli("search-faq", "退货", "--json", "--db", str(shop_path))
    assert code == 0 and json.loads(out)[0]["source_id"] == "faq:returns-window:zh"
    code, out, _ = run_cli("search", "refund", "--faq", "--lang", "en", "--db", str(shop_path))
    assert code == 0 and "faq:returns-window:en" in out


@pytest.mark.parametrize("command", ["search", "search-faq"])
def test_cli_search_commands_have_help(command: str) -> None:
    code, out, _ = run_cli(command, "--help")
    assert code == 0 and "--json" in out
