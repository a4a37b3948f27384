"""Pydantic models of every JSON document the project writes (contract §4 and §5).

Field names and their order are the contract: the IO manager writes
`model_dump(mode="json")`, and pydantic dumps fields in declaration order, so every
document starts with `schemaVersion` and continues in the order of docs/contract.md §5.
Counts and minutes are ints; dates are `YYYY-MM-DD` strings in the report time zone.

Values are not range-checked here (no `ge=0`): the asset checks in `reports.checks`
report negative values and broken sums as failed checks with metadata, which is more
useful in the Dagster UI than a validation traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from stream_stats_dagster.facts import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "CountriesDoc",
    "CountryDay",
    "CountryRow",
    "CountryWindow",
    "CreatorDay",
    "CreatorRow",
    "CreatorWindow",
    "CreatorsDoc",
    "DayStat",
    "HourRow",
    "HourStat",
    "MetadataEntry",
    "PostEntry",
    "PostVideo",
    "RawCountryMinutes",
    "RawCreatorMinutes",
    "RawHourlyMinutes",
    "RawVideoMetadata",
    "RawVideoMinutes",
    "RollingCountriesDoc",
    "RollingCreatorsDoc",
    "RollingSummaryDoc",
    "SummaryDoc",
    "TopCountry",
    "TopCreator",
    "TopVideo",
    "VideoEntry",
    "VideoRow",
    "VideosWithPostsDoc",
    "WeeklyCreatorsDoc",
    "WeeklySummaryDoc",
]

_DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DayStr = Annotated[str, Field(pattern=_DAY_PATTERN)]
"""A report-time-zone date, `2025-03-11` (series entries: strings only, for speed)."""


def _iso_day(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


DocDay = Annotated[str, BeforeValidator(_iso_day), Field(pattern=_DAY_PATTERN)]
"""A document's own date field: a `YYYY-MM-DD` string, or a `datetime.date` stored as one."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Doc(_Model):
    """Every stored document starts with `"schemaVersion": 1`."""

    schemaVersion: Literal[1] = SCHEMA_VERSION


# --- entries ---------------------------------------------------------------------------


class DayStat(_Model):
    """One entry of a ×7 series (`trend`, `dailyTrend`, `dailyStats`)."""

    date: DayStr
    minutesViewed: int
    viewCount: int


class HourStat(_Model):
    """One local hour of `hourlyTrend`: `hour` is `2025-03-11T00:00:00+09:00`."""

    hour: str
    minutesViewed: int
    viewCount: int


class CreatorDay(_Model):
    creator: str
    minutesViewed: int
    viewCount: int
    trend: list[DayStat]


class CountryDay(_Model):
    clientCountryName: str
    minutesViewed: int
    viewCount: int


class VideoEntry(_Model):
    uid: str
    creator: str
    fileName: str | None
    postName: str
    realTitle: str
    minutesViewed: int
    viewCount: int


class PostVideo(_Model):
    uid: str
    fileName: str | None
    minutesViewed: int
    viewCount: int


class PostEntry(_Model):
    creator: str
    postName: str
    realTitle: str
    videoCount: int
    minutesViewed: int
    viewCount: int
    topVideos: list[PostVideo]


class TopCreator(_Model):
    creator: str
    minutesViewed: int
    viewCount: int


TopCountry = CountryDay
"""Top-list entries of countries have the same shape as the daily countries entries."""


class TopVideo(_Model):
    uid: str
    minutesViewed: int
    viewCount: int


class CreatorWindow(_Model):
    creator: str
    dailyStats: list[DayStat]
    totalMinutesViewed: int
    totalViewCount: int


class CountryWindow(_Model):
    clientCountryName: str
    dailyStats: list[DayStat]
    totalMinutesViewed: int
    totalViewCount: int


# --- daily documents -------------------------------------------------------------------


class CreatorsDoc(_Doc):
    """`daily/YYYY-MM/YYYY-MM-DD-creators.json`: every creator with views that day."""

    date: DocDay
    creators: list[CreatorDay]


class CountriesDoc(_Doc):
    """`daily/YYYY-MM/YYYY-MM-DD-countries.json`: every country with views that day."""

    date: DocDay
    countries: list[CountryDay]


class VideosWithPostsDoc(_Doc):
    """`daily/YYYY-MM/YYYY-MM-DD-videos-with-posts.json`: the day's top-N videos and the
    posts built from them (so post sums cover the top-N videos only)."""

    date: DocDay
    videos: list[VideoEntry]
    posts: list[PostEntry]


class SummaryDoc(_Doc):
    """`daily/YYYY-MM/YYYY-MM-DD-summary.json`.

    `uniqueViewers` is always null: no Cloudflare Stream dataset reports unique viewers
    (`count` is an aggregated record count, published as `viewCount`).
    """

    date: DocDay
    totalMinutesViewed: int
    totalViewCount: int
    uniqueViewers: None = Field(
        default=None,
        description="Always null: no Cloudflare dataset gives unique viewers.",
    )
    topCreators: list[TopCreator]
    topCountries: list[TopCountry]
    topVideos: list[TopVideo]
    dailyTrend: list[DayStat]
    hourlyTrend: list[HourStat] = Field(default_factory=list)


# --- weekly and rolling documents ------------------------------------------------------


class WeeklyCreatorsDoc(_Doc):
    """`weekly/YYYY-MM/YYYY-WW-creators.json`: Monday..Sunday, exact sums of the days."""

    weekStart: DocDay
    weekEnd: DocDay
    creators: list[CreatorWindow]


class WeeklySummaryDoc(_Doc):
    """`weekly/YYYY-MM/YYYY-WW-summary.json`.

    `topVideos` merges the seven days' full top-N video lists (not their top-10 lists).
    """

    weekStart: DocDay
    weekEnd: DocDay
    totalMinutesViewed: int
    totalViewCount: int
    dailyStats: list[DayStat]
    topCreators: list[TopCreator]
    topCountries: list[TopCountry]
    topVideos: list[TopVideo]


class RollingCreatorsDoc(_Doc):
    """`rolling/last7days-creators.json`: d-6..d, exact sums of the days."""

    startDate: DocDay
    endDate: DocDay
    creators: list[CreatorWindow]


class RollingCountriesDoc(_Doc):
    """`rolling/last7days-countries.json`: d-6..d, exact sums of the days."""

    startDate: DocDay
    endDate: DocDay
    countries: list[CountryWindow]


class RollingSummaryDoc(_Doc):
    """`rolling/last7days-summary.json`.

    `topVideos` merges the seven days' full top-N video lists (not their top-10 lists).
    """

    startDate: DocDay
    endDate: DocDay
    totalMinutesViewed: int
    totalViewCount: int
    dailyStats: list[DayStat]
    topCreators: list[TopCreator]
    topCountries: list[TopCountry]
    topVideos: list[TopVideo]


# --- each creator's own files (`creators/<creator key>/...`) --------------------------


class CreatorDayFile(_Doc):
    """`creators/<key>/days/YYYY-MM/YYYY-MM-DD.json`: what one creator's page needs for a
    day, for a creator with views in the seven days ending on it. `day` is their row of the
    daily creators file (null without views that day), `last7Days` their row of the
    rolling creators file of that day; `videos` every video of theirs with views that day,
    and `posts` built from those videos as in `videos-with-posts`."""

    date: DocDay
    creator: str
    startDate: DocDay
    endDate: DocDay
    day: CreatorDay | None
    last7Days: CreatorWindow
    videos: list[VideoEntry]
    posts: list[PostEntry]


class CreatorWeekFile(_Doc):
    """`creators/<key>/weeks/YYYY-MM/YYYY-WW.json`: one creator's row of the weekly creators
    file, for a creator with views that week."""

    weekStart: DocDay
    weekEnd: DocDay
    creator: str
    week: CreatorWindow


# --- raw extracts (`raw/YYYY-MM/YYYY-MM-DD-<name>.json`) ----------------------------------
# Rows are TypedDicts: pydantic validates a day's 10^4 rows in its Rust core and hands back
# plain dicts, which become the facts frame in one call (no object per row is kept).

Count = Annotated[int, Field(ge=0)]


@with_config(ConfigDict(extra="forbid"))
class CreatorRow(TypedDict):
    minutesViewed: Count
    viewCount: Count
    creator: str


@with_config(ConfigDict(extra="forbid"))
class CountryRow(TypedDict):
    minutesViewed: Count
    viewCount: Count
    clientCountryName: str


@with_config(ConfigDict(extra="forbid"))
class VideoRow(TypedDict):
    minutesViewed: Count
    viewCount: Count
    uid: str
    creator: str


@with_config(ConfigDict(extra="forbid"))
class HourRow(TypedDict):
    minutesViewed: Count
    viewCount: Count
    hour: str  # local hour start, "2025-03-11T00:00:00+09:00"


@with_config(ConfigDict(extra="forbid"))
class MetadataEntry(TypedDict):
    uid: str
    found: bool
    creator: str | None
    name: str | None  # meta.name, the file name such as "lady001.mp4"
    title: str | None  # meta.title, the post's real title
    created: str | None


class RawCreatorMinutes(_Doc):
    """`creator-minutes`: the day's complete creator list, values as Cloudflare sent them."""

    date: DocDay
    rows: list[CreatorRow]


class RawCountryMinutes(_Doc):
    """`country-minutes`: the day's complete country list."""

    date: DocDay
    rows: list[CountryRow]


class RawVideoMinutes(_Doc):
    """`video-minutes`: the day's top `limit` videos in Cloudflare's order."""

    date: DocDay
    limit: int
    rows: list[VideoRow]


class RawHourlyMinutes(_Doc):
    """`hourly-minutes`: one row per local hour of the day in `timezone`."""

    date: DocDay
    timezone: str
    rows: list[HourRow]


class RawVideoMetadata(_Doc):
    """`video-metadata`: metadata snapshot of the day's top videos, in their order."""

    date: DocDay
    videos: list[MetadataEntry]
