"""Client-side pacing under Cloudflare's rate limits, with a deadline on every wait.

Cloudflare counts every GraphQL dataset node as one query against 300 per 5 minutes per user,
and blocks a token for 5 minutes once it makes 1200 API calls in 5 minutes. Being blocked costs
far more than waiting a little, so the client keeps a sliding window of what it spent and waits
before it would cross a (lower, configurable) limit. A wait is never silent or unbounded: it is
logged, and one longer than `max_wait_seconds` (or past the caller's deadline) raises
`CloudflareBudgetWaitError` instead of sleeping.

Clock and sleep are injected so that tests run on a fake clock without really sleeping.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .errors import CloudflareBudgetWaitError


class SlidingWindowBudget:
    """Bookkeeping for "at most `limit` units in any `window_seconds`" (no clock of its own)."""

    def __init__(self, name: str, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError(f"{name} budget: limit and window must be positive")
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds
        self._spent: deque[tuple[float, int]] = deque()
        self.held_until = float("-inf")

    def describe(self) -> str:
        return f"{self.name} budget ({self.limit} per {self.window_seconds:g} s)"

    def used(self, now: float) -> int:
        self._expire(now)
        return sum(cost for _, cost in self._spent)

    def record(self, now: float, cost: int) -> None:
        self._spent.append((now, cost))

    def wait_needed(self, now: float, cost: int) -> float:
        """Seconds until `cost` more units fit (0 if they fit now)."""
        if cost > self.limit:
            raise ValueError(f"one request costs {cost}, more than the {self.describe()}")
        if now < self.held_until:
            return self.held_until - now
        excess = self.used(now) + cost - self.limit
        if excess <= 0:
            return 0.0
        freed = 0
        for t, c in self._spent:  # oldest first: wait until enough of them leave the window
            freed += c
            if freed >= excess:
                return t + self.window_seconds - now
        raise AssertionError("unreachable: cost <= limit")  # pragma: no cover

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - self.window_seconds:
            self._spent.popleft()


class Pacer:
    """Both Cloudflare budgets of one token: GraphQL nodes, and API calls (REST and GraphQL
    requests alike, since the 1200-per-5-minutes limit counts every call to the API).

    Thread-safe. A waiter sleeps while holding the lock, so concurrent callers queue up in
    order instead of all waking at once and overshooting."""

    def __init__(
        self,
        *,
        nodes_per_window: int,
        calls_per_window: int,
        window_seconds: float,
        max_wait_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Any],
        logger: Any = None,
    ) -> None:
        self.nodes = SlidingWindowBudget("GraphQL node", nodes_per_window, window_seconds)
        self.calls = SlidingWindowBudget("API call", calls_per_window, window_seconds)
        self.max_wait_seconds = max_wait_seconds
        self.logger = logger
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()

    def graphql(self, nodes: int, *, deadline: float | None = None) -> float:
        """Before one GraphQL request of `nodes` nodes; returns the seconds waited."""
        return self._acquire([(self.nodes, nodes), (self.calls, 1)], deadline)

    def rest(self, *, deadline: float | None = None) -> float:
        """Before one REST call; returns the seconds waited."""
        return self._acquire([(self.calls, 1)], deadline)

    def hold(self, seconds: float, *, graphql: bool) -> None:
        """Send nothing of that kind for `seconds` (Cloudflare said so: 429 / budget depleted)."""
        with self._lock:
            budget = self.nodes if graphql else self.calls
            budget.held_until = max(budget.held_until, self._clock() + seconds)

    def _acquire(
        self, parts: list[tuple[SlidingWindowBudget, int]], deadline: float | None
    ) -> float:
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                wait, budget = max(
                    ((b.wait_needed(now, c), b) for b, c in parts), key=lambda p: p[0]
                )
                if wait <= 0:
                    for b, c in parts:
                        b.record(now, c)
                    return waited
                check_wait(
                    wait,
                    self.max_wait_seconds,
                    deadline,
                    now,
                    f"the Cloudflare {budget.describe()}",
                )
                if self.logger is not None:
                    self.logger.info(
                        f"Cloudflare pacing: waiting {wait:.1f} s for the {budget.describe()}"
                    )
                self._sleep(wait)
                waited += wait


def check_wait(
    wait: float, max_wait: float, deadline: float | None, now: float, reason: str
) -> None:
    """Raise `CloudflareBudgetWaitError` if a wait of `wait` seconds is not allowed."""
    if wait > max_wait:
        raise CloudflareBudgetWaitError(
            f"{reason} needs a {wait:.0f} s wait, more than max_wait_seconds={max_wait:g}; "
            "try again later"
        )
    if deadline is not None and now + wait > deadline:
        raise CloudflareBudgetWaitError(
            f"{reason} needs a {wait:.0f} s wait, past the call's deadline "
            f"({max(deadline - now, 0):.0f} s left); try again later"
        )
