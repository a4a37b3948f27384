"""Rolling 7-day windows (group `rolling`): window d-6..d for each daily partition.

Every window is kept at its history key; the IO manager moves the `rolling/last7days-*`
pointer only forward, so a backfill of old days never replaces the newest window.
Creator and country windows read the raw extracts (no trends to load); the summary reads
the daily summaries and full top-N video lists.
"""

import dagster as dg

from ...config import Settings
from ...partitions import daily_backfill_policy, daily_partitions, last_7_days
from ...reports import checks as report_checks
from ...reports import models as m
from ...reports import windows
from ..checks import WINDOW_ADDS_UP, WINDOW_CHECKS, check_specs
from ..common import build_days, by_date, emit, preview, require

WINDOW_COLUMNS = ["totalMinutesViewed", "totalViewCount"]


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
        docs = build_days(context, lambda d: windows.rolling_creators(d, daily, start_date=start))
        last = docs[max(docs)].creators
        metadata = {
            "creators (last window)": len(last),
            "preview": preview(last, ["creator", *WINDOW_COLUMNS]),
        }
        yield from emit("rolling_creators", docs, metadata, WINDOW_CHECKS)

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
        docs = build_days(context, lambda d: windows.rolling_countries(d, daily, start_date=start))
        last = docs[max(docs)].countries
        metadata = {
            "countries (last window)": len(last),
            "preview": preview(last, ["clientCountryName", *WINDOW_COLUMNS]),
        }
        yield from emit("rolling_countries", docs, metadata, WINDOW_CHECKS)

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

        def build(day):
            k = day.isoformat()
            return windows.rolling_summary(
                day,
                summaries,
                videos,
                creators=require(rolling_creators, k, "rolling_creators"),
                countries=require(rolling_countries, k, "rolling_countries"),
                start_date=start,
            )

        docs = build_days(context, build)
        details, adds_up = {}, {}
        for k, doc in docs.items():
            creators, countries = rolling_creators[k], rolling_countries[k]
            adds_up[k] = {
                WINDOW_ADDS_UP: report_checks.window_parts_add_up(doc, creators, countries)
            }
            details[k] = {
                "creatorsCount": len(creators.creators),
                "countriesCount": len(countries.countries),
                "totalMinutesViewed": doc.totalMinutesViewed,
            }
        metadata = {
            "total minutes (last window)": docs[max(docs)].totalMinutesViewed,
            "oplog_details": dg.MetadataValue.json(details),
        }
        yield from emit("rolling_summary", docs, metadata, WINDOW_CHECKS, adds_up)

    return [rolling_creators, rolling_countries, rolling_summary]
