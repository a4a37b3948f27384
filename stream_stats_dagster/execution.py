"""One CLI run: executed through `dg.execute_job` in a worker thread, recorded in the
instance, supervised from the main thread, and its outcome said in one line.

The main thread stays free for what a run cannot do from inside: take SIGINT and SIGTERM
(the run is canceled at once), say what a pool wait waits for, and fail runs whose process
died while holding the slot it waits for (`liveness`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from . import liveness
from .config import Settings
from .defs.publishing import failed_partitions
from .defs.storage_resource import StorageResource
from .progress import terminal

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
POLL_SECONDS = 0.25  # how often the main thread looks at signals
POOL_CHECK_SECONDS = 3.0  # how often it asks the instance about pool waits (sqlite queries
# compete with the run for the CPU; a wait is still said well within 10 s)
REAP_WHILE_WAITING_SECONDS = 5.0  # how often a pool wait looks for dead slot holders
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
LAUNCH_TAG = "stream_stats/launch"  # finds the run `execute_job` creates for a CLI launch

# The definitions of the runs now executing, by launch (see `cli_job`).
_EXECUTING: dict[str, dg.Definitions] = {}


def cli_job(launch: str, job_name: str) -> dg.JobDefinition:
    """The job of a CLI run, built where `dg.execute_job` builds it: in this process, from
    the definitions the executor holds, while the run executes.

    `execute_job` takes a job as the way to build it (this function, by module and name)
    and, unlike `execute_in_process`, keeps no step output: a 7-day run's outputs are
    released step by step instead of living until the run ends (-40 MiB, measured)."""
    return _EXECUTING[launch].resolve_job_def(job_name)


@dataclass
class RunOutcome:
    label: str
    success: bool
    seconds: float
    run_id: str
    error: str | None = None
    # the days that failed on their own while the others published (None: the run failed
    # as a whole, or did not fail)
    failed_days: list[str] | None = None


def partition_tags(keys: Sequence[str]) -> dict[str, str]:
    """One partition, or a range of consecutive ones, the way backfill runs are tagged."""
    if len(keys) == 1:
        return {"dagster/partition": keys[0]}
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


def error_line(error: Any, default: str) -> str:
    """An error's first line without Dagster's `package.module.ClassName: ` prefix."""
    message = (error.message if error else "").strip()
    message = message.splitlines()[0] if message else default
    head, sep, rest = message.partition(": ")
    if error and sep and " " not in head and head.split(".")[-1] == error.cls_name:
        message = rest  # "stream_stats_dagster.storage.base.BucketNotFound: bucket ..."
    return message


def step_error(result: dg.JobExecutionResult) -> str:
    """The first step failure's message, one line, without Dagster's wrapping."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            while error and error.cause and "Failure" not in error.cls_name:
                error = error.cause
            return f"{event.step_key}: {error_line(error, 'step failed')}"
    return "run failed"


def failed_days(result: dg.JobExecutionResult) -> list[str] | None:
    """The days that failed on their own, when every failed step failed only some days
    (a report step publishes the days that passed), or None when a step failed as a whole."""
    days: set[str] = set()
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            data = event.step_failure_data.user_failure_data
            named = failed_partitions(data.metadata if data else None)
            if named is None:
                return None
            days.update(named)
    return sorted(days)


def refusals(result: dg.JobExecutionResult) -> list[tuple[str, str]]:
    """(day, one line) of each failed non-blocking ERROR check of a run that succeeded: a
    day the raw step refused to replace (it kept the stored facts)."""
    found = []
    for evaluation in result.get_asset_check_evaluations():
        if (
            not evaluation.passed
            and not evaluation.blocking
            and evaluation.severity == dg.AssetCheckSeverity.ERROR
        ):
            found.append((evaluation.partition or "", evaluation.description or "check failed"))
    return sorted(found)


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


def hook_error(result: dg.JobExecutionResult) -> str | None:
    """The first hook failure, one line. Hooks write the operation log (contract §6): a run whose
    steps all succeeded but whose log record could not be written (e.g. LOG_BUCKET missing)
    is a success to Dagster, but not "everything succeeded" for the CLI's exit status."""
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.HOOK_ERRORED:
            error = event.hook_errored_data.error
            while error.cause:
                error = error.cause
            return (
                f"{event.step_key}: operation log not written: {error_line(error, 'hook failed')}"
            )
    return None


class RunExecutor:
    """Executes runs of one Definitions object in-process against one instance."""

    def __init__(
        self,
        defs: dg.Definitions,
        settings: Settings,
        instance: dg.DagsterInstance,
        storage: StorageResource,
        *,
        echo: Callable[[str], None] = terminal.say,
        verbose: bool = False,
    ):
        self.defs, self.instance = defs, instance
        self.echo, self.verbose = echo, verbose
        # the operation-log records of a run that did not end by itself (reaped, interrupted)
        self._record_failure = liveness.failure_recorder(instance, storage, settings)

    def run(
        self,
        job_name: str,
        keys: Sequence[str],
        label: str,
        assets: Sequence[str] | None = None,
        ops: dict[str, Any] | None = None,
    ) -> RunOutcome:
        """One run in-process, recorded in the instance, with this process's host and pid in
        its tags. It executes in a worker thread: the main thread stays free to take SIGINT and
        SIGTERM (which end the run at once, see `_interrupted`) and to say what a pool wait
        is for."""
        self.reap()
        started = time.monotonic()
        self.echo(f"  {label} ...")
        with _executing(self.defs) as launch:
            result = self._execute(launch, job_name, keys, assets, label, started, ops)
        seconds = time.monotonic() - started
        refused = refusals(result) if result.success else []
        error = step_error(result) if not result.success else hook_error(result)
        days = failed_days(result) if not result.success else None
        if error is None and refused:
            more = f" (+{len(refused) - 1} more)" if len(refused) > 1 else ""
            error, days = f"raw_extract: {refused[0][1]}{more}", [d for d, _ in refused]
        outcome = RunOutcome(label, error is None, seconds, result.run_id, error, days)
        for line in warnings_of(result):
            self.echo(f"  warning: {line}")
        status = "ok" if outcome.success else f"FAILED ({error})"
        self.echo(f"  {label}: {status} in {seconds:.1f} s (run {result.run_id[:8]})")
        return outcome

    def _execute(
        self,
        launch: str,
        job_name: str,
        keys: Sequence[str],
        assets: Sequence[str] | None,
        label: str,
        started: float,
        ops: dict[str, Any] | None = None,
    ) -> dg.JobExecutionResult:
        job = dg.build_reconstructable_job(__name__, cli_job.__name__, (launch, job_name))
        done: dict[str, Any] = {}

        def execute() -> None:
            # Ctrl-C in a terminal reaches the whole process group. The run's own helper
            # processes (Dagster's compute-log `tail` and its watcher, started from this
            # thread) inherit this thread's signal mask: with SIGINT blocked they do not die
            # with a traceback; the main thread takes the signal and ends the run.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                done["result"] = dg.execute_job(
                    job,
                    instance=self.instance,
                    tags={**partition_tags(keys), **liveness.process_tags(), LAUNCH_TAG: launch},
                    asset_selection=[dg.AssetKey(a) for a in assets] if assets else None,
                    run_config={
                        **({} if self.verbose else QUIET_LOGS),
                        **({"ops": ops} if ops else {}),
                    },
                    raise_on_error=False,
                )
            except BaseException as exc:  # re-raised in the main thread
                done["error"] = exc

        worker = threading.Thread(target=execute, name=f"run-{launch[:8]}", daemon=True)
        with _interrupts() as received:
            worker.start()
            self._supervise(worker, launch, label, started, received)
        if "error" in done:
            raise done["error"]
        return done["result"]

    def _launched_run(self, launch: str) -> dg.DagsterRun | None:
        """The run `execute_job` created for `launch` (None until it exists)."""
        runs = self.instance.get_runs(dg.RunsFilter(tags={LAUNCH_TAG: launch}), limit=1)
        return runs[0] if runs else None

    def _supervise(
        self,
        worker: threading.Thread,
        launch: str,
        label: str,
        started: float,
        received: list[int],
    ) -> None:
        """Wait for the worker; meanwhile end the run on a signal, and say what a pool wait
        waits for (once per change of holders), reaping dead holders every few seconds."""
        said, last_reap, last_check = None, time.monotonic(), time.monotonic()
        run = None
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            if received:
                self._interrupted(run or self._launched_run(launch), label, received[0], started)
            if not worker.is_alive() or time.monotonic() - last_check < POOL_CHECK_SECONDS:
                continue
            last_check = time.monotonic()
            run = run or self._launched_run(launch)
            if run is None:
                continue
            waits = liveness.pool_waits(self.instance, run.run_id)
            if not waits:
                said = None
                continue
            line = "; ".join(w.line(self.instance) for w in waits)
            if line != said:
                self.echo(f"  waiting: {line}")
                said = line
            if time.monotonic() - last_reap >= REAP_WHILE_WAITING_SECONDS:
                self.reap()
                last_reap = time.monotonic()

    def _interrupted(
        self, run: dg.DagsterRun | None, label: str, signum: int, started: float
    ) -> None:
        """SIGINT/SIGTERM: mark the run canceled, log its failure once, free its pool slots and
        end the process now. A Dagster step cannot be stopped from outside its thread, and
        waiting for it would mean minutes (a Cloudflare wait) or a step retry; every file
        is written atomically, so each stays its complete old or new version. A signal
        before the run exists ends the process with no run to cancel."""
        name = signal.Signals(signum).name
        message = f"interrupted by {name}"
        run = run and self.instance.get_run_by_id(run.run_id)  # its status now
        try:
            if run is not None and not run.is_finished:
                self.instance.report_run_canceled(run, f"Run canceled: {message}")
            if run is not None:
                self.instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
                self._record_failure(run, message)
        finally:
            seconds = time.monotonic() - started
            which = f"run {run.run_id[:8]}" if run else "before its run was created"
            self.echo(f"  {label}: CANCELED ({message}) after {seconds:.1f} s ({which})")
            fail(f"{label}: {message}; " + (f"run {run.run_id} canceled" if run else which))
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)

    def reap(self) -> list[liveness.Reaped]:
        """Fail the runs of this instance whose process on this host is gone, and free their
        pool slots, so that no run waits for ever on a dead one."""
        reaped = liveness.reap_dead_runs(self.instance, self._record_failure)
        for r in reaped:
            logged = f"{r.records} failure record(s) written"
            if r.error:
                logged = f"failure record not written ({r.error})"
            self.echo(
                f"  run {r.run_id[:8]} was left unfinished, but {r.message}: marked failed, "
                f"{logged}, its pool slots freed"
            )
        return reaped


@contextlib.contextmanager
def _executing(defs: dg.Definitions) -> Iterator[str]:
    """A new launch id, under which `cli_job` finds `defs` while the run executes."""
    launch = str(uuid.uuid4())
    _EXECUTING[launch] = defs
    try:
        yield launch
    finally:
        del _EXECUTING[launch]


@contextlib.contextmanager
def _interrupts() -> Iterator[list[int]]:
    """SIGINT and SIGTERM, while a run executes, only note the signal (the main thread then
    ends the run); the previous handlers come back afterwards. Off the main thread signals
    cannot be caught, and nothing is installed."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {s: signal.getsignal(s) for s in INTERRUPTS}
    for s in INTERRUPTS:
        signal.signal(s, lambda signum, _frame: received.append(signum))
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def fail(message: str, code: int = 1) -> int:
    terminal.error(f"stream-stats: error: {message}")
    return code
