"""Per-minute request limits, kept in memory by each server process.

A sliding window of request times per key (a session id, a client address). Several
server processes each keep their own windows, so behind a proxy that spreads clients over
N processes a client gets at most N times the limit; docs/deploy.md says so.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0
# Sweep idle keys now and then so one-off clients do not grow memory without bound.
SWEEP_EVERY = 1_000


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._since_sweep = 0

    def hit(self, key: str) -> float | None:
        """Count one request; None when allowed, else seconds until one more is allowed."""
        now = self._clock()
        with self._lock:
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._sweep(now)
            window = self._hits.setdefault(key, deque())
            while window and now - window[0] >= WINDOW_S:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(0.0, WINDOW_S - (now - window[0]))
            window.append(now)
            return None

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key in [k for k, w in self._hits.items() if not w or now - w[-1] >= WINDOW_S]:
            del self._hits[key]
