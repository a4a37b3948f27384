"""The client against the built-in simulator (small scale): ground truth, KST midnight, paging,
faults, budgets, auth, REST, and the same facts in-process and over loopback HTTP."""

from __future__ import annotations

import datetime as dt
import logging

import dagster as dg
import pandas as pd
import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareAuthError,
    CloudflareClient,
    CloudflareError,
    CloudflareResponseError,
    CloudflareUnavailableError,
)
from stream_stats_dagster.dates import ReportDay
from stream_stats_dagster.defs.cloudflare_resource import CloudflareResource
from stream_stats_dagster.simulator import Fault, ManualClock, Simulator, small_config

from .fakes import rows

UTC = dt.UTC
DAY = dt.date(2025, 3, 11)  # KST: 2025-03-10T15:00Z .. 2025-03-11T15:00Z
TOKEN = "sim-token-that-must-stay-secret"


class Clock(ManualClock):
    """The simulator's clock, also the client's: the client's waits move both."""

    def __init__(self) -> None:
        super().__init__(dt.datetime(2025, 3, 12, tzinfo=UTC))
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


def _sim(clock: Clock | None = None, **overrides) -> Simulator:
    return Simulator(small_config(require_token=True, api_token=TOKEN, **overrides), clock=clock)


def _client(sim: Simulator, clock: Clock | None = None, *, base_url: str | None = None, **limits):
    clock = clock or Clock()
    return CloudflareClient(
        base_url or "http://sim/client/v4",
        sim.config.account_id,
        sim.config.api_token,
        transport=None if base_url else sim.transport(),
        limits=ClientLimits(**limits),
        clock=clock,
        sleep=clock.sleep,
    )


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return _sim()


def _truth(sim: Simulator, day: dt.date, key: str):
    r = ReportDay(day, "Asia/Seoul")
    df = sim.platform.records(r.start_utc, r.end_utc)
    grouped = df.groupby(key)[["minutesViewed", "count"]].sum()
    return {k: (int(v.minutesViewed), int(v["count"])) for k, v in grouped.iterrows()}


def test_day_matches_the_platform_ground_truth(sim: Simulator) -> None:
    with _client(sim) as client:
        facts = client.fetch_days([DAY, DAY + dt.timedelta(1)], top_videos=50)
    assert client.stats.graphql_requests == 1 and client.stats.nodes == 8
    for day in (DAY, DAY + dt.timedelta(1)):
        f = facts[day.isoformat()]
        assert {c.creator: (c.minutesViewed, c.viewCount) for c in rows(f.creators)} == _truth(
            sim, day, "creator"
        )
        countries = {c.clientCountryName: (c.minutesViewed, c.viewCount) for c in rows(f.countries)}
        assert countries == _truth(sim, day, "clientCountryName")
        videos = sorted(
            _truth(sim, day, "uid").items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0])
        )
        assert [(v.uid, (v.minutesViewed, v.viewCount)) for v in rows(f.videos)] == videos[:50]
        r = ReportDay(day, "Asia/Seoul")
        total = sim.platform.totals(r.start_utc, r.end_utc)[0]
        assert sum(h.minutesViewed for h in rows(f.hours)) == total
        assert [h.hour for h in rows(f.hours)][:1] == [f"{day.isoformat()}T00:00:00+09:00"]


def test_records_either_side_of_kst_midnight_land_on_their_day() -> None:
    sim = _sim()
    uid = sim.platform.uids[0]
    with _client(sim) as client:
        before = client.fetch_days([DAY - dt.timedelta(1), DAY], top_videos=5)
        sim.platform.add_views(uid, dt.datetime(2025, 3, 10, 14, 59, tzinfo=UTC), 1000)  # 23:59 KST
        sim.platform.add_views(uid, dt.datetime(2025, 3, 10, 15, 0, tzinfo=UTC), 2000)  # 00:00 KST
        after = client.fetch_days([DAY - dt.timedelta(1), DAY], top_videos=5)

    def hours(facts, key):
        return [h.minutesViewed for h in rows(facts[key].hours)]

    assert hours(after, "2025-03-10")[-1] - hours(before, "2025-03-10")[-1] == 1000
    assert hours(after, "2025-03-11")[0] - hours(before, "2025-03-11")[0] == 2000
    assert hours(after, "2025-03-10")[:-1] == hours(before, "2025-03-10")[:-1]
    assert hours(after, "2025-03-11")[1:] == hours(before, "2025-03-11")[1:]
    assert rows(after["2025-03-11"].videos)[0].uid == uid


def test_more_than_10000_creators_are_paged() -> None:
    sim = _sim(videos=30_000, small_creators=14_000, records_per_hour=3000, small_creator_share=0.9)
    with _client(sim) as client:
        creators = rows(client.fetch_days([DAY], top_videos=5)["2025-03-11"].creators)
    truth = _truth(sim, DAY, "creator")
    assert len(truth) > 10_000
    assert [c.creator for c in creators] == sorted(truth)  # each exactly once, "" first
    assert client.stats.graphql_requests == 2 and client.stats.nodes == 5


@pytest.mark.parametrize(
    "kind", ["rate_limited", "unavailable", "budget_depleted", "truncated", "server_error"]
)
@pytest.mark.parametrize("endpoint", ["graphql", "rest"])
def test_simulator_faults_are_retried(kind: str, endpoint: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim, clock = _sim(), Clock()
    sim.inject(Fault(kind=kind, endpoint=endpoint, times=2, retry_after=3))
    with _client(sim, clock) as client:
        if endpoint == "graphql":
            assert rows(client.fetch_days([DAY], top_videos=5)["2025-03-11"].creators)
        else:
            uid = sim.platform.uids[0]
            assert client.get_videos([uid])[uid].uid == uid
    assert client.stats.retries == 2 and sim.stats.faults == 2
    if kind == "rate_limited":
        assert clock.sleeps == [3, 3]
    if kind == "budget_depleted" and endpoint == "graphql":
        assert clock.sleeps == [300, 300]
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("kind", ["rate_limited", "truncated", "server_error"])
def test_simulator_faults_that_persist_fail_clearly(kind: str) -> None:
    sim = _sim()
    sim.inject(Fault(kind=kind, endpoint="graphql", times=10, retry_after=3))
    with _client(sim) as client, pytest.raises(CloudflareError) as raised:
        client.fetch_days([DAY], top_videos=5)
    error = raised.value
    assert error.transient and TOKEN not in str(error)
    expected = CloudflareResponseError if kind == "truncated" else CloudflareUnavailableError
    assert isinstance(error, expected)
    assert "2025-03-11" in str(error)


def test_pacing_stays_under_the_simulators_node_budget() -> None:
    clock = Clock()
    sim = _sim(clock, node_budget=True, node_budget_limit=20)
    days = [DAY - dt.timedelta(i) for i in range(10)]  # 40 nodes
    with _client(sim, clock, nodes_per_window=18, max_nodes_per_request=8) as client:
        facts = client.fetch_days(days, top_videos=5)
    assert len(facts) == 10 and client.stats.retries == 0  # never refused
    assert clock.sleeps and client.stats.waited_seconds >= 300


def test_without_pacing_the_budget_error_is_retried_after_the_wait() -> None:
    clock = Clock()
    sim = _sim(clock, node_budget=True, node_budget_limit=20)
    days = [DAY - dt.timedelta(i) for i in range(10)]
    with _client(sim, clock, nodes_per_window=100, max_nodes_per_request=8) as client:
        facts = client.fetch_days(days, top_videos=5)
    assert len(facts) == 10 and client.stats.retries >= 1
    assert 300 in clock.sleeps


def test_wrong_token_fails_at_once_without_leaking(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim = _sim()
    clock = Clock()
    wrong = "wrong-token-value-1234567"
    with CloudflareClient(
        "http://sim/client/v4",
        sim.config.account_id,
        wrong,
        transport=sim.transport(),
        clock=clock,
        sleep=clock.sleep,
    ) as client:
        with pytest.raises(CloudflareAuthError) as graphql_error:
            client.fetch_days([DAY], top_videos=5)
        with pytest.raises(CloudflareAuthError) as rest_error:
            client.get_videos(["x"])
    assert client.stats.retries == 0 and clock.sleeps == []
    for e in (graphql_error.value, rest_error.value):
        assert wrong not in str(e) and wrong not in repr(e) and not e.transient
    assert wrong not in caplog.text and wrong not in repr(client)


def test_rest_metadata_and_catalogue(sim: Simulator) -> None:
    cat = sim.platform.videos()
    deleted = next(v for v in cat if v.deleted)
    alive = next(v for v in cat if not v.deleted and v.name)
    with _client(sim) as client:
        meta = client.get_videos([alive.uid, deleted.uid])
        pages = list(client.list_videos())
    assert meta[deleted.uid].found is False
    m = meta[alive.uid]
    assert (m.found, m.name, m.title, m.creator) == (
        True,
        alive.name,
        alive.title,
        alive.creator or None,
    )
    listed = [v.uid for page in pages for v in page]
    assert len(listed) == len(set(listed)) == sum(not v.deleted for v in cat)
    assert client.stats.rest_calls == 2 + len(pages)


@pytest.mark.e2e  # the simulator over loopback HTTP
def test_loopback_http_gives_the_same_facts_as_in_process(sim: Simulator, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # httpx/httpcore debug logs must not show the header either
    days = [DAY, DAY + dt.timedelta(1)]
    with _client(sim) as client:
        in_process = client.fetch_days(days, top_videos=100)
    with (
        sim.serve(host="127.0.0.1", port=0) as server,
        _client(sim, base_url=server.base_url) as client,
    ):
        over_http = client.fetch_days(days, top_videos=100)
        uid = rows(in_process["2025-03-11"].videos)[0].uid
        assert client.get_videos([uid])[uid].found
    assert over_http.keys() == in_process.keys()
    for key, facts in in_process.items():
        for table in ("creators", "countries", "videos", "hours"):
            pd.testing.assert_frame_equal(getattr(over_http[key], table), getattr(facts, table))
    assert "HTTP Request: POST" in caplog.text and TOKEN not in caplog.text


def test_resource_builds_a_client_for_each_source() -> None:
    resource = CloudflareResource(source="simulator")
    with resource.client() as client:
        assert client.account_id == "sim-account"
        assert "[redacted]" in repr(client)
    real = CloudflareResource(account_id="acc", api_token=TOKEN, source="cloudflare")
    assert TOKEN not in repr(real) and TOKEN not in str(real)
    with real.client() as client:
        assert client.base_url == "https://api.cloudflare.com/client/v4"
        assert TOKEN not in repr(client)
    with pytest.raises(Exception, match="api_token"):
        CloudflareResource(account_id="acc", source="cloudflare").client()


@pytest.mark.e2e  # the simulator over loopback HTTP
def test_resource_in_a_dagster_run_reads_the_token_from_the_environment(monkeypatch) -> None:
    sim = _sim()
    sim.inject(Fault(kind="server_error", endpoint="graphql", times=1))  # a logged retry
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)

    @dg.asset
    def day_facts(context, cloudflare: CloudflareResource) -> int:
        with cloudflare.client(context.log) as client:
            facts = client.fetch_days([DAY], top_videos=5)
        return len(rows(facts["2025-03-11"].creators))

    with sim.serve(host="127.0.0.1", port=0) as server:
        resource = CloudflareResource(
            api_base_url=server.base_url,
            account_id=sim.config.account_id,
            api_token=dg.EnvVar("CLOUDFLARE_API_TOKEN"),
            source="cloudflare",
        )
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize([day_facts], resources={"cloudflare": resource}, instance=instance)
    assert result.success and result.output_for_node("day_facts") > 0
    assert sim.stats.faults == 1 and sim.stats.graphql_requests == 2
    logs = "\n".join(e.user_message for e in instance.all_logs(result.run_id))
    assert "retry 1/4" in logs and "fetched 1 report day" in logs
    assert TOKEN not in logs
