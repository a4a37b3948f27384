"""Every wait over `announce_after_seconds` says what, why and until when, on the
`stream_stats_dagster.waits` logger; attempt counts are true; a server that never answers
fails in one call's retries, each attempt shown."""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading

import httpx
import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareClient,
    CloudflareUnavailableError,
    Pacer,
)
from stream_stats_dagster.progress import WAITS_LOGGER, show_waits

from .fakes import FakeClock, FakeCloudflare, Record, graphql_error

UTC = dt.UTC
DAY = dt.date(2025, 3, 11)
TOKEN = "sekret-TOKEN-0123456789abcdef"
UNTIL = re.compile(r": (\d+) s, until (\d\d):(\d\d):(\d\d) UTC: ")


def _client(fake: FakeCloudflare, clock: FakeClock, **limits) -> CloudflareClient:
    fake.token = TOKEN
    return CloudflareClient(
        "https://cf.test/client/v4",
        fake.account_id,
        TOKEN,
        transport=fake.transport(),
        limits=ClientLimits(**limits),
        clock=clock,
        sleep=clock.sleep,
    )


def _wait_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WAITS_LOGGER]


def _assert_until(line: str, seconds: int) -> None:
    """The line's UTC time is about now + seconds (it was written moments ago)."""
    m = UNTIL.search(line)
    assert m, line
    assert int(m.group(1)) == seconds
    now = dt.datetime.now(UTC)
    until = now.replace(hour=int(m.group(2)), minute=int(m.group(3)), second=int(m.group(4)))
    ahead = (until - now).total_seconds() % 86400
    assert seconds - 60 <= ahead <= seconds + 1, (line, ahead)


def test_budget_depleted_in_a_200_is_announced_with_what_why_and_until(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    echo = f"Rate limiter budget depleted for {TOKEN}. Please try again after 5 minutes."
    fake = FakeCloudflare(
        records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 5)],
        on_request=lambda n, r: graphql_error(echo) if n == 1 else None,
    )
    with _client(fake, clock) as client:
        client.fetch_days([DAY], top_videos=5)
    assert clock.sleeps == [300]
    (line,) = _wait_lines(caplog)
    assert line.startswith("Cloudflare GraphQL request for 2025-03-11 (4 nodes): 300 s, until ")
    assert "retry 1/4 after attempt 1 of 5 got HTTP 200: Rate limiter budget depleted" in line
    _assert_until(line, 300)
    assert TOKEN not in caplog.text and "[redacted]" in line
    # the run's own log (Dagster's, in a run) gets the same line
    assert f"waiting: {line}" in [r.getMessage() for r in caplog.records]


def test_short_backoffs_are_not_announced(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    fake = FakeCloudflare(
        records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 5)],
        on_request=lambda n, r: httpx.Response(500, text="oops") if n <= 2 else None,
    )
    with _client(fake, clock) as client:
        client.fetch_days([DAY], top_videos=5)
    assert len(clock.sleeps) == 2 and max(clock.sleeps) <= 2
    assert _wait_lines(caplog) == []
    assert "retry 2/4 after attempt 2 of 5 got HTTP 500" in caplog.text


def test_a_pacing_wait_is_announced_with_the_budget_and_its_use(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock(0.0)
    pacer = Pacer(
        nodes_per_window=10,
        calls_per_window=100,
        window_seconds=300,
        max_wait_seconds=330,
        clock=clock,
        sleep=clock.sleep,
    )
    pacer.graphql(8)
    clock.now = 5.0
    pacer.graphql(4)
    assert clock.sleeps == [295]
    (line,) = _wait_lines(caplog)
    assert line.startswith(
        "Cloudflare pacing: the GraphQL node budget (10 per 300 s): 295 s, until "
    )
    assert line.endswith(": 8 used in the last 300 s in this process")
    _assert_until(line, 295)


def test_show_waits_prints_the_lines(capsys) -> None:
    handler = show_waits()
    try:
        logging.getLogger(WAITS_LOGGER).info("Cloudflare thing: 12 s, until 10:00:12 UTC: why")
    finally:
        logging.getLogger(WAITS_LOGGER).removeHandler(handler)
    assert capsys.readouterr().out == "  waiting: Cloudflare thing: 12 s, until 10:00:12 UTC: why\n"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: connections are refused


def test_a_refused_connection_fails_after_the_true_number_of_attempts(caplog) -> None:
    """Real sockets (a closed loopback port), fake sleeps: 5 attempts, said as 5, not transient
    (so Dagster does not run the step again), and the back-offs add up to well under 30 s."""
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    port = _closed_port()
    with (
        CloudflareClient(
            f"http://127.0.0.1:{port}/client/v4",
            "acc",
            TOKEN,
            clock=clock,
            sleep=clock.sleep,
        ) as client,
        pytest.raises(CloudflareUnavailableError) as raised,
    ):
        client.fetch_days([DAY], top_videos=5)
    message = str(raised.value)
    assert client.stats.graphql_requests == 5 and client.stats.retries == 4
    assert "did not answer any of 5 attempts" in message and "cannot connect" in message
    assert not raised.value.transient
    assert len(clock.sleeps) == 4 and sum(clock.sleeps) <= 15  # backoff 1+2+4+8, jittered down
    assert TOKEN not in caplog.text and TOKEN not in message


def test_a_silent_server_fails_within_the_timeout_each_attempt_shown(
    silent_server: int, caplog
) -> None:
    caplog.set_level(logging.INFO)
    limits = ClientLimits(
        timeout_seconds=1.0,
        announce_after_seconds=0.3,
        max_attempts=3,
        backoff_base_seconds=0.01,
    )
    with (
        CloudflareClient(
            f"http://127.0.0.1:{silent_server}/client/v4", "acc", TOKEN, limits=limits
        ) as client,
        pytest.raises(CloudflareUnavailableError) as raised,
    ):
        client.fetch_days([DAY], top_videos=5)
    message = str(raised.value)
    assert (
        "did not answer any of 3 attempts" in message and "no complete answer within 1 s" in message
    )
    assert not raised.value.transient and client.stats.graphql_requests == 3
    lines = _wait_lines(caplog)
    assert len(lines) == 3, lines
    for attempt, line in enumerate(lines, 1):
        assert line.startswith(
            f"Cloudflare GraphQL request for 2025-03-11 (4 nodes), attempt {attempt}/3: 1 s, until "
        )
        assert f"no answer from http://127.0.0.1:{silent_server}/client/v4 after 0.3 s" in line
        assert "gives up at its 1 s timeout" in line


def test_fast_answers_start_no_announcement(caplog) -> None:
    """The watch on a request is cancelled when the answer comes."""
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    fake = FakeCloudflare(records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 5)])
    limits = {"timeout_seconds": 5.0, "announce_after_seconds": 0.2}
    with _client(fake, clock, **limits) as client:
        client.fetch_days([DAY], top_videos=5)
    threading.Event().wait(0.4)  # past the announcement time of that request
    assert _wait_lines(caplog) == []
