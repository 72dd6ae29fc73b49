"""The shop's "now" for every time-dependent answer.

Return windows, free-cancellation hours, which promotions are live, relative dates the
customer types ("yesterday") and the timestamps a flow writes (cancelled_at, a return's
created_at) all read this clock, never ``datetime.now`` directly. It is real time by
default; ``frozen(at)`` fixes it (tests, the evaluation runner, ``Assistant.open(now=...)``),
so conversations written around a fixed day - the demo shop's orders are - give the same
answers on any day.

The fixed value is process-wide rather than per-thread on purpose: the TUI runs turns in
worker threads, and a test that freezes the clock must freeze it for those too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

_fixed: datetime | None = None


def now() -> datetime:
    """Naive UTC, like the timestamps stored in the database."""
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    return now().date()


def now_iso() -> str:
    """``now()`` in the stored timestamp format (``2026-11-29T09:00:00Z``)."""
    return now().replace(microsecond=0).isoformat() + "Z"


def to_naive_utc(at: datetime) -> datetime:
    """A time without a zone is taken as UTC, like the demo data's timestamps."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def is_frozen() -> bool:
    return _fixed is not None


@contextmanager
def frozen(at: datetime | None) -> Iterator[None]:
    """Fix "now" inside the block; ``None`` leaves the clock as it is (handy for callers
    whose "now" is optional)."""
    global _fixed
    previous = _fixed
    if at is not None:
        _fixed = to_naive_utc(at)
    try:
        yield
    finally:
        _fixed = previous
