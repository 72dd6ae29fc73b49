"""The dependency rules of the house, checked on the source, plus lint and types."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "shopassist"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for name in imported_modules(path):
            if name.startswith(forbidden):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_knowledge_base_never_imports_the_engine_or_ui() -> None:
    assert (
        offenders("kb", ("shopassist.engine", "shopassist.tui", "shopassist.cli", "textual")) == []
    )


def test_engine_never_imports_textual_or_the_ui() -> None:
    assert offenders("engine", ("textual", "shopassist.tui", "shopassist.cli")) == []


def test_the_ui_only_uses_the_engines_public_surface() -> None:
    # The TUI talks to the Assistant facade and the typed results, not to stages or flows.
    allowed = (
        "shopassist.engine.assistant",
        "shopassist.engine.turn_result",
        "shopassist.engine.nlu.result",
        "shopassist.engine.stats",
        "shopassist.engine.llm",
    )
    bad = [
        line
        for line in offenders("tui", ("shopassist.engine",))
        if not line.split(" imports ")[1].startswith(allowed)
    ]
    assert bad == []


def test_ruff_is_clean() -> None:
    pytest.importorskip("ruff")
    root = PACKAGE.parent
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "shopassist", "tests", "benchmarks"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "shopassist"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
