"""The live viewers' jobs and schedules (docs/live.md), and the freshness checks of their
assets."""

from zoneinfo import ZoneInfo

import dagster as dg

from ..automation.freshness import deadline_checks
from ..automation.schedules import yesterday_schedule
from ..jobs import LIVE_SAMPLES_JOB, LIVE_VIEWERS_JOB
from ..partitions import HOURLY_PARTITIONS
from ..settings import SCHEDULE_STATUS, SETTINGS
from .partitions import hour

HOURLY_CRON = "10 * * * *"  # ten past each local hour: the sampler uploads as an hour ends
DAILY_CRON = "30 1 * * *"  # 01:30: after the day's last hour and the first of the next
LOOKBACK_HOURS = 48  # an hour uploaded late (an R2 outage) is still recorded for two days
# Freshness (WARN): the last hour recorded by forty past the next, yesterday's reports by 03:00
FRESHNESS = {
    "raw_live_samples": "40 * * * *",
    "live_viewers": "0 3 * * *",
    "live_drift": "0 3 * * *",
}
FRESHNESS_CHECKS = dg.AssetSelection.checks(
    *(dg.AssetCheckKey(dg.AssetKey(a), "freshness_check") for a in FRESHNESS)
)

live_samples_job = dg.define_asset_job(
    LIVE_SAMPLES_JOB,
    selection=dg.AssetSelection.assets("raw_live_samples") - FRESHNESS_CHECKS,
    description="Verify and record hours of live samples the sampler uploaded.",
)
live_viewers_job = dg.define_asset_job(
    LIVE_VIEWERS_JOB,
    selection=dg.AssetSelection.assets("live_viewers", "live_drift") - FRESHNESS_CHECKS,
    description="A day's live audience, and the drift of its counts, from its hours of samples.",
)

live_viewers_schedule = yesterday_schedule(
    live_viewers_job,
    "live_viewers_schedule",
    DAILY_CRON,
    f"{LIVE_VIEWERS_JOB} for yesterday, at 01:30 in the report time zone (after its last "
    "hour, and the next day's first, were uploaded and recorded).",
)


@dg.schedule(
    name="live_samples_schedule",
    job=live_samples_job,
    cron_schedule=HOURLY_CRON,
    execution_timezone=SETTINGS.timezone,
    default_status=SCHEDULE_STATUS,
    description="Records each hour of live samples once the sampler has uploaded it.",
)
def live_samples_schedule(context: dg.ScheduleEvaluationContext):
    """Every hour: a run for each of the last two days' hours whose file the sampler has
    uploaded and that is not recorded yet. The run key holds the file's ETag, so an hour is
    recorded once per version of its file, however many ticks see it."""
    from ..resources import storage_resource

    now = context.scheduled_execution_time.astimezone(ZoneInfo(SETTINGS.timezone))
    keys = HOURLY_PARTITIONS.get_partition_keys(current_time=now)[-LOOKBACK_HOURS:]
    if not keys:
        return dg.SkipReason(f"no hour yet after STREAM_STATS_START_DATE {SETTINGS.start_date}")
    done = context.instance.get_materialized_partitions(dg.AssetKey("raw_live_samples"))
    storage = storage_resource(SETTINGS).process_config_and_initialize()
    store, bucket = storage.get_store(), storage.private
    requests = []
    for key in keys:
        if key in done:
            continue
        h = hour(HOURLY_PARTITIONS, key)
        etag = store.head(bucket, h.key)
        if etag is not None:
            requests.append(dg.RunRequest(run_key=f"{key}@{etag}", partition_key=key))
    if not requests:
        return dg.SkipReason(f"no new hour uploaded in the last {LOOKBACK_HOURS} hours")
    return requests


live_freshness_checks, live_freshness_checks_sensor = deadline_checks(
    FRESHNESS, "live_freshness_checks_sensor"
)
