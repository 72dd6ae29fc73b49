"""The command palette provider: each app lists its own commands via ``palette_commands``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

PaletteCommand = tuple[str, str, Callable[[], object]]  # title, help, callback


class HasPaletteCommands(Protocol):
    def palette_commands(self) -> Iterable[PaletteCommand]: ...


class AppCommands(Provider):
    """Offers the running app's commands (new conversation, export, toggle LLM ...)."""

    def _commands(self) -> list[PaletteCommand]:
        source = getattr(self.app, "palette_commands", None)
        return list(source()) if callable(source) else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
