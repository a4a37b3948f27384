"""The facts Cloudflare gives for one report day, as pandas frames.

A day is a few tables of 10^2..10^4 rows: creators, countries, the top-N videos and one row
per local hour. They travel as frames from the GraphQL rows to the raw extract files and
back, so that the reports are a few vectorised calls over typed columns. Values are exactly
as Cloudflare sent them: an empty creator stays "" here and becomes "__null__" only in the
reports.

`FACT_COLUMNS` is the column order of each table, which is also the field order of its rows
in the raw extract files (contract §4), so a frame serialises to the same bytes every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

MINUTES, VIEWS = "minutesViewed", "viewCount"
VALUES = [MINUTES, VIEWS]

FACT_COLUMNS: dict[str, list[str]] = {
    "creators": [*VALUES, "creator"],
    "countries": [*VALUES, "clientCountryName"],
    "videos": [*VALUES, "uid", "creator"],
    "hours": [*VALUES, "hour"],  # local hour start, "2025-03-11T00:00:00+09:00"
}
METADATA_COLUMNS = ["uid", "found", "creator", "name", "title", "created"]
"""The columns of the day's `video-metadata` snapshot (and of its raw file's entries)."""


def fact_frame(kind: str, columns: dict[str, Sequence]) -> pd.DataFrame:
    """A facts table with its columns in file order: ints as int64, strings as objects."""
    frame = pd.DataFrame({name: columns[name] for name in FACT_COLUMNS[kind]})
    return frame.astype(dict.fromkeys(VALUES, "int64"))


def _unset(value: object) -> bool:
    return value is None


class VideoMetadata(BaseModel):
    """What the Stream REST API says about one video; `found=False` means it answered 404."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uid: str
    found: bool
    creator: str | None = None
    name: str | None = None  # meta.name, the file name such as "lady001.mp4"
    title: str | None = None  # meta.title, the post's real title
    created: str | None = None
    # What the cost reports read (list endpoint and video details). Left out of a dump while
    # unset, so the raw `video-metadata` snapshots keep their six fields and their bytes.
    duration: float | None = Field(default=None, exclude_if=_unset)  # seconds, -1 unknown
    size: int | None = Field(default=None, exclude_if=_unset)  # bytes
    state: str | None = Field(default=None, exclude_if=_unset)  # status.state
    readyToStreamAt: str | None = Field(default=None, exclude_if=_unset)
    scheduledDeletion: str | None = Field(default=None, exclude_if=_unset)


def metadata_frame(videos: Sequence[VideoMetadata]) -> pd.DataFrame:
    """The snapshot columns of `videos`, in their order (objects: None stays None)."""
    rows = [[getattr(v, c) for c in METADATA_COLUMNS] for v in videos]
    return pd.DataFrame(rows, columns=METADATA_COLUMNS, dtype=object)


def snapshot_rows(catalog: pd.DataFrame, uids: Sequence[str]) -> pd.DataFrame:
    """The `video-metadata` snapshot of `uids` (one row each, in their order) from rows of
    the metadata cache (`METADATA_COLUMNS` among its columns, times as text)."""
    rows = catalog.drop_duplicates("uid").set_index("uid").reindex(list(uids)).reset_index()
    rows = rows[METADATA_COLUMNS].astype(object)
    return rows.where(rows.notna(), None)


@dataclass(frozen=True)
class DayFacts:
    """Everything one report day needs from GraphQL: complete creator and country lists,
    the top-N videos in Cloudflare's order, and one row per local hour (zero-filled)."""

    date: str
    creators: pd.DataFrame
    countries: pd.DataFrame
    videos: pd.DataFrame
    hours: pd.DataFrame


@dataclass(frozen=True)
class RawExtract:
    """One day's raw extract file as a frame: its rows, and the file's other fields
    (`limit` of the video minutes, `timezone` of the hourly minutes), in file order."""

    date: str
    rows: pd.DataFrame
    header: dict[str, object] = field(default_factory=dict)
    body: bytes | None = field(default=None, compare=False, repr=False)  # encoded, once


# --- the fact store only grows more certain ------------------------------------------------

# Differences this small are noise, not news (rounding in Cloudflare's aggregation); the
# late-data sensor ignores them, and a re-collect may replace stored facts by them.
TOLERANCE_MINUTES = 1  # absolute
TOLERANCE_RATIO = 0.001  # relative to the stored value: 0.1 %
SIZED_TABLES = ("creators", "countries", "videos")


def beyond_tolerance(stored: int, fresh: int) -> bool:
    """Whether `fresh` differs from `stored` by more than the noise allowed."""
    return abs(fresh - stored) > max(TOLERANCE_MINUTES, TOLERANCE_RATIO * stored)


@dataclass(frozen=True)
class DaySize:
    """How much a day's facts hold: its total minutes (of the hourly series) and the rows of
    each complete table; `video_limit` is the top-N its video rows were cut at."""

    minutes: int
    rows: dict[str, int]
    video_limit: object = None

    def describe(self) -> str:
        rows = ", ".join(f"{n:,} {table} rows" for table, n in self.rows.items())
        return f"{self.minutes:,} minutes ({rows})"


def day_size(tables: dict[str, pd.DataFrame], video_limit: object = None) -> DaySize:
    """The size of a day from its tables (`creators`, `countries`, `videos`, `hours`)."""
    return DaySize(
        minutes=int(tables["hours"][MINUTES].sum()),
        rows={t: len(tables[t]) for t in SIZED_TABLES if t in tables},
        video_limit=video_limit,
    )


def shrinkage(stored: DaySize, fresh: DaySize) -> str | None:
    """Why `fresh` would make the stored day less certain, in one line, or None.

    Late data only adds views: fewer minutes, or fewer creators, countries or top videos
    than are stored (beyond the noise), mean the answer is incomplete (an empty or cut
    answer), not that views were taken back. Video rows are compared only at the same
    top-N limit."""
    fewer = []
    if fresh.minutes < stored.minutes and beyond_tolerance(stored.minutes, fresh.minutes):
        fewer.append("minutes")
    for table, n in stored.rows.items():
        if table == "videos" and stored.video_limit != fresh.video_limit:
            continue
        got = fresh.rows.get(table, 0)
        if got < n and beyond_tolerance(n, got):
            fewer.append(f"{table} rows")
    if not fewer:
        return None
    return (
        f"Cloudflare now answers {fresh.describe()}, fewer {' and '.join(fewer)} than the "
        f"stored {stored.describe()}"
    )
