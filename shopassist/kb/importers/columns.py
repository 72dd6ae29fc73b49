"""Looking cells up by header name, tolerant of case and stray spaces in exports."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from shopassist.kb.importers.source import ImportFileError


def header_key(name: str) -> str:
    return " ".join(name.strip().lower().split())


def mapped_columns(
    header: list[str],
    overrides: dict[str, str],
    fields: Iterable[str],
    unmapped: Iterable[str] = ("ignore",),
) -> tuple[dict[str, int], set[int]]:
    """The user's ``--map COLUMN=FIELD`` pairs checked against the file and the importer's
    ``fields``: (field -> column index, every column the user named). Fields in ``unmapped``
    ('spec', 'ignore') claim their column without filling a field. Shared by
    ``import-catalog`` and ``import-orders``."""
    known = list(fields)
    by_header = {header_key(h): i for i, h in enumerate(header)}
    mapping: dict[str, int] = {}
    claimed: set[int] = set()
    skip = set(unmapped)
    for column, field in overrides.items():
        if field not in known:
            raise ImportFileError(
                f"--map {column}={field}: unknown field {field!r}; fields are " + ", ".join(known)
            )
        index = by_header.get(header_key(column))
        if index is None:
            raise ImportFileError(
                f"--map {column}={field}: the file has no column {column!r}; its columns are "
                + ", ".join(repr(h) for h in header)
            )
        claimed.add(index)
        if field not in skip:
            mapping[field] = index
    return mapping, claimed


class Columns:
    """Header name -> index. The first of duplicate column names wins."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.index: dict[str, int] = {}
        for i, name in enumerate(header):
            self.index.setdefault(header_key(name), i)

    def __contains__(self, name: str) -> bool:
        return header_key(name) in self.index

    def position(self, name: str) -> int | None:
        return self.index.get(header_key(name))

    def name(self, name: str) -> str:
        """The header as spelled in the file (for error messages)."""
        i = self.position(name)
        return name if i is None else self.header[i]

    def require(self, names: Iterable[str], file_kind: str) -> None:
        missing = [n for n in names if n not in self]
        if missing:
            raise ImportFileError(
                f"this does not look like a {file_kind}: missing column(s) "
                + ", ".join(repr(m) for m in missing)
            )

    def getter(self, name: str) -> Callable[[list[str]], str]:
        """A fast cell accessor; returns '' when the column is absent."""
        i = self.position(name)
        if i is None:
            return _empty
        index = i
        return lambda cells: cells[index] if index < len(cells) else ""


def _empty(cells: list[str]) -> str:
    return ""
