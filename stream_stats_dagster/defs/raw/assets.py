"""Raw extracts (group `raw`): the day's GraphQL facts and its top videos' metadata.

One multi-asset makes the day's requests together (several days share requests in a
backfill range), so the five files of a day come from one consistent fetch. They are the
long-term fact store: every derived file can be rebuilt from them without the API.
"""

import datetime as dt

import dagster as dg

from ...cloudflare.resource import CloudflareResource
from ...config import Settings
from ...documents import write_documents
from ...facts import RawExtract, snapshot_rows
from ...files import ASSET_FILES, RAW_ASSETS
from ...metadata_cache import MetadataCache
from ...partitions import daily_backfill_policy, daily_partitions
from ...storage.base import ObjectStore
from ...storage.resource import StorageResource
from ..common import (
    RAW_KINDS,
    add_day_metadata,
    clear_failures,
    partition_days,
    preview,
    selected,
    step_outs,
)

# Transient Cloudflare failures are retried inside the client first (honouring
# retry-after); this is one more attempt a minute later for outages that outlast it.
RAW_RETRY = dg.RetryPolicy(
    max_retries=1, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
CLOUDFLARE_POOL = "cloudflare"

DESCRIPTIONS = {
    "raw_creator_minutes": "Minutes and views per creator for the report day (complete list).",
    "raw_country_minutes": "Minutes and views per country for the report day (complete list).",
    "raw_video_minutes": "The day's top STREAM_STATS_TOP_VIDEOS videos by minutes (uid, creator).",
    "raw_hourly_minutes": "One row per local hour of the report day; the source of day totals.",
    "raw_video_metadata": "Stream metadata of the day's top videos, snapshotted from the cache.",
}


TABLE_OF = {
    "raw_creator_minutes": "creators",
    "raw_country_minutes": "countries",
    "raw_video_minutes": "videos",
    "raw_hourly_minutes": "hours",
}


def missing_lead_days(
    store: ObjectStore, bucket: str, days: list[dt.date], start_date: dt.date
) -> list[dt.date]:
    """The six days before the run's first day (from the start date on) whose raw extracts
    are not all stored: the run's 7-day trends and windows read them, so it fetches them."""
    first = min(days)
    lead = [first - dt.timedelta(days=n) for n in range(6, 0, -1)]
    return [
        d
        for d in lead
        if d >= start_date
        and any(store.head(bucket, ASSET_FILES[a].key(d.isoformat())) is None for a in RAW_ASSETS)
    ]


def _span(days: list[dt.date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"


def build_raw_assets(
    settings: Settings, hooks: set[dg.HookDefinition]
) -> list[dg.AssetsDefinition]:
    # The raw files' own fields besides date and rows (SPEC §4 shapes of today's files).
    headers = {
        "raw_video_minutes": {"limit": settings.top_videos},
        "raw_hourly_minutes": {"timezone": settings.timezone},
    }

    @dg.multi_asset(
        name="raw_extract",
        outs=step_outs("raw", DESCRIPTIONS, RAW_KINDS),
        partitions_def=daily_partitions(settings),
        can_subset=True,
        pool=CLOUDFLARE_POOL,
        backfill_policy=daily_backfill_policy(),
        retry_policy=RAW_RETRY,
        hooks=hooks,
    )
    def raw_extract(
        context: dg.AssetExecutionContext, cloudflare: CloudflareResource, storage: StorageResource
    ):
        days = partition_days(context)
        wanted = selected(context)
        store, bucket = storage.get_store(), storage.stats_bucket
        if cloudflare.source == "simulator":
            context.log.warning(
                "source: the built-in Cloudflare simulator (no CLOUDFLARE_API_TOKEN)"
            )
        with clear_failures():
            lead = missing_lead_days(store, bucket, days, settings.start_date)
            with cloudflare.client(logger=context.log) as client:
                facts = client.fetch_days(sorted([*lead, *days]), top_videos=settings.top_videos)
                catalog, cache_stats = None, None
                # The catalogue is read after the fetch, not during it: read concurrently,
                # the two peaks added up (+80 MiB in a 7-day run, measured).
                if "raw_video_metadata" in wanted or lead:
                    uids = [u for f in facts.values() for u in f.videos["uid"]]
                    cache = MetadataCache(store, bucket)
                    catalog, cache_stats = cache.resolve_frame(client, uids)
                api = client.stats.as_dict()

        def extract(name: str, f) -> RawExtract:
            if name == "raw_video_metadata":
                return RawExtract(f.date, snapshot_rows(catalog, f.videos["uid"]))
            header = headers.get(name, {})
            return RawExtract(f.date, getattr(f, TABLE_OF[name]), dict(header))

        lead_keys = {d.isoformat() for d in lead}
        if lead:
            context.log.info(f"lead days fetched for the 7-day trends and windows: {_span(lead)}")
        for name in RAW_ASSETS:
            extracts = {k: extract(name, f) for k, f in facts.items() if k in lead_keys}
            if extracts:  # not partitions of this run: written here, recorded as materializations
                with clear_failures():
                    write_documents(store, bucket, ASSET_FILES[name], extracts)
                for k in sorted(extracts):
                    context.log_event(
                        dg.AssetMaterialization(
                            name,
                            partition=k,
                            description=f"lead day of the run {_span(days)}",
                            metadata={"key": ASSET_FILES[name].key(k)},
                        )
                    )
            if name not in wanted:
                continue
            outputs = {f.date: extract(name, f) for k, f in facts.items() if k not in lead_keys}
            if name != "raw_video_metadata":
                add_day_metadata(
                    context,
                    name,
                    {
                        k: {
                            "rows": len(e.rows),
                            "total minutes": int(facts[k].hours["minutesViewed"].sum()),
                            "preview": preview(e.rows),
                        }
                        for k, e in outputs.items()
                    },
                )
            meta: dict[str, object] = {"days": len(days), "source": cloudflare.source, **api}
            if lead:
                meta["lead days fetched"] = len(lead)
            if name == "raw_video_metadata" and cache_stats is not None:
                meta.update({f"cache_{k}": v for k, v in cache_stats.model_dump().items()})
            yield dg.Output(outputs, output_name=name, metadata=meta)

    return [raw_extract]
