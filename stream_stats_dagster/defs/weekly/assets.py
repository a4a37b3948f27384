"""Weekly reports (group `weekly`): ISO weeks Monday..Sunday in the report time zone.

One step builds both files of each week from the raw extracts of its seven days. A week
partition exists only once its Sunday has ended; the automation condition waits until all
seven days have landed before materializing it (and then runs it once).
"""

import dagster as dg

from ...config import Settings
from ...facts import RawExtract
from ...files import WEEKLY_ASSETS
from ...partitions import weekly_partitions
from ...reports import windows
from ...reports.tables import Document
from ..automation.schedules import weekly_condition
from ..checks import check_specs
from ..common import clear_failures, frames, partition_days, selected, step_outs
from ..rolling.assets import window_outputs

# Weekly key -> the seven daily keys of that week; days before the start date don't exist.
WEEK_OF_DAYS = dg.AssetIn(
    partition_mapping=dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
)
WEEKS_PER_RUN = 4
RAW_INPUTS = (
    "raw_creator_minutes",
    "raw_country_minutes",
    "raw_video_minutes",
    "raw_hourly_minutes",
)
DESCRIPTIONS = {
    "weekly_creators": "Each creator's Monday..Sunday and totals: exact sums of the seven days.",
    "weekly_summary": "Week totals, the daily series and top lists; topVideos merge full lists.",
}


def build_weekly_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    start = settings.start_date

    @dg.multi_asset(
        name="weekly_reports",
        outs=step_outs("weekly", DESCRIPTIONS, automation_condition=weekly_condition(settings)),
        ins={name: WEEK_OF_DAYS for name in RAW_INPUTS},
        internal_asset_deps={
            "weekly_creators": {dg.AssetKey("raw_creator_minutes")},
            "weekly_summary": {dg.AssetKey(name) for name in RAW_INPUTS},
        },
        partitions_def=weekly_partitions(settings),
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=WEEKS_PER_RUN),
        can_subset=True,
        check_specs=check_specs(WEEKLY_ASSETS, weekly_partitions(settings)),
        hooks={on_failure, on_success},
    )
    def weekly_reports(
        context: dg.AssetExecutionContext,
        raw_creator_minutes: dict[str, RawExtract],
        raw_country_minutes: dict[str, RawExtract],
        raw_video_minutes: dict[str, RawExtract],
        raw_hourly_minutes: dict[str, RawExtract],
    ):
        wanted = selected(context)
        creators, countries = frames(raw_creator_minutes), frames(raw_country_minutes)
        videos, hourly = frames(raw_video_minutes), frames(raw_hourly_minutes)
        docs: dict[str, dict[str, Document]] = {name: {} for name in WEEKLY_ASSETS}
        with clear_failures():
            for monday in partition_days(context):
                k = monday.isoformat()
                by_creator = windows.weekly_creators(monday, creators, start_date=start)
                docs["weekly_creators"][k] = by_creator
                if "weekly_summary" in wanted:
                    docs["weekly_summary"][k] = windows.weekly_summary(
                        monday, hourly, videos, countries, creators=by_creator, start_date=start
                    )
        yield from window_outputs(context, wanted, docs, "weekly_summary")

    return [weekly_reports]
