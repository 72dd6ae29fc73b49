"""Search latency at 10k and 100k products: ``python benchmarks/bench_search.py [--quick]``.

Generates synthetic catalogs (English titles, some Chinese titles and descriptions,
invented brand and model names so the vocabulary is as varied as a real shop's) into
``benchmarks/.data/``, then runs 1,000 mixed queries (exact words, typos, Chinese,
conversational, SKUs) through ``search_products`` and, as the baseline, through a raw
FTS5 ``MATCH … ORDER BY rank LIMIT 10`` of the same sanitized tokens. Prints p50/p95
and their ratio, and recall@10 of the intended product for the typo and SKU queries.
Target: ``search_products`` p95 at most 10 ms at 100k products.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shopassist.kb.db import get_meta, open_db, set_meta
from shopassist.kb.search import clear_search_caches, search_products
from shopassist.kb.search_index import rebuild_product_index
from shopassist.kb.text_tokens import parse_query

DATA = Path(__file__).parent / ".data"
GENERATOR_VERSION = "5"
TARGET_P95_MS = 10.0
PASSES = 3

ADJECTIVES = [
    "wireless",
    "portable",
    "compact",
    "waterproof",
    "lightweight",
    "ergonomic",
    "premium",
    "classic",
    "vintage",
    "modern",
    "foldable",
    "rechargeable",
    "smart",
    "slim",
    "heavy-duty",
    "organic",
    "stainless",
    "insulated",
    "breathable",
    "thermal",
    "padded",
    "adjustable",
    "magnetic",
    "ceramic",
    "bamboo",
    "leather",
    "cotton",
    "wool",
    "linen",
    "cordless",
    "digital",
    "ultra",
    "quiet",
    "fast",
    "noise-cancelling",
    "outdoor",
    "indoor",
    "travel",
    "kids",
    "mens",
    "womens",
    "everyday",
    "professional",
    "mini",
    "mega",
    "soft",
    "rugged",
]
NOUNS = [
    "earbuds",
    "headphones",
    "speaker",
    "charger",
    "cable",
    "keyboard",
    "mouse",
    "monitor",
    "lamp",
    "kettle",
    "mug",
    "teapot",
    "blender",
    "toaster",
    "backpack",
    "wallet",
    "jacket",
    "hoodie",
    "sweater",
    "scarf",
    "gloves",
    "beanie",
    "sneakers",
    "boots",
    "sandals",
    "socks",
    "tent",
    "sleeping-bag",
    "lantern",
    "bottle",
    "thermos",
    "pan",
    "skillet",
    "knife",
    "cutting-board",
    "blanket",
    "pillow",
    "towel",
    "rug",
    "candle",
    "diffuser",
    "watch",
    "band",
    "tracker",
    "camera",
    "tripod",
    "drone",
    "tablet",
    "stand",
    "case",
    "sleeve",
    "router",
    "hub",
    "adapter",
    "dock",
]
COLOURS = [
    "Black",
    "White",
    "Blue",
    "Red",
    "Green",
    "Grey",
    "Navy",
    "Beige",
    "Pink",
    "Olive",
    "Brown",
    "Yellow",
]
SIZES = ("XS", "S", "M", "L", "XL")
CATEGORIES = [
    f"{top} > {sub}"
    for top, subs in {
        "Audio": ("Headphones", "Speakers", "Earbuds"),
        "Computers": ("Keyboards", "Mice", "Monitors", "Accessories"),
        "Kitchen": ("Cookware", "Drinkware", "Appliances", "Knives"),
        "Clothing": ("Hoodies", "Jackets", "Knitwear", "Accessories"),
        "Footwear": ("Sneakers", "Boots", "Sandals"),
        "Outdoor": ("Camping", "Hydration", "Lighting"),
        "Home": ("Bedding", "Bath", "Decor", "Lighting"),
        "Cameras": ("Cameras", "Drones", "Tripods"),
        "Wearables": ("Watches", "Trackers", "Bands"),
        "Networking": ("Routers", "Hubs", "Adapters"),
    }.items()
    for sub in subs
]
ZH_ADJECTIVES = [
    "无线",
    "蓝牙",
    "降噪",
    "便携",
    "防水",
    "轻便",
    "智能",
    "复古",
    "时尚",
    "保温",
    "加厚",
    "纯棉",
    "真皮",
    "迷你",
    "户外",
    "儿童",
    "男士",
    "女士",
    "快充",
    "静音",
]
ZH_NOUNS = [
    "耳机",
    "音箱",
    "充电器",
    "键盘",
    "鼠标",
    "台灯",
    "水壶",
    "马克杯",
    "背包",
    "钱包",
    "夹克",
    "卫衣",
    "毛衣",
    "围巾",
    "手套",
    "运动鞋",
    "靴子",
    "帐篷",
    "保温杯",
    "煎锅",
    "菜刀",
    "毯子",
    "枕头",
    "毛巾",
    "手表",
    "相机",
    "无人机",
    "平板",
    "路由器",
    "数据线",
]
ZH_FILLER = [
    "采用优质材料，做工精细，经久耐用",
    "适合日常使用和旅行携带",
    "一年质保，七天无理由退货",
    "",
]
FILLER = [
    "designed",
    "for",
    "everyday",
    "use",
    "with",
    "a",
    "durable",
    "finish",
    "and",
    "a",
    "comfortable",
    "fit",
    "that",
    "lasts",
    "through",
    "long",
    "days",
    "easy",
    "to",
    "clean",
    "and",
    "built",
    "from",
    "responsibly",
    "sourced",
    "materials",
    "backed",
    "by",
    "a",
    "two",
    "year",
    "warranty",
    "ships",
    "in",
    "recyclable",
    "packaging",
]
SYLLABLES = [
    "ka",
    "lo",
    "vi",
    "ra",
    "ne",
    "tor",
    "ix",
    "zen",
    "mo",
    "lu",
    "pa",
    "qua",
    "re",
    "sol",
    "tri",
    "vex",
    "ar",
    "el",
    "on",
    "um",
    "bri",
    "cor",
    "dax",
    "fen",
    "gal",
    "hal",
]


def pseudo_word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


@dataclass
class Catalog:
    titles: dict[int, str] = field(default_factory=dict)
    models: dict[int, str] = field(default_factory=dict)
    nouns: dict[int, str] = field(default_factory=dict)
    zh: dict[int, tuple[str, str]] = field(default_factory=dict)
    skus: dict[int, list[str]] = field(default_factory=dict)


def generate(path: Path, n: int, seed: int = 7) -> None:
    """Write a synthetic catalog of ``n`` products and build its search index."""
    rng = random.Random(seed)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    db = open_db(path)
    brands = sorted({pseudo_word(rng, 2) for _ in range(max(50, n // 50))})
    models = sorted({pseudo_word(rng, rng.randint(2, 3)) for _ in range(max(200, n // 5))})
    cat_rows = [(i + 1, p, p.split(" > ")[1], None) for i, p in enumerate(CATEGORIES)]
    db.conn.executemany(
        "insert into categories(id, path, name, name_zh) values (?,?,?,?)", cat_rows
    )
    products = []
    variants = []
    for pid in range(1, n + 1):
        brand, model = rng.choice(brands), rng.choice(models)
        adj, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
        title = f"{brand} {model} {adj.capitalize()} {noun.replace('-', ' ').capitalize()}"
        desc = " ".join(rng.choice(FILLER) for _ in range(rng.randint(20, 40)))
        desc = f"The {model} {noun.replace('-', ' ')} is {adj} and {desc}."
        title_zh = desc_zh = None
        if rng.random() < 0.4:
            zadj, znoun = rng.choice(ZH_ADJECTIVES), rng.choice(ZH_NOUNS)
            title_zh = f"{brand} {zadj}{znoun}"
            desc_zh = f"{zadj}{znoun}，" + "。".join(rng.sample(ZH_FILLER, 3))
        products.append(
            (
                pid,
                f"p-{pid}",
                title,
                title_zh,
                desc,
                desc_zh,
                brand,
                rng.randint(1, len(CATEGORIES)),
            )
        )
        for k in range(rng.choice((1, 1, 2, 3, 4))):
            colour = rng.choice(COLOURS)
            sku = f"{brand[:3].upper()}-{pid:06d}-{colour[:3].upper()}{k}"
            variants.append(
                (
                    pid,
                    sku,
                    colour,
                    json.dumps({"Color": colour}),
                    colour,
                    rng.choice(SIZES) if noun in ("hoodie", "jacket", "sweater") else None,
                    rng.randint(5, 400) * 100 - 1,
                    rng.choice((0, 0, 3, 10, 25, 100)),
                    k,
                )
            )
    with db.conn:
        db.conn.executemany(
            "insert into products(id, handle, title, title_zh, description, description_zh, "
            "brand, category_id) values (?,?,?,?,?,?,?,?)",
            products,
        )
        db.conn.executemany(
            "insert into variants(product_id, sku, title, options, colour, size, price_cents, "
            "stock, position) values (?,?,?,?,?,?,?,?,?)",
            variants,
        )
    start = time.perf_counter()
    rebuild_product_index(db)
    set_meta(db, "bench_rebuild_seconds", f"{time.perf_counter() - start:.2f}")
    set_meta(db, "bench_generator", f"{GENERATOR_VERSION}:{n}")
    db.conn.commit()
    db.conn.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()


def typo(rng: random.Random, word: str) -> str:
    w = list(word.lower())
    i = rng.randrange(1, len(w) - 1)
    op = rng.choice(("sub", "del", "ins", "swap"))
    if op == "sub":
        w[i] = rng.choice("aeiourstnl")
    elif op == "del":
        del w[i]
    elif op == "ins":
        w.insert(i, rng.choice("aeiourstnl"))
    else:
        w[i], w[i + 1] = w[i + 1], w[i]
    return "".join(w)


@dataclass
class Query:
    text: str
    kind: str
    target: int | None = None  # the product the query was made from, when it is specific


def make_queries(db_path: Path, count: int, seed: int = 11) -> list[Query]:
    rng = random.Random(seed)
    db = open_db(db_path)
    n = db.execute("select max(id) from products").fetchone()[0]
    queries: list[Query] = []
    kinds = (
        ["words"] * 25 + ["typo"] * 20 + ["zh"] * 15 + ["sku"] * 10 + ["chat"] * 20 + ["noun"] * 10
    )
    while len(queries) < count:
        kind = rng.choice(kinds)
        pid = rng.randint(1, n)
        title, title_zh = db.execute(
            "select title, title_zh from products where id = ?", [pid]
        ).fetchone()
        brand, model, adj, *noun = title.split()
        noun_text = " ".join(noun).lower()
        if kind == "words":
            queries.append(Query(f"{model} {noun_text}", kind, pid))
        elif kind == "typo":
            queries.append(Query(f"{brand.lower()} {typo(rng, model)} {noun_text}", kind, pid))
        elif kind == "zh":
            if not title_zh:
                continue
            zh = title_zh.split()[1]
            queries.append(Query(rng.choice((zh, f"有没有{zh}", f"{zh}多少钱")), kind))
        elif kind == "sku":
            sku = db.execute(
                "select sku from variants where product_id = ? limit 1", [pid]
            ).fetchone()[0]
            queries.append(Query(rng.choice((sku, sku.lower())), kind, pid))
        elif kind == "chat":
            queries.append(
                Query(
                    f"do you have a {adj.lower()} {noun_text} under {rng.randint(2, 30) * 10}", kind
                )
            )
        else:
            queries.append(Query(rng.choice(NOUNS).replace("-", " "), kind))
    db.conn.close()
    return queries


def raw_expr(text: str) -> str | None:
    parsed = parse_query(text)
    return " ".join(t.phrase for t in parsed.tokens) or None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall ms, this thread's CPU ms, result). CPU time ignores other processes' load."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000, result


def summarize(label: str, ours: list[float], raw: list[float]) -> tuple[float, float]:
    print(f"  {label:28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, values in (("search_products", ours), ("raw FTS5 MATCH", raw)):
        print(
            f"    {name:26} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} "
            f"{percentile(values, 99):8.2f} {statistics.fmean(values):8.2f}"
        )
    p50, p95 = percentile(ours, 50), percentile(ours, 95)
    print(
        f"    ratio search/raw           p50 {p50 / percentile(raw, 50):.1f}x   "
        f"p95 {p95 / percentile(raw, 95):.1f}x"
    )
    return p50, p95


def ensure_catalog(n: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"search_{n}.db"
    fresh = True
    if path.exists():
        probe = open_db(path)
        fresh = get_meta(probe, "bench_generator") != f"{GENERATOR_VERSION}:{n}"
        probe.conn.close()
    if fresh:
        print(f"generating {n:,} products into {path} …", flush=True)
        gen_start = time.perf_counter()
        generate(path, n)
        print(f"  generated in {time.perf_counter() - gen_start:.1f} s", flush=True)
    return path


def bench(n: int, query_count: int) -> dict[str, float]:
    path = ensure_catalog(n)
    queries = make_queries(path, query_count)
    db = open_db(path)
    rebuild_s = float(get_meta(db, "bench_rebuild_seconds") or "nan")
    clear_search_caches()
    first_ms, _, _ = timed(lambda: search_products(db, "warm up the vocabulary"))

    # This machine is shared: each query's time is the median of PASSES passes, and every
    # pass starts with cold caches (vocabulary reloaded outside the timing, no remembered
    # typo corrections), so the median filters scheduler noise, not work.
    wall: dict[str, list[list[float]]] = {
        "ours": [[] for _ in queries],
        "raw": [[] for _ in queries],
    }
    cpu: dict[str, list[list[float]]] = {
        "ours": [[] for _ in queries],
        "raw": [[] for _ in queries],
    }
    recall: dict[str, list[bool]] = {"typo": [], "sku": [], "words": []}
    raw_recall: dict[str, list[bool]] = {"typo": [], "sku": [], "words": []}
    sql = "select rowid from products_fts where products_fts match ? order by rank limit 10"
    load_before = os.getloadavg()[0]
    for attempt in range(PASSES):
        clear_search_caches()
        search_products(db, "warm up the vocabulary")
        for i, q in enumerate(queries):
            w, c, hits = timed(lambda q=q: search_products(db, q.text, limit=10))  # type: ignore[misc]
            wall["ours"][i].append(w)
            cpu["ours"][i].append(c)
            expr = raw_expr(q.text)
            raw_ids: list[int] = []
            if expr:
                w, c, rows = timed(lambda e=expr: db.execute(sql, [e]).fetchall())  # type: ignore[misc]
                wall["raw"][i].append(w)
                cpu["raw"][i].append(c)
                raw_ids = [r[0] for r in rows]  # type: ignore[attr-defined]
            if attempt == 0 and q.kind in recall and q.target is not None:
                recall[q.kind].append(any(h.id == q.target for h in hits))  # type: ignore[attr-defined]
                raw_recall[q.kind].append(q.target in raw_ids)
    load_after = os.getloadavg()[0]
    db.conn.close()

    def medians(runs: list[list[float]]) -> list[float]:
        return [statistics.median(r) for r in runs if r]

    print(
        f"\n{n:,} products, {len(queries)} queries x {PASSES} passes; index rebuild "
        f"{rebuild_s:.2f} s; first query incl. vocabulary load {first_ms:.0f} ms; "
        f"load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} CPUs"
    )
    p50, p95 = summarize("wall clock", medians(wall["ours"]), medians(wall["raw"]))
    c50, c95 = summarize("CPU time (excludes others)", medians(cpu["ours"]), medians(cpu["raw"]))
    by_kind: dict[str, list[float]] = {}
    for q, runs in zip(queries, wall["ours"], strict=True):
        by_kind.setdefault(q.kind, []).append(statistics.median(runs))
    print(
        "  search_products p50/p95 wall ms by kind: "
        + ", ".join(
            f"{k} {percentile(v, 50):.1f}/{percentile(v, 95):.1f}"
            for k, v in sorted(by_kind.items())
        )
    )
    for kind in recall:
        if recall[kind]:
            ours_r = sum(recall[kind]) / len(recall[kind])
            raw_r = sum(raw_recall[kind]) / len(raw_recall[kind])
            print(
                f"  recall@10 {kind:6} search {ours_r:6.1%}   raw {raw_r:6.1%}   (n={len(recall[kind])})"
            )
    verdict = "OK" if p95 <= TARGET_P95_MS else "OVER TARGET"
    print(f"  p95 {p95:.2f} ms wall ({c95:.2f} ms CPU) vs target {TARGET_P95_MS} ms: {verdict}")
    return {"p50": p50, "p95": p95, "cpu_p50": c50, "cpu_p95": c95}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10k products and 300 queries only")
    args = parser.parse_args(argv)
    sizes = (10_000,) if args.quick else (10_000, 100_000)
    results = {n: bench(n, 300 if args.quick else 1000) for n in sizes}
    largest = results[max(results)]
    return 0 if largest["p95"] <= TARGET_P95_MS or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
