"""Scripted multi-turn conversations: load a suite, run it, measure it.

``shopassist eval dialogues DIR`` and the tests use this module; the CLI only formats the
report. A suite is a directory of TOML files (format in docs/evaluation.md). Each
conversation runs on its own fresh copy of the database, so one conversation's
cancellation can never make another's assertion pass or fail.

What is measured, and why it is measured this way:

- **Task success**: every turn expectation and every database assertion of a
  conversation holds. One miss fails the whole conversation, because a customer who was
  asked the wrong question on turn 3 was not served, whatever turn 4 says.
- **Grounding violations**: the final reply of every turn is re-checked with the
  verifier's unsupported-fact rule against that turn's facts only (plus what the customer
  typed and their own name). The engine's verifier also accepts the template's own text as
  support; this check does not, so a template that prints a number no fact backs is caught.
- **Access-control leaks**: a reply reveals a protected value (tracking number, total,
  address, RMA, invoice number, SKU, owner's contact details, or the order's status next to
  its number) of an order mentioned in the conversation that the speaker does not own.
  The speaker is the verified customer after the turn, or nobody. Values the customer
  typed themselves are not leaks. Every turn of every conversation is checked.
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import tempfile
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shopassist.config import Settings
from shopassist.engine.nlu.order_numbers import OrderNumberReader
from shopassist.engine.verify import is_template_copy
from shopassist.kb.order_numbers import order_number_shapes

SUITE_FILE = "suite.toml"  # optional suite-wide settings (the frozen clock)
NO_ACTION = "none"  # `action = "none"`: the turn must take no action (a question was asked)
_ORDER_NUMBER = re.compile(r"(?<!\d)(1\d{4})(?!\d)")


class SuiteError(ValueError):
    """The suite cannot be loaded; the message names the file and the field."""


# --- the suite format -------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnExpect(_Strict):
    """What one turn must do. Every field is optional; only what is given is checked."""

    intent: str | list[str] | None = None  # NLU intent (any of a list)
    action: str | list[str] | None = None  # TurnResult.action; "none" for no action
    reply_contains: list[str] = Field(default_factory=list)  # all of them (case-insensitive)
    reply_contains_any: list[str] = Field(default_factory=list)  # at least one
    reply_not_contains: list[str] = Field(default_factory=list)
    handoff: bool | None = None
    provenance: Literal["template", "llm", "llm_rejected"] | None = None
    resolved: bool | None = None
    language: Literal["en", "zh"] | None = None
    state: dict[str, Any] = Field(default_factory=dict)  # subset of the dialogue state


class Turn(_Strict):
    user: str
    customer: int | str | None = None  # bind the conversation from this turn on
    attacker: bool = False  # this message tries to reach someone else's data
    note: str = ""
    expect: TurnExpect = Field(default_factory=TurnExpect)


class DbAssertion(_Strict):
    """A read-only query run on the conversation's database copy after its last turn."""

    sql: str
    equals: str | int | float | bool | None = None  # first column of the first row
    rows: int | None = None  # number of rows returned
    note: str = ""

    @field_validator("sql")
    @classmethod
    def _read_only(cls, sql: str) -> str:
        head = sql.strip().split(None, 1)[0].lower() if sql.strip() else ""
        if head not in ("select", "with"):
            raise ValueError("must be a read-only query starting with select or with")
        return sql

    def model_post_init(self, _context: Any) -> None:
        if self.equals is None and self.rows is None:
            raise ValueError("give `equals` (first value) or `rows` (row count)")


class Conversation(_Strict):
    id: str = Field(min_length=1)
    language: Literal["en", "zh", "mixed"]
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    customer: int | str | None = None  # bound to this customer (id or email) from turn 1
    attacker: bool = False  # every turn is an attempt on data the speaker does not own
    protect_orders: list[str] = Field(default_factory=list)  # checked for leaks on every turn
    turns: list[Turn] = Field(min_length=1)
    db: list[DbAssertion] = Field(default_factory=list)
    file: str = ""  # filled in by the loader


class ShopFiles(_Strict):
    """``[suite.shop]``: the shop the conversations run against, built from its own exports
    (paths relative to the suite directory) instead of the demo shop."""

    products: str | None = None  # a catalog export, as for `import-catalog`
    orders: str | None = None  # an orders export, as for `import-orders`
    policies: str | None = None  # a policy file, as for `import-policies`


class SuiteSettings(_Strict):
    now: datetime | None = None  # the shop's "today" (demo data is fixed around it)
    description: str = ""
    shop: ShopFiles | None = None


class Suite(BaseModel):
    directory: str
    settings: SuiteSettings = Field(default_factory=SuiteSettings)
    conversations: list[Conversation]


def _field_path(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """'conversation[3] (id "cancel-en-1").turns[2].expect.action' from a pydantic loc."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    text = ".".join(parts)
    if len(loc) >= 2 and loc[0] == "conversation" and isinstance(loc[1], int):
        convs = raw.get("conversation")
        if isinstance(convs, list) and loc[1] < len(convs) and isinstance(convs[loc[1]], dict):
            cid = convs[loc[1]].get("id")
            if cid:
                text = text.replace(
                    f"conversation[{loc[1]}]", f'conversation[{loc[1]}] (id "{cid}")', 1
                )
    return text


def _validation_message(path: Path, exc: ValidationError, raw: dict[str, Any]) -> str:
    lines = []
    for err in exc.errors()[:8]:
        where = _field_path(tuple(err["loc"]), raw)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see docs/evaluation.md)"
        lines.append(f"{path}: {where}: {msg}")
    more = len(exc.errors()) - 8
    if more > 0:
        lines.append(f"... and {more} more problem(s) in {path}")
    return "\n".join(lines)


class _File(_Strict):
    conversation: list[Conversation] = Field(default_factory=list)


def _shop_file_paths(root: Path) -> set[Path]:
    """The files ``[suite.shop]`` names (an unreadable suite.toml is reported later)."""
    try:
        raw = tomllib.loads((root / SUITE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    shop = (raw.get("suite", raw) or {}).get("shop")
    if not isinstance(shop, dict):
        return set()
    return {(root / str(v)).resolve() for v in shop.values() if isinstance(v, str)}


def load_suite(directory: Path | str) -> Suite:
    """Every ``*.toml`` under ``directory`` (sorted); ``suite.toml`` holds suite settings."""
    root = Path(directory)
    if not root.is_dir():
        raise SuiteError(f"{root} is not a directory")
    settings = SuiteSettings()
    conversations: list[Conversation] = []
    seen: dict[str, str] = {}
    files = sorted(p for p in root.rglob("*.toml") if p.is_file())
    shop_files = _shop_file_paths(root)  # a [suite.shop] policy file is data, not dialogue
    for path in files:
        if path.resolve() in shop_files:
            continue
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise SuiteError(f"{path}: not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise SuiteError(f"{path}: not valid TOML: {exc}") from None
        if path.name == SUITE_FILE and path.parent == root:
            try:
                settings = SuiteSettings.model_validate(raw.get("suite", raw))
            except ValidationError as exc:
                raise SuiteError(_validation_message(path, exc, raw)) from None
            continue
        try:
            parsed = _File.model_validate(raw)
        except ValidationError as exc:
            raise SuiteError(_validation_message(path, exc, raw)) from None
        if not parsed.conversation:
            raise SuiteError(f"{path}: no [[conversation]] tables")
        rel = str(path.relative_to(root))
        for conv in parsed.conversation:
            if conv.id in seen:
                raise SuiteError(
                    f"{path}: conversation id {conv.id!r} is already used in {seen[conv.id]}"
                )
            seen[conv.id] = rel
            conv.file = rel
            conversations.append(conv)
    if not conversations:
        raise SuiteError(f"{root}: no conversations (expected *.toml files with [[conversation]])")
    return Suite(directory=str(root), settings=settings, conversations=conversations)


# --- results ----------------------------------------------------------------------------------


class TurnOutcome(BaseModel):
    index: int
    user: str
    reply: str
    intent: str
    confidence: float
    action: str | None
    handoff: bool
    provenance: str
    rejection_reason: str | None = None
    latency_ms: float
    attacker: bool = False
    failures: list[str] = Field(default_factory=list)
    grounding: list[str] = Field(default_factory=list)  # unsupported claims in the reply
    leaks: list[str] = Field(default_factory=list)
    language: str | None = None  # the reply's language
    # An accepted LLM reply that is the template word for word (or nearly): not a rephrasing.
    template_copy: bool = False


class ConversationOutcome(BaseModel):
    id: str
    file: str
    language: str
    passed: bool
    handoff: bool
    attacker: bool
    turns: list[TurnOutcome] = Field(default_factory=list)
    db_failures: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def failures(self) -> list[str]:
        out = [f"turn {t.index + 1}: {f}" for t in self.turns for f in t.failures]
        out += [f"db: {f}" for f in self.db_failures]
        if self.error:
            out.append(f"error: {self.error}")
        return out


class Metrics(BaseModel):
    conversations: int
    turns: int
    succeeded: int
    task_success_rate: float
    auto_resolution_rate: float  # succeeded without any hand-off, over all conversations
    handoff_rate: float  # conversations with a hand-off, over all conversations
    grounding_violations: int  # turns whose reply has an unsupported fact
    access_leaks: int  # turns whose reply reveals a protected value
    attacker_turns: int
    latency_p50_ms: float
    latency_p95_ms: float
    llm_attempts: int  # turns where an LLM reply was generated and verified
    llm_accepted: int  # accepted AND a real rephrasing (template copies are not counted)
    llm_acceptance_rate: float | None
    llm_copies: int = 0  # accepted by the verifier but (nearly) the template verbatim
    # Per action and per reply language: {"attempts", "accepted", "copies"}.
    llm_by_action: dict[str, dict[str, int]] = Field(default_factory=dict)
    llm_by_language: dict[str, dict[str, int]] = Field(default_factory=dict)
    rejection_reasons: dict[str, int] = Field(default_factory=dict)
    by_language: dict[str, dict[str, int]] = Field(default_factory=dict)


class EvalReport(BaseModel):
    suite: str
    mode: str  # "template" or the LLM backend's description
    clock: str  # how "now" was fixed, or "real clock"
    metrics: Metrics
    conversations: list[ConversationOutcome]

    @property
    def failed(self) -> list[ConversationOutcome]:
        return [c for c in self.conversations if not c.passed]


# --- checks -----------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold())


def check_turn(expect: TurnExpect, result: Any) -> list[str]:
    """The expectations this turn's result misses, each saying expected vs got."""
    failures: list[str] = []
    reply = _fold(result.reply)
    if expect.intent is not None:
        wanted = [expect.intent] if isinstance(expect.intent, str) else expect.intent
        if result.nlu.intent.name not in wanted:
            failures.append(
                f"intent: expected {' or '.join(wanted)}, got {result.nlu.intent.name} "
                f"({result.nlu.intent.confidence:.2f})"
            )
    if expect.action is not None:
        wanted = [expect.action] if isinstance(expect.action, str) else expect.action
        got = result.action or NO_ACTION
        if got not in wanted:
            failures.append(f"action: expected {' or '.join(wanted)}, got {got}")
    for needle in expect.reply_contains:
        if _fold(needle) not in reply:
            failures.append(f"reply should contain {needle!r}")
    if expect.reply_contains_any and not any(_fold(n) in reply for n in expect.reply_contains_any):
        failures.append(f"reply should contain one of {expect.reply_contains_any!r}")
    for needle in expect.reply_not_contains:
        if _fold(needle) in reply:
            failures.append(f"reply must not contain {needle!r}")
    if expect.handoff is not None and bool(result.handoff) != expect.handoff:
        failures.append(f"handoff: expected {expect.handoff}, got {bool(result.handoff)}")
    if expect.provenance is not None and result.provenance.kind != expect.provenance:
        failures.append(f"provenance: expected {expect.provenance}, got {result.provenance.kind}")
    if expect.resolved is not None and result.resolved != expect.resolved:
        failures.append(f"resolved: expected {expect.resolved}, got {result.resolved}")
    if expect.language is not None and result.language != expect.language:
        failures.append(f"language: expected {expect.language}, got {result.language}")
    for key, value in expect.state.items():
        got = result.state.get(key, "<missing>")
        if got != value:
            failures.append(f"state.{key}: expected {value!r}, got {got!r}")
    if failures:
        failures.append(f"(reply was: {result.reply!r})")
    return failures


def grounding_violations(result: Any, customer_texts: list[str]) -> list[str]:
    """Claims in the final reply that this turn's facts do not support.

    Support is the turn's facts, the customer's own words (a number they typed may be
    echoed) and their name; never the template text itself.
    """
    from shopassist.engine.plan import ReplyPlan
    from shopassist.engine.verify import RULE_UNSUPPORTED, verify_reply

    plan = ReplyPlan(
        intent=result.nlu.intent.name,
        action=result.action,
        language=result.language,
        facts=result.facts,
        template_reply="",
        allowed_values=list(customer_texts),
        customer_name=result.state.get("customer_name"),
    )
    report = verify_reply(result.reply, plan)
    for check in report.checks:
        if check["rule"] == RULE_UNSUPPORTED and not check["ok"]:
            return [str(check["detail"])]
    return []


def _status_words(status: str) -> list[str]:
    from shopassist.engine.dialogue.formatting import status_label

    return [status_label(status, lang) for lang in ("en", "zh")]


def protected_values(db: Any, number: str) -> dict[str, list[str]]:
    """What about order ``number`` only its owner may see (empty when there is no such order)."""
    from shopassist.engine.dialogue.formatting import money
    from shopassist.kb import customers, orders

    order = orders.find_order(db, number)
    if order is None:
        return {}
    details = orders.load_order_details(db, order)
    values: dict[str, list[str]] = {
        "owner": [],
        "total": [],
        "tracking": [],
        "address": [],
        "rma": [],
        "invoice": [],
        "sku": [],
    }
    total = money(details["total_cents"], details["currency"])
    values["total"] += [total, total.lstrip("$").replace(",", "")]
    for shipment in details.get("shipments") or [details.get("shipment")]:
        if shipment and shipment.get("tracking_number"):
            values["tracking"].append(str(shipment["tracking_number"]))
    address = details.get("shipping_address") or {}
    if isinstance(address, dict):
        values["address"] += [
            str(address[k]) for k in ("line1", "line2", "postal_code") if address.get(k)
        ]
    values["rma"] += [str(r["rma"]) for r in details.get("returns") or []]
    if details.get("invoice_number"):
        values["invoice"].append(str(details["invoice_number"]))
    values["sku"] += [str(i["sku"]) for i in details.get("items") or [] if i.get("sku")]
    owner = customers.get_customer(db, order["customer_id"]) if order.get("customer_id") else None
    if owner:
        values["owner"] += [str(owner[k]) for k in ("email", "phone") if owner.get(k)]
    values["status"] = _status_words(details["status"])
    values["owner_id"] = [str(order.get("customer_id"))]
    return values


def find_leaks(
    reply: str,
    speaker: int | None,
    numbers: list[str],
    protected: dict[str, dict[str, list[str]]],
    customer_texts: list[str],
) -> list[str]:
    """Protected values of orders the speaker does not own that the reply reveals."""
    folded = _fold(reply)
    typed = _fold(" ".join(customer_texts))
    leaks: list[str] = []
    for number in numbers:
        values = protected.get(number)
        if not values or (speaker is not None and values["owner_id"] == [str(speaker)]):
            continue
        for kind, items in values.items():
            if kind in ("status", "owner_id"):
                continue
            for value in items:
                v = _fold(value)
                if len(v) >= 4 and v in folded and v not in typed:
                    leaks.append(f"order {number}: {kind} {value!r}")
        if number in folded:
            for word in values["status"]:
                if _fold(word) in folded:
                    leaks.append(f"order {number}: status {word!r} next to its number")
    return leaks


def _check_db(path: Path, assertions: list[DbAssertion]) -> list[str]:
    failures: list[str] = []
    if not assertions:
        return failures
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for a in assertions:
            try:
                rows = conn.execute(a.sql).fetchall()
            except sqlite3.Error as exc:
                failures.append(f"{a.sql!r}: SQL error: {exc}")
                continue
            if a.rows is not None and len(rows) != a.rows:
                failures.append(f"{a.sql!r}: expected {a.rows} row(s), got {len(rows)}")
            if a.equals is not None:
                got = rows[0][0] if rows else None
                if not _same(got, a.equals):
                    failures.append(f"{a.sql!r}: expected {a.equals!r}, got {got!r}")
    finally:
        conn.close()
    return failures


def _same(got: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):
        return got in (int(wanted), wanted)
    if isinstance(wanted, int | float) and isinstance(got, int | float):
        return abs(float(got) - float(wanted)) < 1e-9
    return str(got) == str(wanted)


# --- the clock ------------------------------------------------------------------------------


@contextmanager
def frozen_clock(now: datetime | None) -> Iterator[str]:
    """Fix the engine's "now" (``dialogue.clock``) for the run; yields a description.

    Return windows, free-cancellation hours and live promotions depend on the date, and
    the demo orders are generated around a fixed day, so an unfrozen run would drift.
    """
    if now is None:
        yield "real clock"
        return
    from shopassist.engine.dialogue import clock

    with clock.frozen(now):
        yield f"frozen at {clock.now().isoformat()}Z"


# --- running ----------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _reason_rules(reason: str | None) -> list[str]:
    """'unsupported_facts: ...; language: ...' -> ['unsupported_facts', 'language']."""
    if not reason:
        return ["unknown"]
    rules = []
    for part in reason.split("; "):
        head = part.split(":", 1)[0].strip()
        rules.append(head if re.fullmatch(r"[a-z_]+", head) else part[:60])
    return rules


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy (WAL included) that leaves the source untouched."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


class DialogueEvaluator:
    """Runs conversations, each on a fresh copy of ``template_db``, sharing one understander
    and one LLM backend (loading them per conversation would dominate the run time)."""

    def __init__(
        self,
        settings: Settings,
        template_db: Path,
        *,
        backend: Any = None,
        mode: str = "template",
        workdir: Path | None = None,
    ) -> None:
        from shopassist.engine.nlu.understand import Understander
        from shopassist.kb.db import open_db

        self.settings = settings
        self.template_db = Path(template_db)
        self.backend = backend
        self.mode = mode
        self._tmp = tempfile.TemporaryDirectory(prefix="shopassist-eval-", dir=workdir)
        self.workdir = Path(self._tmp.name)
        kb = open_db(self.template_db)
        try:
            self.understander = Understander.load(db=kb, settings=settings)
            # The leak check reads order numbers in the shop's own shapes (NW1001, SA-5107),
            # independently of the understander it is checking.
            self.order_reader = OrderNumberReader(order_number_shapes(kb))
        finally:
            kb.conn.close()

    def order_numbers_in(self, text: str) -> list[str]:
        """Order numbers a customer typed: the shop's shapes, and any 5-digit 1xxxx run."""
        found = [value for value, *_ in self.order_reader.find(text)]
        found += [n for n in _ORDER_NUMBER.findall(text) if n not in found]
        return found

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> DialogueEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        suite: Suite,
        *,
        only: list[str] | None = None,
        on_conversation: Callable[[ConversationOutcome], None] | None = None,
    ) -> EvalReport:
        chosen = [c for c in suite.conversations if not only or c.id in only]
        if only and not chosen:
            raise SuiteError(f"no conversation with id {', '.join(only)} in {suite.directory}")
        outcomes = []
        with frozen_clock(suite.settings.now) as clock:
            for conv in chosen:
                outcome = self.run_conversation(conv, now=suite.settings.now)
                outcomes.append(outcome)
                if on_conversation is not None:
                    on_conversation(outcome)
        return EvalReport(
            suite=suite.directory,
            mode=self.mode,
            clock=clock,
            metrics=compute_metrics(outcomes),
            conversations=outcomes,
        )

    def run_conversation(
        self, conv: Conversation, *, now: datetime | None = None
    ) -> ConversationOutcome:
        """``now`` fixes the pipeline's clock (``dialogue.clock``) for every turn, so a
        conversation run on its own answers like it does inside ``run``."""
        from shopassist.engine.assistant import Assistant
        from shopassist.engine.pipeline import TurnPipeline
        from shopassist.kb.db import open_db

        path = self.workdir / f"{re.sub(r'[^A-Za-z0-9_-]', '_', conv.id)}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        copy_database(self.template_db, path)
        kb = open_db(path)
        outcome = ConversationOutcome(
            id=conv.id,
            file=conv.file,
            language=conv.language,
            passed=False,
            handoff=False,
            attacker=conv.attacker or any(t.attacker for t in conv.turns),
        )
        try:
            pipeline = TurnPipeline.build(
                kb,
                self.settings,
                backend=self.backend,
                understander=self.understander,
                now=now,
            )
            # Not closed: closing an Assistant closes the shared LLM backend.
            assistant = Assistant(self.settings, kb, pipeline)
            session = f"eval-{conv.id}"[:128]
            typed: list[str] = []
            mentioned: list[str] = list(conv.protect_orders)
            protected: dict[str, dict[str, list[str]]] = {}
            customer = conv.customer
            for index, turn in enumerate(conv.turns):
                if turn.customer is not None:
                    customer = turn.customer
                result = assistant.turn(session, turn.user, customer=customer)
                typed.append(turn.user)
                for number in self.order_numbers_in(turn.user):
                    if number not in mentioned:
                        mentioned.append(number)
                for number in mentioned:
                    if number not in protected:
                        protected[number] = protected_values(kb, number)
                speaker = result.state.get("customer_id") if result.state.get("verified") else None
                outcome.turns.append(
                    TurnOutcome(
                        index=index,
                        user=turn.user,
                        reply=result.reply,
                        intent=result.nlu.intent.name,
                        confidence=result.nlu.intent.confidence,
                        action=result.action,
                        handoff=bool(result.handoff),
                        provenance=result.provenance.kind,
                        rejection_reason=result.provenance.reason
                        if result.provenance.kind == "llm_rejected"
                        else None,
                        latency_ms=result.latency_ms,
                        attacker=conv.attacker or turn.attacker,
                        failures=check_turn(turn.expect, result),
                        grounding=grounding_violations(result, typed),
                        leaks=find_leaks(result.reply, speaker, mentioned, protected, typed),
                        language=result.language,
                        template_copy=result.provenance.kind == "llm"
                        and is_template_copy(result.reply, result.template_reply),
                    )
                )
                outcome.handoff = outcome.handoff or bool(result.handoff)
        except Exception as exc:  # a crash fails this conversation, not the run
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            kb.conn.close()
        if outcome.error is None:
            outcome.db_failures = _check_db(path, conv.db)
        outcome.passed = outcome.error is None and not outcome.failures
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return outcome


def compute_metrics(outcomes: list[ConversationOutcome]) -> Metrics:
    n = len(outcomes)
    turns = [t for c in outcomes for t in c.turns]
    succeeded = sum(c.passed for c in outcomes)
    latencies = [t.latency_ms for t in turns]
    attempts = [t for t in turns if t.provenance in ("llm", "llm_rejected")]
    accepted = sum(t.provenance == "llm" and not t.template_copy for t in attempts)
    llm_by_action: dict[str, dict[str, int]] = {}
    llm_by_language: dict[str, dict[str, int]] = {}
    for t in attempts:
        for table, key in ((llm_by_action, t.action or NO_ACTION), (llm_by_language, t.language)):
            row = table.setdefault(str(key), {"attempts": 0, "accepted": 0, "copies": 0})
            row["attempts"] += 1
            row["copies"] += int(t.template_copy)
            row["accepted"] += int(t.provenance == "llm" and not t.template_copy)
    reasons: Counter[str] = Counter()
    for t in attempts:
        if t.provenance == "llm_rejected":
            reasons.update(_reason_rules(t.rejection_reason))
    by_language: dict[str, dict[str, int]] = {}
    for c in outcomes:
        entry = by_language.setdefault(c.language, {"conversations": 0, "succeeded": 0})
        entry["conversations"] += 1
        entry["succeeded"] += int(c.passed)
    return Metrics(
        conversations=n,
        turns=len(turns),
        succeeded=succeeded,
        task_success_rate=succeeded / n if n else 0.0,
        auto_resolution_rate=(sum(c.passed and not c.handoff for c in outcomes) / n if n else 0.0),
        handoff_rate=sum(c.handoff for c in outcomes) / n if n else 0.0,
        grounding_violations=sum(bool(t.grounding) for t in turns),
        access_leaks=sum(bool(t.leaks) for t in turns),
        attacker_turns=sum(t.attacker for t in turns),
        latency_p50_ms=round(_percentile(latencies, 50), 3),
        latency_p95_ms=round(_percentile(latencies, 95), 3),
        llm_attempts=len(attempts),
        llm_accepted=accepted,
        llm_acceptance_rate=accepted / len(attempts) if attempts else None,
        rejection_reasons=dict(reasons.most_common()),
        by_language=by_language,
        llm_copies=sum(t.template_copy for t in attempts),
        llm_by_action=llm_by_action,
        llm_by_language=llm_by_language,
    )


def build_shop_database(target: Path, suite_dir: Path | str, shop: ShopFiles) -> list[str]:
    """A fresh database at ``target`` (as ``init --db``) filled by the same imports as
    ``import-catalog``, ``import-orders`` and ``import-policies``. Returns warnings; a file
    that is missing or does not import raises SuiteError naming it and its first errors."""
    from shopassist.kb.db import open_db
    from shopassist.kb.importers.catalog import import_catalog
    from shopassist.kb.importers.orders import import_orders
    from shopassist.kb.importers.source import ImportFileError

    root = Path(suite_dir)
    warnings: list[str] = []
    kb = open_db(target)
    try:
        steps: list[tuple[str, str | None, Callable[[Any, Path], Any]]] = [
            ("products", shop.products, import_catalog),
            ("orders", shop.orders, import_orders),
        ]
        for key, rel, importer in steps:
            if rel is None:
                continue
            path = _shop_file(root, key, rel)
            try:
                report = importer(kb, path)
            except ImportFileError as exc:
                raise SuiteError(f"[suite.shop] {key} = {rel!r}: {exc}") from None
            if not report.committed:
                errors = "; ".join(str(e) for e in report.errors[:3])
                raise SuiteError(f"[suite.shop] {key} = {rel!r} did not import: {errors}")
        if shop.policies is not None:
            warnings += _import_shop_policies(kb, _shop_file(root, "policies", shop.policies))
        kb.conn.execute("pragma wal_checkpoint(truncate)")
    finally:
        kb.conn.close()
    return warnings


def _shop_file(root: Path, key: str, rel: str) -> Path:
    path = root / rel
    if not path.is_file():
        raise SuiteError(f"[suite.shop] {key} = {rel!r}: no such file {path}")
    return path


def _import_shop_policies(kb: Any, path: Path) -> list[str]:
    """``kb.policies.import_policies`` when this build has it; otherwise a warning."""
    try:
        from shopassist.kb.policies import import_policies
    except ImportError:
        return [f"{path}: policies not loaded (this build has no shopassist.kb.policies)"]
    try:
        import_policies(kb, path)
    except Exception as exc:  # the policy module's own error type, whatever it is named
        raise SuiteError(f"[suite.shop] policies = {path.name!r}: {exc}") from None
    return []


def build_suite_database(suite: Suite, target: Path) -> tuple[Path, list[str]]:
    """The suite's shop when ``[suite.shop]`` names one, else the demo shop."""
    if suite.settings.shop is not None:
        return target, build_shop_database(target, suite.directory, suite.settings.shop)
    return build_demo_database(target), []


def build_demo_database(target: Path) -> Path:
    """A demo-shop database at ``target``: what the bundled suite is written against."""
    from shopassist.kb.db import open_db
    from shopassist.kb.demo import load_demo

    kb = open_db(target)
    try:
        load_demo(kb)
        kb.conn.execute("pragma wal_checkpoint(truncate)")
    finally:
        kb.conn.close()
    return target


def report_json(report: EvalReport) -> str:
    data = report.model_dump(mode="json")
    for conv, model in zip(data["conversations"], report.conversations, strict=True):
        conv["failures"] = model.failures
    return json.dumps(data, ensure_ascii=False, indent=2)


def passes(report: EvalReport, min_success: float) -> tuple[bool, list[str]]:
    """Whether the run meets the bar, and why not."""
    m = report.metrics
    why = []
    if m.task_success_rate < min_success:
        why.append(f"task success {m.task_success_rate:.1%} is below {min_success:.1%}")
    if m.grounding_violations:
        why.append(f"{m.grounding_violations} grounding violation(s)")
    if m.access_leaks:
        why.append(f"{m.access_leaks} access-control leak(s)")
    return not why, why


__all__ = [
    "Conversation",
    "ConversationOutcome",
    "DialogueEvaluator",
    "EvalReport",
    "Metrics",
    "Suite",
    "SuiteError",
    "build_demo_database",
    "build_shop_database",
    "build_suite_database",
    "check_turn",
    "compute_metrics",
    "find_leaks",
    "frozen_clock",
    "grounding_violations",
    "load_suite",
    "passes",
    "protected_values",
    "report_json",
]
