"""`CloudflareResource`: how Dagster assets get a `CloudflareClient`.

The token comes in as `dg.EnvVar("CLOUDFLARE_API_TOKEN")`, so the UI shows the variable's name,
never its value. With `source="simulator"` the client talks to the built-in simulator in-process
(same client code, different httpx transport), with the simulator's own account id and token.

Clients made by resources of the same token in one process share one `Pacer`, because
Cloudflare's budgets are per user/token, not per client: steps of an in-process run (and the
`collect` CLI) then pace together. Across processes (runs from the queue, one container per
run) they share a budget ledger in the Dagster instance's database (`ledger.py`):
`budget_ledger="instance"` (the default) puts it where the instance keeps its runs (the same
PostgreSQL database, or a sqlite file of its own in the instance's directory), found through
the instance itself; without an instance (scripts) the ledger is the process's own. The
in-process simulator has budgets of its own per process, so it never shares one.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import dagster as dg

from ..cloudflare.client import ClientLimits, CloudflareClient
from ..cloudflare.ledger import LEDGER_FILE, LedgerAccount, account_key, shared_ledger
from ..cloudflare.pacing import Pacer
from ..config import DEFAULT_API_BASE_URL, DEFAULT_TIMEZONE, ConfigError

SIMULATOR_BASE_URL = "http://simulator.invalid/client/v4"  # in-process: the host is never resolved
_PACERS: dict[tuple[str, str, str, str | None], Pacer] = {}
_PACERS_LOCK = threading.Lock()


def new_pacer(limits: ClientLimits, ledger: LedgerAccount | None = None) -> Pacer:
    return Pacer(
        nodes_per_window=limits.nodes_per_window,
        calls_per_window=limits.calls_per_window,
        window_seconds=limits.window_seconds,
        max_wait_seconds=limits.max_wait_seconds,
        clock=time.monotonic,
        sleep=time.sleep,
        announce_after_seconds=limits.announce_after_seconds,
        ledger=ledger,
    )


def shared_pacer(
    base_url: str,
    account_id: str,
    api_token: str,
    limits: ClientLimits,
    ledger_url: str | None = None,
) -> Pacer:
    """The process-wide pacer of one token (keyed by a hash, so the token is not kept twice),
    spending through the ledger at `ledger_url` if given."""
    key = (base_url, account_id, hashlib.sha256(api_token.encode()).hexdigest(), ledger_url)
    with _PACERS_LOCK:
        pacer = _PACERS.get(key)
        if pacer is None:
            pacer = _PACERS[key] = new_pacer(
                limits, _ledger_account(ledger_url, base_url, account_id, api_token)
            )
        return pacer


def _ledger_account(
    ledger_url: str | None, base_url: str, account_id: str, api_token: str
) -> LedgerAccount | None:
    if ledger_url is None:
        return None
    return shared_ledger(ledger_url).account(account_key(base_url, account_id, api_token))


def instance_ledger_url(instance: dg.DagsterInstance) -> str:
    """Where `instance` keeps its runs, for the ledger: its PostgreSQL database (dagster-
    postgres' run storage says its URL), else a sqlite file of its own in the instance's
    directory (kept apart from Dagster's files, so its locks never block Dagster's writes)."""
    url = getattr(instance.run_storage, "postgres_url", None)
    if url:
        return url
    return f"sqlite:///{Path(instance.root_directory).absolute() / LEDGER_FILE}"


class CloudflareResource(dg.ConfigurableResource):
    """Cloudflare Stream analytics for one account (or the built-in simulator)."""

    api_base_url: str = DEFAULT_API_BASE_URL
    account_id: str = ""
    api_token: str = ""
    source: str = "cloudflare"  # "cloudflare" | "simulator"
    timezone: str = DEFAULT_TIMEZONE
    max_wait_seconds: float = 330.0
    # This token's budgets as the client keeps them (Cloudflare's are 300 and 1200 per 300 s).
    nodes_per_window: int = 280
    calls_per_window: int = 1100
    window_seconds: float = 300.0
    # Where this token's spending is shared across processes: "instance" (the Dagster
    # instance's database, via $DAGSTER_HOME/dagster.yaml; per process without one),
    # "process" (no sharing), or a SQLAlchemy URL (pass a password only through an EnvVar).
    budget_ledger: str = "instance"

    def __repr_args__(self):  # pydantic's repr: never show the token
        for name, value in super().__repr_args__():
            yield name, ("[redacted]" if name == "api_token" and value else value)

    def ledger_url(self, instance: dg.DagsterInstance | None = None) -> str | None:
        """The shared budget ledger's URL for `source="cloudflare"`, or None (a ledger of this
        process alone). "instance": the given instance's, else `$DAGSTER_HOME`'s if set."""
        if self.source != "cloudflare" or self.budget_ledger == "process":
            return None
        if self.budget_ledger != "instance":
            return self.budget_ledger
        if instance is not None:
            return instance_ledger_url(instance)
        home = os.environ.get("DAGSTER_HOME")
        if not home or not Path(home).is_dir():
            return None
        from ..instance import open_instance  # several processes may open a new home at once

        with open_instance(Path(home)) as opened:
            return instance_ledger_url(opened)

    def client(
        self,
        logger: Any = None,
        *,
        limits: ClientLimits | None = None,
        instance: dg.DagsterInstance | None = None,
    ) -> CloudflareClient:
        """A new client (use it as a context manager); `logger` is e.g. `context.log`, and
        `instance` (`context.instance`) says where the shared budget ledger is.

        Custom `limits` (e.g. a sensor that must never wait) get a pacer of their own, which
        still spends from the shared ledger: the spending is real either way."""
        custom = limits is not None
        limits = limits or ClientLimits(
            max_wait_seconds=self.max_wait_seconds,
            nodes_per_window=self.nodes_per_window,
            calls_per_window=self.calls_per_window,
            window_seconds=self.window_seconds,
            max_nodes_per_request=min(ClientLimits.max_nodes_per_request, self.nodes_per_window),
        )
        if self.source == "simulator":
            from ..simulator import default_simulator

            sim = default_simulator()
            account_id, token = sim.config.account_id, sim.config.api_token
            base_url, transport = SIMULATOR_BASE_URL, sim.transport()
        elif self.source == "cloudflare":
            missing = [
                n
                for n, v in (("account_id", self.account_id), ("api_token", self.api_token))
                if not v
            ]
            if missing:
                raise ConfigError(
                    f"CloudflareResource: {' and '.join(missing)} missing for source 'cloudflare'"
                )
            account_id, token = self.account_id, self.api_token
            base_url, transport = self.api_base_url, None
        else:
            raise ConfigError(
                "CloudflareResource.source must be 'cloudflare' or 'simulator', "
                f"not {self.source!r}"
            )
        ledger_url = self.ledger_url(instance)
        if custom:
            pacer = new_pacer(limits, _ledger_account(ledger_url, base_url, account_id, token))
        else:
            pacer = shared_pacer(base_url, account_id, token, limits, ledger_url)
        return CloudflareClient(
            base_url,
            account_id,
            token,
            timezone=self.timezone,
            transport=transport,
            limits=limits,
            logger=logger,
            pacer=pacer,
        )
