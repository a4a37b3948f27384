"""The failure hook of each operation's steps (`oplog_hooks.failure_hook`): one operation-log
record for every day of a run whose step failed as a whole."""

from .. import oplog
from .oplog_hooks import failure_hook
from .partitions import DAILY_PARTITIONS, WEEKLY_PARTITIONS
from .settings import SETTINGS

COLLECT_DAILY_FAILED = failure_hook(oplog.COLLECT_DAILY, DAILY_PARTITIONS, SETTINGS.source)
UPDATE_ROLLING_FAILED = failure_hook(oplog.UPDATE_ROLLING, DAILY_PARTITIONS, SETTINGS.source)
COLLECT_WEEKLY_FAILED = failure_hook(oplog.COLLECT_WEEKLY, WEEKLY_PARTITIONS, SETTINGS.source)
COLLECT_COSTS_FAILED = failure_hook(oplog.COLLECT_COSTS, DAILY_PARTITIONS, SETTINGS.source)
COLLECT_COLD_FAILED = failure_hook(oplog.COLLECT_COLD, DAILY_PARTITIONS, SETTINGS.source)
COLLECT_LIVE_FAILED = failure_hook(oplog.COLLECT_LIVE, DAILY_PARTITIONS, SETTINGS.source)
