"""Cost and cold-video reports (group `costs`, issue 14).

- `stream_costs`: delivery per day and storage per month, for the platform and per creator.
- `cold_videos`: ready videos old enough with no minutes in the last 30 days, by creator.

They read what `daily_stats_job` stored (`defs/raw/catalogue.py`: the day's complete
per-video minutes and catalogue snapshot; the top videos), so they run in their own job
(`stream_costs_job`) after it. `cold_videos` reads the 29 days before its day directly
rather than through a 30-day partition mapping, which would make an asset backfill of a
range also target the 29 days after it; the days of that window not stored yet are fetched
first (a new deployment's first month). Per-day extracts cost ~6 GraphQL nodes a day and
are stored, so a past day rebuilds without the API and "last viewed" can look further back
than 30 days. Both reports are checked day by day before anything is written, and only the
days that pass are published (`publishing.check_then_publish`), like every report.
"""

import datetime as dt

import dagster as dg

from ... import oplog
from ...config import Settings
from ...dates import ReportDay
from ...documents import read_documents, write_documents
from ...files import ASSET_FILES, COST_FILES, AssetFile
from ...partitions import daily_backfill_policy
from ...reports import costs
from ...reports.checks import listed_result
from ..cloudflare_resource import CloudflareResource
from ..common import clear_failures, partition_days, step_outs
from ..failure_hooks import COLLECT_COLD_FAILED, COLLECT_COSTS_FAILED
from ..partitions import DAILY_PARTITIONS
from ..publishing import DayReport, Publication, check_then_publish
from ..raw.assets import CLOUDFLARE_POOL, RAW_RETRY
from ..raw.catalogue import fetch_uid_minutes
from ..settings import SETTINGS
from ..storage_resource import StorageResource

GROUP = "costs"
CHECKS = {
    "stream_costs": {
        "creators_add_up_to_platform": "Per-creator minutes, videos and costs add up to the "
        "platform's (exact integers).",
    },
    "cold_videos": {
        "no_minutes_in_window": "Every cold video has zero minutes in the last 30 days.",
        "not_in_top_videos": "No video is both cold and in the day's top videos.",
        "totals_add_up": "Per-creator counts and savings add up to the totals.",
    },
}


def prices_of(settings: Settings) -> costs.Prices:
    return costs.Prices(
        currency=settings.currency,
        storagePer1000MinutesPerMonthMicros=settings.storage_price_micros,
        deliveryPer1000MinutesMicros=settings.delivery_price_micros,
    )


def _money(micros: int) -> float:
    return micros / costs.MICROS


def _read(storage: StorageResource, spec: AssetFile, keys: list[str], what: str) -> dict:
    """Each day's stored document; a one-line failure naming the days that are missing."""
    docs = read_documents(storage.get_store(), storage.bucket_of(spec), spec, keys)
    missing = sorted(set(keys) - set(docs))
    if missing:
        raise dg.Failure(
            description=f"missing {what} for {', '.join(missing[:5])}"
            f"{f' and {len(missing) - 5} more days' if len(missing) > 5 else ''}: collect "
            f"them first (stream-stats collect --from {missing[0]} --to {missing[-1]})",
            allow_retries=False,
        )
    return docs


def _specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name, asset=asset, blocking=True, description=text, partitions_def=DAILY_PARTITIONS
        )
        for name, text in CHECKS[asset].items()
    ]


def _page(asset: str, doc) -> dict[str, object]:
    """A cost file's numbers on its day's page (so that the asset's plots show them by day)."""
    currency = doc.currency
    if asset == "stream_costs":
        p = doc.platform
        return {
            f"delivery cost ({currency})": _money(p.deliveryCostMicros),
            f"storage cost per month ({currency})": _money(p.storageCostPerMonthMicros),
            "minutes delivered": p.minutesDelivered,
            "minutes stored": p.minutesStored,
            "videos unpriced (unknown duration)": p.videosUnpriced,
            "creators": len(doc.creators),
        }
    t = doc.totals
    return {
        "cold videos": t.videoCount,
        f"monthly saving ({currency})": _money(t.monthlySavingMicros),
        "minutes stored": t.minutesStored,
        "videos unpriced (unknown duration)": t.videosUnpriced,
        "creators": len(doc.creators),
        "window days stored": doc.windowDaysStored,
    }


PRICES = prices_of(SETTINGS)
COSTS_PUBLISHED = Publication(
    files={"stream_costs": COST_FILES["stream_costs"]},
    page=_page,
    source=SETTINGS.source,
    operation=oplog.COLLECT_COSTS,
    details=lambda day: {
        "creatorsCount": len(day.docs["stream_costs"].creators),
        "totalMinutesViewed": day.docs["stream_costs"].platform.minutesDelivered,
    },
)
COLD_PUBLISHED = Publication(
    files={"cold_videos": COST_FILES["cold_videos"]},
    page=_page,
    source=SETTINGS.source,
    operation=oplog.COLLECT_COLD,
    details=lambda day: {
        "creatorsCount": len(day.docs["cold_videos"].creators),
        "videosCount": day.docs["cold_videos"].totals.videoCount,
    },
)


@dg.multi_asset(
    name="stream_costs_report",
    outs=step_outs(
        GROUP,
        {
            "stream_costs": "What Stream costs: minutes delivered and their cost for the day, "
            "minutes stored and their cost per month, platform and per creator (micro-units)."
        },
        {"pandas"},
    ),
    deps=[dg.AssetDep("video_catalog"), dg.AssetDep("raw_creator_minutes")],
    check_specs=_specs("stream_costs"),
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=daily_backfill_policy(),
    can_subset=True,
    hooks={COLLECT_COSTS_FAILED},
)
def stream_costs(context: dg.AssetExecutionContext, storage: StorageResource):
    keys = [d.isoformat() for d in partition_days(context)]
    with clear_failures():
        catalogs = _read(storage, COST_FILES["video_catalog"], keys, "video_catalog")
        creators = _read(storage, ASSET_FILES["raw_creator_minutes"], keys, "raw_creator_minutes")
    reports = {}
    for k in keys:
        catalog = costs.catalog_frame(catalogs.pop(k))
        doc = costs.stream_costs(k, catalog, creators[k].rows, PRICES)
        check = listed_result("creators_add_up_to_platform", costs.costs_add_up(doc))
        reports[k] = DayReport(
            docs={"stream_costs": doc},
            checks={"stream_costs": {"creators_add_up_to_platform": check}},
        )
    yield from check_then_publish(context, storage, reports, COSTS_PUBLISHED)


@dg.multi_asset(
    name="cold_videos_report",
    outs=step_outs(
        GROUP,
        {
            "cold_videos": "Ready videos at least STREAM_STATS_COLD_AFTER_DAYS old with no "
            "minutes in the last 30 days, by creator, with the storage each would save a "
            "month. A report only: nothing here deletes or changes a video."
        },
        {"pandas"},
    ),
    deps=[
        dg.AssetDep("video_catalog"),
        dg.AssetDep("raw_uid_minutes"),  # and the 29 days before (see below)
        dg.AssetDep("raw_video_minutes"),
    ],
    check_specs=_specs("cold_videos"),
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=daily_backfill_policy(),
    can_subset=True,
    pool=CLOUDFLARE_POOL,
    retry_policy=RAW_RETRY,
    hooks={COLLECT_COLD_FAILED},
)
def cold_videos(
    context: dg.AssetExecutionContext,
    cloudflare: CloudflareResource,
    storage: StorageResource,
):
    days = partition_days(context)
    keys = [d.isoformat() for d in days]
    store, bucket = storage.get_store(), storage.private
    windows = {d.isoformat(): costs.cost_window_days(d, SETTINGS.start_date) for d in days}
    needed = sorted({w.isoformat() for days_ in windows.values() for w in days_})
    fetch_window(context, cloudflare, storage, sorted(set(needed) - set(keys)))
    with clear_failures():
        minutes = {
            k: costs.uid_minutes_frame(doc)
            for k, doc in _read(
                storage, COST_FILES["raw_uid_minutes"], needed, "raw_uid_minutes"
            ).items()
        }
        catalogs = _read(storage, COST_FILES["video_catalog"], keys, "video_catalog")
        tops = _read(storage, ASSET_FILES["raw_video_minutes"], keys, "raw_video_minutes")

    candidates = {}
    for day in days:
        k = day.isoformat()
        window = {w.isoformat(): minutes[w.isoformat()] for w in windows[k]}
        catalog = costs.catalog_frame(catalogs.pop(k))
        end = ReportDay(day, SETTINGS.timezone).end_utc
        candidates[k] = costs.cold_candidates(
            catalog, costs.watched_uids(window), end, SETTINGS.cold_after_days
        )

    def read_day(day: dt.date):
        if day.isoformat() in minutes:
            return minutes[day.isoformat()]
        docs = read_documents(store, bucket, COST_FILES["raw_uid_minutes"], [day.isoformat()])
        doc = docs.get(day.isoformat())
        return None if doc is None else costs.uid_minutes_frame(doc)

    with clear_failures():
        last = costs.last_viewed_by_day(
            {k: (windows[k][0], candidates[k]["uid"]) for k in keys},
            read_day,
            floor=SETTINGS.start_date,
        )
    reports = {}
    for day in days:
        k = day.isoformat()
        window = {w.isoformat(): minutes[w.isoformat()] for w in windows[k]}
        doc = costs.cold_videos(
            k,
            candidates.pop(k),
            last[k],
            PRICES,
            window=windows[k],
            window_days_stored=len(window),
            cold_after_days=SETTINGS.cold_after_days,
        )
        problems = {
            "no_minutes_in_window": costs.cold_have_no_minutes(doc, window),
            "not_in_top_videos": costs.cold_not_in_top(doc, tops[k].rows["uid"]),
            "totals_add_up": costs.cold_totals_add_up(doc),
        }
        reports[k] = DayReport(
            docs={"cold_videos": doc},
            checks={"cold_videos": {n: listed_result(n, p) for n, p in problems.items()}},
        )
    yield from check_then_publish(context, storage, reports, COLD_PUBLISHED)


def fetch_window(
    context: dg.AssetExecutionContext,
    cloudflare: CloudflareResource,
    storage: StorageResource,
    window: list[str],
) -> None:
    """The per-video minutes of the 30-day window's earlier days that are not stored yet,
    fetched and stored (as `raw_uid_minutes` of those days): cold videos look 30 days back,
    so a first run on a fresh store still has its window."""
    spec, store = COST_FILES["raw_uid_minutes"], storage.get_store()
    missing = [k for k in window if store.head(storage.private, spec.key(k)) is None]
    if not missing:
        return
    with clear_failures(context, RAW_RETRY):
        docs, _ = fetch_uid_minutes(
            context, cloudflare, [dt.date.fromisoformat(k) for k in missing]
        )
    with clear_failures():
        write_documents(store, storage.private, spec, docs)
    for k in sorted(docs):
        context.log_event(
            dg.AssetMaterialization(
                "raw_uid_minutes",
                partition=k,
                description="a day of the 30-day window of the cold videos",
                metadata={"key": spec.key(k)},
            )
        )
