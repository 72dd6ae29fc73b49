from pathlib import Path

import pytest

from shopassist.config import ConfigError, load_settings


def test_defaults_live_in_user_data_dir(isolated_home: Path) -> None:
    s = load_settings()
    assert s.db_path == isolated_home / "shopassist.db"
    assert s.uses_default_db


def test_precedence_flag_over_env_over_toml(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_home / "config.toml").write_text('db = "/from/toml.db"\nllm_timeout = 5\n')
    assert load_settings().db == Path("/from/toml.db")
    monkeypatch.setenv("SHOPASSIST_DB", "/from/env.db")
    s = load_settings()
    assert s.db == Path("/from/env.db")
    assert s.llm_timeout == 5  # still from TOML
    assert load_settings(db=Path("/from/flag.db")).db == Path("/from/flag.db")
    assert load_settings(db=None).db == Path("/from/env.db")  # None means "flag not given"


def test_broken_toml_is_a_clear_error(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text("db = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPASSIST_LLM_TIMEOUT", "-3")
    with pytest.raises(ConfigError, match="llm_timeout"):
        load_settings()


def test_keymap_comes_from_the_config_file(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text('[keymap]\n"chat.new" = "ctrl+o"\n')
    assert load_settings().keymap == {"chat.new": "ctrl+o"}
