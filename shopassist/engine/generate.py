"""The generate stage: let the LLM rephrase the grounded template, show only what checks out.

A 135M model cannot be trusted to answer, but it can make a correct draft sound less
canned. So the prompt hands it the template reply as the DRAFT plus the facts, and the
output goes through a sentence gate while it streams: each finished sentence is checked
(:meth:`Verifier.check_sentence`) before ``on_token`` sees it, and the first bad
sentence stops generation. The finished text is verified as a whole; on any failure,
cancel, timeout or backend error the template reply is the answer and the provenance
says why. A streamed prefix therefore only ever contains verified sentences, and the
caller replaces it with ``outcome.text`` when the two differ.

Prompt layout (for llama.cpp's KV-cache reuse): the system prompt is a fixed data file,
byte-identical on every turn for a language; everything that varies (facts, draft,
customer text) is in the last user message.
"""

from __future__ import annotations

import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field

from shopassist.engine.llm.base import LLMBackend, LLMError, LLMTimeoutError, Message
from shopassist.engine.plan import ReplyPlan
from shopassist.engine.privacy import contains_pii, mask_pii
from shopassist.engine.turn_result import Provenance
from shopassist.engine.verify import MAX_SENTENCES, VerificationReport, Verifier
from shopassist.safe_text import strip_controls

TokenCallback = Callable[[str], None]

# Earlier turns are not sent: a rephraser does not need them, and a small model copies
# facts from them that the current plan does not support.
HISTORY_MESSAGES = 0
# Few-shot examples per reply. One, of the same action: a 135M model copies the shape
# (and, given a second example of another kind, the content) of what it is shown.
FEW_SHOT = 1
STOP = ["<|im_start|>", "<|im_end|>", "\n\n"]
REASON_CANCELLED = "cancelled"
REASON_TIMEOUT = "timeout"


class GenerationOutcome(BaseModel):
    text: str  # the reply to show: the verified LLM text or the template
    provenance: Provenance
    llm_text: str | None = None  # what the model produced (possibly cut short), if it ran
    prompt: list[dict[str, str]] | None = None  # masked chat messages sent to the model
    streamed: str = ""  # what on_token received: verified sentences only
    first_token_ms: float | None = None
    tokens: int = 0
    tokens_per_s: float | None = None
    elapsed_ms: float = 0.0
    report: VerificationReport | None = Field(default=None, exclude=True)


# --- prompt -------------------------------------------------------------------------------


@cache
def _labels() -> dict[str, Any]:
    text = resources.files("shopassist.engine.llm").joinpath("data", "prompt_labels.toml")
    return tomllib.loads(text.read_text("utf-8"))


@cache
def _prompts(language: str) -> dict[str, Any]:
    """``data/prompts_<lang>.toml``: system prompt, user template, hints, few-shot examples."""
    name = f"prompts_{'zh' if language == 'zh' else 'en'}.toml"
    text = resources.files("shopassist.engine").joinpath("data", name).read_text("utf-8")
    return tomllib.loads(text)


@cache
def system_prompt(language: str) -> str:
    """The fixed system prompt for a reply language (identical on every turn)."""
    return (
        _prompts(language)["system"]
        .format(language_name=_labels()["language_name"][language], max_sentences=MAX_SENTENCES - 2)
        .strip()
    )


def _by_prefix(action: str, prefixes: list[str]) -> int:
    """Length of the longest prefix of ``action`` in ``prefixes`` (-1: none matches)."""
    return max((len(p) for p in prefixes if action.startswith(p)), default=-1)


def _hint(plan: ReplyPlan) -> str:
    hints: dict[str, str] = _prompts(plan.language).get("hints", {})
    action = plan.action or plan.intent
    best = max(hints, key=lambda p: len(p) if action.startswith(p) else -1, default="")
    return hints.get(best, "") if action.startswith(best) else ""


def few_shot_examples(plan: ReplyPlan) -> list[dict[str, str]]:
    """The examples for this action: those whose prefix matches best (at most
    ``FEW_SHOT``), so a tracking reply is shown tracking rewrites, not small talk."""
    examples: list[dict[str, Any]] = _prompts(plan.language).get("examples", [])
    action = plan.action or plan.intent
    scored = [
        (_by_prefix(action, list(e.get("actions", [""]))), i, e) for i, e in enumerate(examples)
    ]
    best = max((score for score, _, _ in scored), default=-1)
    chosen = [e for score, _, e in sorted(scored, key=lambda t: t[1]) if score == best >= 0]
    return chosen[:FEW_SHOT]


def _user_message(plan: ReplyPlan, draft: str, hint: str) -> str:
    template: str = _prompts(plan.language)["user"]
    return template.format(hint=hint, draft=draft).strip()


def build_messages(
    plan: ReplyPlan, customer_text: str, history: Sequence[Message] = ()
) -> list[Message]:
    """System prompt first and fixed, then the action's few-shot example as an earlier
    turn, then this turn's draft.

    No fact block: the draft (the template) states every fact the reply needs, and a
    135M model given "Product title: ..." lines pastes them to the customer. Facts the
    draft does not state are not the rephrasing's business. Guidance goes in the hint
    line. The customer's message is not sent (``customer_text`` is kept for the
    signature): a rephrasing does not need it, and the model echoed it into replies.
    """
    hint = _hint(plan)
    if plan.guidance:
        hint += " ".join(plan.guidance) + " "
    messages: list[Message] = [{"role": "system", "content": system_prompt(plan.language)}]
    for example in few_shot_examples(plan):
        ex_hint = _hint(plan)
        messages.append({"role": "user", "content": _user_message(plan, example["draft"], ex_hint)})
        messages.append({"role": "assistant", "content": example["rewrite"]})
    if HISTORY_MESSAGES:
        for m in list(history)[-HISTORY_MESSAGES:]:
            role = m.get("role", "user")
            if role in ("user", "assistant"):
                messages.append({"role": role, "content": mask_pii(m.get("content", ""))})
    draft = mask_pii(plan.template_reply)
    messages.append({"role": "user", "content": _user_message(plan, draft, hint)})
    return messages


def decoding_grammar(plan: ReplyPlan) -> str:
    """The GBNF grammar that lets the model write numbers, prices, dates and codes only as
    this plan's facts and template spell them (llm/grammar.py)."""
    from shopassist.engine.llm.grammar import reply_grammar

    return reply_grammar(plan)


# --- the sentence gate --------------------------------------------------------------------

_HARD_STOPS = "。！？\n"
_LEADING_LABEL = re.compile(
    r"^\s*(?:draft|reply|draft reply|final reply|improved reply|rewritten draft|rewritten reply"
    r"|answer|response|assistant|回复|答复|草稿)\s*[:：]\s*",
    re.IGNORECASE,
)
_SOFT_STOPS = ".!?"


def _boundary(buffer: str) -> int | None:
    """End of the first complete sentence in ``buffer``, or None while it may continue.

    "." only ends a sentence once whitespace follows, so "$49." + "99" is never cut.
    """
    for i, ch in enumerate(buffer):
        if ch in _HARD_STOPS:
            return i + 1
        if ch in _SOFT_STOPS and i + 1 < len(buffer) and buffer[i + 1].isspace():
            return i + 1
    return None


class _SentenceGate:
    def __init__(self, verifier: Verifier, on_token: TokenCallback | None, max_chars: int) -> None:
        self.verifier = verifier
        self.on_token = on_token
        self.max_chars = max_chars
        self.buffer = ""
        self.forwarded: list[str] = []
        self.sentences = 0
        self.failure: VerificationReport | None = None
        self.failure_reason = ""

    def feed(self, chunk: str) -> bool:
        """Add a chunk; False once a sentence failed (stop generating)."""
        self.buffer += chunk
        while (cut := _boundary(self.buffer)) is not None:
            sentence, self.buffer = self.buffer[:cut], self.buffer[cut:]
            if not self._release(sentence):
                return False
        if len("".join(self.forwarded)) + len(self.buffer) > self.max_chars:
            self._fail("length: reply grew past the character limit while streaming")
            return False
        return True

    def finish(self) -> bool:
        rest, self.buffer = self.buffer, ""
        return self._release(rest) if rest.strip() else True

    def _release(self, sentence: str) -> bool:
        if not self.text.strip():
            # Small models often start by echoing a label ("DRAFT: ..."): drop it.
            sentence = _LEADING_LABEL.sub("", sentence).lstrip()
        if not sentence.strip():
            self.forwarded.append(sentence)
            return True
        # The text shown so far is context: "It costs $89.99." is about the product the
        # previous sentence named.
        report = self.verifier.check_sentence(sentence, context=self.text)
        if not report.ok:
            self.failure = report
            self.failure_reason = "; ".join(report.reasons)
            return False
        self.sentences += 1
        if self.sentences > MAX_SENTENCES:
            self._fail(f"length: more than {MAX_SENTENCES} sentences")
            return False
        self.forwarded.append(sentence)
        if self.on_token is not None:
            self.on_token(sentence)
        return True

    def _fail(self, reason: str) -> None:
        self.failure_reason = reason
        self.failure = VerificationReport(
            ok=False,
            reasons=[reason],
            checks=[{"rule": reason.split(":", 1)[0], "ok": False, "detail": reason}],
        )

    @property
    def text(self) -> str:
        return "".join(self.forwarded)


# --- the stage ----------------------------------------------------------------------------


def _template(
    plan: ReplyPlan, reason: str, *, model: str | None = None, **extra: Any
) -> GenerationOutcome:
    return GenerationOutcome(
        text=plan.template_reply,
        provenance=Provenance(kind="template", reason=reason, model=model),
        **extra,
    )


def generate_reply(
    plan: ReplyPlan,
    backend: LLMBackend | None,
    *,
    history: Sequence[Message] = (),
    customer_text: str,
    on_token: TokenCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
    max_tokens: int = 160,
    temperature: float = 0.0,
    no_llm_reason: str | None = None,
) -> GenerationOutcome:
    """Rephrase ``plan.template_reply`` with the LLM, or fall back to it, saying why.

    Greedy decoding (``temperature=0``) by default: the task is faithful rephrasing, and
    reproducible output makes rejections explainable.
    """
    start = time.perf_counter()
    if backend is None:
        return _template(plan, no_llm_reason or "no LLM backend (template replies only)")
    if not plan.use_llm:
        return _template(plan, f"template wording required for {plan.action or plan.intent}")
    if contains_pii(plan.template_reply) or any(contains_pii(f.value) for f in plan.facts):
        # The reply must state personal data the prompt may not contain; the template
        # already says it exactly.
        return _template(plan, "reply contains personal data; not sent to the LLM")

    messages = build_messages(plan, customer_text, history)
    verifier = Verifier(plan)
    gate = _SentenceGate(verifier, on_token, plan.max_chars)
    raw: list[str] = []
    first_token_at: float | None = None
    last_token_at: float | None = None
    deadline = start + timeout
    stopped_by: str | None = None
    error: str | None = None

    stream: Iterator[str] | None = None
    try:
        extra: dict[str, Any] = {}
        if getattr(backend, "supports_grammar", False):
            extra["grammar"] = decoding_grammar(plan)
        stream = backend.stream(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=STOP,
            cancel=cancel,
            timeout=timeout,
            **extra,
        )
        for chunk in stream:
            now = time.perf_counter()
            if first_token_at is None:
                first_token_at = now
            last_token_at = now
            chunk = strip_controls(chunk)
            raw.append(chunk)
            if cancel is not None and cancel.is_set():
                stopped_by = REASON_CANCELLED
                break
            if now > deadline:
                stopped_by = REASON_TIMEOUT
                break
            if not gate.feed(chunk):
                break
        else:
            if cancel is not None and cancel.is_set():
                stopped_by = REASON_CANCELLED
            else:
                gate.finish()
    except LLMTimeoutError:
        stopped_by = REASON_TIMEOUT
    except LLMError as exc:
        error = f"llm error: {exc}"
    except Exception as exc:  # a backend bug must not lose the customer's reply
        error = f"llm error: {type(exc).__name__}: {exc}"
    finally:
        if stream is not None and hasattr(stream, "close"):
            with suppress(Exception):
                stream.close()  # stops the model and releases the backend lock

    end = time.perf_counter()
    tokens = len(raw)
    metrics: dict[str, Any] = {
        "llm_text": "".join(raw) if raw else None,
        "prompt": messages,
        "streamed": gate.text,
        "first_token_ms": (first_token_at - start) * 1000 if first_token_at else None,
        "tokens": tokens,
        "tokens_per_s": (
            (tokens - 1) / (last_token_at - first_token_at)
            if first_token_at and last_token_at and tokens > 1 and last_token_at > first_token_at
            else None
        ),
        "elapsed_ms": (end - start) * 1000,
    }
    model = getattr(backend, "name", None)
    if stopped_by is not None:
        return _template(plan, stopped_by, model=model, **metrics)
    if error is not None:
        return _template(plan, error, model=model, **metrics)
    if gate.failure is not None:
        return GenerationOutcome(
            text=plan.template_reply,
            provenance=Provenance(
                kind="llm_rejected",
                reason=gate.failure_reason,
                model=model,
                checks=gate.failure.checks,
            ),
            report=gate.failure,
            **metrics,
        )
    text = gate.text.strip()
    report = verifier.verify(text)
    if not report.ok:
        return GenerationOutcome(
            text=plan.template_reply,
            provenance=Provenance(
                kind="llm_rejected",
                reason="; ".join(report.reasons),
                model=model,
                checks=report.checks,
            ),
            report=report,
            **metrics,
        )
    return GenerationOutcome(
        text=text,
        provenance=Provenance(kind="llm", model=model, checks=report.checks),
        report=report,
        **metrics,
    )
