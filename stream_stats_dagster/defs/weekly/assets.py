"""Weekly reports (group `weekly`): ISO weeks Monday..Sunday in the report time zone.

One step builds both files of each week from the raw extracts of its seven days, and
publishes each week whose checks passed. A week partition exists only once its Sunday has
ended; the automation condition waits until all seven days have landed before materializing
it (and then runs it once).
"""

import dagster as dg

from ... import oplog
from ...documents import Loaded
from ...files import ASSET_FILES, CREATOR_FILES, WEEKLY_ASSETS, FileSet
from ...index import advance_index
from ...partitions import week_days
from ...reports import windows
from ...reports.rules import MissingDaysError
from ..automation.schedules import weekly_condition
from ..checks import check_specs, evaluate
from ..common import RawInputs, clear_failures, partition_days, require_stored, selected, step_outs
from ..creator_files import file_set_metadata, week_files
from ..failure_hooks import COLLECT_WEEKLY_FAILED
from ..partitions import WEEKLY_PARTITIONS
from ..publishing import DayReport, Publication, check_then_publish
from ..rolling.assets import oplog_details, window_checks, window_metadata
from ..settings import SETTINGS
from ..storage_resource import StorageResource

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
    "creator_weeks": "Each creator's own file of the week: their row of the weekly creators "
    "file (contract §4).",
}


START = SETTINGS.start_date
PUBLICATION = Publication(
    files={**{name: ASSET_FILES[name] for name in WEEKLY_ASSETS}, **CREATOR_FILES},
    page=lambda name, doc: (
        file_set_metadata(doc) if isinstance(doc, FileSet) else window_metadata(name, doc)
    ),
    source=SETTINGS.source,
    operation=oplog.COLLECT_WEEKLY,
    details=lambda week: oplog_details(week, "weekly_summary"),
    publish=lambda store, bucket, newest: {
        "index_moved": advance_index(store, bucket, "weekly", newest)
    },
)


@dg.multi_asset(
    name="weekly_reports",
    outs=step_outs(
        "weekly", DESCRIPTIONS, automation_condition=weekly_condition(SETTINGS.timezone)
    ),
    ins={name: WEEK_OF_DAYS for name in RAW_INPUTS},
    internal_asset_deps={
        "weekly_creators": {dg.AssetKey("raw_creator_minutes")},
        "weekly_summary": {dg.AssetKey(name) for name in RAW_INPUTS},
        "creator_weeks": {dg.AssetKey("raw_creator_minutes")},
    },
    partitions_def=WEEKLY_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=WEEKS_PER_RUN),
    can_subset=True,
    check_specs=check_specs([*WEEKLY_ASSETS, "creator_weeks"], WEEKLY_PARTITIONS),
    hooks={COLLECT_WEEKLY_FAILED},
)
def weekly_reports(
    context: dg.AssetExecutionContext,
    raw_creator_minutes: Loaded,
    raw_country_minutes: Loaded,
    raw_video_minutes: Loaded,
    raw_hourly_minutes: Loaded,
    storage: StorageResource,
):
    wanted = selected(context)
    mondays = partition_days(context)
    loaded = dict(
        zip(
            RAW_INPUTS,
            (raw_creator_minutes, raw_country_minutes, raw_video_minutes, raw_hourly_minutes),
            strict=True,
        )
    )
    with clear_failures():
        raw = RawInputs(storage, loaded, mondays, START, lead=False)
    read = RAW_INPUTS if "weekly_summary" in wanted else RAW_INPUTS[:1]
    reads = {m.isoformat(): {a: week_days(m) for a in read} for m in mondays}
    require_stored(raw, reads)
    creators, countries = raw.rows["raw_creator_minutes"], raw.rows["raw_country_minutes"]
    reports = {}
    for monday in mondays:
        k = monday.isoformat()
        bad = raw.unreadable_among(reads[k])
        if bad is not None:
            reports[k] = DayReport(error=str(bad))
            continue
        try:
            docs = {"weekly_creators": windows.weekly_creators(monday, creators, start_date=START)}
            if "weekly_summary" in wanted:
                docs["weekly_summary"] = windows.weekly_summary(
                    monday,
                    raw.rows["raw_hourly_minutes"],
                    raw.rows["raw_video_minutes"],
                    countries,
                    creators=docs["weekly_creators"],
                    start_date=START,
                )
        except MissingDaysError as exc:
            reports[k] = DayReport(error=str(exc))
            continue
        checks = window_checks(docs, wanted, "weekly_summary")
        if "creator_weeks" in wanted:
            docs["creator_weeks"], keys_check = week_files(
                docs["weekly_creators"], monday, SETTINGS.creator_key_bytes
            )
            checks["creator_weeks"] = evaluate("creator_weeks", None, keys_check)
        reports[k] = DayReport(
            docs={n: d for n, d in docs.items() if n in wanted},
            checks=checks,
        )
    yield from check_then_publish(context, storage, reports, PUBLICATION)
