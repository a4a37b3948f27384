"""Heartbeat values and their timestamps.

The platform writes `viewer:heartbeat:{stageArn}` as a hash userId -> `{timestamp,
participantId, joinedAt}` (seed 003), without saying what `timestamp` is. Accepted: epoch
milliseconds and epoch seconds (numbers or numeric strings; a value above 10^11 is taken as
milliseconds: 10^11 seconds is the year 5138, 10^11 milliseconds 1973), and ISO 8601 text
(`2025-03-11T10:53:15.000Z`; without an offset it is taken as UTC). Anything else (not JSON,
no timestamp, another format) does not parse and is counted as such.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

MS_THRESHOLD = 10**11
# the common case, a number, read without parsing the whole value (a scan reads 100,000)
NUMBER = re.compile(rb'"timestamp"\s*:\s*(\d+(?:\.\d+)?)\s*[,}]')


def timestamp_ms(value: bytes | str) -> int | None:
    """The heartbeat's timestamp in epoch milliseconds, None if it does not parse."""
    if isinstance(value, bytes) and value[:1] == b"{" and value.count(b'"timestamp"') == 1:
        found = NUMBER.search(value)
        if found:
            return _instant_ms(float(found.group(1)))
    try:
        body = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    return _instant_ms(body.get("timestamp"))


def _instant_ms(raw: object) -> int | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        try:
            raw = float(text)
        except ValueError:
            return _iso_ms(text)
    if isinstance(raw, int | float):
        number = float(raw)
        if not math.isfinite(number) or number <= 0:
            return None
        return round(number) if number >= MS_THRESHOLD else round(number * 1000)
    return None


def _iso_ms(text: str) -> int | None:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return round(t.timestamp() * 1000)


def count_fresh(values: list[bytes], now_ms: int, fresh_ms: int) -> tuple[int, int]:
    """(fresh, unparsable) of a hash's values: fresh when the timestamp is at most
    `fresh_ms` before `now_ms` (Redis TIME; a timestamp ahead of it counts as fresh)."""
    fresh = unparsable = 0
    for value in values:
        ms = timestamp_ms(value)
        if ms is None:
            unparsable += 1
        elif now_ms - ms <= fresh_ms:
            fresh += 1
    return fresh, unparsable
