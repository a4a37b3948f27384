"""In-process runs for the CLI: plan which partitions to materialize, run them through
the Dagster instance in `DAGSTER_HOME` (so they appear in the UI's run history), and
report progress and the first failure in one line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from . import liveness
from .config import Settings
from .dates import days_between, monday_of
from .defs.costs import COSTS_JOB
from .defs.jobs import DAILY_JOB, REBUILD_DAILY_JOB, WEEKLY_JOB
from .files import ASSET_FILES, COST_FILES, RAW_ASSETS
from .partitions import MAX_DAYS_PER_RUN
from .reports.costs import WINDOW_DAYS
from .storage.base import StorageError
from .storage.io_manager import bad_file_named, readers_of

WEEKS_PER_RUN = 4
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
POLL_SECONDS = 0.25  # how often the main thread looks at signals
POOL_CHECK_SECONDS = 3.0  # how often it asks the instance about pool waits (sqlite queries
# compete with the run for the CPU; a wait is still said well within 10 s)
REAP_WHILE_WAITING_SECONDS = 5.0  # how often a pool wait looks for dead slot holders
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
REPO_DAGSTER_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"
LAUNCH_TAG = "stream_stats/launch"  # finds the run `execute_job` creates for a CLI launch

# The definitions of the runs now executing, by launch (see `cli_job`).
_EXECUTING: dict[str, dg.Definitions] = {}


def cli_job(launch: str, job_name: str) -> dg.JobDefinition:
    """The job of a CLI run, built where `dg.execute_job` builds it: in this process, from
    the definitions the Runner holds, while the run executes.

    `execute_job` takes a job as the way to build it (this function, by module and name)
    and, unlike `execute_in_process`, keeps no step output: a 7-day run's outputs are
    released step by step instead of living until the run ends (-40 MiB, measured)."""
    return _EXECUTING[launch].resolve_job_def(job_name)


def tune_cli_process() -> None:
    """Freeze the heap of a CLI process that imported Dagster and built its definitions.

    Those ~175k objects live until the process ends. Frozen, the collector stops walking
    them on every full pass, and the interpreter's exit stops collecting them: that exit
    took 0.4-0.9 s of every CLI process before (measured, see the README's benchmark)."""
    gc.freeze()


def dagster_home() -> Path:
    """`DAGSTER_HOME`, defaulting to ./.dagster_home, created with the project's dagster.yaml.

    The checkout's own instance (`<repo>/.dagster_home`, what `make` uses) follows the
    repository's dagster.yaml on every start, so edits to it take effect; any other home
    keeps the dagster.yaml it has (an operator's own)."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    ours = home == REPO_DAGSTER_YAML.parent / ".dagster_home"
    stale = ours and config.exists() and config.read_bytes() != REPO_DAGSTER_YAML.read_bytes()
    if REPO_DAGSTER_YAML.exists() and (not config.exists() or stale):
        shutil.copyfile(REPO_DAGSTER_YAML, config)
    return home


@dataclass
class RunOutcome:
    label: str
    success: bool
    seconds: float
    run_id: str
    error: str | None = None
    bad_file: tuple[str, str] | None = None  # (asset, day) of a stored file that is invalid


@dataclass
class Report:
    outcomes: list[RunOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def first_error(self) -> str | None:
        return next((f"{o.label}: {o.error}" for o in self.outcomes if not o.success), None)


def chunks(days: Sequence[dt.date], size: int = MAX_DAYS_PER_RUN) -> list[list[dt.date]]:
    """Split days into runs of consecutive days, at most `size` each."""
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
    if monday < first:
        monday += dt.timedelta(days=7)
    weeks = []
    while monday + dt.timedelta(days=6) <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    return weeks


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


def bad_stored_file(result: dg.JobExecutionResult) -> tuple[str, str] | None:
    """(asset, day) of the invalid stored file a step failed on, if that is why it failed."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            while error is not None:
                bad = bad_file_named(error.message)
                if bad:
                    return bad
                error = error.cause
    return None


def hook_error(result: dg.JobExecutionResult) -> str | None:
    """The first hook failure, one line. Hooks write the operation log (SPEC §6): a run whose
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


class Runner:
    """Runs jobs of one Definitions object in-process against one instance."""

    def __init__(
        self,
        defs: dg.Definitions,
        settings: Settings,
        instance: dg.DagsterInstance,
        *,
        echo: Callable[[str], None] = print,
        verbose: bool = False,
    ):
        self.defs, self.settings, self.instance, self.echo = defs, settings, instance, echo
        self.verbose = verbose
        self.report = Report()
        # Outside a run the resource's `EnvVar` fields (R2 keys) are unresolved: resolve a copy
        # the way Dagster does at run start, or boto3 would sign with an `EnvVar` object.
        self.storage = defs.resources["storage"].process_config_and_initialize()  # type: ignore[union-attr]
        self.store = self.storage.get_store()

    def run(
        self, job_name: str, keys: Sequence[str], label: str, assets: Sequence[str] | None = None
    ) -> RunOutcome:
        """One run in-process, recorded in the instance, with this process's host and pid in
        its tags. It executes in a worker thread: the main thread stays free to take SIGINT and
        SIGTERM (which end the run at once, see `_interrupted`) and to say what a pool wait
        is for."""
        self.reap()
        started = time.monotonic()
        self.echo(f"  {label} ...")
        with _executing(self.defs) as launch:
            result = self._execute(launch, job_name, keys, assets, label, started)
        seconds = time.monotonic() - started
        error = step_error(result) if not result.success else hook_error(result)
        bad = bad_stored_file(result) if not result.success else None
        outcome = RunOutcome(label, error is None, seconds, result.run_id, error, bad)
        self.report.outcomes.append(outcome)
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
    ) -> dg.JobExecutionResult:
        job = dg.build_reconstructable_job(__name__, cli_job.__name__, (launch, job_name))
        done: dict[str, Any] = {}

        def execute() -> None:
            try:
                done["result"] = dg.execute_job(
                    job,
                    instance=self.instance,
                    tags={**partition_tags(keys), **liveness.process_tags(), LAUNCH_TAG: launch},
                    asset_selection=[dg.AssetKey(a) for a in assets] if assets else None,
                    run_config=None if self.verbose else QUIET_LOGS,
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

    def _record_failure(self, run: dg.DagsterRun, message: str) -> int:
        return liveness.failure_recorder(self.instance, self.storage, self.settings)(run, message)

    def reap(self) -> list[liveness.Reaped]:
        """Fail the runs of this instance whose process on this host is gone, and free their
        pool slots, so that no run waits for ever on a dead one."""
        reaped = liveness.reap_dead_runs(
            self.instance, liveness.failure_recorder(self.instance, self.storage, self.settings)
        )
        for r in reaped:
            logged = f"{r.records} failure record(s) written"
            if r.error:
                logged = f"failure record not written ({r.error})"
            self.echo(
                f"  run {r.run_id[:8]} was left running, but {r.message}: marked failed, "
                f"{logged}, its pool slots freed"
            )
        return reaped

    def _failed(self, label: str, err: Exception | str) -> Report:
        """Record a failure outside any run (one line, like a step failure) and stop."""
        self.report.outcomes.append(RunOutcome(label, False, 0.0, "", str(err)))
        self.echo(f"  {label}: FAILED ({err})")
        return self.report

    def _present(self, day: dt.date, assets: Sequence[str]) -> bool:
        bucket = self.settings.stats_bucket
        return all(
            self.store.head(bucket, ASSET_FILES[a].key(day.isoformat())) is not None for a in assets
        )

    def _days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """first..last clipped to the partitions (days before the start date don't exist)."""
        if last < self.settings.start_date:
            return []
        return days_between(max(first, self.settings.start_date), last)

    def collect(self, first: dt.date, last: dt.date) -> Report:
        """Raw + daily + rolling for first..last, and weekly for its complete weeks.

        The 7-day trends and windows of `first` read the raw extracts of the six days
        before it: whatever of those is missing is fetched first.
        """
        try:
            lead = self._missing_raw(first - dt.timedelta(days=6), first - dt.timedelta(days=1))
        except StorageError as err:
            # Planning reads storage outside any Dagster step: report it like a failed run.
            return self._failed("storage", err)
        for chunk in chunks(lead):
            label = f"raw {_span(chunk)} (for 7-day windows)"
            if not self.run(DAILY_JOB, _keys(chunk), label, RAW_ASSETS).success:
                return self.report
        failed = self._run_days(DAILY_JOB, self._days(first, last), "raw+daily+rolling {}")
        if failed is not None:
            self._weekly(first, last, failed)
        return self.report

    def rebuild(self, first: dt.date, last: dt.date) -> Report:
        """Daily, rolling and weekly files of first..last from stored raw extracts only.

        Every raw day they read (first-6..last) must be stored: missing ones are named in
        one line before any run starts."""
        try:
            missing = self._missing_raw(first - dt.timedelta(days=6), last)
        except StorageError as err:
            return self._failed("storage", err)
        if missing:
            listed = ", ".join(d.isoformat() for d in missing)
            return self._failed(
                "rebuild",
                f"missing raw extracts for {listed}: collect them first "
                f"(stream-stats collect --from {missing[0]} --to {missing[-1]})",
            )
        days = self._days(first, last)
        failed = self._run_days(REBUILD_DAILY_JOB, days, "daily+rolling {} from raw")
        if failed is not None:
            self._weekly(first, last, failed)
        return self.report

    def costs(self, first: dt.date, last: dt.date) -> Report:
        """The cost reports of first..last (`stream_costs_job`, after `collect`).

        Each day's cold videos read the per-video minutes of its 30-day window: whatever of
        the 29 days before `first` is not stored yet is fetched first (days of the range
        fetch their own in their run)."""
        days = self._days(first, last)
        if not days:
            return self.report
        spec, bucket = COST_FILES["raw_uid_minutes"], self.settings.stats_bucket
        try:
            window = self._days(first - dt.timedelta(days=WINDOW_DAYS - 1), days[0])[:-1]
            lead = [d for d in window if self.store.head(bucket, spec.key(d.isoformat())) is None]
        except StorageError as err:
            return self._failed("storage", err)
        for chunk in chunks(lead):
            label = f"per-video minutes {_span(chunk)} (for 30-day windows)"
            if not self.run(COSTS_JOB, _keys(chunk), label, ["raw_uid_minutes"]).success:
                return self.report
        for chunk in chunks(days):
            if not self.run(COSTS_JOB, _keys(chunk), f"costs {_span(chunk)}").success:
                return self.report
        return self.report

    def _run_days(self, job_name: str, days: Sequence[dt.date], label: str) -> set[str] | None:
        """Run `days` in chunks; returns the days that failed, or None if a run failed for
        another reason than an invalid stored file (nothing more should run then).

        A multi-day step cannot partly succeed (Dagster #21072): when a run fails on an
        invalid stored file, the days of its chunk that do not read that file run again as
        runs of their own, and later chunks still run."""
        failed: set[str] = set()
        for chunk in chunks(days):
            outcome = self.run(job_name, _keys(chunk), label.format(_span(chunk)))
            if outcome.success:
                continue
            if outcome.bad_file is None:
                return None
            asset, day = outcome.bad_file
            readers = set(readers_of(asset, day, _keys(chunk)))
            if not readers:  # a file none of these days should read: nothing to split
                failed |= set(_keys(chunk))
                continue
            failed |= readers
            others = [d for d in chunk if d.isoformat() not in readers]
            if others:
                self.echo(
                    f"  {len(others)} day(s) of {_span(chunk)} do not read the {asset} file "
                    f"of {day}: running them on their own"
                )
                more = self._run_days(job_name, others, label)
                if more is None:
                    return None
                failed |= more
        return failed

    def _missing_raw(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Days of first..last (on/after the start date) without all their raw extracts."""
        return [d for d in self._days(first, last) if not self._present(d, RAW_ASSETS)]

    def _weekly(self, first: dt.date, last: dt.date, failed_days: set[str] = frozenset()) -> None:
        """The complete weeks of first..last, except weeks with a day that failed."""
        weeks = [
            m
            for m in complete_weeks(first, last)
            if m + dt.timedelta(days=6) >= self.settings.start_date
            and not any((m + dt.timedelta(days=i)).isoformat() in failed_days for i in range(7))
        ]
        for i in range(0, len(weeks), WEEKS_PER_RUN):
            keys = [m.isoformat() for m in weeks[i : i + WEEKS_PER_RUN]]
            if not self.run(WEEKLY_JOB, keys, f"weekly {_weeks_span(keys)}").success:
                return


def _keys(days: Sequence[dt.date]) -> list[str]:
    return [d.isoformat() for d in days]


def _span(days: Sequence[dt.date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"


def _weeks_span(keys: Sequence[str]) -> str:
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"


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
    print(f"stream-stats: error: {message}", file=sys.stderr)
    return code
