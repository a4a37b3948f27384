"""Which file each asset is: its key layout, its document model, its cache policy, and how
its value becomes bytes and back.

The IO manager, the rebuild command and the tests all read this table, so an asset's
storage rules are written down once. Raw extracts travel as `facts.RawExtract` frames and
are validated against their pydantic model when read back; report documents travel as
`reports.tables.Document` frames (or pydantic models) and are serialised exactly once,
here, through `jsonbytes`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from . import jsonbytes, keys
from .facts import FACT_COLUMNS, METADATA_COLUMNS, SCHEMA_VERSION, VALUES, RawExtract
from .reports import costs
from .reports import models as m
from .reports.live.document import LiveViewersDoc
from .reports.live.drift import LiveDriftDoc
from .reports.tables import Document, Table, object_bytes

# "raw_costs": a raw extract of the cost reports (raw key, but not part of `raw_extract`)
Layout = Literal["raw", "daily", "weekly", "rolling", "costs", "raw_costs", "live"]

# Daily and weekly files can still change with late data; the rolling pointer moves daily.
# Only the reports for readers may be cached by shared caches: nothing private is `public`.
CACHE_CONTROL: dict[str, str] = {
    "raw": "private, max-age=3600",
    "daily": "public, max-age=600",
    "weekly": "public, max-age=600",
    "rolling": "public, max-age=600",
    "pointer": "public, max-age=60",
    "costs": "private, max-age=600",
    "raw_costs": "private, max-age=3600",
    "live": "private, max-age=600",
}
# What is not a report for readers (raw facts, the catalogue, costs): `PRIVATE_BUCKET`.
PRIVATE_LAYOUTS = frozenset({"raw", "raw_costs", "costs", "live"})


@dataclass(frozen=True)
class AssetFile:
    layout: Layout
    name: str
    model: type[BaseModel]
    columns: tuple[str, ...] = ()  # raw extracts: the row fields, in file order
    list_field: str = "rows"  # raw extracts: the field holding the rows

    def key(self, partition_key: str) -> str:
        day = dt.date.fromisoformat(partition_key)
        if self.layout in ("raw", "raw_costs"):
            return keys.raw_key(day, self.name)
        if self.layout == "costs":
            return keys.costs_key(day, self.name)
        if self.layout == "live":
            return (
                keys.live_drift_key(day)
                if self.name == "live-drift"
                else keys.live_viewers_key(day)
            )
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

    @property
    def private(self) -> bool:
        """Kept in `PRIVATE_BUCKET`, never in the bucket readers are served from."""
        return self.layout in PRIVATE_LAYOUTS

    def encode(self, value: Any) -> bytes:
        """The canonical bytes of a raw extract, a report document or a pydantic model."""
        if isinstance(value, RawExtract):
            if value.body is not None:
                return value.body
            rows = Table(value.rows[list(self.columns)])
            data = {"schemaVersion": SCHEMA_VERSION, "date": value.date, **value.header}
            return object_bytes({**data, self.list_field: rows})
        if isinstance(value, Document):
            return value.to_bytes()
        return jsonbytes.dumps(value)

    def decode(self, body: bytes) -> Any:
        """A stored file, validated against its model (pydantic's `ValidationError` or a
        `ValueError` if it is not JSON): raw extracts as `RawExtract`, others as the model."""
        doc = self.model.model_validate_json(body)
        if self.layout != "raw":
            return doc
        rows = pd.DataFrame.from_records(getattr(doc, self.list_field), columns=list(self.columns))
        if self.list_field == "rows":
            rows = rows.astype(dict.fromkeys(VALUES, "int64"))
        else:
            rows = rows.astype(object).where(rows.notna(), None)
        skip = {"schemaVersion", "date", self.list_field}
        header = {k: getattr(doc, k) for k in type(doc).model_fields if k not in skip}
        return RawExtract(doc.date, rows, header)


def _raw(name: str, model: type[BaseModel], facts: str) -> AssetFile:
    return AssetFile("raw", name, model, tuple(FACT_COLUMNS[facts]))


ASSET_FILES: dict[str, AssetFile] = {
    "raw_creator_minutes": _raw("creator-minutes", m.RawCreatorMinutes, "creators"),
    "raw_country_minutes": _raw("country-minutes", m.RawCountryMinutes, "countries"),
    "raw_video_minutes": _raw("video-minutes", m.RawVideoMinutes, "videos"),
    "raw_hourly_minutes": _raw("hourly-minutes", m.RawHourlyMinutes, "hours"),
    "raw_video_metadata": AssetFile(
        "raw", "video-metadata", m.RawVideoMetadata, tuple(METADATA_COLUMNS), "videos"
    ),
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

# The cost reports (issue 14, group `costs`): pydantic documents, written as they are by
# their own assets (`defs/costs`), outside `collect`'s files unless `--with-costs`.
COST_FILES: dict[str, AssetFile] = {
    "raw_uid_minutes": AssetFile("raw_costs", "uid-minutes", costs.UidMinutesDoc),
    "video_catalog": AssetFile("costs", "video-catalog", costs.VideoCatalogDoc),
    "stream_costs": AssetFile("costs", "stream-costs", costs.StreamCostsDoc),
    "cold_videos": AssetFile("costs", "cold-videos", costs.ColdVideosDoc),
}

# The terminal asset of each report kind: writing it moves `stream-stats/index.json`.
INDEXED_ASSETS = {"summary": "daily", "weekly_summary": "weekly", "rolling_summary": "rolling"}

RAW_ASSETS = [name for name, f in ASSET_FILES.items() if f.layout == "raw"]
DAILY_ASSETS = [name for name, f in ASSET_FILES.items() if f.layout == "daily"]
ROLLING_ASSETS = [name for name, f in ASSET_FILES.items() if f.layout == "rolling"]
WEEKLY_ASSETS = [name for name, f in ASSET_FILES.items() if f.layout == "weekly"]

# The day's live audience (docs/live.md, contract §10): private (stage ARNs name the AWS
# account), not in index.json. Its hour files are written by the sampler, not by an asset.
LIVE_FILES: dict[str, AssetFile] = {
    "live_viewers": AssetFile("live", "live-viewers", LiveViewersDoc),
    "live_drift": AssetFile("live", "live-drift", LiveDriftDoc),
}

# Each creator's own files (docs/contract.md §4): in the reports' bucket, which must then be
# private (anyone can read every creator's numbers from a public one); served through signed
# links or the app's own route, never by a shared cache.
CACHE_CONTROL["creators"] = "private, max-age=600"


@dataclass(frozen=True)
class FileSet:
    """The value of a partition that is many files: `{object key: bytes}`, and the seconds
    it took to build them (shown on the partition's page)."""

    files: dict[str, bytes]
    seconds: float = 0.0


@dataclass(frozen=True)
class CreatorFiles:
    """A set asset: one file per creator of a day (`days`) or week (`weeks`), written with a
    manifest (`file_sets.write_file_set`)."""

    kind: Literal["days", "weeks"]
    private: bool = False
    cache_control: str = CACHE_CONTROL["creators"]

    def key(self, creator_key: str, partition_key: str) -> str:
        day = dt.date.fromisoformat(partition_key)
        if self.kind == "days":
            return keys.creator_day_key(creator_key, day)
        return keys.creator_week_key(creator_key, day)

    def manifest_key(self, partition_key: str) -> str:
        return keys.creator_manifest_key(self.kind, partition_key)


CREATOR_FILES: dict[str, CreatorFiles] = {
    "creator_days": CreatorFiles("days"),
    "creator_weeks": CreatorFiles("weeks"),
}
