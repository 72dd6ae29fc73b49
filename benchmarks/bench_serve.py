"""Load test of ``shopassist serve`` on loopback: ``python benchmarks/bench_serve.py [--quick]``.

Starts 2 server processes (``--no-llm``: the template path) on one copy of the demo shop's
database (SQLite, WAL), then 50 concurrent web sessions send 2,000 messages between them
over HTTP, each session waiting for its reply before the next message, as a customer
does. Bounded in count and time: it stops at the message count or the time limit,
whichever comes first, and says which.

Reports throughput, request latency p50/p95, and checks that every answered message was
stored as a turn (and logged for the page) in the shared database.

Baseline, measured in the same run: the same messages through ``Assistant.turn`` in one
process on another copy of the database (no HTTP, no concurrency). The ratios show what
HTTP, JSON, the live log and two processes sharing one SQLite file cost on top of a turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

MESSAGES = [
    "hello",
    "do you have wireless earbuds?",
    "tell me more about the second one",
    "what is your return policy?",
    "how long does shipping take?",
    "where is my order 10023?",
    "do you have a rain jacket in blue?",
    "which payment methods do you accept?",
    "thanks!",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_database(folder: Path) -> Path:
    from shopassist.kb.db import open_db
    from shopassist.kb.demo import load_demo

    path = folder / "shop.db"
    db = open_db(path)
    load_demo(db)
    db.conn.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()
    return path


def baseline(db_path: Path, count: int) -> list[float]:
    """Serial ``Assistant.turn`` latencies (ms) for the same message mix, no HTTP."""
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant

    settings = Settings(db=db_path, no_llm=True)
    times = []
    with Assistant.open(settings, db=db_path) as bot:
        for i in range(count):
            session = f"base{i // len(MESSAGES)}"
            start = time.perf_counter()
            bot.turn(session, MESSAGES[i % len(MESSAGES)], channel="api")
            times.append((time.perf_counter() - start) * 1000)
    return times


def start_servers(db_path: Path, count: int, folder: Path) -> tuple[list[Any], list[str]]:
    env = dict(os.environ)
    # The load comes from one address; the per-client and per-session limits are for the
    # open internet, not for this test.
    env["SHOPASSIST_SERVE_CLIENT_REQUESTS_PER_MINUTE"] = "10000000"
    env["SHOPASSIST_SERVE_SESSION_MESSAGES_PER_MINUTE"] = "100000"
    procs, urls = [], []
    for n in range(count):
        port = free_port()
        log = (folder / f"serve-{n}.log").open("w")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "shopassist", "serve", "--db", str(db_path)]
                + ["--no-llm", "--host", "127.0.0.1", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    return procs, urls


async def wait_ready(urls: list[str], procs: list[Any], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        for url, proc in zip(urls, procs, strict=True):
            while True:
                try:
                    if (await client.get(url + "/api/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {url} did not start")
                await asyncio.sleep(0.2)


async def load(
    urls: list[str], sessions: int, messages: int, time_limit: float
) -> tuple[list[float], dict[int, int], float, bool]:
    """(latencies ms of answered messages, status counts, wall seconds, hit the time limit)."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = [messages]
    deadline = time.monotonic() + time_limit
    timed_out = [False]

    async def customer(n: int, client: httpx.AsyncClient) -> None:
        session = uuid.uuid4().hex + f"-{n}"
        url = urls[n % len(urls)] + "/api/messages"
        i = 0
        while remaining[0] > 0:
            if time.monotonic() > deadline:
                timed_out[0] = True
                return
            remaining[0] -= 1
            text = MESSAGES[i % len(MESSAGES)]
            i += 1
            start = time.perf_counter()
            try:
                r = await client.post(url, json={"session": session, "text": text})
                code = r.status_code
            except httpx.HTTPError:
                code = 0
            statuses[code] = statuses.get(code, 0) + 1
            if code == 200:
                latencies.append((time.perf_counter() - start) * 1000)

    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(customer(n, client) for n in range(sessions)))
        wall = time.perf_counter() - start
    return latencies, statuses, wall, timed_out[0]


async def serial(url: str, count: int) -> list[float]:
    """One customer at a time over HTTP: the request's own cost, without queueing."""
    import httpx

    times = []
    session = uuid.uuid4().hex
    async with httpx.AsyncClient(timeout=60) as client:
        for i in range(count):
            start = time.perf_counter()
            r = await client.post(
                url + "/api/messages",
                json={"session": session, "text": MESSAGES[i % len(MESSAGES)]},
            )
            r.raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    return times


def stored(db_path: Path) -> tuple[int, int]:
    from shopassist.kb import live_queue
    from shopassist.kb.db import open_db

    db = open_db(db_path)
    try:
        turns = live_queue.stored_turn_count(db)
        logged = db.execute("select count(*) from live_events where author = 'bot'").fetchone()[0]
    finally:
        db.conn.close()
    return turns, int(logged)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 sessions, 200 messages")
    parser.add_argument("--sessions", type=int, default=None)
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=None, help="seconds of load")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sessions = args.sessions or (10 if args.quick else 50)
    messages = args.messages or (200 if args.quick else 2000)
    time_limit = args.time_limit or (60.0 if args.quick else 300.0)

    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    procs: list[Any] = []
    try:
        db_path = build_database(folder)
        base_path = folder / "baseline.db"
        shutil.copy(db_path, base_path)
        base = baseline(base_path, min(messages, 300))
        procs, urls = start_servers(db_path, args.servers, folder)
        asyncio.run(wait_ready(urls, procs, 120))
        one = asyncio.run(serial(urls[0], min(messages, 100)))
        latencies, statuses, wall, timed_out = asyncio.run(
            load(urls, sessions, messages, time_limit)
        )
        turns, logged = stored(db_path)
        turns -= len(one)  # the serial customer's turns
        logged -= len(one)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(folder, ignore_errors=True)

    answered = statuses.get(200, 0)
    figures = {
        "servers": args.servers,
        "sessions": sessions,
        "messages_sent": sum(statuses.values()),
        "answered": answered,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wall_s": round(wall, 2),
        "stopped_by_time_limit": timed_out,
        "throughput_per_s": round(answered / wall, 1) if wall else 0.0,
        "latency_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "latency_p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "baseline_turn_p50_ms": round(percentile(base, 50), 2),
        "baseline_turn_p95_ms": round(percentile(base, 95), 2),
        "baseline_throughput_per_s": round(1000 / statistics.mean(base), 1),
        "serial_http_p50_ms": round(percentile(one, 50), 2),
        "serial_http_p95_ms": round(percentile(one, 95), 2),
        "turns_stored": turns,
        "replies_logged": logged,
        "every_turn_stored": turns == answered and logged == answered,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        f = figures
        print(
            f"{f['servers']} server processes, one SQLite file (WAL), {f['sessions']} concurrent "
            f"sessions, template path (--no-llm)"
        )
        print(
            f"sent {f['messages_sent']} messages in {f['wall_s']} s"
            + (" (stopped by the time limit)" if timed_out else "")
            + f"; status counts {f['statuses']}"
        )
        print(
            f"throughput {f['throughput_per_s']} replies/s vs one in-process Assistant "
            f"{f['baseline_throughput_per_s']}/s: "
            f"{f['throughput_per_s'] / f['baseline_throughput_per_s']:.2f}x"
        )
        print(
            f"one customer at a time: HTTP p50 {f['serial_http_p50_ms']} ms, "
            f"p95 {f['serial_http_p95_ms']} ms vs in-process turn p50 "
            f"{f['baseline_turn_p50_ms']} ms, p95 {f['baseline_turn_p95_ms']} ms: "
            f"{f['serial_http_p50_ms'] / f['baseline_turn_p50_ms']:.1f}x at p50"
        )
        if latencies:
            print(
                f"under load: request latency p50 {f['latency_p50_ms']} ms, "
                f"p95 {f['latency_p95_ms']} ms (mostly queueing: {f['sessions']} customers "
                f"share {f['servers']} processes on 2 cores)"
            )
        print(
            f"stored: {turns} web turns, {logged} logged replies for {answered} answered "
            f"messages: {'every turn stored' if f['every_turn_stored'] else 'MISMATCH'}"
        )
    ok = figures["every_turn_stored"] and answered == figures["messages_sent"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
