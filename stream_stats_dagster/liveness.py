"""Runs whose process is gone, and what a run waiting for a pool slot waits for.

Dagster cannot tell that a run's process died (SIGKILL, the OOM killer, a crash) unless a
daemon with a health-checking run launcher watches it: an in-process CLI run has no daemon,
and the default launcher has no health check. Such a run stays STARTED for ever and keeps its
pool slot, so every later step of that pool waits for ever (notes/dagster.md §8).

So every run records the host and pid of the process executing it in its tags (the CLI passes
them at launch; `StorageResource.setup_for_execution` adds them to runs the daemon launches).
`reap_dead_runs` finds active runs of this instance whose process on this host is gone, marks
each failed, writes its operation-log failure record once and frees its pool slots. The CLI
calls it before every run and while a run waits for a slot; a sensor calls it for daemon runs.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

HOST_TAG = "stream_stats/host"
PID_TAG = "stream_stats/pid"
PROCESS_START_TAG = "stream_stats/process_start"  # tells a reused pid from the run's process
ACTIVE_STATUSES = [
    # A CLI run is created, with its process's tags, seconds before it starts (a 7-day run
    # first stores its planned events): killed then, it would stay NOT_STARTED for ever.
    # Runs created elsewhere carry no process tags until they execute, so none is touched.
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def process_tags() -> dict[str, str]:
    """The tags that say which process executes a run: this one."""
    pid = os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid)}
    started = _process_start(pid)
    if started:
        tags[PROCESS_START_TAG] = started
    return tags


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process `pid` of this host still runs and is the one that started at `started`
    (a pid can be reused once its process is gone). A zombie is gone: it only awaits its
    parent's `wait`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    if _is_zombie(pid):
        return False
    if started:
        current = _process_start(pid)
        if current is not None and current != started:
            return False
    return True


def run_process(run: dg.DagsterRun) -> tuple[str, int] | None:
    """(host, pid) of the process executing a run, if it recorded them."""
    host, pid = run.tags.get(HOST_TAG), run.tags.get(PID_TAG)
    if not host or not pid or not pid.isdigit():
        return None
    return host, int(pid)


def is_dead(run: dg.DagsterRun, host: str | None = None) -> bool:
    """An active run whose process ran on this host and is gone (other hosts: unknown)."""
    where = run_process(run)
    if where is None or where[0] != (host or socket.gethostname()):
        return False
    return not process_alive(where[1], run.tags.get(PROCESS_START_TAG))


def dead_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    host = socket.gethostname()
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_STATUSES))
    return [r for r in runs if is_dead(r, host)]


@dataclass(frozen=True)
class Reaped:
    run_id: str
    message: str
    records: int  # operation-log failure records written for it
    error: str | None = None  # why they could not be written (the run is failed all the same)


def reap_dead_runs(
    instance: dg.DagsterInstance,
    record_failure: Callable[[dg.DagsterRun, str], int] | None = None,
) -> list[Reaped]:
    """Fail every active run of this host whose process is gone, log its failure once
    (`record_failure(run, message)` writes the missing records and says how many) and free
    its pool slots. Also frees slots still held by runs that have already ended."""
    reaped = []
    for run in dead_runs(instance):
        host, pid = run_process(run) or ("?", 0)
        message = f"its process (pid {pid} on {host}) is gone: killed or crashed"
        records, error = 0, None
        if record_failure is not None:
            try:
                records = record_failure(run, message)
            except Exception as exc:  # e.g. LOG_BUCKET unreachable: still free the instance
                error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        instance.report_run_failed(run, f"Run failed: {message}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(Reaped(run.run_id, message, records, error))
    free_slots_of_ended_runs(instance)
    return reaped


def free_slots_of_ended_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free pool slots (and queued claims) of runs that ended or no longer exist: marking a
    run failed does not free them (Dagster 1.13), only a daemon setting does."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for run_id in storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


@dataclass(frozen=True)
class PoolWait:
    """A step of `run_id` waiting for a slot of `pool`, and who holds the slots."""

    pool: str
    step_key: str
    holders: tuple[tuple[str, str, dt.datetime | None], ...]  # (run id, step key, since)

    def line(self, instance: dg.DagsterInstance) -> str:
        held = []
        for run_id, step_key, since in self.holders:
            run = instance.get_run_by_id(run_id)
            where = run_process(run) if run else None
            who = f"run {run_id[:8]} ({step_key}"
            if where:
                who += f", pid {where[1]} on {where[0]}"
            who += ")"
            if since is not None:
                who += f" since {since.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
            held.append(who)
        holders = "; ".join(held) or "runs that have not released it yet"
        return (
            f"pool {self.pool!r}: {self.step_key} waits for a slot held by {holders}, "
            "until that run ends (Ctrl-C stops this run)"
        )


def pool_waits(instance: dg.DagsterInstance, run_id: str) -> list[PoolWait]:
    """The steps of `run_id` blocked on a pool slot, each with the runs holding that pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    keys = sorted(storage.get_concurrency_keys())
    waits = []
    for pool, info in storage.get_concurrency_infos(keys).items():
        blocked = [
            p for p in info.pending_steps if p.run_id == run_id and p.assigned_timestamp is None
        ]
        if not blocked:
            continue
        since = {
            (p.run_id, p.step_key): p.assigned_timestamp
            for p in info.pending_steps
            if p.assigned_timestamp is not None
        }
        holders = tuple(
            (s.run_id, s.step_key, since.get((s.run_id, s.step_key)))
            for s in info.claimed_slots
            if s.run_id != run_id
        )
        waits.extend(PoolWait(pool, p.step_key, holders) for p in blocked)
    return waits


def failure_recorder(instance: dg.DagsterInstance, storage, settings):
    """`record_failure` for `reap_dead_runs`: the operation-log records a dead run never wrote
    (the run-failure sensor's own function, so each failure is logged exactly once)."""
    from .defs.automation.sensors import record_failed_run
    from .partitions import daily_partitions, weekly_partitions

    parts = (daily_partitions(settings), weekly_partitions(settings))

    def record(run: dg.DagsterRun, message: str) -> int:
        return record_failed_run(instance, run, message, storage, settings, *parts)

    return record
