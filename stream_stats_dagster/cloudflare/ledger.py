"""One Cloudflare budget for every process of a Dagster instance: a spending ledger in a table.

Cloudflare's budgets (300 GraphQL nodes, 1200 API calls per 5 minutes) belong to the token,
not to a process. Runs launched back to back (the run queue, one container per run) each
start with an empty in-process window and together overshoot. So every request is first
written here, in one transaction that checks the window and records the spending:

- table `stream_stats_cloudflare_budget` (budget, at, cost): what was spent, when (epoch s);
- table `stream_stats_cloudflare_hold` (budget, until): "send nothing before", set when
  Cloudflare answers 429 or "budget depleted", so every process pauses, not just the one told.

Atomic across processes: PostgreSQL takes a transaction-scoped advisory lock per token,
sqlite opens the transaction with `BEGIN IMMEDIATE` (one writer at a time). PostgreSQL's own
clock timestamps the rows, so containers on hosts with skewed clocks still share one window.

Where the table lives is the caller's to say (`defs/cloudflare_resource.instance_ledger_url`:
the Dagster instance's PostgreSQL database, or a file of its own beside a sqlite instance);
without an instance, a ledger in memory serves one process. The URL may carry a password:
it is never logged, and errors show it with the password hidden.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..progress import ANNOUNCE_AFTER_SECONDS, announce_wait, watchdog
from .errors import CloudflareLedgerError, one_line
from .pacing import wait_for_window

if TYPE_CHECKING:
    from .pacing import SlidingWindowBudget

LEDGER_FILE = "cloudflare-budget.db"
_metadata = sa.MetaData()
spending = sa.Table(
    "stream_stats_cloudflare_budget",
    _metadata,
    sa.Column("budget", sa.String(200), nullable=False),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("cost", sa.Integer(), nullable=False),
    sa.Index("stream_stats_cloudflare_budget_at", "budget", "at"),
)
holds = sa.Table(
    "stream_stats_cloudflare_hold",
    _metadata,
    sa.Column("budget", sa.String(200), primary_key=True),
    sa.Column("until", sa.Double(), nullable=False),
)


LOCK_TIMEOUT_SECONDS = 60  # sqlite's wait for another process's write lock


class BudgetLedger:
    """The spending table on one database (one engine per process)."""

    def __init__(self, url: str, *, clock: Callable[[], float] | None = None) -> None:
        url = _driver_url(url)
        self.in_memory = url == "sqlite://"  # one process's own ledger
        self.engine = _engine(url)
        self.where = self.engine.url.render_as_string(hide_password=True)
        self._clock = clock
        self._guard(self._create_tables)

    def account(self, key: str) -> LedgerAccount:
        return LedgerAccount(self, key)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- transactions ------------------------------------------------------------------

    def spend(
        self, key: str, parts: Sequence[tuple[SlidingWindowBudget, int]]
    ) -> tuple[float, SlidingWindowBudget | None, str]:
        """Record `parts` if all fit now; else record nothing and return the longest wait,
        its budget and why. One transaction, serialized with every other process's."""

        def run(conn: sa.Connection) -> tuple[float, SlidingWindowBudget | None, str]:
            now = self._lock(conn, key)
            worst: tuple[float, SlidingWindowBudget | None, str] = (0.0, None, "")
            for budget, cost in parts:
                wait, why = self._wait(conn, f"{key}:{budget.name}", budget, cost, now)
                if wait > worst[0]:
                    worst = (wait, budget, why)
            if worst[0] > 0:
                return worst
            # Rows that left their window go; the new ones come (two statements in all).
            expired = [
                sa.and_(
                    spending.c.budget == f"{key}:{budget.name}",
                    spending.c.at <= now - budget.window_seconds,
                )
                for budget, _ in parts
            ]
            conn.execute(spending.delete().where(sa.or_(*expired)))
            conn.execute(
                spending.insert(),
                [{"budget": f"{key}:{b.name}", "at": now, "cost": c} for b, c in parts],
            )
            return worst

        return self._guard(lambda: self._transaction(run))

    def hold(self, key: str, budget: SlidingWindowBudget, seconds: float) -> None:
        """Nothing of `budget` is sent by anyone for `seconds` from now."""
        name = f"{key}:{budget.name}"

        def run(conn: sa.Connection) -> None:
            until = self._lock(conn, key) + seconds
            current = conn.execute(sa.select(holds.c.until).where(holds.c.budget == name)).scalar()
            if current is None:
                conn.execute(holds.insert().values(budget=name, until=until))
            elif current < until:
                conn.execute(holds.update().where(holds.c.budget == name).values(until=until))

        self._guard(lambda: self._transaction(run))

    def used(self, key: str, budget: SlidingWindowBudget) -> int:
        """Units of `budget` spent by all processes in its current window (for tests)."""

        def run(conn: sa.Connection) -> int:
            now = self._lock(conn, key)
            return self._used(conn, f"{key}:{budget.name}", budget, now)

        return self._guard(lambda: self._transaction(run))

    def _wait(
        self, conn: sa.Connection, name: str, budget: SlidingWindowBudget, cost: int, now: float
    ) -> tuple[float, str]:
        if cost > budget.limit:
            raise ValueError(f"one request costs {cost}, more than the {budget.describe()}")
        # One round trip: the budget's hold and what was spent in its window.
        until, used = conn.execute(
            sa.select(
                sa.select(holds.c.until).where(holds.c.budget == name).scalar_subquery(),
                self._used_query(name, budget, now).scalar_subquery(),
            )
        ).one()
        if until is not None and until > now:
            return until - now, "Cloudflare asked a client of this token to pause (shared hold)"
        used = int(used or 0)
        if used + cost <= budget.limit:
            return 0.0, ""
        rows = conn.execute(
            sa.select(spending.c.at, spending.c.cost)
            .where(spending.c.budget == name, spending.c.at > now - budget.window_seconds)
            .order_by(spending.c.at)
        ).all()
        wait = wait_for_window(rows, budget.limit, budget.window_seconds, now, cost)
        who = (
            "in this process" if self.in_memory else ("by all processes sharing the budget ledger")
        )
        why = f"{used} used in the last {budget.window_seconds:g} s {who}"
        return wait, why

    def _used(self, conn: sa.Connection, name: str, budget: SlidingWindowBudget, now: float) -> int:
        return int(conn.execute(self._used_query(name, budget, now)).scalar() or 0)

    @staticmethod
    def _used_query(name: str, budget: SlidingWindowBudget, now: float) -> sa.Select:
        return sa.select(sa.func.coalesce(sa.func.sum(spending.c.cost), 0)).where(
            spending.c.budget == name, spending.c.at > now - budget.window_seconds
        )

    def _lock(self, conn: sa.Connection, key: str) -> float:
        """Serialize this transaction with every other one on `key`; return "now" (epoch s)."""
        if self.engine.dialect.name == "postgresql":
            lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            # The lock, then the database's clock (after the lock: the wait for it is not "now").
            locked_at = conn.execute(
                sa.text(
                    "SELECT extract(epoch FROM clock_timestamp()) "
                    "FROM (SELECT pg_advisory_xact_lock(:id)) AS locked"
                ),
                {"id": lock_id},
            ).scalar()
            if self._clock is None:
                return float(locked_at)
        # sqlite: BEGIN IMMEDIATE (see `_engine`) already holds the database's write lock.
        return (self._clock or time.time)()

    def _transaction(self, run: Callable[[sa.Connection], Any]) -> Any:
        with self.engine.begin() as conn:
            return run(conn)

    def _create_tables(self) -> None:
        def run(conn: sa.Connection) -> None:
            if self.engine.dialect.name == "postgresql":
                self._lock(conn, "stream_stats_cloudflare_budget:create")
            _metadata.create_all(conn, checkfirst=True)

        self._transaction(run)

    def _guard(self, action: Callable[[], Any]) -> Any:
        """One transaction, its database errors as one line; a wait for another process's
        lock past `ANNOUNCE_AFTER_SECONDS` says so (sqlite waits up to LOCK_TIMEOUT_SECONDS)."""

        def announce() -> None:
            announce_wait(
                f"Cloudflare budget ledger at {self.where}",
                LOCK_TIMEOUT_SECONDS - ANNOUNCE_AFTER_SECONDS,
                f"locked by another process for {ANNOUNCE_AFTER_SECONDS:g} s (its run is "
                f"spending the same budget); gives up at {LOCK_TIMEOUT_SECONDS:g} s",
            )

        try:
            with watchdog().watch(ANNOUNCE_AFTER_SECONDS, announce):
                return action()
        except sa.exc.SQLAlchemyError as exc:
            cause = one_line(str(getattr(exc, "orig", None) or exc), 200)
            raise CloudflareLedgerError(
                f"Cloudflare budget ledger at {self.where}: {type(exc).__name__}: {cause}"
            ) from None


class LedgerAccount:
    """The ledger rows of one token (`key` is a hash, never the token)."""

    def __init__(self, ledger: BudgetLedger, key: str) -> None:
        self.ledger = ledger
        self.key = key

    def spend(
        self, parts: Sequence[tuple[SlidingWindowBudget, int]]
    ) -> tuple[float, SlidingWindowBudget | None, str]:
        return self.ledger.spend(self.key, parts)

    def hold(self, budget: SlidingWindowBudget, seconds: float) -> None:
        self.ledger.hold(self.key, budget, seconds)

    def used(self, budget: SlidingWindowBudget) -> int:
        return self.ledger.used(self.key, budget)


def account_key(base_url: str, account_id: str, api_token: str) -> str:
    """The ledger's name for one token's budgets: a hash, so the table never holds the token."""
    digest = hashlib.sha256(f"{base_url}\n{account_id}\n{api_token}".encode()).hexdigest()
    return f"cloudflare:{digest[:32]}"


_LEDGERS: dict[tuple[str, int], BudgetLedger] = {}
_LEDGERS_LOCK = threading.Lock()


def shared_ledger(url: str) -> BudgetLedger:
    """This process's ledger on `url` (one engine per URL and process)."""
    key = (url, os.getpid())
    with _LEDGERS_LOCK:
        ledger = _LEDGERS.get(key)
        if ledger is None:
            ledger = _LEDGERS[key] = BudgetLedger(url)
        return ledger


def _driver_url(url: str) -> str:
    """A bare `postgresql://` means psycopg v3 to SQLAlchemy >= 2.1; dagster-postgres installs
    psycopg2, so the bare scheme gets that driver (as tests/support/postgres.py does)."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def _engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    path = sa.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": LOCK_TIMEOUT_SECONDS})
    else:  # in memory: one connection, shared by the process's threads (the pacer's lock
        # serializes them)
        engine = sa.create_engine(
            url, poolclass=sa.StaticPool, connect_args={"check_same_thread": False}
        )

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first: no lost updates

    return engine
