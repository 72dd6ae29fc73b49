"""The choices a user makes for any import (flags of the three import commands)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportOptions:
    format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # column -> field (generic CSV)
    encoding: str | None = None
    delimiter: str | None = None
    skip_invalid: bool = False
    dry_run: bool = False
    replace: bool = False
