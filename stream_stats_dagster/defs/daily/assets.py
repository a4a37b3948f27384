"""Daily report assets (group `daily`): thin wrappers over `reports.daily`.

Each asset handles one day or a backfill range of days; a 7-day trend reads the raw
extracts of d-6..d through a partition mapping. Documents are checked in-step.
"""

import dagster as dg

from ...config import Settings
from ...partitions import daily_backfill_policy, daily_partitions, last_7_days
from ...reports import checks as report_checks
from ...reports import daily as report
from ...reports import models as m
from ...reports.rules import null_key
from ..checks import check_specs
from ..common import build_days, by_date, emit, preview, require

CREATORS_CHECKS = ["no_negative_values", "no_duplicate_keys", "series_complete", "lists_in_order"]
COUNTRIES_CHECKS = ["no_negative_values", "no_duplicate_keys", "lists_in_order"]
VIDEOS_CHECKS = ["no_negative_values", "no_duplicate_keys", "lists_in_order", "parts_add_up"]
SUMMARY_CHECKS = [*CREATORS_CHECKS, "parts_add_up"]
FACTS_ADD_UP = "creators_and_countries_add_up_to_total"
DAY_COLUMNS = ["minutesViewed", "viewCount"]


def build_daily_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    common = dict(
        partitions_def=daily_partitions(settings),
        group_name="daily",
        backfill_policy=daily_backfill_policy(),
    )
    week = dg.AssetIn(partition_mapping=last_7_days())
    start = settings.start_date

    @dg.asset(
        ins={"raw_creator_minutes": week},
        hooks={on_failure},
        check_specs=check_specs("creators", CREATORS_CHECKS),
        **common,
    )
    def creators(
        context: dg.AssetExecutionContext, raw_creator_minutes: dict[str, m.RawCreatorMinutes]
    ):
        """Minutes and views per creator for the day, each with its 7-day trend."""
        rows = {d: doc.rows for d, doc in by_date(raw_creator_minutes).items()}
        docs = build_days(context, lambda d: report.daily_creators(d, rows, start_date=start))
        last = docs[max(docs)].creators
        metadata = {
            "creators (last day)": len(last),
            "preview": preview(last, ["creator", *DAY_COLUMNS]),
        }
        yield from emit("creators", docs, metadata, CREATORS_CHECKS)

    @dg.asset(hooks={on_failure}, check_specs=check_specs("countries", COUNTRIES_CHECKS), **common)
    def countries(
        context: dg.AssetExecutionContext, raw_country_minutes: dict[str, m.RawCountryMinutes]
    ):
        """Minutes and views per country for the day."""

        def build(day):
            rows = require(raw_country_minutes, day.isoformat(), "raw_country_minutes").rows
            return report.daily_countries(day, rows)

        docs = build_days(context, build)
        last = docs[max(docs)].countries
        metadata = {
            "countries (last day)": len(last),
            "preview": preview(last, ["clientCountryName", *DAY_COLUMNS]),
        }
        yield from emit("countries", docs, metadata, COUNTRIES_CHECKS)

    @dg.asset(
        hooks={on_failure}, check_specs=check_specs("videos_with_posts", VIDEOS_CHECKS), **common
    )
    def videos_with_posts(
        context: dg.AssetExecutionContext,
        raw_video_minutes: dict[str, m.RawVideoMinutes],
        raw_video_metadata: dict[str, m.RawVideoMetadata],
    ):
        """The day's top videos with file and post names, and the posts built from them."""

        def build(day):
            k = day.isoformat()
            snapshot = require(raw_video_metadata, k, "raw_video_metadata")
            videos = require(raw_video_minutes, k, "raw_video_minutes").rows
            return report.videos_with_posts(day, videos, {v.uid: v for v in snapshot.videos})

        docs = build_days(context, build)
        last = docs[max(docs)]
        metadata = {
            "videos (last day)": len(last.videos),
            "posts (last day)": len(last.posts),
            "preview": preview(
                last.posts, ["creator", "postName", "realTitle", "videoCount", "minutesViewed"]
            ),
        }
        yield from emit("videos_with_posts", docs, metadata, VIDEOS_CHECKS)

    @dg.asset(
        ins={"raw_hourly_minutes": week},
        deps=[creators, countries, videos_with_posts],
        hooks={on_failure, on_success},
        check_specs=check_specs("summary", [*SUMMARY_CHECKS, FACTS_ADD_UP]),
        **common,
    )
    def summary(
        context: dg.AssetExecutionContext,
        raw_hourly_minutes: dict[str, m.RawHourlyMinutes],
        raw_creator_minutes: dict[str, m.RawCreatorMinutes],
        raw_country_minutes: dict[str, m.RawCountryMinutes],
        raw_video_minutes: dict[str, m.RawVideoMinutes],
    ):
        """Platform totals, top lists, the 7-day trend and the hourly trend of the day.

        Runs after the other daily files (deps), so its success means the day is complete.
        """
        hourly = {d: doc.rows for d, doc in by_date(raw_hourly_minutes).items()}

        def facts(k: str):
            return (
                require(raw_creator_minutes, k, "raw_creator_minutes").rows,
                require(raw_country_minutes, k, "raw_country_minutes").rows,
                require(raw_video_minutes, k, "raw_video_minutes").rows,
            )

        def build(day):
            creator_rows, country_rows, video_rows = facts(day.isoformat())
            return report.daily_summary(
                day,
                hourly,
                creators=creator_rows,
                countries=country_rows,
                videos=video_rows,
                start_date=start,
            )

        docs = build_days(context, build)
        details, adds_up = {}, {}
        for k, doc in docs.items():
            creator_rows, country_rows, video_rows = facts(k)
            adds_up[k] = {
                FACTS_ADD_UP: report_checks.daily_parts_add_up(
                    doc,
                    {"date": k, "creators": [r.model_dump() for r in creator_rows]},
                    {"date": k, "countries": [r.model_dump() for r in country_rows]},
                    {"date": k, "videos": [r.model_dump() for r in video_rows]},
                )
            }
            details[k] = {
                "creatorsCount": len({null_key(r.creator) for r in creator_rows}),
                "countriesCount": len({null_key(r.clientCountryName) for r in country_rows}),
                "videosCount": len(video_rows),
                "totalMinutesViewed": doc.totalMinutesViewed,
            }
        last = docs[max(docs)]
        metadata = {
            "total minutes (last day)": last.totalMinutesViewed,
            "total views (last day)": last.totalViewCount,
            "oplog_details": dg.MetadataValue.json(details),
        }
        yield from emit("summary", docs, metadata, SUMMARY_CHECKS, adds_up)

    return [creators, countries, videos_with_posts, summary]
