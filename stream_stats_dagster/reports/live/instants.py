"""Instants as integer microseconds since the epoch (UTC), the resolution of Redis `TIME`.

Integers keep every sum exact: a viewer-minute is `viewers × microseconds / 60e6`, computed
once at the end, so the same samples give the same bytes and a test can recompute a
report's numbers exactly. Files carry instants as RFC 3339 text with six decimals and `Z`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

US = 1_000_000
HOUR_US = 3600 * US
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def text(us: int) -> str:
    """`2025-03-11T14:59:30.123456Z`."""
    t = EPOCH + dt.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(value: str) -> int:
    """The microseconds of an instant written by `text` (or any RFC 3339 time with a zone)."""
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    delta = t - EPOCH
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def of(t: dt.datetime) -> int:
    """The microseconds of an aware datetime."""
    delta = t.astimezone(dt.UTC) - EPOCH
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def to_datetime(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def hour_start(us: int, timezone: str) -> int:
    """The start of the report time zone's hour holding `us`: a whole UTC hour in KST, a
    half hour in IST (+05:30); each of the two 01:00 hours of a DST fall-back day is its own
    hour (their UTC starts differ)."""
    local = to_datetime(us).astimezone(ZoneInfo(timezone))
    return of(local.replace(minute=0, second=0, microsecond=0))


def local_label(us: int, timezone: str) -> str:
    """`2025-03-11T00:00:00+09:00`: a local hour as the reports name it."""
    return to_datetime(us).astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")
