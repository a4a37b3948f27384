"""The facts Cloudflare gives for one report day, as stored in the raw extracts.

These rows are shared by the Cloudflare client (which produces them) and the report
rules (which consume them). Values are exactly as Cloudflare sent them: an empty creator
stays "" here and becomes "__null__" only in the reports.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    minutesViewed: int = Field(ge=0)
    viewCount: int = Field(ge=0)


class CreatorMinutes(_Row):
    creator: str


class CountryMinutes(_Row):
    clientCountryName: str


class VideoMinutes(_Row):
    uid: str
    creator: str


class HourMinutes(_Row):
    hour: str  # local hour start, "2025-03-11T00:00:00+09:00"


class VideoMetadata(BaseModel):
    """What the Stream REST API says about one video; `found=False` means it answered 404."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uid: str
    found: bool
    creator: str | None = None
    name: str | None = None  # meta.name, the file name such as "lady001.mp4"
    title: str | None = None  # meta.title, the post's real title
    created: str | None = None


class DayFacts(BaseModel):
    """Everything one report day needs from GraphQL: complete creator and country lists,
    the top-N videos in Cloudflare's order, and one row per local hour (zero-filled)."""

    model_config = ConfigDict(extra="forbid")

    date: str
    creators: list[CreatorMinutes]
    countries: list[CountryMinutes]
    videos: list[VideoMinutes]
    hours: list[HourMinutes]
