"""Object keys (contract §4): the one place that knows where each file lives.

Report keys live in `STATS_BUCKET`, operation-log keys in `LOG_BUCKET`.
Dates are report-time-zone dates; weekly files use the ISO week-year of their Monday.
"""

from __future__ import annotations

import datetime as dt

from .dates import iso_week_label

PREFIX = "stream-stats"
# The shared video-metadata cache, as columns; the old per-video file is read once to migrate.
METADATA_CACHE_KEY = f"{PREFIX}/cache/video-catalog.json"
LEGACY_METADATA_CACHE_KEY = f"{PREFIX}/cache/video-metadata.json"
INDEX_KEY = f"{PREFIX}/index.json"


def raw_key(day: dt.date, name: str) -> str:
    return f"{PREFIX}/raw/{day:%Y-%m}/{day.isoformat()}-{name}.json"


def daily_key(day: dt.date, name: str) -> str:
    return f"{PREFIX}/daily/{day:%Y-%m}/{day.isoformat()}-{name}.json"


def weekly_key(monday: dt.date, name: str) -> str:
    return f"{PREFIX}/weekly/{monday:%Y-%m}/{iso_week_label(monday)}-{name}.json"


def raw_revision_key(day: dt.date, name: str, replaced_at: dt.datetime) -> str:
    """Where a raw file's previous version is kept when a re-collect replaced it (UTC time
    of the replacement, so that revisions sort by time)."""
    stamp = replaced_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{raw_revisions_prefix(day)}{name}.{stamp}.json"


def raw_revisions_prefix(day: dt.date) -> str:
    return f"{PREFIX}/raw/revisions/{day:%Y-%m}/{day.isoformat()}/"


def rolling_pointer_key(name: str) -> str:
    return f"{PREFIX}/rolling/last7days-{name}.json"


def rolling_history_key(end: dt.date, name: str) -> str:
    return f"{PREFIX}/rolling/history/{end:%Y-%m}/{end.isoformat()}-last7days-{name}.json"


def costs_key(day: dt.date, name: str) -> str:
    """Cost reports and the day's catalogue snapshot (issue 14)."""
    return f"{PREFIX}/costs/{day:%Y-%m}/{day.isoformat()}-{name}.json"


def oplog_key(day: dt.date, operation: str, run_id: str) -> str:
    return f"{PREFIX}/{day:%Y-%m}/{day.isoformat()}/{operation}-{run_id}.json"


def live_samples_key(hour_start: dt.datetime) -> str:
    """An hour of live samples (docs/live.md), in `PRIVATE_BUCKET`: keyed by the UTC start of
    the report time zone's hour, so that the repeated hour of a DST change has its own key
    and a half-hour zone's hours (18:30Z..19:30Z) keep their minutes."""
    t = hour_start.astimezone(dt.UTC)
    return f"{PREFIX}/raw/live/{t:%Y-%m}/{t:%Y-%m-%dT%H%MZ}-live-samples.json"


def live_viewers_key(day: dt.date) -> str:
    """A day's live audience report (docs/live.md), in `PRIVATE_BUCKET`: the stage ARNs in it
    name the AWS account, and it is not one of the readers' files in `index.json`."""
    return f"{PREFIX}/live/{day:%Y-%m}/{day.isoformat()}-live-viewers.json"
