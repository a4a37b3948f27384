"""Pacing keeps the node and call budgets on a fake clock; a wait past the deadline raises."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import httpx
import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareBudgetWaitError,
    CloudflareClient,
    Pacer,
)

from .fakes import FakeClock, FakeCloudflare, Record

UTC = dt.UTC


def _pacer(clock: FakeClock, nodes=10, calls=5, window=300.0, max_wait=330.0) -> Pacer:
    return Pacer(
        nodes_per_window=nodes,
        calls_per_window=calls,
        window_seconds=window,
        max_wait_seconds=max_wait,
        clock=clock,
        sleep=clock.sleep,
    )


def _max_in_window(events: list[tuple[float, int]], window: float) -> int:
    return max(sum(c for t, c in events if start <= t < start + window) for start, _ in events)


def test_node_budget_sliding_window() -> None:
    clock = FakeClock(0.0)
    pacer = _pacer(clock, nodes=10, calls=100)
    events = []
    for _ in range(10):
        clock.now += 7  # requests every 7 s
        pacer.graphql(4)
        events.append((clock.now, 4))
    assert _max_in_window(events, 300) <= 10
    # 2 requests fit, the 3rd waits until the 1st leaves the window (t=7+300)
    assert clock.sleeps[0] == pytest.approx(307 - 21)
    assert pacer.ledger.used(pacer.nodes) <= 10


def test_call_budget_and_rest() -> None:
    clock = FakeClock(0.0)
    pacer = _pacer(clock, nodes=100, calls=5)
    events = []
    for _ in range(23):
        pacer.rest()
        events.append((clock.now, 1))
    assert _max_in_window(events, 300) == 5
    assert clock.now == pytest.approx(4 * 300)  # 23 calls = 5 windows, the last partly used


def test_graphql_requests_count_as_calls_too() -> None:
    clock = FakeClock(0.0)
    pacer = _pacer(clock, nodes=100, calls=3)
    for _ in range(3):
        pacer.graphql(1)
    pacer.rest()
    assert clock.sleeps == [300]


def test_wait_beyond_max_wait_raises_and_says_so() -> None:
    clock = FakeClock(0.0)
    pacer = _pacer(clock, nodes=4, max_wait=60)
    pacer.graphql(4)
    with pytest.raises(CloudflareBudgetWaitError, match=r"300 s wait.*max_wait_seconds=60") as e:
        pacer.graphql(1)
    assert e.value.transient
    assert clock.sleeps == []


def test_wait_beyond_deadline_raises() -> None:
    clock = FakeClock(0.0)
    pacer = _pacer(clock, nodes=4)
    pacer.graphql(4)
    with pytest.raises(CloudflareBudgetWaitError, match="deadline"):
        pacer.graphql(1, deadline=100.0)


def test_hold_blocks_until_released() -> None:
    clock = FakeClock(0.0)
    pacer = _pacer(clock)
    pacer.hold(42, graphql=False)
    pacer.rest()
    assert clock.sleeps == [42]


def test_client_paces_many_days_under_the_node_budget(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock(0.0)
    fake = FakeCloudflare(
        records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 1)], clock=clock
    )
    limits = ClientLimits(nodes_per_window=20, calls_per_window=1000, max_nodes_per_request=8)
    days = [dt.date(2025, 3, 1) + dt.timedelta(i) for i in range(14)]  # 56 nodes
    with CloudflareClient(
        "https://cf.test/client/v4",
        "acc",
        "tok",
        transport=fake.transport(),
        limits=limits,
        clock=clock,
        sleep=clock.sleep,
    ) as client:
        facts = client.fetch_days(days, top_videos=3)
    assert len(facts) == 14
    assert sum(n for _, n in fake.request_times) == 56
    assert _max_in_window(fake.request_times, 300) <= 20
    assert client.stats.waited_seconds == pytest.approx(sum(clock.sleeps)) and clock.sleeps
    assert "waiting" in caplog.text and "GraphQL node budget" in caplog.text


def test_client_raises_when_pacing_exceeds_max_wait() -> None:
    clock = FakeClock(0.0)
    fake = FakeCloudflare(records=[], clock=clock)
    limits = ClientLimits(nodes_per_window=8, max_nodes_per_request=8, max_wait_seconds=30)
    with (
        CloudflareClient(
            "https://cf.test/client/v4",
            "acc",
            "tok",
            transport=fake.transport(),
            limits=limits,
            clock=clock,
            sleep=clock.sleep,
        ) as client,
        pytest.raises(CloudflareBudgetWaitError, match="GraphQL node budget"),
    ):
        client.fetch_days(
            [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)], top_videos=3
        )
    assert len(fake.requests) == 1
    assert clock.sleeps == []


def test_rest_calls_are_paced_across_threads() -> None:
    clock = FakeClock(0.0)
    times: list[tuple[float, int]] = []
    # On a fake clock one thread's 300 s sleep is instant, so a request another thread paced
    # just before could reach the server "after" it. Real requests leave milliseconds after
    # pacing: so the fake sleep first waits until every paced request has arrived (the sleeper
    # holds the pacer's lock, so none is paced meanwhile), then moves the clock.
    unsent = 0
    arrived = threading.Condition()

    def rest(request: httpx.Request) -> httpx.Response:
        nonlocal unsent
        with arrived:
            times.append((clock.now, 1))
            unsent -= 1
            arrived.notify_all()
        uid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"success": True, "errors": [], "result": {"uid": uid}})

    def sleep(seconds: float) -> None:
        with arrived:
            assert arrived.wait_for(lambda: unsent == 0, timeout=30)
        clock.sleep(seconds)

    fake = FakeCloudflare(rest=rest)
    limits = ClientLimits(calls_per_window=10)
    with CloudflareClient(
        "https://cf.test/client/v4",
        "acc",
        "tok",
        transport=fake.transport(),
        limits=limits,
        clock=clock,
        sleep=sleep,
    ) as client:
        pace = client.pacer.rest

        def counted(**kwargs) -> float:
            nonlocal unsent
            with client.pacer._lock:  # counted before the next thread can be paced (RLock)
                waited = pace(**kwargs)
                with arrived:
                    unsent += 1
            return waited

        client.pacer.rest = counted  # type: ignore[method-assign]
        videos = client.get_videos([f"v{i}" for i in range(25)], concurrency=4)
    assert len(videos) == 25 and client.stats.rest_calls == 25
    assert _max_in_window(times, 300) <= 10
    assert len(clock.sleeps) >= 2  # the budget made threads wait
