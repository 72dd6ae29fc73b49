"""The one way dialogue handlers read the shop's policy: typed values, their source, and
"I don't know" when the shop has not said.

Every policy value a reply shows comes through :func:`policy_value` (or :func:`policy_fact`),
which reads :meth:`ShopPolicy.get` and records the ``policy:<key>`` source only when the value
exists, so a Fact citing a policy never stands for a value the shop did not give. A handler
that needs a value the shop has not set calls :func:`say_unknown`: the reply says so plainly,
offers a colleague, and the question is recorded as a knowledge gap naming the key.
"""

from __future__ import annotations

import weakref
from decimal import Decimal
from typing import Any

import sqlite_utils

from shopassist.engine.dialogue import clock
from shopassist.engine.dialogue import formatting as fmt
from shopassist.engine.dialogue.context import FlowContext
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.templates import has_template, render
from shopassist.engine.privacy import mask_pii
from shopassist.engine.turn_result import Source
from shopassist.kb.knowledge_gaps import record_gap
from shopassist.kb.policies import DayRange, LocalText, ShopPolicy, cents, load_policy

UNKNOWN_TEMPLATE = "policy.unknown"

# Keyed by the Database object itself (weakly): an id() of a closed connection can be
# reused by the next one, and a fresh shop must never read another's policy.
_cache: weakref.WeakKeyDictionary[sqlite_utils.Database, tuple[tuple[int, int], ShopPolicy]] = (
    weakref.WeakKeyDictionary()
)


def shop_policy(db: sqlite_utils.Database) -> ShopPolicy:
    """The stored policy, re-read only when the database changed since the last read
    (``data_version`` moves on other connections' commits, ``total_changes`` on ours)."""
    conn = db.conn
    version = (conn.execute("pragma data_version").fetchone()[0], conn.total_changes)
    hit = _cache.get(db)
    if hit is not None and hit[0] == version:
        return hit[1]
    policy = load_policy(db)
    _cache[db] = (version, policy)
    return policy


def policy_value(ctx: FlowContext, out: Outcome, key: str) -> Any:
    """The value at ``key`` (``returns.window_days``), or None when the shop has not set it.
    A set value is cited as the source ``policy:<key>``."""
    value = shop_policy(ctx.db).get(key)
    if value is not None:
        out.source(Source(id=f"policy:{key}", kind="policy", title=key.replace("_", " ")))
    return value


def display(value: Any, ctx: FlowContext) -> str:
    """A policy value as a reply shows it, in the reply's language."""
    if isinstance(value, LocalText):
        return value.text(ctx.language)
    if isinstance(value, DayRange):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return fmt.list_join([display(v, ctx) for v in value], ctx.language)
    return str(value)


def policy_money(ctx: FlowContext, amount: Decimal) -> str:
    """Money from the policy in the shop's currency; the bare amount when the shop has not
    named its currency (no currency is assumed)."""
    currency = shop_policy(ctx.db).get("shop.currency")
    value = cents(amount) or 0
    if currency:
        return fmt.money(value, str(currency))
    return f"{value / 100:,.2f}"


def policy_fact(
    ctx: FlowContext,
    out: Outcome,
    key: str,
    *,
    fact_key: str | None = None,
    money: bool = False,
    required: bool = True,
) -> str | None:
    """A policy value recorded as a Fact (source ``policy:<key>``) and returned as display
    text; None, with no Fact, when the shop has not set it."""
    value = policy_value(ctx, out, key)
    if value is None:
        return None
    text = policy_money(ctx, value) if money else display(value, ctx)
    return out.fact(fact_key or f"policy.{key}", text, f"policy:{key}", required=required)


def tier_benefit(ctx: FlowContext, out: Outcome, benefit: str) -> Any:
    """A benefit of the customer's own tier (``tiers.<tier>.<benefit>``), None when the
    customer has no tier or the shop gives that tier no such benefit."""
    tier = ctx.state.customer_tier
    if not tier:
        return None
    return policy_value(ctx, out, f"tiers.{tier}.{benefit}")


def record_policy_gap(ctx: FlowContext, key: str, *, kind: str = "policy") -> None:
    """Record the question as a knowledge gap naming ``key`` (masked, as every stored turn)."""
    record_gap(
        ctx.db,
        kind=kind,
        answer_key=key,
        question=mask_pii(ctx.text)[:500],
        conversation_id=ctx.session_id,
        language=ctx.language,
        intent=ctx.intent,
        at=clock.now_iso(),
    )


def say_unknown(
    ctx: FlowContext, out: Outcome, key: str, *, kind: str = "policy", topic: str | None = None
) -> Outcome:
    """Say plainly that the shop's data does not answer this, offer a colleague, and record
    the question as a knowledge gap naming ``key`` (a policy key, or an FAQ intent)."""
    record_policy_gap(ctx, key, kind=kind)
    out.resolved = False
    if any(p.template == UNKNOWN_TEMPLATE for p in out.parts):
        return out  # one "I don't have that" per reply, however many keys were missing
    topic_key = f"policy_topic.{topic or key.split('.')[0]}"
    if not has_template(topic_key, ctx.language):
        topic_key = "policy_topic.default"
    return out.say(UNKNOWN_TEMPLATE, topic=render(topic_key, ctx.language))
