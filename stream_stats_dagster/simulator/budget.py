"""Cloudflare's rate limits (GraphQL node budget, REST request budget) over an injectable clock.

Both are sliding windows over the clock, so tests drive them with a `ManualClock` instead of
waiting five minutes.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]  # epoch seconds, like time.time


class ManualClock:
    """A clock that only moves when told to (for budget, retention and late-data tests)."""

    def __init__(self, start: float | dt.datetime = 1_741_600_000.0) -> None:
        self._now = start.timestamp() if isinstance(start, dt.datetime) else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def set(self, when: float | dt.datetime) -> None:
        with self._lock:
            self._now = when.timestamp() if isinstance(when, dt.datetime) else float(when)


def fixed_or_system_clock(now: dt.datetime | None) -> Clock:
    if now is None:
        return time.time
    fixed = now.timestamp()
    return lambda: fixed


class SlidingWindow:
    """At most `limit` units per `window` seconds; a request that does not fit is refused."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: deque[tuple[float, int]] = deque()
        self._used = 0
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - self.window:
            self._used -= self._events.popleft()[1]

    def try_acquire(self, units: int = 1) -> bool:
        with self._lock:
            now = self.clock()
            self._expire(now)
            if self._used + units > self.limit:
                return False
            self._events.append((now, units))
            self._used += units
            return True

    def remaining(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return max(0, self.limit - self._used)


class RestLimiter:
    """REST: `limit` calls per window; the call that exceeds it blocks every call for a window,
    answered with 429 and `retry-after` (seconds, rounded up)."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.window = SlidingWindow(limit, window, clock)
        self.clock = clock
        self._blocked_until = -math.inf
        self._lock = threading.Lock()

    def check(self) -> int | None:
        """None when the call may proceed, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            if now < self._blocked_until:
                return max(1, math.ceil(self._blocked_until - now))
            if self.window.try_acquire(1):
                return None
            self._blocked_until = now + self.window.window
            return max(1, math.ceil(self.window.window))
