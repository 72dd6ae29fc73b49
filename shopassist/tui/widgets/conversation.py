"""The conversation pane: customer bubbles and streamed, badged assistant replies."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Markdown, Static
from textual.widgets._markdown import MarkdownStream

from shopassist.tui.render import chat_markdown, highlight_entities, provenance_label, safe


class CustomerMessage(Static):
    """What the customer wrote; entity spans are highlighted once understanding is back."""

    def __init__(self, text: str, *, label: str = "Customer") -> None:
        self.label = label
        self.message = safe(text)
        self.body = Text(self.message)
        super().__init__(self._render_text(self.body), classes="message customer")

    def _render_text(self, body: Text) -> Text:
        head = Text(f"{self.label}\n", "bold")
        return head + body

    def show_entities(self, nlu: Any) -> None:
        self.message = safe(nlu.text)
        self.body = highlight_entities(nlu.text, nlu.entities)
        self.update(self._render_text(self.body))


class ProvenanceBadge(Static):
    """template / LLM ✓ verified / LLM ✗ rejected; the rejection reason is the tooltip."""

    def __init__(self) -> None:
        super().__init__("… working", classes="badge badge-pending", markup=False)

    def set_provenance(self, kind: str | None, reason: str | None) -> None:
        label, css_class = provenance_label(kind)
        self.remove_class("badge-pending", "badge-template", "badge-llm", "badge-rejected")
        self.add_class(css_class)
        if kind == "llm_rejected" and reason:
            label = f"{label}: {safe(reason, limit=48)}"
        self.update(Content(label))
        self.tooltip = Content(safe(reason)) if reason else None


class AssistantMessage(Vertical):
    """One reply; tokens stream into a Markdown widget, then the final reply replaces them."""

    def __init__(self, *, label: str = "ShopAssist") -> None:
        super().__init__(classes="message assistant streaming")
        self.label = label
        self.result: Any = None
        self.streamed = ""
        self._stream: MarkdownStream | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="reply-header"):
            yield Static(Content(self.label), classes="speaker")
            yield ProvenanceBadge()
        yield Markdown("", classes="reply")

    @property
    def markdown(self) -> Markdown:
        return self.query_one(Markdown)

    async def append(self, chunk: str) -> None:
        chunk = safe(chunk)
        if not chunk:
            return
        self.streamed += chunk
        if self._stream is None:
            self._stream = Markdown.get_stream(self.markdown)
        await self._stream.write(chunk)

    async def finish(self, result: Any, *, note: str | None = None) -> None:
        """Show the authoritative reply: it may replace what was streamed."""
        self.result = result
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        reply = chat_markdown(result.reply)
        if note:
            reply = f"{reply}\n\n*{note}*"
        await self.markdown.update(reply)
        self.query_one(ProvenanceBadge).set_provenance(
            result.provenance.kind, result.provenance.reason
        )
        self.remove_class("streaming")

    async def finish_stored(self, reply: str, provenance: str | None, reason: str | None) -> None:
        """A reply loaded from the database when a session is resumed."""
        await self.markdown.update(chat_markdown(reply))
        self.query_one(ProvenanceBadge).set_provenance(provenance, reason)
        self.remove_class("streaming")

    async def fail(self, error: str) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        await self.markdown.update(f"**Error:** {safe(error)}")
        badge = self.query_one(ProvenanceBadge)
        badge.update(Content("error"))
        badge.add_class("badge-rejected")
        self.remove_class("streaming")


class Notice(Static):
    """A system line in the conversation: session started, customer switched, hand-off."""

    def __init__(self, text: str, *, classes: str = "") -> None:
        super().__init__(Content(safe(text)), classes=f"notice {classes}".strip())


class ConversationView(VerticalScroll):
    """Scrolls to the end as replies grow, unless the user scrolled up to read."""

    def on_mount(self) -> None:
        self.anchor()
