"""LLM backends: in-process llama.cpp, an OpenAI-compatible server, and a scripted fake.

Importing this package is cheap: llama-cpp-python is imported only when a model loads.
"""

from shopassist.engine.llm.base import (
    LLMBackend,
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    Message,
)
from shopassist.engine.llm.factory import BackendChoice, backend_from_settings, choose_backend
from shopassist.engine.llm.fake import FakeLLM
from shopassist.engine.llm.model_locator import ModelNotFoundError, default_model_path

__all__ = [
    "BackendChoice",
    "FakeLLM",
    "LLMBackend",
    "LLMConfigError",
    "LLMConnectionError",
    "LLMError",
    "LLMTimeoutError",
    "Message",
    "ModelNotFoundError",
    "backend_from_settings",
    "choose_backend",
    "default_model_path",
]
