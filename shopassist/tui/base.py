"""What the chat and assist apps share: opening the engine and the model off the UI thread.

The first frame paints before anything heavy happens: the engine (database, trained
understanding) and then the LLM load in thread workers, reporting progress in the status
line. Until the engine is ready the input shows a placeholder and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static

from shopassist.tui.commands import AppCommands, PaletteCommand
from shopassist.tui.messages import AssistantFailed, AssistantReady, LLMStatus
from shopassist.tui.render import safe

if TYPE_CHECKING:
    from shopassist.engine.assistant import Assistant

AssistantFactory = Callable[[], "Assistant"]
# Returns (backend or None, a one-line description of what was loaded or why not).
LLMLoader = Callable[[], tuple[Any, str]]


class StatusLine(Static):
    """One line at the top: session, customer, engine and model status."""


class ShopAssistApp(App[None]):
    CSS_PATH = "shopassist.tcss"
    TITLE = "ShopAssist"
    COMMANDS: ClassVar = App.COMMANDS | {AppCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f3", "show_stats", "Stats", id="app.stats"),
        Binding("ctrl+t", "toggle_llm", "LLM", id="app.toggle_llm"),
    ]

    engine_status: reactive[str] = reactive("starting…")
    llm_status: reactive[str] = reactive("off")

    def __init__(
        self,
        open_assistant: AssistantFactory,
        *,
        load_llm: LLMLoader | None = None,
        autoload_llm: bool = True,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        if keymap:
            self.set_keymap(dict(keymap))  # remaps BINDINGS by their ids, from the config file
        self._open_assistant = open_assistant
        self._load_llm = load_llm
        self._autoload_llm = autoload_llm and load_llm is not None
        self.assistant: Assistant | None = None
        self._backend: Any = None  # kept while the LLM is toggled off

    # --- engine and model -------------------------------------------------------------------

    def on_mount(self) -> None:
        self.engine_status = "loading…"
        if self._autoload_llm:
            self.llm_status = "waits for the engine"
        self._open_engine()

    @work(thread=True, exclusive=True, group="engine")
    def _open_engine(self) -> None:
        try:
            assistant = self._open_assistant()
        except Exception as exc:  # shown in the UI; the app stays open to say why
            self.post_message(AssistantFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(AssistantReady(assistant))

    @on(AssistantReady)
    def _engine_ready(self, message: AssistantReady) -> None:
        self.assistant = message.assistant
        self.engine_status = "ready"
        if self.assistant is not None and self.assistant.llm_enabled:
            self._backend = self.assistant.llm
            self.llm_status = "on"
        elif self._autoload_llm:
            self._start_llm_load()
        self.engine_ready()

    def engine_ready(self) -> None:
        """Hook for subclasses: the engine is usable now."""

    @on(AssistantFailed)
    def _engine_failed(self, message: AssistantFailed) -> None:
        self.engine_status = "failed"
        self.notify(
            safe(message.error),
            title="Cannot start the engine",
            severity="error",
            timeout=30,
            markup=False,
        )

    def _start_llm_load(self) -> None:
        if self._load_llm is None:
            self.notify("No model configured: template replies only.", severity="warning")
            return
        self.llm_status = "loading model…"
        self._load_model()

    @work(thread=True, exclusive=True, group="llm")
    def _load_model(self) -> None:
        assert self._load_llm is not None
        try:
            backend, description = self._load_llm()
        except Exception as exc:
            self.post_message(LLMStatus(f"unavailable: {exc}"))
            return
        if backend is None:
            self.post_message(LLMStatus(f"unavailable: {description}"))
        else:
            self.post_message(LLMStatus("on", backend, description))

    @on(LLMStatus)
    def _llm_loaded(self, message: LLMStatus) -> None:
        self.llm_status = "on" if message.backend is not None else "off"
        if message.backend is not None:
            self._backend = message.backend
            if self.assistant is not None:
                self.assistant.set_llm(message.backend)
            self.notify(
                safe(message.description or "model loaded"), title="LLM ready", markup=False
            )
        else:
            self.notify(safe(message.status), title="LLM", severity="warning", markup=False)

    def action_toggle_llm(self) -> None:
        if self.assistant is None:
            self.notify("The engine is still loading.", severity="warning")
            return
        if self.assistant.llm_enabled:
            self.assistant.set_llm(None)
            self.llm_status = "off"
            self.notify("LLM off: template replies only.")
        elif self._backend is not None:
            self.assistant.set_llm(self._backend)
            self.llm_status = "on"
            self.notify("LLM on: replies are phrased by the model and verified.")
        elif self.llm_status != "loading model…":
            self._start_llm_load()

    # --- status ---------------------------------------------------------------------------------

    def watch_engine_status(self) -> None:
        self.refresh_status()

    def watch_llm_status(self) -> None:
        self.refresh_status()

    def status_parts(self) -> list[tuple[str, str]]:
        return [
            ("engine ", "dim"),
            (self.engine_status, "bold"),
            ("  LLM ", "dim"),
            (self.llm_status, "bold"),
        ]

    def refresh_status(self) -> None:
        try:
            line = self.query_one(StatusLine)
        except Exception:
            return  # not composed yet
        text = Text()
        for part, style in self.status_parts():
            text.append(safe(part), style)
        line.update(text)

    # --- stats and palette ------------------------------------------------------------------------

    def action_show_stats(self) -> None:
        if self.assistant is None:
            self.notify("The engine is still loading.", severity="warning")
            return
        from shopassist.tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen(self.assistant.db))

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield (
            "Toggle LLM",
            "Switch between LLM-phrased and template replies",
            self.action_toggle_llm,
        )
        yield (
            "Show statistics",
            "Conversations, rates, latency and unanswered questions",
            self.action_show_stats,
        )

    def on_unmount(self) -> None:
        if self.assistant is not None:
            self.assistant.close()
