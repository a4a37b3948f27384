"""Object keys (contract §4): the one place that knows where each file lives.

Report keys live in `STATS_BUCKET`, operation-log keys in `LOG_BUCKET`.
Dates are report-time-zone dates; weekly files use the ISO week-year of their Monday.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

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


def live_drift_key(day: dt.date) -> str:
    """A day's drift of the live counts (docs/live.md, "Drift"), in `PRIVATE_BUCKET` beside
    the live audience report."""
    return f"{PREFIX}/live/{day:%Y-%m}/{day.isoformat()}-live-drift.json"


def creator_key(creator: str, secret: bytes | None = None) -> str:
    """A creator's folder name under `creators/` (docs/contract.md, "The creator key").

    Creator ids are arbitrary text (Korean, spaces, slashes, `__null__`, hundreds of
    characters), so the key is a digest of the id's UTF-8 bytes, never the id itself:
    `base32(HMAC-SHA256(secret, id))` when `STREAM_STATS_CREATOR_KEY_SECRET` is set (a key
    cannot be guessed from an id without the secret), `base32(SHA-256(id))` otherwise; RFC
    4648 base32, lower case, without `=` padding: 52 characters of `[a-z2-7]`. Any language
    computes it with its standard library (the README has TypeScript). Collision-resistant
    (a 256-bit digest), not collision-free: each day's files are checked for two creators
    with one key before they are published."""
    data = creator.encode("utf-8")
    digest = (
        hmac.new(secret, data, hashlib.sha256).digest() if secret else hashlib.sha256(data).digest()
    )
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def creator_day_key(key: str, day: dt.date) -> str:
    """A creator's file of a day (`creator_key` names the folder)."""
    return f"{PREFIX}/creators/{key}/days/{day:%Y-%m}/{day.isoformat()}.json"


def creator_week_key(key: str, monday: dt.date) -> str:
    """A creator's file of an ISO week (keyed like the weekly files, by the week's Monday)."""
    return f"{PREFIX}/creators/{key}/weeks/{monday:%Y-%m}/{iso_week_label(monday)}.json"


def creator_manifest_key(layout: str, partition_key: str) -> str:
    """What a day's (or week's) creator files were at their last publication: each file's
    key and MD5, so that a run writes only the files that changed (one GET, not one HEAD per
    creator) and removes the files of creators who no longer have any."""
    day = dt.date.fromisoformat(partition_key)
    return f"{PREFIX}/creators/manifests/{layout}/{day:%Y-%m}/{partition_key}.json"
