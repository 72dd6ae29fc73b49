"""Writers under a long import: ``python benchmarks/bench_concurrency.py [--quick] [--json]``.

Issue 10 measured 6 of 400 turns neither answered nor stored (exit code 0) when two
``converse --jsonl`` writers ran during a 200k-row ``import-catalog --replace``. This
replays that load on a fresh demo database in a temp directory:

- baseline: the same two writers with no import running (same run, same machine);
- load: the import starts first and holds the write lock; the two writers start while it
  runs. Both writers use the SAME sessions, so turn indices are allocated across
  processes on one conversation (the ``UNIQUE(conversation_id, idx)`` attack).

Every turn sent must be stored or reported: a reply line whose turn is in the database,
or an error line (and a non-zero exit). ``lost`` = sent - stored - reported; it must be 0.
Prints turns sent / stored / reported / lost, the import's time, the writers' wall time
under load against the baseline, and the worst wait of a writer (the longest gap between
two of its output lines), and the longest wait of a probe that takes the write lock every
0.2 s during the import. ``--quick``: 20k rows and 50 turns per writer. Exit 1 when a
turn is lost or a UNIQUE error is seen.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SHOPASSIST = [sys.executable, "-m", "shopassist"]
MESSAGES = [
    "hi",
    "what is your return policy?",
    "do you have a rain jacket?",
    "how long does delivery take?",
    "where is my order?",
    "thanks!",
    "do you ship to Canada?",
    "what payment methods do you accept?",
]
SESSIONS = 10  # shared by both writers


def generate_catalog(path: Path, rows: int) -> None:
    rng = random.Random(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["sku", "title", "description", "price", "stock", "category", "brand"])
        for i in range(rows):
            out.writerow(
                [
                    f"SKU-{i:07d}",
                    f"Item {i} {rng.choice(['Jacket', 'Mug', 'Lamp', 'Tent'])}",
                    "Durable materials and free returns.",
                    f"{rng.randint(300, 40000) / 100:.2f}",
                    rng.randint(0, 300),
                    rng.choice(["Clothing > Jackets", "Home > Kitchen", "Outdoor > Camping"]),
                    rng.choice(["Northline", "Peakware"]),
                ]
            )


def writer_input(name: str, turns: int) -> str:
    lines = []
    for i in range(turns):
        session = f"load-{i % SESSIONS}"
        text = f"{MESSAGES[i % len(MESSAGES)]} ({name} #{i})"
        lines.append(json.dumps({"session": session, "text": text}))
    return "\n".join(lines) + "\n"


class Writer(threading.Thread):
    """One ``converse --jsonl`` process fed ``turns`` lines; records its output lines."""

    def __init__(self, name: str, db: Path, turns: int, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.name, self.db, self.turns, self.env = name, db, turns, env
        self.replies: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.exit_code: int | None = None
        self.stderr = ""
        self.wall = 0.0
        self.worst_gap = 0.0
        self.first_line = 0.0  # process start to first output line (start-up + first turn)

    def run(self) -> None:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*SHOPASSIST, "converse", "--jsonl", "--no-llm", "--db", str(self.db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write(writer_input(self.name, self.turns))
        proc.stdin.close()
        last = start  # the first turn's wait counts too (minus the start-up, see below)
        for line in proc.stdout:
            now = time.perf_counter()
            if last == start:
                self.first_line = now - start
            else:
                self.worst_gap = max(self.worst_gap, now - last)
            last = now
            obj = json.loads(line)
            (self.errors if "error" in obj else self.replies).append(obj)
        self.stderr = proc.stderr.read()
        self.exit_code = proc.wait()
        self.wall = time.perf_counter() - start


class LockProbe(threading.Thread):
    """Takes the write lock (``begin immediate``, then commit) every 0.2 s while the import
    runs and records the longest wait: how long any writer could be held up."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.stop = threading.Event()
        self.worst = 0.0
        self.probes = 0

    def run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=600, isolation_level=None)
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                conn.execute("begin immediate")
                self.worst = max(self.worst, time.perf_counter() - started)
                conn.execute("commit")
                self.probes += 1
                self.stop.wait(0.2)
        finally:
            conn.close()


def stored_turns(db: Path) -> set[str]:
    """The user texts stored for the load sessions (each carries its writer and number)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "select user_text from turns where conversation_id like 'load-%'"
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def run_writers(db: Path, turns: int, env: dict[str, str]) -> list[Writer]:
    writers = [Writer(f"w{i}", db, turns, env) for i in (1, 2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    return writers


def tally(db: Path, writers: list[Writer], turns: int) -> dict[str, Any]:
    stored = stored_turns(db)
    sent = turns * len(writers)
    texts = {
        f"{MESSAGES[i % len(MESSAGES)]} ({w.name} #{i})" for w in writers for i in range(turns)
    }
    stored_mine = len(texts & stored)
    reported = sum(len(w.errors) for w in writers)
    unique_errors = sum("UNIQUE" in e.get("error", "") for w in writers for e in w.errors) + sum(
        "UNIQUE" in w.stderr for w in writers
    )
    answered_not_stored = sum(1 for w in writers for r in w.replies if r["text"] not in stored)
    return {
        "sent": sent,
        "stored": stored_mine,
        "reported_errors": reported,
        "lost": sent - stored_mine - reported,
        "answered_but_not_stored": answered_not_stored,
        "unique_errors": unique_errors,
        "exit_codes": [w.exit_code for w in writers],
        "writers_wall_s": round(max(w.wall for w in writers), 2),
        "worst_wait_s": round(max(w.worst_gap for w in writers), 2),
        "first_line_s": round(max(w.first_line for w in writers), 2),
        "error_samples": [e["error"][:160] for w in writers for e in w.errors][:3],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, 50 turns per writer")
    parser.add_argument("--rows", type=int, default=None, help="catalog rows (default 200000)")
    parser.add_argument("--turns", type=int, default=None, help="turns per writer (default 200)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    rows = args.rows or (20_000 if args.quick else 200_000)
    turns = args.turns or (50 if args.quick else 200)

    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "SHOPASSIST_HOME": str(tmp / "home")}
        catalog = tmp / "catalog.csv"
        generate_catalog(catalog, rows)
        db = tmp / "shop.db"
        subprocess.run(
            [*SHOPASSIST, "init", "--demo", "--db", str(db)],
            check=True,
            capture_output=True,
            env=env,
        )
        # Warm-up: trains (or loads) the intent model once, outside both measurements.
        subprocess.run(
            [*SHOPASSIST, "ask", "hi", "--no-llm", "--db", str(db)],
            check=True,
            capture_output=True,
            env=env,
        )

        baseline = tally(db, run_writers(db, turns, env), turns)
        conn = sqlite3.connect(db)
        conn.execute("delete from turns where conversation_id like 'load-%'")
        conn.execute("delete from conversations where id like 'load-%'")
        conn.commit()
        conn.close()

        start = time.perf_counter()
        importer = subprocess.Popen(
            [*SHOPASSIST, "import-catalog", str(catalog), "--replace", "-q", "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        probe = LockProbe(db)
        probe.start()
        time.sleep(1.0)  # the import is under way before the writers start
        writers = run_writers(db, turns, env)
        out, err = importer.communicate()
        import_s = time.perf_counter() - start
        probe.stop.set()
        probe.join()
        load = tally(db, writers, turns)
        load["import_s"] = round(import_s, 2)
        load["lock_probe_worst_wait_s"] = round(probe.worst, 2)
        load["lock_probes"] = probe.probes
        load["import_exit"] = importer.returncode
        if importer.returncode:
            load["import_error"] = (err or out)[-300:]

    figures = {"rows": rows, "turns_per_writer": turns, "baseline": baseline, "load": load}
    ratio = load["writers_wall_s"] / baseline["writers_wall_s"] if baseline["writers_wall_s"] else 0
    figures["writers_wall_ratio"] = round(ratio, 2)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{rows:,}-row import-catalog --replace + 2 writers x {turns} turns on shared sessions"
        )
        for label, f in (("baseline (no import)", baseline), ("under import", load)):
            print(
                f"  {label:22} sent {f['sent']}, stored {f['stored']}, reported "
                f"{f['reported_errors']}, lost {f['lost']}, UNIQUE errors {f['unique_errors']}, "
                f"exit {f['exit_codes']}, writers {f['writers_wall_s']} s, "
                f"first line after {f['first_line_s']} s, worst wait between lines "
                f"{f['worst_wait_s']} s"
            )
        print(f"  import: {load['import_s']} s (exit {load['import_exit']})")
        print(
            f"  longest write-lock wait of a probe during the import: "
            f"{load['lock_probe_worst_wait_s']} s ({load['lock_probes']} probes)"
        )
        print(f"  writers' wall time under import vs baseline: {ratio:.2f}x")
        if load["error_samples"]:
            print(f"  error samples: {load['error_samples']}")
    bad = any(
        f["lost"] or f["unique_errors"] or f["answered_but_not_stored"] for f in (baseline, load)
    )
    return 1 if bad or load["import_exit"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
