"""Raw extracts (group `raw`): the day's GraphQL facts and its top videos' metadata.

One multi-asset makes the day's requests together (several days share requests in a
backfill range), so the five files of a day come from one consistent fetch. They are the
long-term fact store: every derived file can be rebuilt from them without the API.
"""

import dagster as dg

from ...cloudflare.resource import CloudflareResource
from ...config import Settings
from ...files import RAW_ASSETS
from ...metadata_cache import MetadataCache
from ...partitions import daily_backfill_policy, daily_partitions
from ...reports import models as m
from ...storage.resource import StorageResource
from ..common import clear_failures, partition_days, preview

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


def build_raw_assets(
    settings: Settings, hooks: set[dg.HookDefinition]
) -> list[dg.AssetsDefinition]:
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
        selected = set(context.op_execution_context.selected_output_names)
        if cloudflare.source == "simulator":
            context.log.warning(
                "source: the built-in Cloudflare simulator (no CLOUDFLARE_API_TOKEN)"
            )
        with clear_failures(), cloudflare.client(logger=context.log) as client:
            facts = client.fetch_days(days, top_videos=settings.top_videos)
            metadata, cache_stats = {}, None
            if "raw_video_metadata" in selected:
                uids = [v.uid for f in facts.values() for v in f.videos]
                cache = MetadataCache(storage.get_store(), storage.stats_bucket)
                metadata, cache_stats = cache.resolve(client, uids)
            api = client.stats.as_dict()

        top = settings.top_videos
        keyed = {d.isoformat(): facts[d.isoformat()] for d in days}
        outputs = {
            "raw_creator_minutes": {
                k: m.RawCreatorMinutes(date=k, rows=f.creators) for k, f in keyed.items()
            },
            "raw_country_minutes": {
                k: m.RawCountryMinutes(date=k, rows=f.countries) for k, f in keyed.items()
            },
            "raw_video_minutes": {
                k: m.RawVideoMinutes(date=k, limit=top, rows=f.videos) for k, f in keyed.items()
            },
            "raw_hourly_minutes": {
                k: m.RawHourlyMinutes(date=k, timezone=settings.timezone, rows=f.hours)
                for k, f in keyed.items()
            },
            "raw_video_metadata": {
                k: m.RawVideoMetadata(date=k, videos=[metadata[v.uid] for v in f.videos])
                for k, f in keyed.items()
            }
            if cache_stats is not None
            else {},
        }
        last = keyed[max(keyed)]
        previews = {
            "raw_creator_minutes": last.creators,
            "raw_country_minutes": last.countries,
            "raw_video_minutes": last.videos,
            "raw_hourly_minutes": last.hours,
        }
        for name in RAW_ASSETS:
            if name not in selected:
                continue
            meta: dict[str, object] = {"days": len(days), "source": cloudflare.source, **api}
            if name in previews:
                meta["rows (last day)"] = len(previews[name])
                meta["total minutes (last day)"] = sum(r.minutesViewed for r in last.hours)
                meta["preview"] = preview(previews[name])
            elif cache_stats is not None:
                meta.update({f"cache_{k}": v for k, v in cache_stats.model_dump().items()})
            yield dg.Output(outputs[name], output_name=name, metadata=meta)

    return [raw_extract]
