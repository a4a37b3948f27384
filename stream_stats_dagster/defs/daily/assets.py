"""Daily report assets (group `daily`): creators, countries, videos_with_posts, summary.

One step builds the four files of each day of the run from that day's raw extracts (and
the six raw days before it, for the 7-day trends), so the day's facts are read once and the
cross-document check (creators and countries add up to the summary's totals) runs on the
documents just built. Each file is still its own asset with its own checks and lineage, and
a day is published only once all its checks passed (`publishing.check_then_publish`).
"""

import datetime as dt

import dagster as dg

from ... import oplog
from ...dates import window_days
from ...documents import Loaded
from ...facts import VALUES
from ...files import ASSET_FILES, CREATOR_FILES, DAILY_ASSETS, FileSet
from ...index import advance_index
from ...partitions import daily_backfill_policy
from ...reports import checks as report_checks
from ...reports import daily as report
from ...reports.daily import MissingMetadataError
from ...reports.rules import MissingDaysError
from ...reports.tables import Document
from ..checks import check_specs, evaluate
from ..common import (
    RawInputs,
    clear_failures,
    merged_reads,
    partition_days,
    preview,
    refused_days,
    require_stored,
    selected,
    step_outs,
)
from ..creator_files import CreatorInputs, MissingCreatorInputs, file_set_metadata
from ..failure_hooks import COLLECT_DAILY_FAILED
from ..partitions import DAILY_PARTITIONS
from ..publishing import DayReport, Publication, check_then_publish
from ..settings import SETTINGS
from ..storage_resource import StorageResource

DESCRIPTIONS = {
    "creators": "Minutes and views per creator for the day, each with its 7-day trend.",
    "countries": "Minutes and views per country for the day.",
    "videos_with_posts": "The day's top videos with file and post names, and their posts.",
    "summary": "Platform totals, top lists, the 7-day trend and the hourly trend of the day.",
    "creator_days": "Each creator's own file of the day: their row, their last 7 days, and "
    "every video of theirs with views that day, with its post (contract §4).",
}


# The raw days each daily file of day d reads (trends read the six days before it).
def daily_reads(name: str, day: dt.date) -> dict[str, list[dt.date]]:
    return {
        "creators": {"raw_creator_minutes": window_days(day)},
        "countries": {"raw_country_minutes": [day]},
        "videos_with_posts": {"raw_video_minutes": [day], "raw_video_metadata": [day]},
        "summary": {
            "raw_hourly_minutes": window_days(day),
            "raw_creator_minutes": [day],
            "raw_country_minutes": [day],
            "raw_video_minutes": [day],
        },
        # and the day's raw_uid_minutes and video_catalog (`CreatorInputs`)
        "creator_days": {"raw_creator_minutes": window_days(day)},
    }[name]


def build_day(
    day: dt.date, build: list[str], raw: RawInputs, start: dt.date
) -> dict[str, Document]:
    """The day's documents among `build`, from the raw rows."""
    creators, countries = raw.rows["raw_creator_minutes"], raw.rows["raw_country_minutes"]
    videos, hourly = raw.rows["raw_video_minutes"], raw.rows["raw_hourly_minutes"]
    docs: dict[str, Document] = {}
    if "creators" in build:
        docs["creators"] = report.daily_creators(day, creators, start_date=start)
    if "countries" in build:
        docs["countries"] = report.daily_countries(day, countries[day])
    if "videos_with_posts" in build:
        docs["videos_with_posts"] = report.videos_with_posts(
            day, videos[day], raw.rows["raw_video_metadata"][day]
        )
    if "summary" in build:
        docs["summary"] = report.daily_summary(
            day,
            hourly,
            creators=creators[day],
            countries=countries[day],
            videos=videos[day],
            start_date=start,
        )
    return docs


def day_checks(docs: dict[str, Document], wanted: set[str]) -> dict[str, dict]:
    """Each wanted document's check results (the summary's across the day's documents)."""
    checks = {}
    for name in DAILY_ASSETS:
        if name not in wanted or name not in docs:
            continue
        cross = None
        if name == "summary":
            cross = report_checks.daily_parts_add_up(
                docs["summary"], docs["creators"], docs["countries"], docs.get("videos_with_posts")
            )
        checks[name] = evaluate(name, docs[name], cross)
    return checks


def day_metadata(name: str, doc: Document | FileSet) -> dict[str, object]:
    """What a day's page in the UI shows: its counts and totals, and a preview of its file."""
    if isinstance(doc, FileSet):
        return file_set_metadata(doc)
    if name == "summary":
        return {
            "total minutes": doc["totalMinutesViewed"],
            "total views": doc["totalViewCount"],
            "preview": preview(doc["topCreators"].frame),
        }
    if name == "videos_with_posts":
        posts = doc["posts"].frame
        return {
            "videos": len(doc["videos"]),
            "posts": len(posts),
            "preview": preview(posts, ["creator", "postName", "realTitle", "videoCount", *VALUES]),
        }
    table = doc[name]
    return {
        name: len(table),
        "total minutes": int(table.frame["minutesViewed"].sum()),
        "preview": preview(table.frame),
    }


def oplog_details(day: DayReport) -> dict[str, int]:
    """The operation log's details of one day (seed 000's fields)."""
    docs = day.docs
    details = {}
    if "creators" in docs:
        details["creatorsCount"] = len(docs["creators"]["creators"])
    if "countries" in docs:
        details["countriesCount"] = len(docs["countries"]["countries"])
    if "videos_with_posts" in docs:
        details["videosCount"] = len(docs["videos_with_posts"]["videos"])
    if "summary" in docs:
        details["totalMinutesViewed"] = docs["summary"]["totalMinutesViewed"]
    return details


START = SETTINGS.start_date
PUBLICATION = Publication(
    files={**{name: ASSET_FILES[name] for name in DAILY_ASSETS}, **CREATOR_FILES},
    page=day_metadata,
    source=SETTINGS.source,
    operation=oplog.COLLECT_DAILY,
    details=oplog_details,
    publish=lambda store, bucket, newest: {
        "index_moved": advance_index(store, bucket, "daily", newest)
    },
)


@dg.multi_asset(
    name="daily_reports",
    outs=step_outs("daily", DESCRIPTIONS),
    internal_asset_deps={
        "creators": {dg.AssetKey("raw_creator_minutes")},
        "countries": {dg.AssetKey("raw_country_minutes")},
        "videos_with_posts": {
            dg.AssetKey("raw_video_minutes"),
            dg.AssetKey("raw_video_metadata"),
        },
        "summary": {
            dg.AssetKey(a)
            for a in (
                "raw_hourly_minutes",
                "raw_creator_minutes",
                "raw_country_minutes",
                "raw_video_minutes",
            )
        },
        "creator_days": {
            dg.AssetKey(a) for a in ("raw_creator_minutes", "raw_uid_minutes", "video_catalog")
        },
    },
    deps=[dg.AssetDep("raw_uid_minutes"), dg.AssetDep("video_catalog")],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=daily_backfill_policy(),
    can_subset=True,
    check_specs=check_specs([*DAILY_ASSETS, "creator_days"], DAILY_PARTITIONS),
    hooks={COLLECT_DAILY_FAILED},
)
def daily_reports(
    context: dg.AssetExecutionContext,
    raw_creator_minutes: Loaded,
    raw_country_minutes: Loaded,
    raw_video_minutes: Loaded,
    raw_video_metadata: Loaded,
    raw_hourly_minutes: Loaded,
    storage: StorageResource,
):
    wanted = selected(context)
    # the summary's cross-document check needs the day's creators and countries too,
    # each creator's files their rows of the creators file
    needs = set(wanted)
    if "summary" in wanted:
        needs |= {"creators", "countries"}
    if "creator_days" in wanted:
        needs |= {"creators"}
    build = [n for n in [*DAILY_ASSETS, "creator_days"] if n in needs]
    refused = refused_days(context)  # kept their stored facts: nothing to report anew
    days = [d for d in partition_days(context) if d.isoformat() not in refused]
    if not days:
        return
    loaded = {
        "raw_creator_minutes": raw_creator_minutes,
        "raw_country_minutes": raw_country_minutes,
        "raw_video_minutes": raw_video_minutes,
        "raw_video_metadata": raw_video_metadata,
        "raw_hourly_minutes": raw_hourly_minutes,
    }
    with clear_failures():
        raw = RawInputs(storage, loaded, days, START)
    reads = {d.isoformat(): merged_reads(daily_reads(n, d) for n in build) for d in days}
    require_stored(raw, reads)
    with clear_failures():
        creator_inputs = (
            CreatorInputs(storage, days, SETTINGS.creator_key_bytes)
            if "creator_days" in build
            else None
        )
    reports = {}
    for day in days:
        k = day.isoformat()
        bad = raw.unreadable_among(reads[k])
        if bad is not None:
            reports[k] = DayReport(error=str(bad))
            continue
        try:
            docs = build_day(day, build, raw, START)
            if creator_inputs is not None:
                docs.update(creator_inputs.day_files(day, docs["creators"], raw, START))
        except (MissingDaysError, MissingMetadataError, MissingCreatorInputs) as exc:
            reports[k] = DayReport(error=str(exc))
            continue
        checks = day_checks(docs, wanted)
        if "creator_days" in wanted:
            checks["creator_days"] = evaluate(
                "creator_days", docs["creator_videos"], docs["creator_keys"]
            )
        reports[k] = DayReport(
            docs={n: docs[n] for n in [*DAILY_ASSETS, "creator_days"] if n in wanted},
            checks=checks,
        )
    yield from check_then_publish(context, storage, reports, PUBLICATION)
