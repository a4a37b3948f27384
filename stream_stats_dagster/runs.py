"""What Dagster does not do for runs executed in this process, so the CLI does it here.

Without a daemon, Dagster runs a partition range as one run only under a daemon's backfill,
watches runs only from that daemon, and its in-process launcher has no health check. So
`stream-stats` (and the `dead_run_reaper` sensor, for runs the daemon launched) relies on
this module to:

- split a range into runs of at most seven days (`chunks`, `complete_weeks`);
- execute each through `dg.execute_job` in a worker thread: the main thread stays free to
  take SIGINT/SIGTERM (the run is canceled at once, its failure logged) and to say what a
  pool wait waits for;
- fail runs whose process is gone (SIGKILL, the OOM killer) and free their pool slots, which
  no one else would (`reap_dead_runs`): every run carries its process's host, pid and start
  time in its tags;
- read a run's outcome into one line, with the days that failed on their own.

It is the only module that touches the instance's event-log storage (pool slots).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import dagster as dg
import psutil

from .dates import monday_of
from .progress import terminal, without_storage_noise

MAX_DAYS_PER_RUN = 7  # a run holds its days' documents: 7 keeps a 90-day backfill's peak low
WEEKS_PER_RUN = 4
HOST_TAG, PID_TAG = "stream_stats/host", "stream_stats/pid"
PROCESS_START_TAG = "stream_stats/process_start"  # tells a reused pid from the run's process
LAUNCH_TAG = "stream_stats/launch"  # finds the run `execute_job` creates for a launch
# A report step that published some days and failed others names them in its `Failure`.
FAILED_PARTITIONS = "failed_partitions"
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
CHECK_SECONDS = 3.0  # how often a waiting run looks at pool slots and dead holders
ACTIVE = [  # NOT_STARTED too: a CLI run is created with its tags before it starts
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
RecordFailure = Callable[[dg.DagsterRun, str], int]

# --- planning ---------------------------------------------------------------------------


def chunks(days: Sequence[dt.date], size: int = MAX_DAYS_PER_RUN) -> list[list[dt.date]]:
    """Runs of consecutive days, at most `size` each."""
    out: list[list[dt.date]] = []
    for day in sorted(days):
        if out and len(out[-1]) < size and out[-1][-1] + dt.timedelta(days=1) == day:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def complete_weeks(first: dt.date, last: dt.date) -> list[dt.date]:
    """Mondays of the weeks whose seven days all lie in first..last."""
    monday = monday_of(first)
    monday += dt.timedelta(days=7) if monday < first else dt.timedelta()
    weeks = []
    while monday + dt.timedelta(days=6) <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    return weeks


def partition_tags(keys: Sequence[str]) -> dict[str, str]:
    """One partition, or a range of consecutive ones, tagged the way backfill runs are."""
    if len(keys) == 1:
        return {"dagster/partition": keys[0]}
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


# --- which process executes a run, and runs whose process is gone ------------------------


def process_tags() -> dict[str, str]:
    """The tags that say this process executes a run."""
    me = psutil.Process()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(me.pid),
        PROCESS_START_TAG: f"{me.create_time():.2f}",
    }


def is_dead(run: dg.DagsterRun) -> bool:
    """An active run whose process ran on this host and is gone (a zombie is gone; a pid
    reused by another process is gone). Runs of other hosts: unknown, so not dead."""
    host, pid = run.tags.get(HOST_TAG), run.tags.get(PID_TAG, "")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        started = run.tags.get(PROCESS_START_TAG)
        return started is not None and f"{process.create_time():.2f}" != started
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:  # someone else's process: it exists
        return False


@dataclass(frozen=True)
class Reaped:
    run_id: str
    message: str
    records: int  # operation-log failure records written for it
    error: str | None = None  # why they could not be written (the run is failed anyway)


def reap_dead_runs(instance: dg.DagsterInstance, record_failure: RecordFailure) -> list[Reaped]:
    """Fail every active run of this host whose process is gone, log its failure once
    (`record_failure(run, message)` writes the missing records and says how many) and free
    its pool slots; then free the slots of runs that ended."""
    reaped = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)):
        if not is_dead(run):
            continue
        message = f"its process (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone"
        records, error = 0, None
        try:
            records = record_failure(run, message)
        except Exception as exc:  # e.g. LOG_BUCKET unreachable: still free the instance
            error = " ".join(str(exc).split()) or type(exc).__name__
        instance.report_run_failed(run, f"Run failed: {message}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(Reaped(run.run_id, message, records, error))
    free_slots_of_ended_runs(instance)
    return reaped


def free_slots_of_ended_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free pool slots of runs that ended or no longer exist (marking a run failed does not
    free them in Dagster 1.13; only a daemon setting does)."""
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


def pool_waits(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """One line per step of `run_id` blocked on a pool slot: which runs hold it, and since."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    lines = []
    for pool, info in storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).items():
        since = {(p.run_id, p.step_key): p.assigned_timestamp for p in info.pending_steps}
        for step in info.pending_steps:
            if step.run_id != run_id or step.assigned_timestamp is not None:
                continue
            holders = [
                _holder(instance, s.run_id, s.step_key, since.get((s.run_id, s.step_key)))
                for s in info.claimed_slots
                if s.run_id != run_id
            ]
            lines.append(
                f"pool {pool!r}: {step.step_key} waits for a slot held by "
                f"{'; '.join(holders) or 'runs that have not released it yet'}, until that "
                "run ends (Ctrl-C stops this run)"
            )
    return lines


def _holder(instance: dg.DagsterInstance, run_id: str, step: str, since: Any) -> str:
    run = instance.get_run_by_id(run_id)
    where = (
        f", pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}" if run and PID_TAG in run.tags else ""
    )
    when = f" since {since.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC" if since else ""
    return f"run {run_id[:8]} ({step}{where}){when}"


# --- one run, in a worker thread -----------------------------------------------------------


@dataclass
class Outcome:
    label: str
    success: bool
    seconds: float
    run_id: str
    error: str | None = None
    failed_days: list[str] | None = None  # failed on their own; the other days published


class RunInThisProcess:
    """Executes runs of one `Definitions` in this process against one instance."""

    # The definitions of runs now executing, by launch id (`_job` rebuilds the job there).
    _defs: ClassVar[dict[str, dg.Definitions]] = {}

    def __init__(
        self,
        defs: dg.Definitions,
        instance: dg.DagsterInstance,
        record_failure: RecordFailure,
        *,
        echo: Callable[[str], None] = terminal.say,
        verbose: bool = False,
    ):
        self.defs, self.instance, self.record_failure = defs, instance, record_failure
        self.echo, self.verbose = echo, verbose

    def run(
        self,
        job_name: str,
        keys: Sequence[str],
        label: str,
        assets: Sequence[str] | None = None,
        ops: dict[str, Any] | None = None,
    ) -> Outcome:
        """One run over `keys` (a day or week, or a range), reported in one line."""
        self.reap()
        started = time.monotonic()
        self.echo(f"  {label} ...")
        launch = str(uuid.uuid4())
        RunInThisProcess._defs[launch] = self.defs
        try:
            config = {**({} if self.verbose else QUIET_LOGS), **({"ops": ops} if ops else {})}
            tags = {**partition_tags(keys), **process_tags(), LAUNCH_TAG: launch}
            selection = [dg.AssetKey(a) for a in assets] if assets else None
            with without_storage_noise() as unstored:
                result = self._execute(
                    launch, job_name, tags, selection, config, label, started, unstored
                )
        finally:
            del RunInThisProcess._defs[launch]
        outcome = read_outcome(result, label, time.monotonic() - started)
        for line in warnings_of(result):
            self.echo(f"  warning: {line}")
        if unstored.lines:
            self.echo(
                f"  warning: {len(unstored.lines)} log message(s) of the run not stored in the "
                f"Dagster instance: {unstored.lines[0]}"
            )
        status = "ok" if outcome.success else f"FAILED ({outcome.error})"
        self.echo(f"  {label}: {status} in {outcome.seconds:.1f} s (run {result.run_id[:8]})")
        return outcome

    def reap(self) -> None:
        for r in reap_dead_runs(self.instance, self.record_failure):
            logged = (
                f"failure record not written ({r.error})"
                if r.error
                else (f"{r.records} failure record(s) written")
            )
            self.echo(
                f"  run {r.run_id[:8]} was left unfinished, but {r.message}: marked failed, "
                f"{logged}, its pool slots freed"
            )

    def _execute(self, launch, job_name, tags, selection, config, label, started, unstored):
        """`execute_job` in a worker thread, supervised from this (the main) thread."""
        job = dg.build_reconstructable_job(__name__, _job.__name__, (launch, job_name))
        done: dict[str, Any] = {}

        def execute() -> None:
            # Ctrl-C in a terminal reaches the whole process group. The run's helper processes
            # (Dagster's compute-log `tail` and its watcher, started from this thread) inherit
            # its signal mask: with SIGINT blocked they do not die with a traceback, and the
            # main thread takes the signal and ends the run.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                done["result"] = dg.execute_job(
                    job,
                    instance=self.instance,
                    tags=tags,
                    asset_selection=selection,
                    run_config=config,
                    raise_on_error=False,
                )
            except BaseException as exc:  # re-raised in the main thread
                done["error"] = exc

        worker = threading.Thread(target=execute, name=f"run-{launch[:8]}", daemon=True)
        unstored.runs.append(worker)
        with _signals() as received:
            worker.start()
            said, checked, run = None, time.monotonic(), None
            while worker.is_alive():
                worker.join(0.25)
                run = run or self._launched(launch)
                if received:
                    self._interrupted(run, label, received[0], started)
                if run is None or time.monotonic() - checked < CHECK_SECONDS:
                    continue
                checked = time.monotonic()
                line = "; ".join(pool_waits(self.instance, run.run_id))
                if line and line != said:
                    self.echo(f"  waiting: {line}")
                if line:
                    self.reap()  # the holder may be a dead run
                said = line
        if "error" in done:
            raise done["error"]
        return done["result"]

    def _launched(self, launch: str) -> dg.DagsterRun | None:
        runs = self.instance.get_runs(dg.RunsFilter(tags={LAUNCH_TAG: launch}), limit=1)
        return runs[0] if runs else None

    def _interrupted(self, run, label: str, signum: int, started: float) -> None:
        """SIGINT/SIGTERM: cancel the run, log its failure once, free its slots and end the
        process now. A step cannot be stopped from outside its thread, and waiting for it
        could mean minutes; every file is written whole, so each stays its old or new one."""
        message = f"interrupted by {signal.Signals(signum).name}"
        run = run and self.instance.get_run_by_id(run.run_id)
        try:
            if run is not None:
                if not run.is_finished:
                    self.instance.report_run_canceled(run, f"Run canceled: {message}")
                self.instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
                self.record_failure(run, message)
        finally:
            which = f"run {run.run_id[:8]}" if run else "before its run was created"
            took = time.monotonic() - started
            self.echo(f"  {label}: CANCELED ({message}) after {took:.1f} s ({which})")
            what = f"run {run.run_id} canceled" if run else which
            terminal.error(f"stream-stats: error: {label}: {message}; {what}")
            sys.stdout.flush()
            os._exit(128 + signum)


def _job(launch: str, job_name: str) -> dg.JobDefinition:
    """The job of a launch, rebuilt by `execute_job` from the definitions the launcher holds:
    unlike `execute_in_process`, `execute_job` keeps no step output for the length of the run
    (a 7-day run's raw frames were freed after their step: -40 MiB, measured)."""
    return RunInThisProcess._defs[launch].resolve_job_def(job_name)


@contextlib.contextmanager
def _signals() -> Iterator[list[int]]:
    """While a run executes, SIGINT and SIGTERM only note the signal (off the main thread,
    nothing can be caught: nothing is installed)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    interrupts = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in interrupts}
    for s in interrupts:
        signal.signal(s, lambda signum, _frame: received.append(signum))
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# --- a run's outcome in one line ------------------------------------------------------------


def read_outcome(result: dg.JobExecutionResult, label: str, seconds: float) -> Outcome:
    """Success, or the first failure in one line with the days that failed on their own: a
    report step's failed days, or the days whose re-collected facts the raw step refused (a
    failed non-blocking ERROR check in a run that otherwise succeeded), or a hook that could
    not write the operation log."""
    if not result.success:
        error, days = _step_failure(result)
        return Outcome(label, False, seconds, result.run_id, error, days)
    refused = sorted(
        (e.partition or "", e.description or "check failed")
        for e in result.get_asset_check_evaluations()
        if not e.passed and not e.blocking and e.severity == dg.AssetCheckSeverity.ERROR
    )
    if refused:
        more = f" (+{len(refused) - 1} more)" if len(refused) > 1 else ""
        days = [d for d, _ in refused]
        return Outcome(
            label, False, seconds, result.run_id, f"raw_extract: {refused[0][1]}{more}", days
        )
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.HOOK_ERRORED:
            error = event.hook_errored_data.error
            while error.cause:
                error = error.cause
            line = _line(error, "hook failed")
            return Outcome(
                label,
                False,
                seconds,
                result.run_id,
                f"{event.step_key}: operation log not written: {line}",
            )
    return Outcome(label, True, seconds, result.run_id)


def _step_failure(result: dg.JobExecutionResult) -> tuple[str, list[str] | None]:
    """The first failed step's one line (first in the job's order, so that the same run
    names the same step however its parallel steps finished), and the failed days if every
    failed step failed only some days (None: a step failed as a whole, nothing more should
    run)."""
    order = {n.name: i for i, n in enumerate(result.job_def.graph.nodes_in_topological_order)}
    failures: list[tuple[int, str]] = []
    days: set[str] = set()
    whole = False
    for event in result.all_events:
        if not (event.is_step_failure and event.step_failure_data):
            continue
        error = event.step_failure_data.error
        while error and error.cause and "Failure" not in error.cls_name:
            error = error.cause
        line = f"{event.step_key}: {_line(error, 'step failed')}"
        failures.append((order.get(event.step_key or "", len(order)), line))
        data = event.step_failure_data.user_failure_data
        named = (data.metadata if data else {}).get(FAILED_PARTITIONS)
        if named is None:
            whole = True
        else:
            days.update(getattr(named, "data", named))
    if not failures:
        return "run failed", None
    first = min(failures, key=lambda f: f[0])[1]
    return first, None if whole else sorted(days)


def _line(error: Any, default: str) -> str:
    """An error's first line, without Dagster's `package.module.ClassName: ` prefix."""
    message = (error.message if error else "").strip()
    message = message.splitlines()[0] if message else default
    head, sep, rest = message.partition(": ")
    if error and sep and " " not in head and head.split(".")[-1] == error.cls_name:
        return rest
    return message


def warnings_of(result: dg.JobExecutionResult) -> list[str]:
    """The `warning` lines the run's materializations carry (a day answered empty), once each."""
    lines: list[str] = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            value = event.event_specific_data.materialization.metadata.get("warning")
            text = getattr(value, "value", value)
            if isinstance(text, str) and text not in lines:
                lines.append(text)
    return lines
