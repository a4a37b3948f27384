"""Weekly reports (group `weekly`): ISO weeks Monday..Sunday in the report time zone.

A week partition exists only once its Sunday has ended; the automation waits until all
seven daily partitions have landed before materializing it.
"""

import dagster as dg

from ...config import Settings
from ...partitions import weekly_partitions
from ...reports import checks as report_checks
from ...reports import models as m
from ...reports import windows
from ..automation.schedules import weekly_condition
from ..checks import WINDOW_ADDS_UP, WINDOW_CHECKS, check_specs, document_checks, results
from ..common import by_date, clear_failures, markdown_table, partition_days, require

# Weekly key -> the seven daily keys of that week; days before the start date don't exist.
WEEK_OF_DAYS = dg.AssetIn(
    partition_mapping=dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
)


def build_weekly_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    common = dict(
        partitions_def=weekly_partitions(settings),
        group_name="weekly",
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=4),
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
        """Each creator's Monday..Sunday and totals: exact sums of the seven daily files."""
        daily = by_date(raw_creator_minutes)
        with clear_failures():
            docs = {
                d.isoformat(): windows.weekly_creators(d, daily, start_date=start)
                for d in partition_days(context)
            }
        last = docs[max(docs)]
        yield dg.Output(
            docs,
            metadata={
                "creators (last week)": len(last.creators),
                "preview": markdown_table(
                    [c.model_dump() for c in last.creators],
                    ["creator", "totalMinutesViewed", "totalViewCount"],
                ),
            },
        )
        yield from results("weekly_creators", document_checks(docs, WINDOW_CHECKS))

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
        summaries, videos, daily_countries = (
            by_date(summary),
            by_date(videos_with_posts),
            by_date(raw_country_minutes),
        )
        docs, details, adds_up = {}, {}, {}
        with clear_failures():
            for d in partition_days(context):
                k = d.isoformat()
                creators_doc = require(weekly_creators, k, "weekly_creators")
                docs[k] = windows.weekly_summary(
                    d, summaries, videos, daily_countries, creators=creators_doc, start_date=start
                )
                adds_up[k] = {
                    WINDOW_ADDS_UP: report_checks.window_parts_add_up(docs[k], creators_doc)
                }
                details[k] = {
                    "creatorsCount": len(creators_doc.creators),
                    "totalMinutesViewed": docs[k].totalMinutesViewed,
                }
        yield dg.Output(
            docs,
            metadata={
                "total minutes (last week)": docs[max(docs)].totalMinutesViewed,
                "oplog_details": dg.MetadataValue.json(details),
            },
        )
        per_doc = document_checks(docs, WINDOW_CHECKS)
        yield from results("weekly_summary", {k: {**per_doc[k], **adds_up[k]} for k in docs})

    return [weekly_creators, weekly_summary]
