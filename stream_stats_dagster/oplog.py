"""The operation log (contract §6): one record per operation, report date and run in LOG_BUCKET.

Fields follow seed 000 (`timestamp, operation, date, success, duration, details, error`);
`runId` and `source` are extra. The key holds the run id, so writing a run's record
again replaces it rather than adding a second one: each failure is logged exactly once.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from . import jsonbytes
from .keys import oplog_key
from .storage.base import ObjectStore

Operation = Literal[
    "collectDailyStats",
    "collectWeeklyStats",
    "updateRollingStats",
    "collectStreamCosts",
    "collectColdVideos",
    "collectLiveViewers",
]
COLLECT_DAILY: Operation = "collectDailyStats"
COLLECT_WEEKLY: Operation = "collectWeeklyStats"
UPDATE_ROLLING: Operation = "updateRollingStats"
# the cost reports (`stream_costs_job`): each checked report is an operation of its own
COLLECT_COSTS: Operation = "collectStreamCosts"
COLLECT_COLD: Operation = "collectColdVideos"
# the day's live audience (`live_viewers_job`, docs/live.md)
COLLECT_LIVE: Operation = "collectLiveViewers"


class OperationDetails(BaseModel):
    creatorsCount: int | None = None
    countriesCount: int | None = None
    videosCount: int | None = None
    totalMinutesViewed: int | None = None


class OperationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: str
    operation: Operation
    date: str
    success: bool
    duration: float
    details: OperationDetails
    error: str | None
    runId: str
    source: str | None = None
    # "warning": nothing failed, but something was not done and an operator should know
    # (a late-data answer smaller than the stored day); absent on ordinary records
    level: Literal["warning"] | None = Field(default=None, exclude_if=lambda v: v is None)


def failure_record(
    operation: Operation, day: str, run_id: str, error: str, source: str | None
) -> OperationRecord:
    """The record of an operation that failed without a step to time it (a dead run, a late
    file): no duration, no details."""
    return OperationRecord(
        timestamp=utc_timestamp(),
        operation=operation,
        date=day,
        success=False,
        duration=0.0,
        details=OperationDetails(),
        error=error,
        runId=run_id,
        source=source,
    )


def utc_timestamp(t: dt.datetime | None = None) -> str:
    """`2025-03-12T00:15:30.123Z`, as in seed 000."""
    t = (t or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def record_key(record: OperationRecord) -> str:
    return oplog_key(dt.date.fromisoformat(record.date), record.operation, record.runId)


def write_record(store: ObjectStore, bucket: str, record: OperationRecord) -> str:
    key = record_key(record)
    store.put(bucket, key, jsonbytes.dumps(record), cache_control="private, max-age=0")
    return key


def read_record(
    store: ObjectStore, bucket: str, operation: str, day: str, run_id: str
) -> OperationRecord | None:
    obj = store.get(bucket, oplog_key(dt.date.fromisoformat(day), operation, run_id))
    return None if obj is None else OperationRecord.model_validate_json(obj.body)
