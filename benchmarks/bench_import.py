"""Catalog import speed and memory: ``python benchmarks/bench_import.py [--rows N] [--million]``.

Generates a generic product CSV (``benchmarks/.data/``) and imports it two ways, each in
a fresh subprocess on a fresh database, alternating, best of ``--repeat``:

- baseline: ``sqlite-utils insert DB products FILE --csv`` (text columns, no validation);
- ShopAssist: ``shopassist import-catalog FILE --db DB`` (detection, pydantic validation,
  duplicate-SKU check, upsert into products/variants/categories/tags, search index rebuild,
  all in one transaction).

Prints both times and the ratio (target: at most 1.5x). Peak memory is the child's
``ru_maxrss`` from ``os.wait4``. ``--million`` also imports 1,000,000 rows and compares its
peak memory with the smaller run, to show that memory stays flat as the file grows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parent / ".data"
TARGET_RATIO = 1.5
GENERATOR_VERSION = "1"

NOUNS = [
    "Hoodie",
    "Bottle",
    "Headphones",
    "Backpack",
    "Lamp",
    "Mug",
    "Sneakers",
    "Jacket",
    "Speaker",
    "Notebook",
    "Blender",
    "Tent",
    "Watch",
    "Scarf",
    "Kettle",
    "Charger",
]
ADJECTIVES = [
    "Trail",
    "Harbor",
    "Nimbus",
    "Aero",
    "Summit",
    "Coastal",
    "Urban",
    "Nordic",
    "Solar",
    "Velvet",
    "Granite",
    "Willow",
    "Ember",
    "Drift",
    "Pulse",
    "Quartz",
]
CATEGORIES = [
    "Clothing > Hoodies",
    "Home > Kitchen",
    "Audio > Headphones",
    "Bags > Backpacks",
    "Home > Lighting",
    "Sports > Running",
    "Outdoor > Camping",
    "Electronics > Power",
]
BRANDS = ["Northline", "Peakware", "Aerosonic", "Kettleworks", "Lumen & Co", "Driftwood"]
COLOURS = ["Black", "Navy", "Sand", "Olive", "Red", ""]
SIZES = ["S", "M", "L", "XL", ""]
HEADER = ["sku", "title", "description", "price", "compare_at", "stock", "category", "brand",
          "colour", "size", "tags", "barcode"]  # fmt: skip


def generate(rows: int) -> Path:
    """A deterministic CSV of ``rows`` products (regenerated only when missing)."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"import_{rows}_v{GENERATOR_VERSION}.csv"
    if path.exists():
        return path
    rng = random.Random(rows)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            noun, adjective = rng.choice(NOUNS), rng.choice(ADJECTIVES)
            price = rng.randint(300, 40000)
            writer.writerow(
                [
                    f"SKU-{i:07d}",
                    f"{adjective} {noun} {i}",
                    f"The {adjective.lower()} {noun.lower()} is built for everyday use: "
                    f"durable materials, a {rng.randint(1, 5)}-year warranty and free returns.",
                    f"{price / 100:.2f}",
                    f"{price * 1.2 / 100:.2f}" if rng.random() < 0.2 else "",
                    rng.randint(0, 300),
                    rng.choice(CATEGORIES),
                    rng.choice(BRANDS),
                    rng.choice(COLOURS),
                    rng.choice(SIZES),
                    ", ".join(rng.sample(["new", "sale", "gift", "eco", "bestseller"], 2)),
                    str(rng.randint(10**12, 10**13 - 1)),
                ]
            )
    tmp.replace(path)
    return path


def run_child(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one subprocess.

    CPU time is reported too because this machine is shared: wall time includes waiting
    for the disk and for other processes.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {stderr[-2000:]}")
    if process.stderr:
        process.stderr.close()
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def sqlite_utils_command(db: Path, csv_path: Path) -> list[str]:
    exe = Path(sys.executable).with_name("sqlite-utils")
    return [str(exe), "insert", str(db), "products", str(csv_path), "--csv"]


def shopassist_command(db: Path, csv_path: Path) -> list[str]:
    return [sys.executable, "-m", "shopassist", "import-catalog", str(csv_path), "--db",
            str(db), "--quiet", "--json"]  # fmt: skip


def fresh(tmp: Path, name: str) -> Path:
    path = tmp / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def compare(rows: int, repeat: int, tmp: Path) -> dict[str, float]:
    csv_path = generate(rows)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"{rows:,} rows, {size_mb:.1f} MB: {csv_path}")
    baseline, ours, base_cpu, our_cpu, our_rss = [], [], [], [], []
    for attempt in range(repeat):
        seconds, cpu, _ = run_child(sqlite_utils_command(fresh(tmp, "baseline.db"), csv_path))
        baseline.append(seconds)
        base_cpu.append(cpu)
        db = fresh(tmp, "shopassist.db")
        seconds, cpu, rss = run_child(shopassist_command(db, csv_path))
        ours.append(seconds)
        our_cpu.append(cpu)
        our_rss.append(rss)
        print(
            f"  run {attempt + 1}: sqlite-utils {baseline[-1]:.2f} s wall / {base_cpu[-1]:.2f} s "
            f"CPU, shopassist {seconds:.2f} s wall / {cpu:.2f} s CPU"
        )
    check = subprocess.run(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "print(c.execute('select count(*) from variants').fetchone()[0])", str(db)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    imported = int(check.stdout)
    if imported != rows:
        raise SystemExit(f"expected {rows} variants, found {imported}")
    best_base, best_ours = min(baseline), min(ours)
    ratio = best_ours / best_base
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  best: sqlite-utils insert --csv {best_base:.2f} s | shopassist import-catalog "
          f"{best_ours:.2f} s | ratio {ratio:.2f}x (target <= {TARGET_RATIO}x) {verdict}")  # fmt: skip
    cpu_ratio = min(our_cpu) / min(base_cpu)
    print(f"  best CPU: sqlite-utils {min(base_cpu):.2f} s | shopassist {min(our_cpu):.2f} s | "
          f"ratio {cpu_ratio:.2f}x")  # fmt: skip
    print(f"  shopassist: {rows / best_ours:,.0f} rows/s, peak RSS {max(our_rss):.0f} MiB")
    return {"rows": rows, "baseline_s": best_base, "shopassist_s": best_ours, "ratio": ratio,
            "baseline_cpu_s": min(base_cpu), "shopassist_cpu_s": min(our_cpu),
            "cpu_ratio": cpu_ratio, "peak_rss_mib": max(our_rss)}  # fmt: skip


def million(tmp: Path, small: dict[str, float]) -> dict[str, float]:
    rows = 1_000_000
    csv_path = generate(rows)
    print(f"{rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB: {csv_path}")
    seconds, _, rss = run_child(shopassist_command(fresh(tmp, "million.db"), csv_path))
    growth = rss / small["peak_rss_mib"]
    print(f"  shopassist import-catalog {seconds:.1f} s ({rows / seconds:,.0f} rows/s), "
          f"peak RSS {rss:.0f} MiB vs {small['peak_rss_mib']:.0f} MiB at "
          f"{int(small['rows']):,} rows ({growth:.2f}x for {rows / small['rows']:.0f}x the rows)")  # fmt: skip
    return {"rows": rows, "shopassist_s": seconds, "peak_rss_mib": rss, "rss_growth": growth}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; best is kept")
    parser.add_argument("--million", action="store_true", help="also import 1,000,000 rows")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.rows, args.repeat = 20_000, 1
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp_name:
        tmp = Path(tmp_name)
        results = {"compare": compare(args.rows, args.repeat, tmp)}
        if args.million:
            results["million"] = million(tmp, results["compare"])
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
