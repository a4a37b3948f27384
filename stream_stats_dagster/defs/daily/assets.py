"""Daily report assets (group `daily`): creators, countries, videos_with_posts, summary.

One step builds the four files of each day of the run from that day's raw extracts (and
the six raw days before it, for the 7-day trends), so the day's facts are read once and the
cross-document check (creators and countries add up to the summary's totals) runs on the
documents just built. Each file is still its own asset with its own checks and lineage.
"""

import dagster as dg

from ...config import Settings
from ...facts import VALUES, RawExtract
from ...files import DAILY_ASSETS
from ...partitions import daily_backfill_policy, daily_partitions
from ...reports import checks as report_checks
from ...reports import daily as report
from ...reports.tables import Document
from ...storage.resource import StorageResource
from ..checks import check_specs, fail_on_checks, record_checks
from ..common import (
    add_day_metadata,
    clear_failures,
    partition_days,
    preview,
    require,
    selected,
    step_outs,
    with_lead_days,
)

DESCRIPTIONS = {
    "creators": "Minutes and views per creator for the day, each with its 7-day trend.",
    "countries": "Minutes and views per country for the day.",
    "videos_with_posts": "The day's top videos with file and post names, and their posts.",
    "summary": "Platform totals, top lists, the 7-day trend and the hourly trend of the day.",
}


def build_daily_assets(
    settings: Settings, on_failure: dg.HookDefinition, on_success: dg.HookDefinition
) -> list[dg.AssetsDefinition]:
    start = settings.start_date

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
        },
        partitions_def=daily_partitions(settings),
        backfill_policy=daily_backfill_policy(),
        can_subset=True,
        check_specs=check_specs(DAILY_ASSETS, daily_partitions(settings)),
        hooks={on_failure, on_success},
    )
    def daily_reports(
        context: dg.AssetExecutionContext,
        raw_creator_minutes: dict[str, RawExtract],
        raw_country_minutes: dict[str, RawExtract],
        raw_video_minutes: dict[str, RawExtract],
        raw_video_metadata: dict[str, RawExtract],
        raw_hourly_minutes: dict[str, RawExtract],
        storage: StorageResource,
    ):
        wanted = selected(context)
        # the summary's cross-document check needs the day's creators and countries too
        build = wanted | ({"creators", "countries"} if "summary" in wanted else set())
        docs: dict[str, dict[str, Document]] = {name: {} for name in DAILY_ASSETS}
        days = partition_days(context)
        with clear_failures():
            creator_rows = with_lead_days(storage, "raw_creator_minutes", raw_creator_minutes, days)
            hourly = with_lead_days(storage, "raw_hourly_minutes", raw_hourly_minutes, days)
            for day in days:
                k = day.isoformat()
                if "creators" in build:
                    docs["creators"][k] = report.daily_creators(day, creator_rows, start_date=start)
                if "countries" in build:
                    countries = require(raw_country_minutes, k, "raw_country_minutes")
                    docs["countries"][k] = report.daily_countries(day, countries)
                if "videos_with_posts" in build:
                    docs["videos_with_posts"][k] = report.videos_with_posts(
                        day,
                        require(raw_video_minutes, k, "raw_video_minutes"),
                        require(raw_video_metadata, k, "raw_video_metadata"),
                    )
                if "summary" in build:
                    docs["summary"][k] = report.daily_summary(
                        day,
                        hourly,
                        creators=require(raw_creator_minutes, k, "raw_creator_minutes"),
                        countries=require(raw_country_minutes, k, "raw_country_minutes"),
                        videos=require(raw_video_minutes, k, "raw_video_minutes"),
                        start_date=start,
                    )
        failures: list[str] = []
        for name in DAILY_ASSETS:
            if name not in wanted:
                continue
            add_day_metadata(
                context, name, {k: day_metadata(name, d) for k, d in docs[name].items()}
            )
            output_metadata = {}
            if name == "summary":
                output_metadata["oplog_details"] = dg.MetadataValue.json(
                    {k: oplog_details(k, docs) for k in docs["summary"]}
                )
            yield dg.Output(docs[name], output_name=name, metadata=output_metadata)
            cross = None
            if name == "summary":
                cross = {
                    k: report_checks.daily_parts_add_up(
                        summary,
                        docs["creators"][k],
                        docs["countries"][k],
                        docs["videos_with_posts"].get(k),
                    )
                    for k, summary in docs["summary"].items()
                }
            failures += record_checks(context, name, docs[name], cross)
        fail_on_checks(failures)

    return [daily_reports]


def day_metadata(name: str, doc: Document) -> dict[str, object]:
    """What a day's page in the UI shows: its counts and totals, and a preview of its file."""
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


def oplog_details(k: str, docs: dict[str, dict[str, Document]]) -> dict[str, int]:
    """The operation log's details of one day (seed 000's fields)."""
    videos = docs["videos_with_posts"].get(k)
    return {
        "creatorsCount": len(docs["creators"][k]["creators"]),
        "countriesCount": len(docs["countries"][k]["countries"]),
        **({"videosCount": len(videos["videos"])} if videos else {}),
        "totalMinutesViewed": docs["summary"][k]["totalMinutesViewed"],
    }
