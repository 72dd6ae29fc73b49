"""The chat page in a real browser: Debian's Chromium, headless, driven by Playwright.

A real ``shopassist serve`` process (``--no-llm``) serves a copy of the demo shop; the
staff side is ``assist --live`` driven by Pilot in this process, on the same database.
Playwright cannot download its own browsers here, so it launches ``/usr/bin/chromium``
(``SHOPASSIST_CHROMIUM`` overrides). Without that browser the tests skip and say why,
unless ``SHOPASSIST_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes that a failure.
Screenshots go to ``SHOPASSIST_SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("SHOPASSIST_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("SHOPASSIST_REQUIRE_BROWSER") == "1"
# Headless and offline: no first-run UI, no background fetches, no GPU, fresh profile.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Read at import: the autouse fixture drops SHOPASSIST_* variables before each test.
SCREENSHOT_DIR = os.environ.get("SHOPASSIST_SCREENSHOT_DIR")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"browser tests are required here but {reason}")
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright.async_api import async_playwright, expect
except ImportError:  # pragma: no cover - dev dependency
    _skip_or_fail("Playwright is not installed (pip install -e '.[dev]')")
if not CHROMIUM.is_file():
    _skip_or_fail(f"no system Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(demo_db_path: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real server process on loopback; yields (base URL, database path)."""
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopassist", "serve", "--db", str(demo_db_path)]
        + ["--no-llm", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "api/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.close()
                    raise RuntimeError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.2)
        yield base, demo_db_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir for every test
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=PHONE,
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


async def say(page: Any, text: str) -> None:
    # While a message is in flight the page keeps the next one in the box, unsent.
    await expect(page.locator("#send")).to_be_enabled()
    await page.fill("#message", text)
    await page.press("#message", "Enter")


async def screenshot(page: Any, name: str) -> None:
    folder = SCREENSHOT_DIR
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(Path(folder) / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(PHONE)


async def test_a_product_question_gets_its_reply(server: tuple[str, Path], page: Any) -> None:
    base, _ = server
    await page.goto(base)
    await expect(page.get_by_role("heading", name="Customer service")).to_be_visible()
    await say(page, "do you have wireless earbuds?")
    await expect(page.locator(".msg.customer .body")).to_have_text(
        ["do you have wireless earbuds?"]
    )
    await expect(page.locator(".msg.bot .body").last).to_contain_text("AeroBuds")
    assert await page.locator("#message").input_value() == ""
    # fits a phone: nothing wider than the viewport
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await screenshot(page, "product")


async def test_an_order_question_is_answered_after_verification(
    server: tuple[str, Path], page: Any
) -> None:
    base, _ = server
    await page.goto(base)
    await say(page, "where is my order 10023?")
    bot = page.locator(".msg.bot .body")
    await expect(bot.last).to_contain_text("email")
    assert "delivered" not in (await bot.last.text_content() or "").lower()
    await say(page, "olivia.martinez@example.org")
    await expect(bot).to_have_count(2)
    await expect(bot.last).to_contain_text("10023")
    await expect(bot.last).to_contain_text("delivered")


async def test_a_chinese_question_gets_a_chinese_reply(server: tuple[str, Path], page: Any) -> None:
    base, _ = server
    await page.goto(base)
    await say(page, "这个耳机多少钱")
    reply = page.locator(".msg.bot .body").last
    await expect(reply).to_contain_text("$")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in await reply.text_content() or "")
    await screenshot(page, "zh")


async def test_hand_off_then_a_staff_reply_from_assist_appears(
    server: tuple[str, Path], page: Any
) -> None:
    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.tui.assist_app import AssistApp, StaffMessage
    from shopassist.tui.widgets.live_queue import LiveQueue
    from shopassist.tui.widgets.message_input import MessageInput

    base, db_path = server
    await page.goto(base)
    await say(page, "I want to talk to a human")
    await expect(page.locator("#handoff")).to_be_visible()
    await expect(page.locator("#handoff")).to_contain_text("A person will reply")
    session = await page.locator("main.chat").get_attribute("data-session")

    settings = Settings(db=db_path, no_llm=True)
    app = AssistApp(lambda: Assistant.open(settings, db=db_path), autoload_llm=False, live=True)
    reply = "Hi, I'm Sam from Pinewood Market. I'll look into it now."
    async with app.run_test(size=(150, 50)) as pilot:
        queue = app.query_one(LiveQueue)
        await until(pilot, lambda: session in queue.rows_by_session, "the web conversation")
        assert queue.rows_by_session[session]["handoff"]
        queue.focus()
        queue.move_cursor(row=queue.get_row_index(session))
        await pilot.press("enter")
        await pilot.press("t")
        app.query_one("#reply-input", MessageInput).load_text(reply)
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(StaffMessage)), "the reply to be sent")
        sent_at = time.monotonic()
        staff = page.locator(".msg.staff .body")
        await expect(staff).to_have_text([reply], timeout=5000)
        elapsed = time.monotonic() - sent_at
    assert elapsed < 2.0, f"the staff reply took {elapsed:.2f} s to reach the page"
    await screenshot(page, "handoff")


async def test_hostile_text_renders_inert(server: tuple[str, Path], page: Any) -> None:
    from shopassist.kb import live_queue
    from shopassist.kb.db import open_db

    base, db_path = server
    await page.goto(base)
    await page.evaluate("window.__pwned = 0")
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    escapes = "\x1b[31mred\x1b[0m \x1b]0;title\x07 done"
    await say(page, hostile)
    await expect(page.locator(".msg.bot")).to_have_count(1)
    await say(page, escapes)
    await expect(page.locator(".msg.bot")).to_have_count(2)
    session = await page.locator("main.chat").get_attribute("data-session")
    live_queue.send_staff_reply(
        open_db(db_path),
        session or "",
        '<b>bold?</b><img src=x onerror="window.__pwned=3">',
        turn_index=None,
        approved=False,
    )
    await expect(page.locator(".msg.staff .body")).to_have_count(1)
    assert await page.evaluate("window.__pwned") == 0
    assert await page.locator("#log img, #log script, #log b").count() == 0
    texts = await page.locator(".msg .body").all_text_contents()
    assert hostile in texts  # shown literally, as text
    assert '<b>bold?</b><img src=x onerror="window.__pwned=3">' in texts
    assert not any("\x1b" in t or "\x07" in t for t in texts)  # escapes never reach the page
    assert any("red" in t and "done" in t for t in texts)
    await screenshot(page, "hostile")


async def test_a_model_reply_streams_into_the_page_verified(demo_db_path: Path, page: Any) -> None:
    """An in-process server with a scripted model, so the page gets several token events."""
    import threading

    import uvicorn

    from shopassist.config import Settings
    from shopassist.engine.assistant import Assistant
    from shopassist.engine.llm import FakeLLM
    from shopassist.server import create_app

    question = "what is your return policy?"
    settings = Settings(db=demo_db_path, no_llm=True)
    assistant = Assistant.open(settings, db=demo_db_path)
    grounded = assistant.turn("probe", question, channel="api").template_reply
    assistant.set_llm(FakeLLM([grounded], delay=0.02))  # says the grounded reply, slowly
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, assistant), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        await page.goto(f"http://127.0.0.1:{port}/")
        await say(page, question)
        await page.wait_for_selector(".msg.bot.streaming", state="attached")  # partial text
        bot = page.locator(".msg.bot")
        await expect(bot).not_to_have_class("msg bot streaming", timeout=15000)
        assert (await bot.locator(".body").text_content() or "").strip() == grounded.strip()
        reply = assistant.db.execute(
            "select provenance, reply from turns where user_text = ? and conversation_id != 'probe'",
            [question],
        ).fetchone()
        assert reply[0] == "llm" and reply[1].strip() == grounded.strip()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def until(pilot: Any, condition: Callable[[], bool], what: str, steps: int = 150) -> None:
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what}")
