"""Rolling 7-day windows (group `rolling`): window d-6..d for each daily partition.

One step builds the three window files of each day of the run from the raw extracts of
the seven days (no daily file is read back). Every window that passes its checks is kept at
its history key; then the `rolling/last7days-*` pointers move to the newest one, only
forward, so a backfill of old days never replaces the newest window.
"""

import dagster as dg

from ... import oplog
from ...dates import window_days
from ...documents import Loaded
from ...files import ASSET_FILES, ROLLING_ASSETS, FileSet
from ...index import publish_window
from ...partitions import daily_backfill_policy
from ...reports import checks as report_checks
from ...reports import windows
from ...reports.rules import MissingDaysError
from ...reports.tables import Document
from ..checks import check_specs, evaluate
from ..common import (
    RawInputs,
    clear_failures,
    partition_days,
    preview,
    refused_days,
    require_stored,
    selected,
    step_outs,
)
from ..failure_hooks import UPDATE_ROLLING_FAILED
from ..partitions import DAILY_PARTITIONS
from ..publishing import DayReport, Publication, check_then_publish
from ..settings import SETTINGS
from ..storage_resource import StorageResource

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


def window_checks(docs: dict[str, Document], wanted: set[str], summary: str) -> dict[str, dict]:
    """Each wanted window document's check results (the summary's across the window's
    creators and countries), for a rolling window or a week."""
    checks = {}
    for name, doc in docs.items():
        if name not in wanted:
            continue
        cross = None
        if name == summary:
            parts = [docs[n] for n in docs if n != summary]
            cross = report_checks.window_parts_add_up(doc, *parts)
        checks[name] = evaluate(name, doc, cross)
    return checks


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


def oplog_details(day: DayReport, summary: str) -> dict[str, int]:
    """The operation log's details of one window (seed 000's fields)."""
    details = {}
    for name, doc in day.docs.items():
        if isinstance(doc, FileSet):  # each creator's files: counted on their own page
            continue
        if name != summary:
            field = "countries" if name.endswith("countries") else "creators"
            details[f"{field}Count"] = len(doc[field])
    if summary in day.docs:
        details["totalMinutesViewed"] = day.docs[summary]["totalMinutesViewed"]
    return details


START = SETTINGS.start_date
PUBLICATION = Publication(
    files={name: ASSET_FILES[name] for name in ROLLING_ASSETS},
    page=window_metadata,
    source=SETTINGS.source,
    operation=oplog.UPDATE_ROLLING,
    details=lambda day: oplog_details(day, "rolling_summary"),
    publish=publish_window,
)


@dg.multi_asset(
    name="rolling_reports",
    outs=step_outs("rolling", DESCRIPTIONS),
    internal_asset_deps={
        "rolling_creators": {dg.AssetKey("raw_creator_minutes")},
        "rolling_countries": {dg.AssetKey("raw_country_minutes")},
        "rolling_summary": {dg.AssetKey(name) for name in RAW_INPUTS},
    },
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=daily_backfill_policy(),
    can_subset=True,
    check_specs=check_specs(ROLLING_ASSETS, DAILY_PARTITIONS),
    hooks={UPDATE_ROLLING_FAILED},
)
def rolling_reports(
    context: dg.AssetExecutionContext,
    raw_creator_minutes: Loaded,
    raw_country_minutes: Loaded,
    raw_video_minutes: Loaded,
    raw_hourly_minutes: Loaded,
    storage: StorageResource,
):
    wanted = selected(context)
    refused = refused_days(context)  # kept their stored facts: nothing to report anew
    days = [d for d in partition_days(context) if d.isoformat() not in refused]
    if not days:
        return
    loaded = dict(
        zip(
            RAW_INPUTS,
            (raw_creator_minutes, raw_country_minutes, raw_video_minutes, raw_hourly_minutes),
            strict=True,
        )
    )
    with clear_failures():
        raw = RawInputs(storage, loaded, days, START)
    # the summary is built from the window's creators and countries: every window file
    # reads the seven days of every raw asset it depends on
    read = RAW_INPUTS if "rolling_summary" in wanted else RAW_INPUTS[:2]
    reads = {d.isoformat(): {a: window_days(d) for a in read} for d in days}
    require_stored(raw, reads)
    creators, countries = raw.rows["raw_creator_minutes"], raw.rows["raw_country_minutes"]
    reports = {}
    for day in days:
        k = day.isoformat()
        bad = raw.unreadable_among(reads[k])
        if bad is not None:
            reports[k] = DayReport(error=str(bad))
            continue
        try:
            docs = {
                "rolling_creators": windows.rolling_creators(day, creators, start_date=START),
                "rolling_countries": windows.rolling_countries(day, countries, start_date=START),
            }
            if "rolling_summary" in wanted:
                docs["rolling_summary"] = windows.rolling_summary(
                    day,
                    raw.rows["raw_hourly_minutes"],
                    raw.rows["raw_video_minutes"],
                    creators=docs["rolling_creators"],
                    countries=docs["rolling_countries"],
                    start_date=START,
                )
        except MissingDaysError as exc:
            reports[k] = DayReport(error=str(exc))
            continue
        reports[k] = DayReport(
            docs={n: d for n, d in docs.items() if n in wanted},
            checks=window_checks(docs, wanted, "rolling_summary"),
        )
    yield from check_then_publish(context, storage, reports, PUBLICATION)
