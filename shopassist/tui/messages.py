"""Messages that worker threads post back to the UI (``post_message`` is thread-safe)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class AssistantReady(Message):
    """The engine (database + understanding) is loaded; the UI can accept messages."""

    assistant: Any


@dataclass
class AssistantFailed(Message):
    error: str


@dataclass
class LLMStatus(Message):
    """The model finished loading (or failed); ``backend`` is None when there is none."""

    status: str
    backend: Any = None
    description: str = ""


@dataclass
class ReplyToken(Message):
    """A verified chunk of the reply being generated, for streaming."""

    turn_token: int
    chunk: str


@dataclass
class TurnFinished(Message):
    turn_token: int
    result: Any
    cancelled: bool = False


@dataclass
class TurnFailed(Message):
    turn_token: int
    error: str
