"""Transient faults are retried (honouring retry-after), then succeed or fail clearly; fatal ones
fail at once; the token never shows up in a message, a repr or a log line."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import httpx
import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareAuthError,
    CloudflareBudgetWaitError,
    CloudflareClient,
    CloudflareError,
    CloudflareQueryError,
    CloudflareResponseError,
    CloudflareUnavailableError,
)

from .fakes import FakeClock, FakeCloudflare, Record, graphql_error, rows

UTC = dt.UTC
TOKEN = "sekret-TOKEN-0123456789abcdef"
DAY = dt.date(2025, 3, 11)


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


def _truncated(n, r):
    return httpx.Response(200, content=b'{"data": {"viewer": {"accou')


def _timeout(n, r):
    raise httpx.ReadTimeout("timed out", request=r)


def _refused(n, r):
    raise httpx.ConnectError("connection refused", request=r)


FAULTS: dict[str, Callable[[int, httpx.Request], httpx.Response]] = {
    "429": lambda n, r: graphql_error("rate limited", 429, **{"retry-after": "7"}),
    "503": lambda n, r: graphql_error("too many queries in progress, please try again later", 503),
    "500": lambda n, r: httpx.Response(500, text="Internal server error"),
    "budget-in-200": lambda n, r: graphql_error(
        "Rate limiter budget depleted. Please try again after 5 minutes."
    ),
    "truncated": _truncated,
    "timeout": _timeout,
    "connection": _refused,
}


def _failing(kind: str, times: int) -> Callable[[int, httpx.Request], httpx.Response | None]:
    def on_request(n: int, request: httpx.Request) -> httpx.Response | None:
        return FAULTS[kind](n, request) if n <= times else None

    return on_request


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_fault_is_retried_then_succeeds(kind: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    fake = FakeCloudflare(
        records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 5)], on_request=_failing(kind, 2)
    )
    with _client(fake, clock) as client:
        facts = client.fetch_days([DAY], top_videos=5)
    assert rows(facts["2025-03-11"].creators)[0].minutesViewed == 5
    assert client.stats.graphql_requests == 3 and client.stats.retries == 2
    assert len(clock.sleeps) == 2
    if kind == "429":
        assert clock.sleeps == [7, 7]  # retry-after honoured (backoff 1-2 s is shorter)
    elif kind == "budget-in-200":
        assert clock.sleeps == [300, 300]  # "try again after 5 minutes"
    else:
        assert 0.5 <= clock.sleeps[0] <= 1 and 1 <= clock.sleeps[1] <= 2  # backoff with jitter
    assert "retry 1/4" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_fault_gives_up_after_max_attempts(kind: str, caplog) -> None:
    clock = FakeClock()
    fake = FakeCloudflare(on_request=_failing(kind, 99))
    with _client(fake, clock, max_attempts=4) as client, pytest.raises(CloudflareError) as raised:
        client.fetch_days([DAY], top_videos=5)
    error = raised.value
    message = str(error)
    assert "\n" not in message and TOKEN not in message and TOKEN not in repr(error)
    assert "2025-03-11" in message
    # A server that never answers (refused, timed out) was retried here already: a Dagster
    # step retry would only repeat it, so it is not transient. Everything else is.
    assert error.transient == (kind not in ("connection", "timeout"))
    if kind == "truncated":  # bodies that are not JSON: retried twice, not four times
        assert isinstance(error, CloudflareResponseError)
        assert "not JSON" in message and client.stats.graphql_requests == 3
    elif kind in ("connection", "timeout"):
        assert isinstance(error, CloudflareUnavailableError)
        assert "did not answer any of 4 attempts" in message
        assert "CLOUDFLARE_API_BASE_URL" in message and client.stats.graphql_requests == 4
    else:
        assert isinstance(error, CloudflareUnavailableError)
        assert "after 4 attempts" in message and client.stats.graphql_requests == 4
    assert TOKEN not in caplog.text


def test_retry_after_longer_than_max_wait_raises_budget_wait() -> None:
    clock = FakeClock()
    fake = FakeCloudflare(
        on_request=lambda n, r: graphql_error("slow down", 429, **{"retry-after": "600"})
    )
    with (
        _client(fake, clock) as client,
        pytest.raises(CloudflareBudgetWaitError, match="600 s wait"),
    ):
        client.fetch_days([DAY], top_videos=5)
    assert clock.sleeps == [] and client.stats.graphql_requests == 1


def test_total_wait_is_bounded_by_the_deadline() -> None:
    clock = FakeClock()
    fake = FakeCloudflare(on_request=_failing("budget-in-200", 99))
    with (
        _client(fake, clock, deadline_seconds=400) as client,
        pytest.raises(CloudflareBudgetWaitError, match="deadline"),
    ):
        client.fetch_days([DAY], top_videos=5)
    assert clock.sleeps == [300]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(
                403,
                json={
                    "success": False,
                    "errors": [{"code": 10000, "message": "Authentication error"}],
                },
            ),
            CloudflareAuthError,
        ),
        (graphql_error("not authorized for that account"), CloudflareAuthError),
        (graphql_error(f"Unauthorized: token {TOKEN} is not valid", 401), CloudflareAuthError),
        (
            graphql_error(
                "account 'acc' does not have access to the path. Refer to this page for details"
            ),
            CloudflareAuthError,
        ),
        (graphql_error("unknown field avg", 400), CloudflareQueryError),
        (graphql_error("error parsing args: bad filter"), CloudflareQueryError),
        (
            graphql_error("limit must be positive number and not greater than 10000", 400),
            CloudflareQueryError,
        ),
        (httpx.Response(404, text="<html>not here</html>"), CloudflareQueryError),
    ],
)
def test_fatal_errors_raise_at_once_without_the_token(response, error, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    fake = FakeCloudflare(on_request=lambda n, r: response)
    with _client(fake, clock) as client, pytest.raises(error) as raised:
        client.fetch_days([DAY], top_videos=5)
    assert not raised.value.transient
    assert client.stats.graphql_requests == 1 and client.stats.retries == 0 and clock.sleeps == []
    for text in (str(raised.value), repr(raised.value), repr(client), caplog.text):
        assert TOKEN not in text
    assert "\n" not in str(raised.value)
    if error is CloudflareAuthError:
        assert "API token" in str(raised.value)


def test_rest_auth_failure_and_429() -> None:
    clock = FakeClock()
    calls = []

    def rest(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(
                429,
                headers={"retry-after": "300"},
                json={"success": False, "errors": [{"code": 971, "message": "Please wait"}]},
            )
        return httpx.Response(
            403,
            json={"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]},
        )

    fake = FakeCloudflare(rest=rest)
    with (
        _client(fake, clock) as client,
        pytest.raises(CloudflareAuthError, match="Stream: Read") as e,
    ):
        client.get_videos(["abc"])
    assert clock.sleeps == [300] and len(calls) == 2
    assert TOKEN not in str(e.value)


def test_token_echoed_by_cloudflare_is_scrubbed_from_logs_and_errors(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    echo = graphql_error(f"too many requests for Bearer {TOKEN}, try again later", 503)
    fake = FakeCloudflare(
        records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 5)],
        on_request=lambda n, r: echo if n <= 2 else None,
    )
    with _client(fake, clock) as client:
        client.fetch_days([DAY], top_videos=5)
    assert "retry 1/4" in caplog.text and "[redacted]" in caplog.text
    assert TOKEN not in caplog.text
    fake = FakeCloudflare(on_request=lambda n, r: echo)
    with (
        _client(fake, clock, max_attempts=2) as client,
        pytest.raises(CloudflareUnavailableError) as e,
    ):
        client.fetch_days([DAY], top_videos=5)
    assert TOKEN not in str(e.value) and "[redacted]" in str(e.value)
