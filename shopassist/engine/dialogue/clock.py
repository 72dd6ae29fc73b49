"""The shop's "now" for policy decisions (return windows, free-cancellation hours, live promotions).

Real time by default; ``frozen(at)`` fixes it, so evaluation suites written around a
fixed date (the demo orders are) give the same answers on any day.
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


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    global _fixed
    previous = _fixed
    _fixed = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    try:
        yield
    finally:
        _fixed = previous
