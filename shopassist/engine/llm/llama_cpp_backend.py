"""In-process generation with llama-cpp-python, using the GGUF's own chat template.

Loading is explicit (:meth:`LlamaCppBackend.load`) so the TUI can do it in a worker;
:meth:`stream` loads on first use otherwise. One lock serialises generation: a
``Llama`` object holds one KV cache and is not safe to drive from two threads.

KV reuse: ``Llama.generate`` keeps the tokens of the previous evaluation and only
evaluates the part of a new prompt after the longest common token prefix. The generate
stage keeps the system prompt byte-identical and first, and puts everything that varies
after it, so a warm turn evaluates only the new user message. ``last_stats`` records how
many prompt tokens were reused, which the benchmark and tests read as evidence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from shopassist.engine.llm.base import LLMError, LLMTimeoutError, Message
from shopassist.engine.llm.model_locator import ModelNotFoundError, check_gguf


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@lru_cache(maxsize=64)
def _compiled_grammar(text: str) -> Any:
    """Parse GBNF once per distinct grammar (a plan's grammar repeats across retries)."""
    from llama_cpp import LlamaGrammar

    try:
        return LlamaGrammar.from_string(text, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise LLMError(f"invalid decoding grammar: {exc}") from exc


class LlamaCppBackend:
    # generate passes a GBNF grammar (llm/grammar.py) only to backends that say so.
    supports_grammar = True

    def __init__(
        self,
        model_path: Path | str,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
        lora_path: Path | str | None = None,
    ) -> None:
        """``lora_path``: a LoRA adapter in GGUF (docs/fine-tuning.md) applied on load."""
        self.model_path = Path(model_path)
        self.lora_path = Path(lora_path) if lora_path else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self.name = self.model_path.stem
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._gen_lock = threading.Lock()
        self.last_stats: dict[str, int] = {}

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (benchmarks compare against it directly)."""
        return self.load()

    def load(self) -> Any:
        """Load the model once; safe to call from any thread, and again after loading."""
        with self._load_lock:
            if self._llm is not None:
                return self._llm
            try:
                check_gguf(self.model_path)
                if self.lora_path is not None:
                    check_gguf(self.lora_path)
            except ModelNotFoundError as exc:
                raise LLMError(str(exc)) from exc
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - it is a hard dependency
                raise LLMError(f"llama-cpp-python is not installed: {exc}") from exc
            try:
                # verbose=False keeps llama.cpp's logging off the terminal (the TUI owns it).
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                    lora_path=str(self.lora_path) if self.lora_path else None,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                what = f"model {self.model_path}"
                if self.lora_path is not None:
                    what += f" with LoRA adapter {self.lora_path} (made for this model?)"
                raise LLMError(f"could not load {what}: {exc}") from exc
            return self._llm

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.3,
        stop: list[str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float = 30.0,
        grammar: str | None = None,
    ) -> Iterator[str]:
        """``grammar``: GBNF text that constrains decoding (llama.cpp ``LlamaGrammar``)."""
        deadline = time.monotonic() + timeout
        if not self._gen_lock.acquire(timeout=max(timeout, 0.0)):
            raise LLMTimeoutError("the model was busy with another reply for the whole timeout")
        produced = 0
        chunks: Any = None
        try:
            llm = self.load()
            before = list(llm._input_ids)
            try:
                chunks = llm.create_chat_completion(
                    messages=messages,
                    stream=True,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=stop or [],
                    seed=self.seed,
                    grammar=_compiled_grammar(grammar) if grammar else None,
                )
                for chunk in chunks:
                    if cancel is not None and cancel.is_set():
                        break
                    if time.monotonic() > deadline:
                        raise LLMTimeoutError(f"no complete reply within {timeout:g} s")
                    content = chunk["choices"][0].get("delta", {}).get("content")
                    if content:
                        produced += 1
                        yield content
            except LLMError:
                raise
            except (ValueError, RuntimeError) as exc:
                # e.g. "Requested tokens exceed context window".
                raise LLMError(f"generation failed: {exc}") from exc
            finally:
                if chunks is not None:
                    chunks.close()
                after = list(llm._input_ids)
                self.last_stats = {
                    "reused_prompt_tokens": _common_prefix(before, after),
                    "context_tokens": len(after),
                    "chunks": produced,
                }
        finally:
            self._gen_lock.release()

    def close(self) -> None:
        with self._load_lock:
            llm, self._llm = self._llm, None
        if llm is not None and hasattr(llm, "close"):
            llm.close()
