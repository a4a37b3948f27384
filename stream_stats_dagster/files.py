"""Which file each asset is: its key layout, its document model and its cache policy.

The IO manager, the rebuild command and the tests all read this table, so an asset's
storage rules are written down once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from . import keys
from .reports import models as m

Layout = Literal["raw", "daily", "weekly", "rolling"]

# Daily and weekly files can still change with late data; the rolling pointer moves daily.
CACHE_CONTROL: dict[str, str] = {
    "raw": "private, max-age=3600",
    "daily": "public, max-age=600",
    "weekly": "public, max-age=600",
    "rolling": "public, max-age=600",
    "pointer": "public, max-age=60",
}


@dataclass(frozen=True)
class AssetFile:
    layout: Layout
    name: str
    model: type[BaseModel]

    def key(self, partition_key: str) -> str:
        day = dt.date.fromisoformat(partition_key)
        if self.layout == "raw":
            return keys.raw_key(day, self.name)
        if self.layout == "daily":
            return keys.daily_key(day, self.name)
        if self.layout == "weekly":
            return keys.weekly_key(day, self.name)
        return keys.rolling_history_key(day, self.name)

    @property
    def pointer_key(self) -> str | None:
        """The `rolling/last7days-*` key that only moves forward (rolling files only)."""
        return keys.rolling_pointer_key(self.name) if self.layout == "rolling" else None

    @property
    def cache_control(self) -> str:
        return CACHE_CONTROL[self.layout]


ASSET_FILES: dict[str, AssetFile] = {
    "raw_creator_minutes": AssetFile("raw", "creator-minutes", m.RawCreatorMinutes),
    "raw_country_minutes": AssetFile("raw", "country-minutes", m.RawCountryMinutes),
    "raw_video_minutes": AssetFile("raw", "video-minutes", m.RawVideoMinutes),
    "raw_hourly_minutes": AssetFile("raw", "hourly-minutes", m.RawHourlyMinutes),
    "raw_video_metadata": AssetFile("raw", "video-metadata", m.RawVideoMetadata),
    "creators": AssetFile("daily", "creators", m.CreatorsDoc),
    "countries": AssetFile("daily", "countries", m.CountriesDoc),
    "videos_with_posts": AssetFile("daily", "videos-with-posts", m.VideosWithPostsDoc),
    "summary": AssetFile("daily", "summary", m.SummaryDoc),
    "rolling_creators": AssetFile("rolling", "creators", m.RollingCreatorsDoc),
    "rolling_countries": AssetFile("rolling", "countries", m.RollingCountriesDoc),
    "rolling_summary": AssetFile("rolling", "summary", m.RollingSummaryDoc),
    "weekly_creators": AssetFile("weekly", "creators", m.WeeklyCreatorsDoc),
    "weekly_summary": AssetFile("weekly", "summary", m.WeeklySummaryDoc),
}

# The terminal asset of each report kind: writing it moves `stream-stats/index.json`.
INDEXED_ASSETS = {"summary": "daily", "weekly_summary": "weekly", "rolling_summary": "rolling"}

RAW_ASSETS = [name for name, f in ASSET_FILES.items() if f.layout == "raw"]
DAILY_ASSETS = [name for name, f in ASSET_FILES.items() if f.layout == "daily"]
