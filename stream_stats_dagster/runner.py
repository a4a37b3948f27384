"""What the CLI runs: which partitions `collect`, `rebuild` and `costs` materialize, in
which runs (days a run, lead days first, the complete weeks), each run executed in-process
through the Dagster instance in `DAGSTER_HOME` (`execution`), so that it appears in the
UI's run history; progress and the first failure are said in one line.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from .config import Settings
from .dates import days_between, monday_of
from .defs.costs import COSTS_JOB
from .defs.jobs import DAILY_JOB, REBUILD_DAILY_JOB, WEEKLY_JOB
from .execution import RunExecutor, RunOutcome
from .files import ASSET_FILES, RAW_ASSETS
from .partitions import MAX_DAYS_PER_RUN
from .progress import terminal
from .storage.base import StorageError

WEEKS_PER_RUN = 4


def tune_cli_process() -> None:
    """Freeze the heap of a CLI process that imported Dagster and built its definitions.

    Those ~175k objects live until the process ends. Frozen, the collector stops walking
    them on every full pass, and the interpreter's exit stops collecting them: that exit
    took 0.4-0.9 s of every CLI process before (measured, see the README's benchmark)."""
    gc.freeze()


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


class Runner:
    """Plans the runs of a CLI command and runs them one after the other; stops at the
    first run that fails (except for the days an invalid stored file spares)."""

    def __init__(
        self,
        defs: dg.Definitions,
        settings: Settings,
        instance: dg.DagsterInstance,
        *,
        echo: Callable[[str], None] = terminal.say,
        verbose: bool = False,
        accept_shrink: bool = False,
    ):
        self.settings, self.echo = settings, echo
        # `collect --accept-shrink`: the raw step may replace stored days by smaller ones
        self.raw_config = (
            {"raw_extract": {"config": {"accept_shrink": True}}} if accept_shrink else None
        )
        self.report = Report()
        # Outside a run the resource's `EnvVar` fields (R2 keys) are unresolved: resolve a copy
        # the way Dagster does at run start, or boto3 would sign with an `EnvVar` object.
        storage = defs.resources["storage"].process_config_and_initialize()  # type: ignore[union-attr]
        self.store = storage.get_store()
        self.executor = RunExecutor(defs, settings, instance, storage, echo=echo, verbose=verbose)

    def run(
        self, job_name: str, keys: Sequence[str], label: str, assets: Sequence[str] | None = None
    ) -> RunOutcome:
        """One run of `job_name` over `keys` (a day or week, or a range of them), reported."""
        ops = self.raw_config if job_name == DAILY_JOB else None
        outcome = self.executor.run(job_name, keys, label, assets, ops)
        self.report.outcomes.append(outcome)
        return outcome

    def _failed(self, label: str, err: Exception | str) -> Report:
        """Record a failure outside any run and stop: the command's one error line says it."""
        self.report.outcomes.append(RunOutcome(label, False, 0.0, "", str(err)))
        return self.report

    def _present(self, day: dt.date, assets: Sequence[str]) -> bool:
        bucket = self.settings.private_bucket  # the raw facts
        return all(
            self.store.head(bucket, ASSET_FILES[a].key(day.isoformat())) is not None for a in assets
        )

    def _days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """first..last clipped to the partitions (days before the start date don't exist)."""
        if last < self.settings.start_date:
            return []
        return days_between(max(first, self.settings.start_date), last)

    def collect(self, first: dt.date, last: dt.date) -> Report:
        """Raw + daily + rolling for first..last, and weekly for its complete weeks. The
        first run's raw step also fetches whatever the six days before `first` lack (the
        7-day trends and windows read them): lead days are the assets' business."""
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
        """The cost reports of first..last (`stream_costs_job`, after `collect`); the first
        run's `raw_uid_minutes` also fetches the 30-day window's days that are not stored."""
        for chunk in chunks(self._days(first, last)):
            if not self.run(COSTS_JOB, _keys(chunk), f"costs {_span(chunk)}").success:
                return self.report
        return self.report

    def _run_days(self, job_name: str, days: Sequence[dt.date], label: str) -> set[str] | None:
        """Run `days` in chunks; returns the days that failed, or None if a run failed as a
        whole (nothing more should run then). A run whose report steps failed some days
        published the others (see `defs/publishing.py`): later chunks still run."""
        failed: set[str] = set()
        for chunk in chunks(days):
            outcome = self.run(job_name, _keys(chunk), label.format(_span(chunk)))
            if outcome.success:
                continue
            if outcome.failed_days is None:
                return None
            failed |= set(outcome.failed_days)
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
