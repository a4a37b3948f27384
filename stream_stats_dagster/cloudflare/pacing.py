"""Client-side pacing under Cloudflare's rate limits, with a deadline on every wait.

Cloudflare counts every GraphQL dataset node as one query against 300 per 5 minutes per user,
and blocks a token for 5 minutes once it makes 1200 API calls in 5 minutes. Being blocked costs
far more than waiting a little, so the client keeps a sliding window of what it spent and waits
before it would cross a (lower, configurable) limit. A wait is never silent or unbounded: one
longer than `announce_after_seconds` is announced on the `stream_stats_dagster.waits` logger
(what, why, until when), and one longer than `max_wait_seconds` (or past the caller's deadline)
raises `CloudflareBudgetWaitError` instead of sleeping.

Where the spending is kept: always in a ledger (`ledger.LedgerAccount`): a table every
process of the Dagster instance shares, so that runs launched side by side (queue,
containers) spend one budget together, or, without an instance (scripts, the in-process
simulator), an in-memory one of this process alone.

Clock and sleep are injected so that tests run on a fake clock without really sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..progress import ANNOUNCE_AFTER_SECONDS, announce_wait
from .errors import CloudflareBudgetWaitError

MEMORY = "sqlite://"  # a ledger of one process: an in-memory database

if TYPE_CHECKING:
    from .ledger import LedgerAccount


class SlidingWindowBudget:
    """One of Cloudflare's budgets: at most `limit` units in any `window_seconds` (what was
    spent is kept by the ledger)."""

    def __init__(self, name: str, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError(f"{name} budget: limit and window must be positive")
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds

    def describe(self) -> str:
        return f"{self.name} budget ({self.limit} per {self.window_seconds:g} s)"


def wait_for_window(spent: Any, limit: int, window_seconds: float, now: float, cost: int) -> float:
    """Seconds until `cost` more units fit under `limit`, given `spent` = (time, cost) pairs
    inside the window, oldest first: wait until enough of them leave the window."""
    excess = sum(c for _, c in spent) + cost - limit
    if excess <= 0:
        return 0.0
    freed = 0
    for t, c in spent:
        freed += c
        if freed >= excess:
            return max(0.0, t + window_seconds - now)
    raise AssertionError("unreachable: cost <= limit")  # pragma: no cover


class Pacer:
    """Both Cloudflare budgets of one token: GraphQL nodes, and API calls (REST and GraphQL
    requests alike, since the 1200-per-5-minutes limit counts every call to the API).

    The spending is kept by a ledger (`ledger.py`): the instance's, shared by every process
    of it, or one of this process alone (in memory) when there is no instance. Thread-safe:
    a waiter sleeps while holding the lock, so concurrent callers queue up in order instead
    of all waking at once and overshooting; a `hold` pauses every process on the ledger."""

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
        announce_after_seconds: float = ANNOUNCE_AFTER_SECONDS,
        ledger: LedgerAccount | None = None,
    ) -> None:
        self.nodes = SlidingWindowBudget("GraphQL node", nodes_per_window, window_seconds)
        self.calls = SlidingWindowBudget("API call", calls_per_window, window_seconds)
        self.max_wait_seconds = max_wait_seconds
        self.announce_after_seconds = announce_after_seconds
        self.logger = logger
        if ledger is None:  # this process alone, on its own clock (a fake one in tests)
            from .ledger import BudgetLedger

            ledger = BudgetLedger(MEMORY, clock=clock).account("this-process")
        self.ledger = ledger
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
            self.ledger.hold(self.nodes if graphql else self.calls, seconds)

    def _acquire(
        self, parts: list[tuple[SlidingWindowBudget, int]], deadline: float | None
    ) -> float:
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                wait, budget, why = self.ledger.spend(parts)  # atomic across processes
                if wait <= 0 or budget is None:
                    return waited
                check_wait(
                    wait,
                    self.max_wait_seconds,
                    deadline,
                    now,
                    f"the Cloudflare {budget.describe()}",
                )
                self._announce(wait, budget, why)
                self._sleep(wait)
                waited += wait

    def _announce(self, wait: float, budget: SlidingWindowBudget, why: str) -> None:
        what = f"Cloudflare pacing: the {budget.describe()}"
        if wait > self.announce_after_seconds:
            line = announce_wait(what, wait, why)
            if self.logger is not None:
                self.logger.warning(f"waiting: {line}")
        elif self.logger is not None:
            self.logger.info(f"{what}: waiting {wait:.1f} s ({why})")


def check_wait(
    wait: float, max_wait: float, deadline: float | None, now: float, reason: str
) -> None:
    """Raise `CloudflareBudgetWaitError` if a wait of `wait` seconds is not allowed."""
    refusal = wait_refusal(wait, max_wait, deadline, now)
    if refusal is not None:
        raise CloudflareBudgetWaitError(
            f"{reason} needs a {wait:.0f} s wait, {refusal}; try again later"
        )


def wait_refusal(wait: float, max_wait: float, deadline: float | None, now: float) -> str | None:
    """Why a wait of `wait` seconds starting at `now` is not allowed (longer than any single
    wait may be, or past the call's deadline), or None if it is."""
    if wait > max_wait:
        return f"more than max_wait_seconds={max_wait:g}"
    if deadline is not None and now + wait > deadline:
        return f"past the call's deadline ({max(deadline - now, 0):.0f} s left)"
    return None
