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
from ..checks import check_specs, document_checks, results
from ..common import by_date, clear_failures, markdown_table, partition_days, require

CREATORS_CHECKS = ["no_negative_values", "no_duplicate_keys", "series_complete", "lists_in_order"]
COUNTRIES_CHECKS = ["no_negative_values", "no_duplicate_keys", "lists_in_order"]
VIDEOS_CHECKS = ["no_negative_values", "no_duplicate_keys", "lists_in_order", "parts_add_up"]
SUMMARY_CHECKS = [*CREATORS_CHECKS, "parts_add_up"]
FACTS_ADD_UP = "creators_and_countries_add_up_to_total"


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
        with clear_failures():
            docs = {
                d.isoformat(): report.daily_creators(d, rows, start_date=start)
                for d in partition_days(context)
            }
        last = docs[max(docs)]
        yield dg.Output(
            docs,
            metadata={
                "creators (last day)": len(last.creators),
                "preview": markdown_table(
                    [c.model_dump() for c in last.creators],
                    ["creator", "minutesViewed", "viewCount"],
                ),
            },
        )
        yield from results("creators", document_checks(docs, CREATORS_CHECKS))

    @dg.asset(hooks={on_failure}, check_specs=check_specs("countries", COUNTRIES_CHECKS), **common)
    def countries(
        context: dg.AssetExecutionContext, raw_country_minutes: dict[str, m.RawCountryMinutes]
    ):
        """Minutes and views per country for the day."""
        with clear_failures():
            docs = {
                d.isoformat(): report.daily_countries(
                    d, require(raw_country_minutes, d.isoformat(), "raw_country_minutes").rows
                )
                for d in partition_days(context)
            }
        last = docs[max(docs)]
        yield dg.Output(
            docs,
            metadata={
                "countries (last day)": len(last.countries),
                "preview": markdown_table(
                    [c.model_dump() for c in last.countries],
                    ["clientCountryName", "minutesViewed", "viewCount"],
                ),
            },
        )
        yield from results("countries", document_checks(docs, COUNTRIES_CHECKS))

    @dg.asset(
        hooks={on_failure}, check_specs=check_specs("videos_with_posts", VIDEOS_CHECKS), **common
    )
    def videos_with_posts(
        context: dg.AssetExecutionContext,
        raw_video_minutes: dict[str, m.RawVideoMinutes],
        raw_video_metadata: dict[str, m.RawVideoMetadata],
    ):
        """The day's top videos with file and post names, and the posts built from them."""
        docs = {}
        with clear_failures():
            for d in partition_days(context):
                k = d.isoformat()
                snapshot = require(raw_video_metadata, k, "raw_video_metadata")
                videos = require(raw_video_minutes, k, "raw_video_minutes").rows
                docs[k] = report.videos_with_posts(d, videos, {v.uid: v for v in snapshot.videos})
        last = docs[max(docs)]
        yield dg.Output(
            docs,
            metadata={
                "videos (last day)": len(last.videos),
                "posts (last day)": len(last.posts),
                "preview": markdown_table(
                    [p.model_dump() for p in last.posts],
                    ["creator", "postName", "realTitle", "videoCount", "minutesViewed"],
                ),
            },
        )
        yield from results("videos_with_posts", document_checks(docs, VIDEOS_CHECKS))

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
        docs, details, checks = {}, {}, {}
        with clear_failures():
            for d in partition_days(context):
                k = d.isoformat()
                creator_rows = require(raw_creator_minutes, k, "raw_creator_minutes").rows
                country_rows = require(raw_country_minutes, k, "raw_country_minutes").rows
                video_rows = require(raw_video_minutes, k, "raw_video_minutes").rows
                doc = report.daily_summary(
                    d,
                    hourly,
                    creators=creator_rows,
                    countries=country_rows,
                    videos=video_rows,
                    start_date=start,
                )
                docs[k] = doc
                details[k] = {
                    "creatorsCount": len({null_key(r.creator) for r in creator_rows}),
                    "countriesCount": len({null_key(r.clientCountryName) for r in country_rows}),
                    "videosCount": len(video_rows),
                    "totalMinutesViewed": doc.totalMinutesViewed,
                }
                checks[k] = {
                    FACTS_ADD_UP: report_checks.daily_parts_add_up(
                        doc,
                        {"date": k, "creators": [r.model_dump() for r in creator_rows]},
                        {"date": k, "countries": [r.model_dump() for r in country_rows]},
                        {"date": k, "videos": [r.model_dump() for r in video_rows]},
                    )
                }
        last = docs[max(docs)]
        yield dg.Output(
            docs,
            metadata={
                "total minutes (last day)": last.totalMinutesViewed,
                "total views (last day)": last.totalViewCount,
                "oplog_details": dg.MetadataValue.json(details),
            },
        )
        per_doc = document_checks(docs, SUMMARY_CHECKS)
        yield from results("summary", {k: {**per_doc[k], **checks[k]} for k in docs})

    return [creators, countries, videos_with_posts, summary]
