"""The ``shopassist`` command line. Each module registers one group of commands."""

from __future__ import annotations

from shopassist.cli import (  # noqa: F401  (imported to register their commands)
    dialogue_commands,
    eval_commands,
    kb_commands,
    nlu_commands,
    policy_commands,
    search_commands,
    security_commands,
    serve_commands,
    training_commands,
    tui_commands,
)
from shopassist.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
