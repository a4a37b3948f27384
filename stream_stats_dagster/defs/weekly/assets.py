"""Weekly reports (group `weekly`): ISO weeks Monday..Sunday in the report time zone.

A week partition exists only once its Sunday has ended; the automation condition waits
until all seven days have landed before materializing it (and then runs it once).
"""

import dagster as dg

from ...config import Settings
from ...partitions import weekly_partitions
from ...reports import checks as report_checks
from ...reports import models as m
from ...reports import windows
from ..automation.schedules import weekly_condition
from ..checks import WINDOW_ADDS_UP, WINDOW_CHECKS, check_specs
from ..common import build_days, by_date, emit, preview, require

# Weekly key -> the seven daily keys of that week; days before the start date don't exist.
WEEK_OF_DAYS = dg.AssetIn(
    partition_mapping=dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
)
WEEKS_PER_RUN = 4


def build_weekly_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    common = dict(
        partitions_def=weekly_partitions(settings),
        group_name="weekly",
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=WEEKS_PER_RUN),
        automation_condition=weekly_condition(settings),
    )
    start = settings.start_date

    @dg.asset(
        ins={"raw_creator_minutes": WEEK_OF_DAYS},
        hooks={on_failure},
        check_specs=check_specs("weekly_creators", WINDOW_CHECKS),
        **common,
    )
    def weekly_creators(
        context: dg.AssetExecutionContext, raw_creator_minutes: dict[str, m.RawCreatorMinutes]
    ):
        """Each creator's Monday..Sunday and totals: exact sums of the seven days."""
        daily = by_date(raw_creator_minutes)
        docs = build_days(context, lambda d: windows.weekly_creators(d, daily, start_date=start))
        last = docs[max(docs)].creators
        metadata = {
            "creators (last week)": len(last),
            "preview": preview(last, ["creator", "totalMinutesViewed", "totalViewCount"]),
        }
        yield from emit("weekly_creators", docs, metadata, WINDOW_CHECKS)

    @dg.asset(
        ins={
            "summary": WEEK_OF_DAYS,
            "videos_with_posts": WEEK_OF_DAYS,
            "raw_country_minutes": WEEK_OF_DAYS,
        },
        hooks={on_failure, on_success},
        check_specs=check_specs("weekly_summary", [*WINDOW_CHECKS, WINDOW_ADDS_UP]),
        **common,
    )
    def weekly_summary(
        context: dg.AssetExecutionContext,
        weekly_creators: dict[str, m.WeeklyCreatorsDoc],
        summary: dict[str, m.SummaryDoc],
        videos_with_posts: dict[str, m.VideosWithPostsDoc],
        raw_country_minutes: dict[str, m.RawCountryMinutes],
    ):
        """Week totals, the daily series and top lists; topVideos merge the full daily lists."""
        summaries, videos = by_date(summary), by_date(videos_with_posts)
        countries = by_date(raw_country_minutes)

        def build(day):
            creators = require(weekly_creators, day.isoformat(), "weekly_creators")
            return windows.weekly_summary(
                day, summaries, videos, countries, creators=creators, start_date=start
            )

        docs = build_days(context, build)
        details, adds_up = {}, {}
        for k, doc in docs.items():
            creators = weekly_creators[k]
            adds_up[k] = {WINDOW_ADDS_UP: report_checks.window_parts_add_up(doc, creators)}
            details[k] = {
                "creatorsCount": len(creators.creators),
                "totalMinutesViewed": doc.totalMinutesViewed,
            }
        metadata = {
            "total minutes (last week)": docs[max(docs)].totalMinutesViewed,
            "oplog_details": dg.MetadataValue.json(details),
        }
        yield from emit("weekly_summary", docs, metadata, WINDOW_CHECKS, adds_up)

    return [weekly_creators, weekly_summary]
