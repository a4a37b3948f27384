"""Report-day arithmetic: report days are local days in the report time zone;
Cloudflare speaks UTC."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

UTC = dt.UTC


class BadDateError(ValueError):
    """A date argument that is not a real YYYY-MM-DD day."""


# ASCII digits only: `\d` would also match other scripts' digits.
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


LEAD_DAYS = 6
"""The days before a report day that its 7-day trend or window reads (d-6..d-1), and so the
days after a day whose trends and windows read it."""


def lead_days(first: dt.date) -> list[dt.date]:
    """The `LEAD_DAYS` days before `first`, ascending."""
    return [first - dt.timedelta(days=n) for n in range(LEAD_DAYS, 0, -1)]


def parse_day(text: str) -> dt.date:
    """Parse a YYYY-MM-DD partition key or CLI date, with a one-line error.

    Only that form: `date.fromisoformat` alone also takes `2025-W11-2` and `20250311`."""
    if not isinstance(text, str) or not _DAY_RE.fullmatch(text):
        raise BadDateError(f"bad date {text!r}: expected YYYY-MM-DD (e.g. 2025-03-11)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # the form is right, the calendar says no (2026-02-30, month 13)
        raise BadDateError(f"{text} is not a date: {_calendar_problem(text)}") from None


def _calendar_problem(text: str) -> str:
    year, month = (int(part) for part in text.split("-")[:2])
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    last = calendar.monthrange(year, month)[1]
    return f"{calendar.month_name[month]} {year} has {last} days"


@dataclass(frozen=True)
class ReportDay:
    """One local day and its UTC bounds, e.g. KST 2025-03-11 = 03-10T15:00Z .. 03-11T15:00Z."""

    day: dt.date
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def key(self) -> str:
        return self.day.isoformat()

    @property
    def start_utc(self) -> dt.datetime:
        return local_midnight(self.day, self.tz).astimezone(UTC)

    @property
    def end_utc(self) -> dt.datetime:
        return local_midnight(self.day + dt.timedelta(days=1), self.tz).astimezone(UTC)

    def local_hours(self) -> list[dt.datetime]:
        """Every local hour start of the day (23 or 25 of them on DST change days)."""
        hours, t = [], self.start_utc
        while t < self.end_utc:
            hours.append(t.astimezone(self.tz))
            t += dt.timedelta(hours=1)
        # Fold ambiguous/duplicated wall hours onto distinct instants: keep order by instant.
        return hours

    def whole_hour_offsets(self) -> bool:
        """True when every UTC hour bucket of the day lies inside one local hour (e.g. KST)."""
        return all(h.utcoffset().total_seconds() % 3600 == 0 for h in self.local_hours())


def local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


def to_utc_z(t: dt.datetime) -> str:
    """RFC 3339 with Z, the form Cloudflare documents for Time values."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_hour_label(t: dt.datetime) -> str:
    """`2025-03-11T00:00:00+09:00`: the hourlyTrend label of a local hour."""
    return t.isoformat(timespec="seconds")


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Inclusive list of days."""
    if last < first:
        raise BadDateError(f"empty range: {first} is after {last}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def window_days(end: dt.date, length: int = LEAD_DAYS + 1) -> list[dt.date]:
    """The `length` days ending at `end`, ascending (a 7-day trend or window: d-6..d)."""
    return [end - dt.timedelta(days=i) for i in range(length - 1, -1, -1)]


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def iso_week_label(monday: dt.date) -> str:
    """`2025-01` for Monday 2024-12-30: ISO week-year and zero-padded week."""
    year, week, _ = monday.isocalendar()
    return f"{year:04d}-{week:02d}"


# Stream's timestamp text, "2025-01-02T03:04:05.123456Z": where its separators are.
_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":", 19: ".", 26: "Z"}
_DIGITS = [i for i in range(27) if i not in _SEPARATORS]


def stream_times(values: Sequence[object]) -> np.ndarray | None:
    """Stream's timestamps (`2025-01-02T03:04:05.123456Z`, None where unknown) as
    `datetime64[us]` (UTC, NaT where unknown), or None if any value is not in that format.

    Checked by byte position, then parsed by numpy, which refuses every field out of range
    (month 13, hour 24, second 60, 29 February of a common year): a value it accepts prints
    back to exactly its text. C loops: ~100x faster than pandas' general parser on 100k."""
    text = np.asarray(values, dtype=object)
    known = pd.notna(text)
    strings = text[known]
    if not all(isinstance(v, str) and len(v) == 27 for v in strings):
        return None
    try:  # one byte a character; casting to 26 bytes drops the final "Z"
        raw = strings.astype("S27")
        chars = raw.view(np.uint8).reshape(len(raw), 27)
        digits = chars[:, _DIGITS]
        in_format = ((digits >= ord("0")) & (digits <= ord("9"))).all() and all(
            (chars[:, i] == ord(c)).all() for i, c in _SEPARATORS.items()
        )
        if not in_format:
            return None
        parsed = raw.astype("S26").astype("datetime64[us]")
    except (ValueError, UnicodeEncodeError):  # not ASCII, or a field out of range
        return None
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    out[known] = parsed
    return out
