"""Every request and every list is bounded: a server that sends one byte every moment (each
resets httpx's read timeout) fails each attempt at its total deadline, and a keyset list
that never ends fails at `max_pages` with one line, over real loopback HTTP."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareClient,
    CloudflareResponseError,
    CloudflareUnavailableError,
)
from tests.support.bad_servers import drip_server, endless_pager

DAY = dt.date(2025, 3, 11)


def test_a_dripping_answer_is_cut_at_the_attempt_deadline():
    limits = ClientLimits(timeout_seconds=1.0, max_attempts=2, backoff_base_seconds=0.01)
    with drip_server(interval=0.2) as url, CloudflareClient(url, "acc", "tok", limits=limits) as c:
        started = time.monotonic()
        with pytest.raises(CloudflareUnavailableError) as raised:
            c.fetch_days([DAY], top_videos=5)
        spent = time.monotonic() - started
    message = str(raised.value)
    assert "did not answer any of 2 attempts" in message, message
    assert "not complete after 1 s" in message, message
    assert spent < 5, spent  # two attempts of 1 s each, not for ever


def test_a_list_that_never_ends_fails_at_max_pages():
    limits = ClientLimits(page_size=50, max_pages=4, max_attempts=1)
    with (
        endless_pager() as url,
        CloudflareClient(url, "acc", "tok", limits=limits) as client,
        pytest.raises(CloudflareResponseError) as raised,
    ):
        client.fetch_days([DAY], top_videos=5)
    message = str(raised.value)
    assert "still full after 4 pages of 50 rows: the list does not end" in message, message
    assert "\n" not in message
