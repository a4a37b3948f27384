"""Raw extracts (group `raw`): the day's GraphQL facts and its top videos' metadata.

One multi-asset makes the day's requests together (several days share requests in a
backfill range), so the five files of a day come from one consistent fetch. They are the
long-term fact store: every derived file can be rebuilt from them without the API.
"""

import dagster as dg

from ...cloudflare.resource import CloudflareResource
from ...config import Settings
from ...facts import RawExtract, snapshot_rows
from ...files import RAW_ASSETS
from ...metadata_cache import MetadataCache
from ...partitions import daily_backfill_policy, daily_partitions
from ...storage.resource import StorageResource
from ..common import add_day_metadata, clear_failures, partition_days, preview, selected

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
        outs={
            name: dg.AssetOut(is_required=False, group_name="raw", description=DESCRIPTIONS[name])
            for name in RAW_ASSETS
        },
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
        if cloudflare.source == "simulator":
            context.log.warning(
                "source: the built-in Cloudflare simulator (no CLOUDFLARE_API_TOKEN)"
            )
        with clear_failures(), cloudflare.client(logger=context.log) as client:
            facts = client.fetch_days(days, top_videos=settings.top_videos)
            catalog, cache_stats = None, None
            if "raw_video_metadata" in wanted:
                uids = [u for f in facts.values() for u in f.videos["uid"]]
                cache = MetadataCache(storage.get_store(), storage.stats_bucket)
                catalog, cache_stats = cache.resolve_frame(client, uids)
            api = client.stats.as_dict()

        def extract(name: str, f) -> RawExtract:
            if name == "raw_video_metadata":
                return RawExtract(f.date, snapshot_rows(catalog, f.videos["uid"]))
            header = headers.get(name, {})
            return RawExtract(f.date, getattr(f, TABLE_OF[name]), dict(header))

        for name in RAW_ASSETS:
            if name not in wanted:
                continue
            outputs = {f.date: extract(name, f) for f in facts.values()}
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
            if name == "raw_video_metadata" and cache_stats is not None:
                meta.update({f"cache_{k}": v for k, v in cache_stats.model_dump().items()})
            yield dg.Output(outputs, output_name=name, metadata=meta)

    return [raw_extract]
