"""Cost and cold-video reports (group `costs`, issue 14).

- `raw_uid_minutes`: minutes of every video with views on the day (a complete per-uid
  extract, keyset-paged by uid: 5-6 GraphQL nodes a day at the seed's scale). A 30-day
  windowed query would cost ~10 nodes a day and 900 for a 90-day backfill; per-day extracts
  cost ~6 a day and ~540 for 90 days, and they are stored, so a past day rebuilds without
  the API and "last viewed" can look further back than 30 days.
- `video_catalog`: the day's snapshot of the Stream catalogue from the metadata cache, which
  the list endpoint keeps up to date (incremental by creation time; from the start once a
  week, which is how deletions and state changes are seen). Past days read their snapshot.
- `stream_costs`: delivery per day and storage per month, for the platform and per creator.
- `cold_videos`: ready videos old enough with no minutes in the last 30 days, by creator.

Each asset writes its own files (`files.COST_FILES`) and reads its inputs from storage, so
they run in their own job (`stream_costs_job`), after `daily_stats_job` has written the raw
creator and top-video extracts they also read. `cold_videos` reads the 29 days before its
day directly rather than through a 30-day partition mapping, which would make an asset
backfill of a range also target the 29 days after it. `stream_costs` and `cold_videos` are
checked day by day before anything is written, and only the days that pass are published
(`publishing.check_then_publish`), like every report.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from ... import oplog
from ...config import Settings
from ...dates import ReportDay
from ...documents import read_documents, write_documents
from ...files import ASSET_FILES, COST_FILES, AssetFile
from ...metadata_cache import MetadataCache, text_frame
from ...partitions import daily_backfill_policy, daily_partitions
from ...reports import costs
from ...reports.checks import CheckResult
from ..cloudflare_resource import CloudflareResource
from ..common import add_day_metadata, clear_failures, partition_days
from ..oplog_hooks import failure_hook
from ..publishing import DayReport, Publication, check_then_publish
from ..raw.assets import CLOUDFLARE_POOL, RAW_RETRY
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
            f"them first (stream-stats collect --from {missing[0]} --to {missing[-1]} "
            "--with-costs)",
            allow_retries=False,
        )
    return docs


def _check(name: str, problems: list[str]) -> CheckResult:
    """A cost check's result for one day: the first problem described, the first ten kept."""
    if not problems:
        return CheckResult(True, f"{name}: ok", {"problems": 0})
    return CheckResult(
        False, f"{name}: {problems[0]}", {"problems": len(problems), "shown": problems[:10]}
    )


def _specs(asset: str, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name, asset=asset, blocking=True, description=text, partitions_def=partitions_def
        )
        for name, text in CHECKS[asset].items()
    ]


def report_out(name: str, description: str) -> dict[str, dg.AssetOut]:
    """The one output of a checked cost report: optional, because the step records its
    materializations day by day, for the days that passed (a multi-asset, so that its
    check outputs are optional too)."""
    return {
        name: dg.AssetOut(
            is_required=False, group_name=GROUP, description=description, kinds={"pandas"}
        )
    }


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


def build_cost_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    prices = prices_of(settings)
    common = {
        "partitions_def": daily_partitions(settings),
        "group_name": GROUP,
        "backfill_policy": daily_backfill_policy(),
        "kinds": {"pandas"},
    }
    daily = common["partitions_def"]
    # A failed fetch skips both reports: each logs its own operation's failure.
    fetch_failed = failure_hook([oplog.COLLECT_COSTS, oplog.COLLECT_COLD], daily, settings.source)

    @dg.asset(
        name="raw_uid_minutes",
        pool=CLOUDFLARE_POOL,
        retry_policy=RAW_RETRY,
        hooks={fetch_failed},
        description="Minutes and views of every video with views on the day (complete list).",
        **common,
    )
    def raw_uid_minutes(
        context: dg.AssetExecutionContext, cloudflare: CloudflareResource, storage: StorageResource
    ) -> dg.MaterializeResult:
        days = partition_days(context)
        spec, store, bucket = (
            COST_FILES["raw_uid_minutes"],
            storage.get_store(),
            storage.private,
        )
        with clear_failures(context, RAW_RETRY):
            # The cold videos of the first day read the 29 days before it: whatever of those
            # is not stored is fetched here too, so a first run on a fresh store succeeds.
            window = costs.cost_window_days(days[0], settings.start_date)[:-1]
            lead = [d for d in window if store.head(bucket, spec.key(d.isoformat())) is None]
            with cloudflare.client(logger=context.log, instance=context.instance) as client:
                fetched = client.fetch_uid_minutes([*lead, *days])
                api = client.stats.as_dict()
        docs = {k: costs.uid_minutes_doc(k, pd.DataFrame(cols)) for k, cols in fetched.items()}
        lead_keys = {d.isoformat() for d in lead}
        with clear_failures():
            written = write_documents(
                store, bucket, spec, {k: d for k, d in docs.items() if k not in lead_keys}
            )
            write_documents(store, bucket, spec, {k: d for k, d in docs.items() if k in lead_keys})
        for k in sorted(lead_keys):
            context.log_event(
                dg.AssetMaterialization(
                    "raw_uid_minutes",
                    partition=k,
                    description="a day of the 30-day window of the run's first day",
                    metadata={"key": spec.key(k)},
                )
            )
        docs = {k: d for k, d in docs.items() if k not in lead_keys}
        add_day_metadata(
            context,
            "raw_uid_minutes",
            {
                k: {
                    "videos with views": len(d.columns.uid),
                    "minutes": sum(d.columns.minutesViewed),
                }
                for k, d in docs.items()
            },
        )
        meta = {"days": len(days), "window days fetched": len(lead), **api, **written}
        return dg.MaterializeResult(metadata=meta)

    @dg.asset(
        name="video_catalog",
        pool=CLOUDFLARE_POOL,
        retry_policy=RAW_RETRY,
        hooks={fetch_failed},
        description="Every video in Stream when the day ended (the list endpoint's catalogue, "
        "kept in the metadata cache): uid, creator, name, title, duration, size, times, state.",
        **common,
    )
    def video_catalog(
        context: dg.AssetExecutionContext, cloudflare: CloudflareResource, storage: StorageResource
    ) -> dg.MaterializeResult:
        days = partition_days(context)
        store, bucket = storage.get_store(), storage.private
        with (
            clear_failures(context, RAW_RETRY),
            cloudflare.client(logger=context.log, instance=context.instance) as client,
        ):
            frame, stats = MetadataCache(store, bucket).refresh_catalogue(client)
            api = client.stats.as_dict()
        if stats.healed:
            context.log.warning(stats.healed)
        videos = text_frame(frame)
        del frame
        spec = COST_FILES["video_catalog"]
        totals = {"files_written": 0, "files_unchanged": 0, "bytes": 0}
        per_day = {}
        for day in days:  # one snapshot at a time: each is ~100k rows
            snapshot = costs.catalog_snapshot(videos, ReportDay(day, settings.timezone).end_utc)
            doc = costs.catalog_doc(day.isoformat(), snapshot)
            with clear_failures():
                counts = write_documents(store, bucket, spec, {doc.date: doc})
            for name in totals:
                totals[name] += counts[name]
            duration = snapshot["duration"]
            per_day[doc.date] = {
                "videos": len(snapshot),
                "not ready": int((snapshot["state"].astype(object) != "ready").sum()),
                "unknown duration": int((duration.isna() | (duration < 0)).sum()),
            }
        add_day_metadata(context, "video_catalog", per_day)
        cache = {f"cache_{k}": v for k, v in stats.model_dump().items()}
        return dg.MaterializeResult(metadata={"days": len(days), **api, **cache, **totals})

    costs_published = Publication(
        files={"stream_costs": COST_FILES["stream_costs"]},
        page=_page,
        source=settings.source,
        operation=oplog.COLLECT_COSTS,
        details=lambda day: {
            "creatorsCount": len(day.docs["stream_costs"].creators),
            "totalMinutesViewed": day.docs["stream_costs"].platform.minutesDelivered,
        },
    )
    cold_published = Publication(
        files={"cold_videos": COST_FILES["cold_videos"]},
        page=_page,
        source=settings.source,
        operation=oplog.COLLECT_COLD,
        details=lambda day: {
            "creatorsCount": len(day.docs["cold_videos"].creators),
            "videosCount": day.docs["cold_videos"].totals.videoCount,
        },
    )

    @dg.multi_asset(
        name="stream_costs_report",
        outs=report_out(
            "stream_costs",
            "What Stream costs: minutes delivered and their cost for the day, minutes "
            "stored and their cost per month, platform and per creator (micro-units).",
        ),
        deps=[video_catalog, dg.AssetDep("raw_creator_minutes")],
        check_specs=_specs("stream_costs", common["partitions_def"]),
        partitions_def=common["partitions_def"],
        backfill_policy=common["backfill_policy"],
        can_subset=True,
        hooks={failure_hook(oplog.COLLECT_COSTS, daily, settings.source)},
    )
    def stream_costs(context: dg.AssetExecutionContext, storage: StorageResource):
        keys = [d.isoformat() for d in partition_days(context)]
        with clear_failures():
            catalogs = _read(storage, COST_FILES["video_catalog"], keys, "video_catalog")
            creators = _read(
                storage, ASSET_FILES["raw_creator_minutes"], keys, "raw_creator_minutes"
            )
        reports = {}
        for k in keys:
            catalog = costs.catalog_frame(catalogs.pop(k))
            doc = costs.stream_costs(k, catalog, creators[k].rows, prices)
            check = _check("creators_add_up_to_platform", costs.costs_add_up(doc))
            reports[k] = DayReport(
                docs={"stream_costs": doc},
                checks={"stream_costs": {"creators_add_up_to_platform": check}},
            )
        yield from check_then_publish(context, storage, reports, costs_published)

    @dg.multi_asset(
        name="cold_videos_report",
        outs=report_out(
            "cold_videos",
            "Ready videos at least STREAM_STATS_COLD_AFTER_DAYS old with no minutes in the "
            "last 30 days, by creator, with the storage each would save a month. A report "
            "only: nothing here deletes or changes a video.",
        ),
        deps=[
            video_catalog,
            raw_uid_minutes,  # and the 29 days before, read from storage (see below)
            dg.AssetDep("raw_video_minutes"),
        ],
        check_specs=_specs("cold_videos", common["partitions_def"]),
        partitions_def=common["partitions_def"],
        backfill_policy=common["backfill_policy"],
        can_subset=True,
        hooks={failure_hook(oplog.COLLECT_COLD, daily, settings.source)},
    )
    def cold_videos(context: dg.AssetExecutionContext, storage: StorageResource):
        days = partition_days(context)
        keys = [d.isoformat() for d in days]
        store, bucket = storage.get_store(), storage.private
        windows = {d.isoformat(): costs.cost_window_days(d, settings.start_date) for d in days}
        needed = sorted({w.isoformat() for days_ in windows.values() for w in days_})
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
            end = ReportDay(day, settings.timezone).end_utc
            candidates[k] = costs.cold_candidates(
                catalog, costs.watched_uids(window), end, settings.cold_after_days
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
                floor=settings.start_date,
            )
        reports = {}
        for day in days:
            k = day.isoformat()
            window = {w.isoformat(): minutes[w.isoformat()] for w in windows[k]}
            doc = costs.cold_videos(
                k,
                candidates.pop(k),
                last[k],
                prices,
                window=windows[k],
                window_days_stored=len(window),
                cold_after_days=settings.cold_after_days,
            )
            problems = {
                "no_minutes_in_window": costs.cold_have_no_minutes(doc, window),
                "not_in_top_videos": costs.cold_not_in_top(doc, tops[k].rows["uid"]),
                "totals_add_up": costs.cold_totals_add_up(doc),
            }
            reports[k] = DayReport(
                docs={"cold_videos": doc},
                checks={"cold_videos": {n: _check(n, p) for n, p in problems.items()}},
            )
        yield from check_then_publish(context, storage, reports, cold_published)

    return [raw_uid_minutes, video_catalog, stream_costs, cold_videos]
