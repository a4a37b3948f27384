"""`CloudflareClient`: the one object callers hold to talk to Cloudflare.

It puts together the three parts of talking to Cloudflare for one account: `transport`
(sending, classifying answers, retries, waits), `graphql` (the analytics queries: report
days, hours, per-video minutes) and `rest` (Stream video metadata), around one set of
limits, counters, one scrubbed log and one pacer. Callers see one object with one lifetime;
the parts stay small enough to read alone. The httpx transport is pluggable, so the same
code runs against api.cloudflare.com, the simulator over loopback HTTP, or the simulator
in-process.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from ..facts import DayFacts, VideoMetadata
from .graphql import Analytics
from .pacing import Pacer
from .rest import Videos
from .transport import ClientLimits, ClientStats, ScrubbedLog, Transport

__all__ = ["ClientLimits", "ClientStats", "CloudflareClient"]


class CloudflareClient:
    """Cloudflare Stream analytics and video metadata for one account.

    Use as a context manager (or call `close`). Counters are on `stats`."""

    def __init__(
        self,
        base_url: str,
        account_id: str,
        api_token: str,
        *,
        timezone: str = "Asia/Seoul",
        transport: httpx.BaseTransport | None = None,
        limits: ClientLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        logger: Any = None,
        pacer: Pacer | None = None,
    ) -> None:
        if not account_id:
            raise ValueError("CloudflareClient needs an account id")
        if not api_token:
            raise ValueError("CloudflareClient needs an API token")
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.timezone = timezone
        self.limits = limits or ClientLimits()
        self.stats = ClientStats()
        self.log = ScrubbedLog(logger or logging.getLogger(__name__), api_token)
        if pacer is not None:
            pacer.logger = self.log  # a shared pacer logs to the newest client's logger
        self.pacer = pacer or Pacer(
            nodes_per_window=self.limits.nodes_per_window,
            calls_per_window=self.limits.calls_per_window,
            window_seconds=self.limits.window_seconds,
            max_wait_seconds=self.limits.max_wait_seconds,
            clock=clock,
            sleep=sleep,
            logger=self.log,
            announce_after_seconds=self.limits.announce_after_seconds,
        )
        self._transport = Transport(
            self.base_url,
            account_id,
            api_token,
            http_transport=transport,
            limits=self.limits,
            stats=self.stats,
            log=self.log,
            pacer=self.pacer,
            clock=clock,
            sleep=sleep,
        )
        self._analytics = Analytics(self._transport, timezone)
        self._videos = Videos(self._transport)

    def __repr__(self) -> str:
        return (
            f"CloudflareClient(base_url={self.base_url!r}, account_id={self.account_id!r}, "
            f"api_token='[redacted]', timezone={self.timezone!r})"
        )

    def __enter__(self) -> CloudflareClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # GraphQL Analytics (`graphql.Analytics`)

    def fetch_days(self, days: Sequence[dt.date], *, top_videos: int) -> dict[str, DayFacts]:
        """Complete creator and country lists, the top videos and the local-hour series of
        each report day, keyed by `YYYY-MM-DD` (`Analytics.fetch_days`)."""
        return self._analytics.fetch_days(days, top_videos=top_videos)

    def fetch_hourly(
        self, start_utc: dt.datetime, end_utc: dt.datetime, *, quarter_hours: bool = False
    ) -> list[tuple[dt.datetime, int, int]]:
        """(UTC bucket start, minutes, count) of every hour with views in [start, end),
        ascending (`Analytics.fetch_hourly`)."""
        return self._analytics.fetch_hourly(start_utc, end_utc, quarter_hours=quarter_hours)

    def fetch_uid_minutes(self, days: Sequence[dt.date]) -> dict[str, dict[str, list]]:
        """Minutes and views of every video with views on each report day, keyed by
        `YYYY-MM-DD` (`Analytics.fetch_uid_minutes`)."""
        return self._analytics.fetch_uid_minutes(days)

    # Stream REST (`rest.Videos`)

    def get_videos(self, uids: Sequence[str], *, concurrency: int = 8) -> dict[str, VideoMetadata]:
        """Metadata of each video; a deleted one is `found=False` (`Videos.get_videos`)."""
        return self._videos.get_videos(uids, concurrency=concurrency)

    def count_videos(self) -> int | None:
        """How many videos the account holds now, or None (`Videos.count_videos`)."""
        return self._videos.count_videos()

    def list_videos(
        self, *, created_after: str | None = None, limit: int = 1000
    ) -> Iterator[list[VideoMetadata]]:
        """The catalogue in creation order, one page at a time (`Videos.list_videos`)."""
        return self._videos.list_videos(created_after=created_after, limit=limit)
