"""The contract every LLM backend keeps, and the errors it may raise.

Backends stream text chunks, stop quietly when ``cancel`` is set (checked between
chunks), and raise :class:`LLMTimeoutError` once ``timeout`` wall-clock seconds have
passed. Everything else that goes wrong is an :class:`LLMError` with a message a
person can act on, never a raw socket or llama.cpp exception.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

Message = dict[str, str]


class LLMError(Exception):
    """Generation failed; the message says why (the reply falls back to the template)."""


class LLMConfigError(LLMError):
    """The backend cannot be built from the settings (bad --model path, bad --llm-url)."""


class LLMConnectionError(LLMError):
    """The OpenAI-compatible server could not be reached."""


class LLMTimeoutError(LLMError):
    """The wall-clock budget for one reply ran out."""


@runtime_checkable
class LLMBackend(Protocol):
    name: str

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.3,
        stop: list[str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float = 30.0,
    ) -> Iterator[str]: ...

    # Backends that can constrain decoding set ``supports_grammar = True`` and accept a
    # ``grammar=`` (GBNF text) keyword in ``stream``; see llm/grammar.py.

    def close(self) -> None: ...
