"""Live viewers in Dagster (group `live`, docs/live.md).

- `raw_live_samples` (hourly, report time zone): verifies each hour file the sampler
  uploaded to `PRIVATE_BUCKET` (it parses, its rows line up, its instants lie in its hour, its
  ETag is its MD5) and records it: samples, stages, gaps, bytes. Dagster writes nothing here;
  the sampler, a process of its own, wrote the file.
- `live_viewers` (daily): the day's live audience from the day's hour files and the hours
  around it, checked, then published by `publishing.check_then_publish` like every report:
  private, and not named in `index.json`.
- `live_drift` (daily, beside it): how far the counts were off (`reports/live/drift.py`), with
  its drift checks (WARN by default, limits from `STREAM_STATS_LIVE_DRIFT_LIMITS`), published
  the same way.
"""

import datetime as dt

import dagster as dg
import pandas as pd
from pydantic import ValidationError

from ... import keys, oplog
from ...dates import ReportDay
from ...files import LIVE_FILES
from ...partitions import daily_backfill_policy
from ...reports.checks import CheckResult, listed_result
from ...reports.live import document, drift, instants, report
from ...reports.live.samples import HourFile
from ...storage.base import ObjectStore, StorageError, md5_hex
from ..common import OWNERS, partition_days, preview
from ..failure_hooks import COLLECT_LIVE_FAILED
from ..oplog_hooks import FAILED_PARTITIONS
from ..partitions import DAILY_PARTITIONS, HOURLY_PARTITIONS
from ..publishing import DayReport, Publication, check_then_publish
from ..settings import SETTINGS
from ..storage_resource import StorageResource
from .partitions import Hour, hour

GROUP = "live"
KINDS = {"redis", "json"}
HOURS_PER_RUN = 48
CHECK_TEXT = {
    "coverage_adds_up": "Sampled seconds and the gaps add up to the day's seconds; gaps lie "
    "inside the day, in order.",
    "hours_add_up": "One hourly entry per local hour, adding up to the day's viewer-minutes, "
    "live minutes, sampled seconds and peak.",
    "stages_consistent": "Each stage once, by viewer-minutes; average at most peak; first "
    "seen, peak and last seen in order inside the day.",
}
DRIFT_CHECK_TEXT = {
    "total_vs_stages": "The platform's total against the sum of the stage counters: no "
    "episode more than the limit's viewers off for more than its minutes.",
    "counters_vs_heartbeats": "Each stage's counter against HLEN of its heartbeat hash and "
    "against its fresh heartbeats: no episode over the limits.",
    "counters_vs_ivs": "Each reconciled stage's counter against its CONNECTED participants in "
    "IVS: no difference over the limit.",
}


class BadHour(Exception):
    """An uploaded hour file that is not what the sampler writes; one line."""


def read_hour(store: ObjectStore, bucket: str, h: Hour) -> tuple[HourFile, bytes, str] | None:
    """An hour's file, parsed and verified, or None when it is not uploaded."""
    obj = store.get(bucket, h.key)
    if obj is None:
        return None
    try:
        doc = HourFile.model_validate_json(obj.body)
    except (ValidationError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise BadHour(f"{bucket}/{h.key} is not an hour of samples: {reason}") from None
    problems = doc.problems()
    if instants.parse(doc.hourStart) != h.start_us:
        problems.append(f"its hour starts {doc.hourStart}, not {instants.text(h.start_us)}")
    if obj.etag != md5_hex(obj.body):
        problems.append(f"its ETag {obj.etag} is not the MD5 of its bytes")
    if problems:
        raise BadHour(f"{bucket}/{h.key}: {problems[0]}")
    return doc, obj.body, obj.etag


def hour_page(h: Hour, doc: HourFile, body: bytes, before: HourFile | None) -> dict:
    """What an hour's page shows (so the asset's plots show samples and gaps by hour)."""
    s = report.series([doc] if before is None else [before, doc])
    end = h.start_us + instants.HOUR_US
    a, b = report.holds(s, h.start_us, end)
    gaps = report.gaps_of(a, b, h.start_us, end)
    totals = [t for t in doc.samples.total if t is not None]
    return {
        "key": h.key,
        "bytes": len(body),
        "samples": len(doc.samples.at),
        "stages": len(doc.stages),
        "gaps": len(gaps),
        "gap seconds": report.seconds(sum(hi - lo for lo, hi in gaps)),
        "coverage (%)": round(100 * int((b - a).sum()) / instants.HOUR_US, 3),
        "peak viewers": max(totals) if totals else 0,
    }


def day_hours(day: dt.date, timezone: str) -> list[int]:
    """UTC starts of the hours a day reads: its own and one on each side (the samples that
    hold across midnight)."""
    rd = ReportDay(day, timezone)
    start, end = instants.of(rd.start_utc), instants.of(rd.end_utc)
    return list(range(start - instants.HOUR_US, end + instants.HOUR_US, instants.HOUR_US))


def drift_page(asset: str, doc: drift.LiveDriftDoc) -> dict[str, object]:
    """What a day's drift page shows (plotted by day in the UI) and the most-off stages."""
    t = doc.totalVsStages
    top = doc.stages[:10]
    stages = preview(
        _frame(
            [
                (
                    s.name,
                    s.stageArn[-12:],
                    s.counterVsHeartbeats.worst if s.counterVsHeartbeats else None,
                    s.counterVsFresh.worst if s.counterVsFresh else None,
                    s.negative.lowest if s.negative else None,
                    s.expiredInfo.minutes if s.expiredInfo else None,
                    s.ivsWorst,
                )
                for s in top
            ],
            ["name", "stage", "vsHLEN", "vsFresh", "negative", "expiredInfoMin", "vsIVS"],
        )
    )
    return {
        "total vs stages worst": t.worst,
        "total vs stages minutes": t.minutes,
        "stages with drift": doc.stagesWithDrift,
        "negative counters": sum(1 for s in doc.stages if s.negative),
        "expired-info counters": sum(1 for s in doc.stages if s.expiredInfo),
        "heartbeat scans": doc.measured.heartbeatScans,
        "ivs reconciliations": doc.ivs.reconciliations,
        "ivs stages off": doc.ivs.stagesOff,
        "most off stages": stages,
    }


def read_day_hours(store: ObjectStore, bucket: str, day: dt.date, timezone: str) -> list[HourFile]:
    """The hour files a day reads (its own and one on each side) that were uploaded."""
    hours = []
    for start in day_hours(day, timezone):
        found = read_hour(store, bucket, Hour("", start, _key(start)))
        if found is not None:
            hours.append(found[0])
    return hours


def day_page(asset: str, doc: document.LiveViewersDoc) -> dict[str, object]:
    """What a day's page shows: its numbers (plotted by day in the UI) and previews."""
    p, c = doc.platform, doc.coverage
    top = doc.stages[:10]
    stages = preview(
        _frame(
            [(s.name, s.stageArn[-12:], s.peakViewers, s.viewerMinutes) for s in top],
            ["name", "stage", "peakViewers", "viewerMinutes"],
        )
    )
    hours = preview(
        _frame(
            [(h.hour, h.peakViewers, h.viewerMinutes) for h in p.hourlyTrend if h.peakViewers],
            ["hour", "peakViewers", "viewerMinutes"],
        )
    )
    return {
        "peak viewers": p.peakViewers or 0,
        "viewer minutes": p.viewerMinutes,
        "publisher live minutes": p.publisherLiveMinutes,
        "most stages at once": p.maxStages,
        "stages": len(doc.stages),
        "coverage (%)": round(100 * c.share, 4),
        "gaps": len(c.gaps),
        "samples": c.samples,
        "top stages": stages,
        "busiest hours": hours,
    }


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


@dg.multi_asset(
    name="live_samples",
    outs={
        "raw_live_samples": dg.AssetOut(
            is_required=False,
            group_name=GROUP,
            kinds=KINDS,
            owners=OWNERS,
            description="An hour of live samples the sampler uploaded (docs/live.md), "
            "verified and recorded: samples, stages, gaps, bytes.",
        )
    },
    partitions_def=HOURLY_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=HOURS_PER_RUN),
    can_subset=True,
)
def live_samples(context: dg.AssetExecutionContext, storage: StorageResource):
    store, bucket = storage.get_store(), storage.private
    failed: dict[str, str] = {}
    for key in context.partition_keys:
        h = hour(HOURLY_PARTITIONS, key)
        try:
            found = read_hour(store, bucket, h)
            before = None
            if found is not None:
                start = h.start_us - instants.HOUR_US
                got = read_hour(store, bucket, Hour("", start, _key(start)))
                before = got[0] if got else None
        except (BadHour, StorageError) as exc:
            failed[key] = str(exc)
            continue
        if found is None:
            failed[key] = f"not uploaded yet: {bucket}/{h.key}"
            continue
        doc, body, etag = found
        if doc.timezone != SETTINGS.timezone:
            failed[key] = (
                f"{h.key} was cut at {doc.timezone}'s hours, not STREAM_STATS_TIMEZONE "
                f"{SETTINGS.timezone}'s: give the sampler the same time zone"
            )
            continue
        page = {**hour_page(h, doc, body, before), "etag": etag}
        yield dg.AssetMaterialization("raw_live_samples", partition=key, metadata=page)
    if failed:
        first = sorted(failed)[0]
        more = f"; {len(failed) - 1} more hour(s) failed" if len(failed) > 1 else ""
        raise dg.Failure(
            description=f"{first}: {failed[first]}{more}",
            metadata={FAILED_PARTITIONS: dg.MetadataValue.json(sorted(failed))},
            allow_retries=False,
        )


PUBLICATION = Publication(
    files=LIVE_FILES,
    page=day_page,
    source=SETTINGS.source,
    operation=oplog.COLLECT_LIVE,
    details=lambda day: {
        "totalMinutesViewed": round(day.docs["live_viewers"].platform.viewerMinutes)
    },
)


@dg.multi_asset(
    name="live_viewers_report",
    outs={
        "live_viewers": dg.AssetOut(
            is_required=False,
            group_name=GROUP,
            kinds=KINDS,
            owners=OWNERS,
            description="The day's live audience (docs/live.md): per stage its peak, "
            "average, viewer-minutes, first and last seen; the platform's peak, "
            "viewer-minutes, live minutes, most stages at once and hourly trend; coverage "
            "and gaps. Private; not in index.json.",
        )
    },
    deps=[dg.AssetDep("raw_live_samples")],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=daily_backfill_policy(),
    can_subset=True,
    check_specs=[
        dg.AssetCheckSpec(
            name,
            asset="live_viewers",
            blocking=True,
            description=text,
            partitions_def=DAILY_PARTITIONS,
        )
        for name, text in CHECK_TEXT.items()
    ],
    hooks={COLLECT_LIVE_FAILED},
)
def live_viewers(context: dg.AssetExecutionContext, storage: StorageResource):
    store, bucket = storage.get_store(), storage.private
    reports = {}
    for day in partition_days(context):
        k = day.isoformat()
        try:
            hours = read_day_hours(store, bucket, day, SETTINGS.timezone)
        except (BadHour, StorageError) as exc:
            reports[k] = DayReport(error=str(exc))
            continue
        doc = report.live_viewers(day, SETTINGS.timezone, hours)
        checks = {name: listed_result(name, check(doc)) for name, check in document.CHECKS.items()}
        reports[k] = DayReport(docs={"live_viewers": doc}, checks={"live_viewers": checks})
    yield from check_then_publish(context, storage, reports, PUBLICATION)


LIMITS = SETTINGS.live_drift_limits
DRIFT_PUBLICATION = Publication(
    files={"live_drift": LIVE_FILES["live_drift"]}, page=drift_page, source=SETTINGS.source
)


@dg.multi_asset(
    name="live_drift_report",
    outs={
        "live_drift": dg.AssetOut(
            is_required=False,
            group_name=GROUP,
            kinds=KINDS,
            owners=OWNERS,
            description="How far the day's live counts were off, and where from "
            "(docs/live.md, Drift): the total against the stages, each counter against "
            "HLEN, fresh heartbeats and IVS, negative counters, counters of stages whose "
            "info expired; episodes with minutes and sizes. Private; not in index.json.",
        )
    },
    deps=[dg.AssetDep("raw_live_samples")],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=daily_backfill_policy(),
    can_subset=True,
    check_specs=[
        dg.AssetCheckSpec(
            name,
            asset="live_drift",
            blocking=LIMITS.severity == "ERROR",
            description=f"{text} Limits: {LIMITS.viewers} viewers for {LIMITS.minutes:g} "
            f"min, IVS {LIMITS.ivs_viewers} viewers; {LIMITS.severity}.",
            partitions_def=DAILY_PARTITIONS,
        )
        for name, text in DRIFT_CHECK_TEXT.items()
    ],
)
def live_drift(context: dg.AssetExecutionContext, storage: StorageResource):
    store, bucket = storage.get_store(), storage.private
    reports = {}
    for day in partition_days(context):
        k = day.isoformat()
        try:
            hours = read_day_hours(store, bucket, day, SETTINGS.timezone)
        except (BadHour, StorageError) as exc:
            reports[k] = DayReport(error=str(exc))
            continue
        doc = drift.live_drift(day, SETTINGS.timezone, hours)
        checks = {}
        for name, check in drift.CHECKS.items():
            problems = check(doc, LIMITS)
            checks[name] = (
                CheckResult(
                    False,
                    f"{name}: {problems[0]}"
                    + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
                    {"problems": len(problems), "first": problems[:10]},
                    LIMITS.severity,
                )
                if problems
                else CheckResult(
                    True, f"{name}: within the limits", {"problems": 0}, LIMITS.severity
                )
            )
        reports[k] = DayReport(docs={"live_drift": doc}, checks={"live_drift": checks})
    yield from check_then_publish(context, storage, reports, DRIFT_PUBLICATION)


def _key(start_us: int) -> str:
    return keys.live_samples_key(instants.to_datetime(start_us))
