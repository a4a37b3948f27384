"""Rolling 7-day windows (group `rolling`): window d-6..d for each daily partition.

Every window is kept at its history key; the IO manager moves the `rolling/last7days-*`
pointer only forward, so a backfill of old days never replaces the newest window.
"""

import dagster as dg

from ...config import Settings
from ...partitions import daily_backfill_policy, daily_partitions, last_7_days
from ...reports import checks as report_checks
from ...reports import models as m
from ...reports import windows
from ..checks import WINDOW_ADDS_UP, WINDOW_CHECKS, check_specs, document_checks, results
from ..common import by_date, clear_failures, markdown_table, partition_days, require


def build_rolling_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    common = dict(
        partitions_def=daily_partitions(settings),
        group_name="rolling",
        backfill_policy=daily_backfill_policy(),
    )
    week = dg.AssetIn(partition_mapping=last_7_days())
    start = settings.start_date

    @dg.asset(
        ins={"raw_creator_minutes": week},
        hooks={on_failure},
        check_specs=check_specs("rolling_creators", WINDOW_CHECKS),
        **common,
    )
    def rolling_creators(
        context: dg.AssetExecutionContext, raw_creator_minutes: dict[str, m.RawCreatorMinutes]
    ):
        """Each creator's seven days and totals over the window ending on the partition day."""
        daily = by_date(raw_creator_minutes)
        with clear_failures():
            docs = {
                d.isoformat(): windows.rolling_creators(d, daily, start_date=start)
                for d in partition_days(context)
            }
        last = docs[max(docs)]
        yield dg.Output(
            docs,
            metadata={
                "creators (last window)": len(last.creators),
                "preview": markdown_table(
                    [c.model_dump() for c in last.creators],
                    ["creator", "totalMinutesViewed", "totalViewCount"],
                ),
            },
        )
        yield from results("rolling_creators", document_checks(docs, WINDOW_CHECKS))

    @dg.asset(
        ins={"raw_country_minutes": week},
        hooks={on_failure},
        check_specs=check_specs("rolling_countries", WINDOW_CHECKS),
        **common,
    )
    def rolling_countries(
        context: dg.AssetExecutionContext, raw_country_minutes: dict[str, m.RawCountryMinutes]
    ):
        """Each country's seven days and totals over the window ending on the partition day."""
        daily = by_date(raw_country_minutes)
        with clear_failures():
            docs = {
                d.isoformat(): windows.rolling_countries(d, daily, start_date=start)
                for d in partition_days(context)
            }
        yield dg.Output(docs, metadata={"countries (last window)": len(docs[max(docs)].countries)})
        yield from results("rolling_countries", document_checks(docs, WINDOW_CHECKS))

    @dg.asset(
        ins={"summary": week, "videos_with_posts": week},
        hooks={on_failure, on_success},
        check_specs=check_specs("rolling_summary", [*WINDOW_CHECKS, WINDOW_ADDS_UP]),
        **common,
    )
    def rolling_summary(
        context: dg.AssetExecutionContext,
        rolling_creators: dict[str, m.RollingCreatorsDoc],
        rolling_countries: dict[str, m.RollingCountriesDoc],
        summary: dict[str, m.SummaryDoc],
        videos_with_posts: dict[str, m.VideosWithPostsDoc],
    ):
        """Platform totals and top lists of the window; topVideos merge the full daily lists."""
        summaries, videos = by_date(summary), by_date(videos_with_posts)
        docs, details, adds_up = {}, {}, {}
        with clear_failures():
            for d in partition_days(context):
                k = d.isoformat()
                creators_doc = require(rolling_creators, k, "rolling_creators")
                countries_doc = require(rolling_countries, k, "rolling_countries")
                docs[k] = windows.rolling_summary(
                    d,
                    summaries,
                    videos,
                    creators=creators_doc,
                    countries=countries_doc,
                    start_date=start,
                )
                adds_up[k] = {
                    WINDOW_ADDS_UP: report_checks.window_parts_add_up(
                        docs[k], creators_doc, countries_doc
                    )
                }
                details[k] = {
                    "creatorsCount": len(creators_doc.creators),
                    "countriesCount": len(countries_doc.countries),
                    "totalMinutesViewed": docs[k].totalMinutesViewed,
                }
        yield dg.Output(
            docs,
            metadata={
                "total minutes (last window)": docs[max(docs)].totalMinutesViewed,
                "oplog_details": dg.MetadataValue.json(details),
            },
        )
        per_doc = document_checks(docs, WINDOW_CHECKS)
        yield from results("rolling_summary", {k: {**per_doc[k], **adds_up[k]} for k in docs})

    return [rolling_creators, rolling_countries, rolling_summary]
