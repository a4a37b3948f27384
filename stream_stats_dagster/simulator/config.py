"""Knobs of the Cloudflare simulator: the size and shape of the fake platform, and which of
Cloudflare's limits and failure modes are switched on.

Defaults give a platform at "production" scale with every limit off, so that the project can
run against it without waiting; tests switch single behaviours on.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=20250311, ge=0)

    # --- the catalogue -------------------------------------------------------------------
    videos: int = Field(default=100_000, ge=10)
    big_creators: int = Field(default=150, ge=1)
    big_posts: int = Field(default=300, ge=1)  # posts of ~videos_per_big_post videos each
    videos_per_big_post: int = Field(default=100, ge=1)
    small_creators: int = Field(default=13_500, ge=1)  # creators of small posts
    countries: int = Field(default=200, ge=1, le=249)
    deleted_fraction: float = Field(default=0.01, ge=0, le=1)  # REST answers 404
    no_name_fraction: float = Field(default=0.002, ge=0, le=1)  # meta without "name"
    no_creator_fraction: float = Field(default=0.001, ge=0, le=1)  # creator null / ""
    # Realism for the cost reports; drawn from their own random streams, so the watched
    # catalogue and every view record stay as they are without them.
    unwatched_videos: int = Field(default=5_000, ge=0)  # uploads no one ever watches
    processing_videos: int = Field(default=30, ge=0)  # the newest of those, still processing
    unknown_duration_fraction: float = Field(default=0.002, ge=0, le=1)  # ready, duration -1

    # --- the view records ----------------------------------------------------------------
    records_per_hour: int = Field(default=12_000, ge=0)  # mean; follows a KST day curve
    small_creator_share: float = Field(default=0.35, ge=0, le=1)  # of records; drives the
    # number of distinct creators with views per day (~11k at the defaults)
    unknown_country_fraction: float = Field(default=0.005, ge=0, le=1)
    hour_cache_size: int = Field(default=24 * 10, ge=1)  # UTC hours kept (~0.3 MB each)
    hide_future: bool = False  # records after the clock's now are not visible
    late_arrival_mean_minutes: float = Field(default=0.0, ge=0)  # with hide_future: records
    # become visible after an exponential delay, so a day's totals still grow after it ends

    # --- the API ---------------------------------------------------------------------------
    account_id: str = "sim-account"
    api_token: str = "sim-token"
    require_token: bool = False  # False: any (or no) bearer token is accepted
    latency_seconds: float = Field(default=0.0, ge=0)  # slept on every API call

    max_limit: int = 10_000
    max_range_days: int = 31
    node_budget: bool = False  # 300 nodes per sliding 5 minutes, then "budget depleted"
    node_budget_limit: int = Field(default=300, ge=1)
    rest_budget: bool = False  # 1200 calls per sliding 5 minutes, then 429 for 5 minutes
    rest_budget_limit: int = Field(default=1200, ge=1)
    budget_window_seconds: float = Field(default=300.0, gt=0)
    retention_check: bool = False  # data older than retention_days -> Cloudflare's error
    retention_days: int = Field(default=90, ge=1)
    now: dt.datetime | None = None  # fixed clock (UTC if naive) unless a clock is passed

    @model_validator(mode="after")
    def _check(self) -> SimulatorConfig:
        if self.now is not None and self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=dt.UTC))
        return self


def small_config(**overrides: object) -> SimulatorConfig:
    """A platform small enough for unit tests (a day generates in milliseconds)."""
    base: dict[str, object] = {
        "videos": 3000,
        "big_creators": 6,
        "big_posts": 12,
        "videos_per_big_post": 40,
        "small_creators": 600,
        "countries": 40,
        "records_per_hour": 400,
        "unwatched_videos": 150,
        "processing_videos": 5,
        "hour_cache_size": 24 * 40,
    }
    base.update(overrides)
    return SimulatorConfig(**base)  # type: ignore[arg-type]
