"""Raw extracts (group `raw`): the day's GraphQL facts and its top videos' metadata.

One multi-asset makes the day's requests together (several days share requests in a
backfill range), so the five files of a day come from one consistent fetch. They are the
long-term fact store: every derived file can be rebuilt from them without the API, and
once Cloudflare's 90 days have passed they are the only copy of the facts. So the store only
grows more certain: a re-collect that answers less than a stored day holds (an empty or cut
answer) is refused for that day, which keeps its stored facts and is left out of the run's
reports, unless the run says `accept_shrink` (`stream-stats collect --accept-shrink`).
"""

import dataclasses
import datetime as dt

import dagster as dg

from ... import oplog
from ...dates import lead_days
from ...documents import Loaded, read_documents, read_etag, write_documents
from ...facts import RawExtract, day_size, shrinkage, snapshot_rows
from ...files import ASSET_FILES, RAW_ASSETS
from ...metadata_cache import MetadataCache
from ...partitions import daily_backfill_policy
from ...storage.base import ObjectStore, md5_hex
from ..check_targets import latest_materializations
from ..cloudflare_resource import CloudflareResource
from ..common import (
    NEVER_SHRINK,
    RAW_KINDS,
    add_day_metadata,
    clear_failures,
    partition_days,
    preview,
    selected,
    step_outs,
)
from ..failure_hooks import COLLECT_DAILY_FAILED
from ..oplog_hooks import run_duration
from ..partitions import DAILY_PARTITIONS
from ..settings import SETTINGS
from ..storage_resource import StorageResource

# Transient Cloudflare failures are retried inside the client first (honouring
# retry-after); this is one more attempt a minute later for outages that outlast it.
RAW_RETRY = dg.RetryPolicy(
    max_retries=1, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
CLOUDFLARE_POOL = "cloudflare"
ACCEPT_SHRINK_HINT = "stream-stats collect --date {day} --accept-shrink replaces them"

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


class RawExtractConfig(dg.Config):
    """`accept_shrink`: replace stored days even where Cloudflare now answers less than
    they hold (after a deliberate correction; a bad replacement stays undoable from its
    revision, see `stream-stats restore-raw`)."""

    accept_shrink: bool = False


def missing_lead_days(
    store: ObjectStore, bucket: str, days: list[dt.date], start_date: dt.date
) -> list[dt.date]:
    """The six days before the run's first day (from the start date on) whose raw extracts
    are not all stored: the run's 7-day trends and windows read them, so it fetches them."""
    return [
        d
        for d in lead_days(min(days))
        if d >= start_date
        and any(store.head(bucket, ASSET_FILES[a].key(d.isoformat())) is None for a in RAW_ASSETS)
    ]


def _span(days: list[dt.date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"


def stored_days(store: ObjectStore, bucket: str, keys: list[str]) -> dict[str, Loaded]:
    """The stored raw extracts of `keys`, per raw asset (invalid files set apart)."""
    return {
        name: read_documents(store, bucket, ASSET_FILES[name], keys, tolerant=True)
        for name in RAW_ASSETS
    }


def refusal(stored: dict[str, Loaded], fresh: dict[str, RawExtract], k: str) -> str | None:
    """Why the fresh extracts of day `k` would make its stored facts less certain, or None
    (nothing stored, or a stored file that does not validate: the fresh facts heal it)."""
    kept = {name: stored[name].get(k) for name in TABLE_OF}
    if any(e is None for e in kept.values()):
        return None
    limit = kept["raw_video_minutes"].header.get("limit")  # type: ignore[union-attr]
    before = day_size({TABLE_OF[n]: e.rows for n, e in kept.items()}, limit)  # type: ignore[union-attr]
    after = day_size(
        {TABLE_OF[n]: fresh[n].rows for n in TABLE_OF},
        fresh["raw_video_minutes"].header.get("limit"),
    )
    return shrinkage(before, after)


# The raw files' own fields besides date and rows (contract §4 shapes of today's files).
HEADERS = {
    "raw_video_minutes": {"limit": SETTINGS.top_videos},
    "raw_hourly_minutes": {"timezone": SETTINGS.timezone},
}


@dg.multi_asset(
    name="raw_extract",
    outs=step_outs("raw", DESCRIPTIONS, RAW_KINDS),
    partitions_def=DAILY_PARTITIONS,
    can_subset=True,
    pool=CLOUDFLARE_POOL,
    backfill_policy=daily_backfill_policy(),
    retry_policy=RAW_RETRY,
    hooks={COLLECT_DAILY_FAILED},
    check_specs=[
        dg.AssetCheckSpec(
            NEVER_SHRINK,
            asset="raw_hourly_minutes",
            blocking=False,
            partitions_def=DAILY_PARTITIONS,
            description="A re-collect never replaces a stored day by one with fewer "
            "minutes, creators, countries or top videos (beyond 1 minute and 0.1 %): "
            "such a day keeps its stored facts and is left out of the run's reports.",
        )
    ],
)
def raw_extract(
    context: dg.AssetExecutionContext,
    config: RawExtractConfig,
    cloudflare: CloudflareResource,
    storage: StorageResource,
):
    days = partition_days(context)
    keys = [d.isoformat() for d in days]
    wanted = selected(context)
    store, bucket = storage.get_store(), storage.private  # facts, cache: not for readers
    if cloudflare.source == "simulator":
        context.log.warning("source: the built-in Cloudflare simulator (no CLOUDFLARE_API_TOKEN)")
    with clear_failures(context, RAW_RETRY):
        lead = missing_lead_days(store, bucket, days, SETTINGS.start_date)
        with cloudflare.client(logger=context.log, instance=context.instance) as client:
            facts = client.fetch_days(sorted([*lead, *days]), top_videos=SETTINGS.top_videos)
            catalog, cache_stats = None, None
            # The catalogue is read after the fetch, not during it: read concurrently,
            # the two peaks added up (+80 MiB in a 7-day run, measured).
            if "raw_video_metadata" in wanted or lead:
                uids = [u for f in facts.values() for u in f.videos["uid"]]
                cache = MetadataCache(store, bucket)
                catalog, cache_stats = cache.resolve_frame(client, uids)
                if cache_stats.healed:
                    context.log.warning(cache_stats.healed)
            api = client.stats.as_dict()
        stored = stored_days(store, bucket, keys)

    def extract(name: str, f) -> RawExtract:
        if name == "raw_video_metadata":
            return RawExtract(f.date, snapshot_rows(catalog, f.videos["uid"]))
        header = HEADERS.get(name, {})
        return RawExtract(f.date, getattr(f, TABLE_OF[name]), dict(header))

    lead_keys = {d.isoformat() for d in lead}
    if lead:
        context.log.info(f"lead days fetched for the 7-day trends and windows: {_span(lead)}")
        for name in RAW_ASSETS:
            extracts = {k: extract(name, f) for k, f in facts.items() if k in lead_keys}
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

    names = [n for n in RAW_ASSETS if n in wanted or n in TABLE_OF]
    outputs = {name: {k: extract(name, facts[k]) for k in keys} for name in names}
    refused: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for k in keys:
        why = refusal(stored, {n: outputs[n][k] for n in TABLE_OF}, k)
        if why and not config.accept_shrink:
            hint = ACCEPT_SHRINK_HINT.format(day=k)
            refused[k] = f"{k} refused: {why}; the stored facts are kept ({hint})"
            for name in names:  # the day keeps its stored files, byte for byte
                outputs[name][k] = stored[name].get(k) or outputs[name][k]
        elif int(outputs["raw_hourly_minutes"][k].rows["minutesViewed"].sum()) == 0:
            warnings[k] = f"{k}: Cloudflare answered no views for this day; kept as it is"
            context.log.warning(warnings[k])

    meta: dict[str, object] = {"days": len(days), "source": cloudflare.source, **api}
    if lead:
        meta["lead days fetched"] = len(lead)
    for name in RAW_ASSETS:
        if name not in wanted:
            continue
        spec = ASSET_FILES[name]
        pages = {}
        for k, e in outputs[name].items():
            body = spec.encode(e)
            outputs[name][k] = e = dataclasses.replace(e, body=body)  # encoded once
            was = read_etag(store, bucket, spec.key(k)) if k in stored[name] else None
            changed = was != md5_hex(body)
            pages[k] = {
                "key": spec.key(k),
                "bytes": len(body),
                "files_written": int(changed),
                "files_unchanged": int(not changed),
                "rows": len(e.rows),
                **({"refused": refused[k]} if k in refused else {}),
                **({"warning": warnings[k]} if k in warnings else {}),
            }
            if name != "raw_video_metadata":
                pages[k]["total minutes"] = int(e.rows["minutesViewed"].sum())
                pages[k]["preview"] = preview(e.rows)
        add_day_metadata(context, name, pages)
        output_meta = dict(meta)
        if name == "raw_video_metadata" and cache_stats is not None:
            output_meta.update({f"cache_{k}": v for k, v in cache_stats.model_dump().items()})
        yield dg.Output(outputs[name], output_name=name, metadata=output_meta)

    if "raw_hourly_minutes" in wanted:
        record_refusals(context, storage, SETTINGS.source, keys, refused)


def record_refusals(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    source: str,
    keys: list[str],
    refused: dict[str, str],
) -> None:
    """The day's `facts_never_shrink` evaluation (pointing at the materialization just
    recorded), and one operation-log record for each refused day."""
    targets = latest_materializations(context.instance, "raw_hourly_minutes", keys)
    for k in keys:
        context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey("raw_hourly_minutes"),
                check_name=NEVER_SHRINK,
                passed=k not in refused,
                partition=k,
                target_materialization_data=targets.get(k),
                description=refused.get(k, "the stored facts only grow"),
                severity=dg.AssetCheckSeverity.ERROR,
                blocking=False,
            )
        )
    duration = run_duration(context.instance, context.run.run_id)
    for k, why in sorted(refused.items()):
        record = oplog.OperationRecord(
            timestamp=oplog.utc_timestamp(),
            operation=oplog.COLLECT_DAILY,
            date=k,
            success=False,
            duration=duration,
            details=oplog.OperationDetails(),
            error=why,
            runId=context.run.run_id,
            source=source,
        )
        with clear_failures():
            oplog.write_record(storage.get_store(), storage.log_bucket, record)
