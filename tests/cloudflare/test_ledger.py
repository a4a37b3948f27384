"""One Cloudflare budget for all runs: the spending ledger in the Dagster instance's database.

Unit tests on a fake clock (sqlite), where the ledger lives for each dagster.yaml, and
several processes against the loopback simulator with its node budget on: together they stay
inside it with the ledger (sqlite and PostgreSQL), and overshoot without it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from stream_stats_dagster.cloudflare import ClientLimits
from stream_stats_dagster.cloudflare.ledger import BudgetLedger, CloudflareLedgerError, account_key
from stream_stats_dagster.cloudflare.pacing import Pacer, SlidingWindowBudget
from stream_stats_dagster.dates import ReportDay
from stream_stats_dagster.defs.cloudflare_resource import CloudflareResource, instance_ledger_url
from stream_stats_dagster.simulator import Simulator, small_config
from tests.support.postgres import postgres_cluster, write_postgres_dagster_home
from tests.support.s3server import aws_free_env

from .fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
REPO_DAGSTER_YAML = ROOT / "dagster.yaml"


class Now:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _sqlite(tmp_path: Path, now: Now) -> BudgetLedger:
    return BudgetLedger(f"sqlite:///{tmp_path / 'ledger.db'}", clock=now)


def test_spending_is_shared_between_ledgers_on_one_database(tmp_path) -> None:
    """Two ledger objects (two engines, as two processes would have) see each other's rows."""
    now = Now()
    nodes = SlidingWindowBudget("GraphQL node", 10, 300)
    calls = SlidingWindowBudget("API call", 100, 300)
    a, b = _sqlite(tmp_path, now).account("k"), _sqlite(tmp_path, now).account("k")
    assert a.spend([(nodes, 6), (calls, 1)]) == (0.0, None, "")
    now.t += 100
    assert b.spend([(nodes, 4), (calls, 1)])[0] == 0.0
    now.t += 10
    wait, budget, why = a.spend([(nodes, 1), (calls, 1)])
    assert budget is nodes and wait == pytest.approx(190)  # the first 6 leave at +300
    assert why == "10 used in the last 300 s by all processes sharing the budget ledger"
    assert b.used(nodes) == 10 and b.used(calls) == 2  # the refused spend recorded nothing
    assert a.spend([(calls, 1)])[0] == 0.0  # the call budget alone still has room
    other = _sqlite(tmp_path, now).account("another token")
    assert other.spend([(nodes, 10)])[0] == 0.0  # budgets are per token
    now.t += 190
    assert b.spend([(nodes, 5), (calls, 1)])[0] == 0.0
    assert a.used(nodes) == 9


def test_a_hold_pauses_every_process(tmp_path) -> None:
    now = Now()
    nodes = SlidingWindowBudget("GraphQL node", 10, 300)
    a, b = _sqlite(tmp_path, now).account("k"), _sqlite(tmp_path, now).account("k")
    a.hold(nodes, 42)
    a.hold(nodes, 5)  # a shorter hold never shortens a longer one
    wait, budget, why = b.spend([(nodes, 1)])
    assert wait == pytest.approx(42) and budget is nodes and "pause" in why
    now.t += 42
    assert b.spend([(nodes, 1)])[0] == 0.0


def test_a_pacer_on_the_ledger_waits_for_other_processes_spending(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    now = Now()
    clock = FakeClock(0.0)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        now.t += seconds

    ledger = _sqlite(tmp_path, now)
    other = _sqlite(tmp_path, now).account("k")
    pacer = Pacer(
        nodes_per_window=10,
        calls_per_window=100,
        window_seconds=300,
        max_wait_seconds=330,
        clock=clock,
        sleep=sleep,
        ledger=ledger.account("k"),
    )
    assert other.spend([(pacer.nodes, 8)])[0] == 0.0  # another process spent 8 nodes
    now.t += 20
    assert pacer.graphql(2) == 0.0
    assert pacer.graphql(4) == pytest.approx(280)  # waits for the other process's 8 to expire
    assert clock.sleeps == [pytest.approx(280)]
    assert "by all processes sharing the budget ledger" in caplog.text
    assert pacer.ledger.ledger.in_memory is False  # kept in the shared ledger


def test_a_database_that_is_gone_fails_in_one_line_without_the_password(tmp_path) -> None:
    with pytest.raises(CloudflareLedgerError) as raised:
        BudgetLedger("postgresql+psycopg2://u:s3cret-pw@127.0.0.1:1/db?connect_timeout=2")
    message = str(raised.value)
    assert "s3cret-pw" not in message and "***" in message and "\n" not in message
    assert raised.value.transient


# -- where the ledger lives -------------------------------------------------------------


def test_ledger_url_follows_the_instance(tmp_path, monkeypatch) -> None:
    """Where the instance keeps its runs: beside a sqlite instance, a file of its own; on
    PostgreSQL (production's `deploy/dagster.yaml`, env-var coordinates), the same database,
    as the instance's own run storage says it, not as a parser of dagster.yaml would."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(REPO_DAGSTER_YAML.read_text())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance_ledger_url(instance) == f"sqlite:///{home / 'cloudflare-budget.db'}"
    with postgres_cluster() as cluster:
        for name, value in cluster.env().items():
            monkeypatch.setenv(name, value)
        (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
        for name in ("R2_ENDPOINT_URL", "LOG_BUCKET"):  # the compute logs' settings
            monkeypatch.setenv(name, "http://127.0.0.1:9" if name == "R2_ENDPOINT_URL" else "l")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            url = instance_ledger_url(instance)
            assert url.startswith("postgresql+psycopg2://") and f":{cluster.port}/" in url
            BudgetLedger(url).dispose()  # it opens: the same database, reachable


def test_the_resource_uses_the_instance_ledger_for_cloudflare_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    cf = dict(source="cloudflare", account_id="acc", api_token="tok-0123456789")
    with CloudflareResource(**cf).client() as client:
        assert client.pacer.ledger is not None
        assert client.pacer.ledger.key == account_key(
            "https://api.cloudflare.com/client/v4", "acc", "tok-0123456789"
        )
    assert (tmp_path / "cloudflare-budget.db").exists()
    with CloudflareResource(**cf).client(limits=ClientLimits(max_wait_seconds=0)) as client:
        assert client.pacer.ledger is not None  # a sensor's own limits still spend from it
    # otherwise: a ledger of this process alone, in memory
    with CloudflareResource(**cf, budget_ledger="process").client() as client:
        assert client.pacer.ledger.ledger.in_memory
    with CloudflareResource(source="simulator").client() as client:
        assert client.pacer.ledger.ledger.in_memory
    monkeypatch.delenv("DAGSTER_HOME")
    with CloudflareResource(**cf).client() as client:
        assert client.pacer.ledger.ledger.in_memory


# -- several processes, one budget ------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import datetime as dt, json, os, sys, time
    from stream_stats_dagster.cloudflare import ClientLimits, CloudflareError
    from stream_stats_dagster.defs.cloudflare_resource import CloudflareResource

    base_url, ledger, gate = sys.argv[1], sys.argv[2], sys.argv[3]
    days, limit, window = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    resource = CloudflareResource(
        source="cloudflare", api_base_url=base_url, account_id="sim-account",
        api_token="sim-token", budget_ledger=ledger,
    )
    limits = ClientLimits(
        nodes_per_window=limit, calls_per_window=1000, window_seconds=window,
        max_nodes_per_request=4, max_wait_seconds=3 * window,
    )
    out = {"error": None}
    with resource.client(limits=limits) as client:
        open(f"{gate}.{os.getpid()}", "w").close()  # ready: imported, ledger open
        while not os.path.exists(gate):
            time.sleep(0.01)
        try:
            first = dt.date(2025, 3, 11)  # FIRST_DAY
            facts = client.fetch_days([first - dt.timedelta(i) for i in range(days)], top_videos=5)
            out["days"] = len(facts)
        except CloudflareError as e:
            out["error"] = str(e)
        out["stats"] = client.stats.as_dict()
    print(json.dumps(out))
    """
)

# The clients keep under 16 nodes per window, the simulator allows 28: the ledger counts a
# request when it is paced, the simulator when it arrives, usually a few ms later, but on a
# loaded machine a process can be descheduled in between (Cloudflare's real limit is 300, the
# client's 280 for the same reason). Without the ledger the 48 nodes come at once.
# A window long enough that a request slowed by a loaded machine (tests run in parallel)
# still reaches the simulator inside the window the ledger counted it in.
PROCESSES, DAYS, CLIENT_LIMIT, SIM_LIMIT, WINDOW = 4, 3, 16, 28, 8.0
FIRST_DAY = dt.date(2025, 3, 11)


def _run_processes(tmp_path: Path, ledger: str, env: dict[str, str]) -> tuple[list, list]:
    """N processes fetch DAYS days each (4 nodes a day, one request a day), all starting at
    once; the simulator refuses what exceeds SIM_LIMIT nodes per WINDOW. Returns each
    process's report and the simulator's (time, nodes, accepted) per request."""
    # Cloudflare counts a request when it arrives. The simulator counts it after parsing and
    # validating it, which on two busy cores can lag arrival by most of a second; so its
    # budget's clock reads the moment this request reached the server.
    arrival = threading.local()

    def arrived() -> float:
        return getattr(arrival, "t", None) or time.time()

    config = small_config(
        node_budget=True, node_budget_limit=SIM_LIMIT, budget_window_seconds=WINDOW
    )
    sim = Simulator(config, clock=arrived)
    app = sim.wsgi_app

    def timed_app(environ, start_response):
        arrival.t = time.time()
        try:
            return app(environ, start_response)
        finally:
            arrival.t = None

    sim.wsgi_app = timed_app  # type: ignore[method-assign]
    seen: list[tuple[float, int, bool]] = []
    lock = threading.Lock()
    acquire = sim.node_budget.try_acquire

    def recorded(units: int = 1) -> bool:
        with lock:
            ok = acquire(units)
            seen.append((arrived(), units, ok))
            return ok

    sim.node_budget.try_acquire = recorded
    with sim.serve() as server:
        # Build the simulator's schema and the days' records now, not in the first requests.
        warm = httpx.post(f"{server.base_url}/graphql", json={"query": "{ cost }"}, timeout=60)
        assert warm.status_code == 200 and not seen, warm.text
        for i in range(DAYS):
            day = ReportDay(FIRST_DAY - dt.timedelta(i), "Asia/Seoul")
            sim.platform.records(day.start_utc, day.end_utc)
        gate = str(tmp_path / "go")
        argv = [
            server.base_url,
            ledger,
            gate,
            str(DAYS),
            str(CLIENT_LIMIT),
            str(WINDOW),
        ]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, *argv],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        _open_gate(gate, procs)
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)  # a guard against a hang only
            assert proc.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports, seen


def _open_gate(gate: str, procs: list[subprocess.Popen[str]]) -> None:
    """Let the processes go together, once each has started up (imports, ledger, instance)."""
    deadline = time.monotonic() + 240  # a guard against a hang only
    while len(list(Path(gate).parent.glob(Path(gate).name + ".*"))) < len(procs):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline, "the processes did not start"
        time.sleep(0.05)
    Path(gate).touch()


def _env(home: Path, **extra: str) -> dict[str, str]:
    import os

    own = ("DAGSTER_", "CLOUDFLARE_", "R2_", "STREAM_STATS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return aws_free_env({**env, "DAGSTER_HOME": str(home), **extra})


def _max_in_window(seen: list[tuple[float, int, bool]]) -> int:
    accepted = [(t, n) for t, n, ok in seen if ok]
    return max(sum(n for t, n in accepted if s <= t < s + WINDOW) for s, _ in accepted)


def _assert_one_budget(reports: list, seen: list) -> None:
    start = seen[0][0]
    timeline = [(round(t - start, 3), n, ok) for t, n, ok in seen]
    print(f"ledger: {len(reports)} processes: {reports}\nsimulator: {timeline}")
    assert [r["error"] for r in reports] == [None] * PROCESSES
    assert all(r["days"] == DAYS and r["stats"]["retries"] == 0 for r in reports)
    assert all(ok for _, _, ok in seen)  # the simulator never said "budget depleted"
    assert sum(n for _, n, _ in seen) == PROCESSES * DAYS * 4
    assert _max_in_window(seen) <= SIM_LIMIT
    # 48 nodes against 16 per window: the processes waited for each other's spending
    assert sum(r["stats"]["waited_seconds"] for r in reports) > WINDOW


def test_processes_share_one_budget_through_the_sqlite_ledger(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(REPO_DAGSTER_YAML.read_text())
    reports, seen = _run_processes(tmp_path, "instance", _env(home))
    _assert_one_budget(reports, seen)
    assert (home / "cloudflare-budget.db").exists()


def test_without_the_ledger_the_same_processes_overshoot(tmp_path) -> None:
    """The control: each process paces only itself, and the simulator refuses."""
    home = tmp_path / "home"
    home.mkdir()
    reports, seen = _run_processes(tmp_path, "process", _env(home))
    refused = [n for _, n, ok in seen if not ok]
    print(f"no ledger: simulator refused {len(refused)} requests; {reports}")
    assert refused
    assert any(r["error"] and "budget depleted" in r["error"] for r in reports)


def test_processes_share_one_budget_through_the_postgres_ledger(tmp_path) -> None:
    with postgres_cluster() as cluster:
        home = write_postgres_dagster_home(tmp_path / "home")
        reports, seen = _run_processes(tmp_path, "instance", _env(home, **cluster.env()))
        tables = cluster.query(
            "SELECT count(*) FROM stream_stats_cloudflare_budget WHERE budget LIKE %s",
            "cloudflare:%:GraphQL node",
        )
    _assert_one_budget(reports, seen)
    assert tables[0][0] >= 1  # the rows are in the instance's PostgreSQL database


RUN_WORKER = textwrap.dedent(
    """
    import os, sys, time
    import dagster as dg
    from stream_stats_dagster.defs.cloudflare_resource import CloudflareResource
    from stream_stats_dagster.config import load_settings
    from stream_stats_dagster.defs.raw.assets import raw_extract
    from stream_stats_dagster.defs.resources import build_resources

    first, last, gate = sys.argv[1], sys.argv[2], sys.argv[3]
    limit, window = int(sys.argv[4]), float(sys.argv[5])
    settings = load_settings()
    resources = build_resources(settings)
    resources["cloudflare"] = CloudflareResource(
        source="cloudflare", api_base_url=settings.api_base_url, account_id="sim-account",
        api_token=dg.EnvVar("CLOUDFLARE_API_TOKEN"), nodes_per_window=limit,
        window_seconds=window, max_wait_seconds=4 * window,
    )
    with dg.DagsterInstance.get() as instance:
        open(f"{gate}.{os.getpid()}", "w").close()  # ready: imported, instance open
        while not os.path.exists(gate):
            time.sleep(0.01)
        result = dg.materialize(
            [raw_extract],
            resources=resources,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
            raise_on_error=False,
        )
        errors = [
            e.step_failure_data.error.message.strip()
            for e in result.all_events
            if e.is_step_failure
        ]
        print("RESULT", result.success, result.run_id, errors)
    """
)


def test_dagster_runs_share_one_budget_through_their_instance(tmp_path, monkeypatch) -> None:
    """Four processes each materialize the raw extracts of three days as a Dagster run in one
    DAGSTER_HOME (sqlite): the resource finds the ledger through the instance and the runs
    together stay inside the simulator's node budget."""
    home = tmp_path / "home"
    home.mkdir()
    # The repository's instance, with the Cloudflare pool opened to all four runs at once (as
    # a deployment with several run workers has it): the runs overlap, and only the ledger
    # keeps them inside one budget.
    config = REPO_DAGSTER_YAML.read_text()
    assert config.count("default_limit: 1") == 1
    (home / "dagster.yaml").write_text(config.replace("default_limit: 1", "default_limit: 4"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get():  # created once here: four processes would race to stamp it
        pass
    first, last = FIRST_DAY - dt.timedelta(DAYS - 1), FIRST_DAY
    arrival = threading.local()
    sim = Simulator(
        small_config(node_budget=True, node_budget_limit=SIM_LIMIT, budget_window_seconds=WINDOW),
        clock=lambda: getattr(arrival, "t", None) or time.time(),
    )
    app = sim.wsgi_app

    def timed_app(environ, start_response):  # as in _run_processes: count at arrival
        arrival.t = time.time()
        try:
            return app(environ, start_response)
        finally:
            arrival.t = None

    sim.wsgi_app = timed_app  # type: ignore[method-assign]
    seen: list[tuple[float, int, bool]] = []
    acquire, lock = sim.node_budget.try_acquire, threading.Lock()

    def recorded(units: int = 1) -> bool:
        with lock:
            ok = acquire(units)
            seen.append((getattr(arrival, "t", None) or time.time(), units, ok))
            return ok

    sim.node_budget.try_acquire = recorded
    with sim.serve() as server:
        httpx.post(f"{server.base_url}/graphql", json={"query": "{ cost }"}, timeout=60)
        gate = str(tmp_path / "go")
        procs = []
        for i in range(PROCESSES):
            env = _env(
                home,
                CLOUDFLARE_API_BASE_URL=server.base_url,
                CLOUDFLARE_ACCOUNT_ID="sim-account",
                CLOUDFLARE_API_TOKEN="sim-token",
                STREAM_STATS_LOCAL_DIR=str(tmp_path / f"data{i}"),
                STREAM_STATS_START_DATE=first.isoformat(),  # no lead days
            )
            argv = [first.isoformat(), last.isoformat(), gate, str(CLIENT_LIMIT)]
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", RUN_WORKER, *argv, str(WINDOW)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        _open_gate(gate, procs)
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)  # a guard against a hang only
            assert proc.returncode == 0, err[-3000:]
            results.append(next(line for line in out.splitlines() if line.startswith("RESULT")))
    start = seen[0][0]
    print(results, [(round(t - start, 2), n, ok) for t, n, ok in seen])
    assert all(r.startswith("RESULT True") for r in results), results
    assert all(ok for _, _, ok in seen)
    assert sum(n for _, n, _ in seen) == PROCESSES * DAYS * 4
    assert _max_in_window(seen) <= SIM_LIMIT
    assert (home / "cloudflare-budget.db").exists()
