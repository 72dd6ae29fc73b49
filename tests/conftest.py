"""Shared fixtures. No test touches the real home directory or user data dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlite_utils

from shopassist.kb.db import open_db


@pytest.fixture(scope="session")
def shared_nlu_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One trained intent model for the whole run: training takes seconds, not milliseconds."""
    return tmp_path_factory.mktemp("nlu-models")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    shared_nlu_models: Path,
) -> Path:
    """Point every user-level path at a temp dir and drop SHOPASSIST_* from the environment.

    The trained intent model is shared (it is keyed by a hash of its training data, so a
    test that adds examples gets its own); tests that need a private one override
    SHOPASSIST_NLU_MODEL_DIR themselves.
    """
    import os

    for key in list(os.environ):
        if key.startswith("SHOPASSIST_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SHOPASSIST_HOME", str(home))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("SHOPASSIST_NLU_MODEL_DIR", str(shared_nlu_models))
    return home


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    """A fresh, migrated, empty database."""
    return open_db(tmp_path / "test.db")


@pytest.fixture(scope="session")
def _demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shopassist.kb.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    kb = open_db(path)
    load_demo(kb)
    kb.conn.execute("pragma wal_checkpoint(truncate)")
    kb.conn.close()
    return path


@pytest.fixture
def demo_db_path(_demo_db_template: Path, tmp_path: Path) -> Path:
    """A private copy of a database filled with the demo shop."""
    path = tmp_path / "demo.db"
    shutil.copy(_demo_db_template, path)
    return path


@pytest.fixture
def demo_db(demo_db_path: Path) -> sqlite_utils.Database:
    return open_db(demo_db_path)
