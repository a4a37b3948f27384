"""Rolling 7-day windows (group `rolling`): window d-6..d for each daily partition.

One step builds the three window files of each day of the run from the raw extracts of
the seven days (no daily file is read back). Every window is kept at its history key; the
IO manager moves the `rolling/last7days-*` pointer only forward, so a backfill of old days
never replaces the newest window.
"""

import dagster as dg

from ...config import Settings
from ...facts import RawExtract
from ...files import ROLLING_ASSETS
from ...partitions import daily_backfill_policy, daily_partitions
from ...reports import checks as report_checks
from ...reports import windows
from ...reports.tables import Document
from ...storage.resource import StorageResource
from ..checks import check_specs, fail_on_checks, record_checks
from ..common import (
    add_day_metadata,
    clear_failures,
    partition_days,
    preview,
    selected,
    step_outs,
    with_lead_days,
)

DESCRIPTIONS = {
    "rolling_creators": "Each creator's seven days and totals over the window ending that day.",
    "rolling_countries": "Each country's seven days and totals over the window ending that day.",
    "rolling_summary": "Totals and top lists of the window; topVideos merge the full daily lists.",
}
RAW_INPUTS = (
    "raw_creator_minutes",
    "raw_country_minutes",
    "raw_video_minutes",
    "raw_hourly_minutes",
)


def build_rolling_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    start = settings.start_date

    @dg.multi_asset(
        name="rolling_reports",
        outs=step_outs("rolling", DESCRIPTIONS),
        internal_asset_deps={
            "rolling_creators": {dg.AssetKey("raw_creator_minutes")},
            "rolling_countries": {dg.AssetKey("raw_country_minutes")},
            "rolling_summary": {dg.AssetKey(name) for name in RAW_INPUTS},
        },
        partitions_def=daily_partitions(settings),
        backfill_policy=daily_backfill_policy(),
        can_subset=True,
        check_specs=check_specs(ROLLING_ASSETS, daily_partitions(settings)),
        hooks={on_failure, on_success},
    )
    def rolling_reports(
        context: dg.AssetExecutionContext,
        raw_creator_minutes: dict[str, RawExtract],
        raw_country_minutes: dict[str, RawExtract],
        raw_video_minutes: dict[str, RawExtract],
        raw_hourly_minutes: dict[str, RawExtract],
        storage: StorageResource,
    ):
        wanted = selected(context)
        docs: dict[str, dict[str, Document]] = {name: {} for name in ROLLING_ASSETS}
        days = partition_days(context)
        with clear_failures():
            loaded = (
                raw_creator_minutes,
                raw_country_minutes,
                raw_video_minutes,
                raw_hourly_minutes,
            )
            creators, countries, videos, hourly = (
                with_lead_days(storage, name, extracts, days)
                for name, extracts in zip(RAW_INPUTS, loaded, strict=True)
            )
            for day in days:
                k = day.isoformat()
                by_creator = windows.rolling_creators(day, creators, start_date=start)
                by_country = windows.rolling_countries(day, countries, start_date=start)
                docs["rolling_creators"][k] = by_creator
                docs["rolling_countries"][k] = by_country
                if "rolling_summary" in wanted:
                    docs["rolling_summary"][k] = windows.rolling_summary(
                        day,
                        hourly,
                        videos,
                        creators=by_creator,
                        countries=by_country,
                        start_date=start,
                    )
        yield from window_outputs(context, wanted, docs, "rolling_summary")

    return [rolling_reports]


def window_outputs(
    context: dg.AssetExecutionContext,
    wanted: set[str],
    docs: dict[str, dict[str, Document]],
    summary: str,
):
    """Outputs, per-partition metadata and check results of a window step (rolling or weekly)."""
    failures: list[str] = []
    for name, by_key in docs.items():
        if name not in wanted:
            continue
        add_day_metadata(context, name, {k: window_metadata(name, d) for k, d in by_key.items()})
        metadata = {}
        if name == summary:
            metadata["oplog_details"] = dg.MetadataValue.json(
                {k: oplog_details(k, docs, summary) for k in by_key}
            )
        yield dg.Output(by_key, output_name=name, metadata=metadata)
        cross = None
        if name == summary:
            parts = [n for n in docs if n != summary]
            cross = {
                k: report_checks.window_parts_add_up(doc, *(docs[n][k] for n in parts))
                for k, doc in by_key.items()
            }
        failures += record_checks(context, name, by_key, cross)
    fail_on_checks(failures)


def window_metadata(name: str, doc: Document) -> dict[str, object]:
    if name.endswith("summary"):
        return {
            "total minutes": doc["totalMinutesViewed"],
            "total views": doc["totalViewCount"],
            "preview": preview(doc["topCreators"].frame),
        }
    field = "countries" if name.endswith("countries") else "creators"
    table = doc[field]
    return {
        field: len(table),
        "total minutes": int(table.frame["totalMinutesViewed"].sum()),
        "preview": preview(table.frame),
    }


def oplog_details(k: str, docs: dict[str, dict[str, Document]], summary: str) -> dict[str, int]:
    details = {}
    for name, by_key in docs.items():
        if name != summary and k in by_key:
            field = "countries" if name.endswith("countries") else "creators"
            details[f"{field}Count"] = len(by_key[k][field])
    return {**details, "totalMinutesViewed": docs[summary][k]["totalMinutesViewed"]}
