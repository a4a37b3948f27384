"""The day's complete per-video minutes and the catalogue snapshot (group `raw`).

Both were the cost reports' own extracts; each creator's files need them too (their videos
of the day, with names), so they are fetched with the day's other facts by
`daily_stats_job`, and the cost reports read them from storage.

- `raw_uid_minutes`: minutes of every video with views on the day, with its GraphQL
  creator (a complete per-uid extract, keyset-paged by uid: 5-6 GraphQL nodes a day at the
  seed's scale). Stored, so a past day rebuilds without the API and "last viewed" can look
  further back than Cloudflare's 90 days.
- `video_catalog`: the day's snapshot of the Stream catalogue from the metadata cache,
  which the list endpoint keeps up to date (incremental by creation time; from the start
  once a week, which is how deletions and state changes are seen).

Each writes its own files (`files.COST_FILES`): they are read by day from storage, often
30 at a time, never handed to a step as inputs.
"""

import dagster as dg
import pandas as pd

from ...dates import ReportDay
from ...documents import read_documents, write_documents
from ...facts import DaySize, shrinkage
from ...files import COST_FILES
from ...metadata_cache import MetadataCache, text_frame
from ...partitions import daily_backfill_policy
from ...reports import costs
from ..cloudflare_resource import CloudflareResource
from ..common import OWNERS, RAW_KINDS, add_day_metadata, clear_failures, partition_days
from ..failure_hooks import COLLECT_DAILY_FAILED
from ..partitions import DAILY_PARTITIONS
from ..settings import SETTINGS
from ..storage_resource import StorageResource
from .assets import ACCEPT_SHRINK_HINT, CLOUDFLARE_POOL, RAW_RETRY, RawExtractConfig


def fetch_uid_minutes(context, cloudflare: CloudflareResource, days) -> dict:
    """`{day: UidMinutesDoc}` of `days`, fetched together (pages of several days share
    requests), and the client's request counters."""
    with cloudflare.client(logger=context.log, instance=context.instance) as client:
        fetched = client.fetch_uid_minutes(days)
        api = client.stats.as_dict()
    return {k: costs.uid_minutes_doc(k, pd.DataFrame(c)) for k, c in fetched.items()}, api


def _size(doc: costs.UidMinutesDoc) -> DaySize:
    return DaySize(minutes=sum(doc.columns.minutesViewed), rows={"videos": len(doc.columns.uid)})


def refusals(stored: dict, fresh: dict) -> dict[str, str]:
    """`{day: why}` of the days whose fresh per-video minutes hold less than the stored
    ones (an empty or cut answer): like the other raw extracts, they keep what is stored."""
    out = {}
    for k, doc in fresh.items():
        before = stored.get(k)
        why = None if before is None else shrinkage(_size(before), _size(doc))
        if why:
            hint = ACCEPT_SHRINK_HINT.format(day=k)
            out[k] = f"{k} refused: {why}; the stored per-video minutes are kept ({hint})"
    return out


# What both assets share with `raw_extract`: days, the Cloudflare pool, its retry, its hook.
RAW_STEP = {
    "partitions_def": DAILY_PARTITIONS,
    "group_name": "raw",
    "backfill_policy": daily_backfill_policy(),
    "kinds": RAW_KINDS,
    "owners": OWNERS,
    "pool": CLOUDFLARE_POOL,
    "retry_policy": RAW_RETRY,
    "hooks": {COLLECT_DAILY_FAILED},
}


@dg.asset(
    name="raw_uid_minutes",
    description="Minutes and views of every video with views on the day, with its "
    "creator (complete list).",
    **RAW_STEP,
)
def raw_uid_minutes(
    context: dg.AssetExecutionContext,
    config: RawExtractConfig,
    cloudflare: CloudflareResource,
    storage: StorageResource,
) -> dg.MaterializeResult:
    days = partition_days(context)
    with clear_failures(context, RAW_RETRY):
        docs, api = fetch_uid_minutes(context, cloudflare, days)
    spec = COST_FILES["raw_uid_minutes"]
    store = storage.get_store()
    with clear_failures():
        stored = read_documents(store, storage.private, spec, list(docs), tolerant=True)
    refused = {} if config.accept_shrink else refusals(stored, docs)
    for k, why in refused.items():
        context.log.warning(why)
        docs[k] = stored[k]  # the day keeps its stored file, byte for byte
    with clear_failures():
        written = write_documents(store, storage.private, spec, docs, keep_revisions=True)
    add_day_metadata(
        context,
        "raw_uid_minutes",
        {
            k: {
                "videos with views": len(d.columns.uid),
                "minutes": sum(d.columns.minutesViewed),
                **({"refused": refused[k]} if k in refused else {}),
            }
            for k, d in docs.items()
        },
    )
    return dg.MaterializeResult(metadata={"days": len(days), **api, **written})


@dg.asset(
    name="video_catalog",
    description="Every video in Stream when the day ended (the list endpoint's catalogue, "
    "kept in the metadata cache): uid, creator, name, title, duration, size, times, state.",
    **RAW_STEP,
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
        snapshot = costs.catalog_snapshot(videos, ReportDay(day, SETTINGS.timezone).end_utc)
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
