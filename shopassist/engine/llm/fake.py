"""A scripted backend for tests and the TUI: yields queued chunks and records each call.

Modelled on simonw/llm's ``MockModel``: tests queue what the "model" says, then assert on
what the engine did with it and on the prompt it sent.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopassist.engine.llm.base import LLMError, LLMTimeoutError, Message

# Word-ish pieces with their trailing space, roughly how a tokenizer splits text.
_PIECES = re.compile(r"\S+\s*|\s+")

Response = Sequence[str] | str | BaseException


@dataclass
class FakeCall:
    messages: list[Message]
    kwargs: dict[str, Any]


@dataclass
class FakeLLM:
    """``responses``: one item per call; a string is split into word chunks, a list of
    strings is yielded as is, and an exception instance is raised when reached.

    ``delay`` sleeps before each chunk (to exercise cancel and timeout). An exhausted
    queue is an :class:`LLMError`, so a test that calls the model once too often fails.
    """

    responses: list[Response] = field(default_factory=list)
    delay: float = 0.0
    name: str = "fake"
    calls: list[FakeCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: list[Response] = list(self.responses)
        self._lock = threading.Lock()
        self.closed = False

    def queue(self, *responses: Response) -> None:
        self._queue.extend(responses)

    @property
    def last_messages(self) -> list[Message]:
        if not self.calls:
            raise AssertionError("FakeLLM was never called")
        return self.calls[-1].messages

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
        with self._lock:
            self.calls.append(
                FakeCall(
                    messages=[dict(m) for m in messages],
                    kwargs={
                        "max_tokens": max_tokens,
                        "temperature": temperature,
                        "stop": stop,
                        "timeout": timeout,
                    },
                )
            )
            if not self._queue:
                raise LLMError("FakeLLM has no queued response")
            response = self._queue.pop(0)
        return self._yield(response, max_tokens, stop, cancel, time.monotonic() + timeout)

    def _yield(
        self,
        response: Response,
        max_tokens: int,
        stop: list[str] | None,
        cancel: threading.Event | None,
        deadline: float,
    ) -> Iterator[str]:
        if isinstance(response, BaseException):
            raise response
        chunks = _PIECES.findall(response) if isinstance(response, str) else list(response)
        emitted = ""
        for i, chunk in enumerate(chunks):
            if i >= max_tokens:
                return
            if self.delay:
                time.sleep(self.delay)
            if cancel is not None and cancel.is_set():
                return
            if time.monotonic() > deadline:
                raise LLMTimeoutError("the fake model ran out of time")
            if stop:
                # Like real servers: the stop string itself is never yielded.
                joined = emitted + chunk
                hits = [joined.find(s) for s in stop if s and s in joined]
                if hits:
                    cut = min(hits)
                    if cut > len(emitted):
                        yield joined[len(emitted) : cut]
                    return
            emitted += chunk
            yield chunk

    def close(self) -> None:
        self.closed = True
