"""Settings: defaults < TOML config file < ``SHOPASSIST_*`` environment < CLI flags.

The config file is ``$SHOPASSIST_CONFIG`` if set, else ``config.toml`` in the platform's
user config dir. It is optional. CLI flags are applied last by :func:`load_settings`,
which receives only the flags the user actually gave (``None`` means "not given").
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

APP_NAME = "shopassist"


class ConfigError(Exception):
    """A config file or value is invalid; the message says which and why."""


def user_data_dir() -> Path:
    """Where databases, trained models and user training examples live.

    ``SHOPASSIST_HOME`` overrides it (tests point it at a temp dir).
    """
    override = os.environ.get("SHOPASSIST_HOME")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_file_path() -> Path:
    override = os.environ.get("SHOPASSIST_CONFIG")
    if override:
        return Path(override)
    home = os.environ.get("SHOPASSIST_HOME")
    if home:
        return Path(home) / "config.toml"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional TOML config; a broken file is a clear error, not a silent default."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        path = config_file_path()
        if path.is_file():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
            # Accept both a flat file and a [shopassist] table.
            self._data = dict(raw.get("shopassist", raw))

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


LLMMode = Literal["auto", "local", "server", "off"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPASSIST_", extra="ignore")

    db: Path | None = Field(default=None, description="SQLite database file")
    model: Path | None = Field(
        default=None, description="GGUF model path; default: bundled SmolLM2"
    )
    llm_url: str | None = Field(default=None, description="OpenAI-compatible server base URL")
    no_llm: bool = Field(default=False, description="Use template replies only")
    llm_timeout: float = Field(
        default=30.0, gt=0, description="Seconds before a reply is abandoned"
    )
    llm_max_tokens: int = Field(default=160, gt=0)
    llm_threads: int | None = Field(default=None, gt=0)
    llm_context: int = Field(default=2048, gt=0)
    # A LoRA adapter (GGUF) for the llama.cpp backend, trained on `export-training` data
    # (docs/fine-tuning.md). Ignored with --llm-url and --no-llm.
    llm_lora: Path | None = Field(default=None, description="LoRA adapter GGUF for the model")
    confidence_threshold: float = Field(default=0.45, ge=0, le=1)
    language: Literal["en", "zh"] = "en"
    # Verification limits (docs/security.md): failed owner checks allowed per conversation
    # (the conversation is then locked for good), and per order or customer across all
    # conversations within the window (that target is then locked until the window passes
    # or staff clear it with `shopassist unlock`).
    verification_max_failures: int = Field(default=3, ge=1)
    verification_max_target_failures: int = Field(default=5, ge=1)
    verification_window_minutes: int = Field(default=1440, ge=1)
    # Key binding id -> key, e.g. [keymap] "chat.new" = "ctrl+o" (ids are listed in docs/tui.md).
    keymap: dict[str, str] = Field(default_factory=dict)
    # --- `shopassist serve` and the live queue (docs/deploy.md) ---
    serve_host: str = Field(default="127.0.0.1", description="Address the web server binds")
    serve_port: int = Field(default=8000, ge=1, le=65535)
    serve_max_body_bytes: int = Field(default=16_384, gt=0, description="Largest request body")
    serve_max_message_chars: int = Field(default=2_000, gt=0, description="Longest message")
    serve_session_messages_per_minute: int = Field(default=20, gt=0)
    serve_client_requests_per_minute: int = Field(default=600, gt=0)
    # How long a web turn waits for another process's write lock (an import) before the
    # request gets a 503 with Retry-After; the turn is then not stored (docs/security.md).
    serve_write_wait_seconds: float = Field(default=15.0, gt=0, le=300)
    # Origins (scheme://host[:port]) whose pages may embed the chat and call the API.
    serve_allowed_origins: list[str] = Field(default_factory=list)
    # Bearer token that unlocks turn internals and binding a customer; unset: nobody can.
    serve_staff_token: SecretStr | None = None
    # auto: the bot answers, hands off when it must; review: staff approve every bot reply.
    live_reply_mode: Literal["auto", "review"] = "auto"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: flags (init) > environment > TOML file > defaults.
        return (init_settings, env_settings, _TomlFileSource(settings_cls))

    @property
    def db_path(self) -> Path:
        return self.db if self.db is not None else default_db_path()

    @property
    def uses_default_db(self) -> bool:
        return self.db is None


def default_db_path() -> Path:
    return user_data_dir() / "shopassist.db"


def load_settings(**flags: Any) -> Settings:
    """Build settings; ``flags`` are CLI values, and ``None`` means the flag was not given."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from exc
