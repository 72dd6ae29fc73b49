"""LoRA adapters in the llama.cpp backend, tested with adapters built here with ``gguf``.

An adapter of zeros must leave greedy output exactly as it was; a non-zero one must change
it. The adapters match the bundled SmolLM2-135M's tensor shapes (read from its GGUF).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shopassist.config import Settings
from shopassist.engine.llm.base import LLMConfigError
from shopassist.engine.llm.factory import choose_backend
from shopassist.engine.llm.llama_cpp_backend import LlamaCppBackend
from shopassist.engine.llm.model_locator import default_model_path

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")

PROMPT = [{"role": "user", "content": "Say hello to the customer in one sentence."}]
TARGETS = ("attn_q", "attn_v", "ffn_down")


def build_adapter(model: Path, path: Path, *, scale: float, rank: int = 4) -> Path:
    """A LoRA adapter in llama.cpp's format: for a base weight with GGUF dims (n_in,
    n_out), ``<name>.lora_a`` has dims (n_in, rank) and ``<name>.lora_b`` (rank, n_out)."""
    reader = gguf.GGUFReader(str(model))
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    rng = np.random.default_rng(0)
    for tensor in reader.tensors:
        base = tensor.name.removesuffix(".weight")
        if not tensor.name.endswith(".weight") or not any(t in base for t in TARGETS):
            continue
        n_in, n_out = (int(d) for d in tensor.shape[:2])
        a = rng.standard_normal((rank, n_in)).astype(np.float32) * scale
        b = rng.standard_normal((n_out, rank)).astype(np.float32) * scale
        writer.add_tensor(f"{base}.weight.lora_a", a)
        writer.add_tensor(f"{base}.weight.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_missing_or_foreign_adapter_is_a_clear_error(tmp_path: Path) -> None:
    model = default_model_path()
    if model is None:
        pytest.skip("bundled model not installed")
    with pytest.raises(LLMConfigError, match="LoRA adapter"):
        choose_backend(Settings(llm_lora=tmp_path / "nope.gguf"))
    text = tmp_path / "adapter.gguf"
    text.write_text("not a gguf")
    with pytest.raises(LLMConfigError, match="not a GGUF"):
        choose_backend(Settings(llm_lora=text))


def test_the_config_key_reaches_the_backend(tmp_path: Path) -> None:
    model = default_model_path()
    if model is None:
        pytest.skip("bundled model not installed")
    adapter = build_adapter(model, tmp_path / "zeros.gguf", scale=0.0)
    choice = choose_backend(Settings(llm_lora=adapter))
    assert isinstance(choice.backend, LlamaCppBackend)
    assert choice.backend.lora_path == adapter
    assert "LoRA adapter zeros.gguf" in choice.reason


def _greedy(model: Path, adapter: Path | None) -> str:
    backend = LlamaCppBackend(model, n_ctx=256, seed=7, lora_path=adapter)
    try:
        return "".join(backend.stream(PROMPT, max_tokens=16, temperature=0.0, timeout=120))
    finally:
        backend.close()


@pytest.mark.llm
def test_zero_adapter_changes_nothing_and_a_real_one_changes_the_output(tmp_path: Path) -> None:
    model = default_model_path()
    if model is None:
        pytest.skip("bundled model not installed")
    plain = _greedy(model, None)
    zeros = _greedy(model, build_adapter(model, tmp_path / "zeros.gguf", scale=0.0))
    noisy = _greedy(model, build_adapter(model, tmp_path / "noisy.gguf", scale=0.5))
    assert plain and zeros == plain
    assert noisy != plain
