"""What an import did, for the summary table, ``--json`` and the rejected-rows file."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from shopassist.kb.importers.cleaning import neutralise_formula
from shopassist.kb.importers.rows import Rejection, RowError

MAX_LISTED_ERRORS = 20


@dataclass
class ImportReport:
    kind: str  # 'catalog', 'orders' or 'faq'
    path: Path
    format: str = ""
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected_path: Path | None = None
    dry_run: bool = False
    committed: bool = False
    notes: list[str] = field(default_factory=list)  # how the file was read, for the user

    def add_rejection(self, rejection: Rejection) -> None:
        self.rejected += 1
        for error in rejection.errors:
            if len(self.errors) < MAX_LISTED_ERRORS:
                self.errors.append(error)
        if len(self.errors) >= MAX_LISTED_ERRORS:
            self.errors.sort(key=lambda e: e.line)

    @property
    def unlisted_errors(self) -> int:
        return max(0, self.rejected - len({e.line for e in self.errors}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": str(self.path),
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows": self.rows,
            **self.counts,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in sorted(self.errors, key=lambda e: e.line)],
            "rejected_file": str(self.rejected_path) if self.rejected_path else None,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "notes": list(self.notes),
        }


def rejected_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


class RejectedRowsFile:
    """``<input stem>.rejected.csv`` beside the input: the rejected rows as they were, plus
    an ``error`` column, so the user can fix them and import that file again."""

    def __init__(self, path: Path, header: list[str], delimiter: str) -> None:
        self.path = path
        self.header = header
        self.delimiter = delimiter
        self._file: IO[str] | None = None
        self._writer: Any = None

    def write(self, rejection: Rejection) -> None:
        if self._writer is None:
            # utf-8-sig so Excel shows Chinese and accented text correctly.
            self._file = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file, delimiter=self.delimiter)
            self._writer.writerow([neutralise_formula(h) for h in [*self.header, "error"]])
        reason = "; ".join(f"{e.column}: {e.reason}" for e in rejection.errors)
        cells = [*rejection.cells[: len(self.header)], reason]
        # A person opens this file in a spreadsheet: formula cells must stay text (OWASP).
        self._writer.writerow([neutralise_formula(c) for c in cells])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def written(self) -> bool:
        return self._writer is not None
