"""Streaming from an OpenAI-compatible server (llama.cpp's, vLLM, Ollama ...).

Standard library only: one POST to ``/v1/chat/completions`` with ``"stream": true`` and a
small Server-Sent-Events reader. The socket timeout bounds each read and a wall-clock
deadline bounds the whole reply; ``cancel`` is checked between events and closes the
connection, which makes a llama.cpp server stop generating.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from shopassist.engine.llm.base import (
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    Message,
)


def chat_completions_url(base_url: str) -> str:
    """``http://host:8000``, ``.../v1`` and ``.../v1/chat/completions`` all work."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LLMConfigError(
            f"--llm-url must be an http(s) URL like http://127.0.0.1:8000, not {base_url!r}"
        )
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


class OpenAIServerBackend:
    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None) -> None:
        self.url = chat_completions_url(base_url)
        self.base_url = base_url
        self.model = model
        self._api_key = api_key
        self.name = f"{model or 'server'}@{urlsplit(self.url).netloc}"

    def _request(self, body: dict[str, Any]) -> urllib.request.Request:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return urllib.request.Request(
            self.url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
        )

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.3,
        stop: list[str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float = 30.0,
    ) -> Iterator[str]:
        body: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            body["stop"] = stop
        if self.model:
            body["model"] = self.model
        deadline = time.monotonic() + timeout
        try:
            response = urllib.request.urlopen(self._request(body), timeout=timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise LLMError(
                f"LLM server at {self.url} answered HTTP {exc.code} {exc.reason}"
                + (f": {detail}" if detail else "")
            ) from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise LLMTimeoutError(
                    f"LLM server at {self.url} did not answer within {timeout:g} s"
                ) from exc
            if isinstance(reason, ConnectionRefusedError):
                raise LLMConnectionError(
                    f"cannot connect to the LLM server at {self.url}: connection refused "
                    "(is it running?)"
                ) from exc
            raise LLMConnectionError(
                f"cannot reach the LLM server at {self.url}: {reason}"
            ) from exc
        except TimeoutError as exc:
            raise LLMTimeoutError(
                f"LLM server at {self.url} did not answer within {timeout:g} s"
            ) from exc
        except OSError as exc:
            raise LLMConnectionError(f"cannot reach the LLM server at {self.url}: {exc}") from exc
        return self._events(response, cancel, deadline, timeout)

    def _events(
        self, response: Any, cancel: threading.Event | None, deadline: float, timeout: float
    ) -> Iterator[str]:
        try:
            for data in _sse_data(response):
                if cancel is not None and cancel.is_set():
                    return
                if time.monotonic() > deadline:
                    raise LLMTimeoutError(f"no complete reply within {timeout:g} s")
                if data == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except json.JSONDecodeError as exc:
                    raise LLMError(f"LLM server sent a malformed event: {data[:120]!r}") from exc
                if "error" in event:
                    raise LLMError(f"LLM server error: {event['error']}")
                choices = event.get("choices") or []
                if not choices:
                    continue
                content = (choices[0].get("delta") or {}).get("content")
                if content:
                    yield content
        except TimeoutError as exc:
            raise LLMTimeoutError(f"LLM server at {self.url} stalled for {timeout:g} s") from exc
        except OSError as exc:
            raise LLMConnectionError(f"lost the connection to the LLM server: {exc}") from exc
        finally:
            response.close()

    def close(self) -> None:
        """Nothing to release: every reply uses its own connection."""


def _sse_data(lines: Any) -> Iterator[str]:
    """The ``data:`` payloads of an event stream; multi-line data joined by newlines."""
    buffer: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive ping
        field, _, value = line.partition(":")
        if field == "data":
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer:
        yield "\n".join(buffer)
