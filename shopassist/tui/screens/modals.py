"""Small modal screens: a Markdown report, and a one-line prompt."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, Static

from shopassist.safe_text import strip_controls


class ReportScreen(ModalScreen[None]):
    """The last reply's prompt and verification report (the Markdown is pre-sanitised)."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="report.close")]

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report-body", classes="dialog") as body:
            body.border_title = self.title_text
            body.border_subtitle = "Esc closes"
            yield Markdown(self.markdown, id="report")


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line (a customer id, an export path); Esc cancels with None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="modal")
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-dialog", classes="dialog"):
            yield Static(Content(self.question), id="prompt-question")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(strip_controls(event.value).strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
