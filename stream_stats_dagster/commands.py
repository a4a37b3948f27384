"""What the run commands run: `collect`, `rebuild`, `--with-costs` and `live-collect` plan
their days into runs of at most seven days (then the complete weeks) and execute them one
after the other in this process (`runs`), recorded in the Dagster instance."""

from __future__ import annotations

import argparse
import datetime as dt

import dagster as dg

from .config import Settings
from .dates import days_between
from .defs.jobs import COSTS_JOB, DAILY_JOB, REBUILD_DAILY_JOB, WEEKLY_JOB
from .progress import terminal


def fail(message: str, code: int = 1) -> int:
    """The command's one error line; returns its exit status."""
    terminal.error(f"stream-stats: error: {message}")
    return code


class Commands:
    """Which runs `collect`, `rebuild` and `--with-costs` make (runs of at most 7 days, then
    the complete weeks), executed one after the other in this process (`runs`)."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        settings: Settings,
        verbose: bool,
        args: argparse.Namespace,
    ):
        import gc

        from .definitions import run_definitions
        from .defs.automation.sensors import record_failed_run
        from .defs.partitions import DAILY_PARTITIONS, WEEKLY_PARTITIONS
        from .runs import RunInThisProcess

        self.settings = settings
        defs = run_definitions()  # built under the instance: the defs folder reads its state
        # Frozen, the ~175k objects of Dagster and the definitions are no longer walked by
        # every collection, nor at exit (that exit took 0.4-0.9 s of every CLI process).
        gc.freeze()
        # Outside a run the resource's `EnvVar` fields (R2 keys) are unresolved: resolve a
        # copy the way Dagster does at run start.
        storage = defs.resources["storage"].process_config_and_initialize()  # type: ignore[union-attr]
        self.store = storage.get_store()
        parts = (DAILY_PARTITIONS, WEEKLY_PARTITIONS)  # the location's own

        def record_failure(run, message: str) -> int:
            return record_failed_run(instance, run, message, storage, settings, *parts)

        self.runs = RunInThisProcess(defs, instance, record_failure, verbose=verbose)
        # `collect --accept-shrink`: the raw step may replace stored days by smaller ones
        accept = getattr(args, "accept_shrink", False)
        shrink = {"config": {"accept_shrink": True}}
        self.raw_ops = {"raw_extract": shrink, "raw_uid_minutes": shrink} if accept else None
        self.outcomes: list = []

    def collect(self, first: dt.date, last: dt.date) -> list:
        """Raw + daily + rolling for first..last, then the complete weeks. The first run's
        raw step also fetches what the six days before `first` lack (lead days are the
        assets' business)."""
        failed = self._days(DAILY_JOB, first, last, "raw+daily+rolling {}")
        if failed is not None:
            self._weeks(first, last, failed)
        return self.outcomes

    def rebuild(self, first: dt.date, last: dt.date) -> list:
        """Daily, rolling and weekly files from the stored raw extracts only (a report step
        names the raw days that are not stored, in one line, before any work)."""
        failed = self._days(REBUILD_DAILY_JOB, first, last, "daily+rolling {} from raw")
        if failed is not None:
            self._weeks(first, last, failed)
        return self.outcomes

    def costs(self, first: dt.date, last: dt.date) -> list:
        """The cost reports (`stream_costs_job`); its first run fetches the 30-day window."""
        self.outcomes = []
        self._days(COSTS_JOB, first, last, "costs {}", stop_on_days=True)
        return self.outcomes

    def _days(
        self, job: str, first: dt.date, last: dt.date, label: str, stop_on_days: bool = False
    ) -> set[str] | None:
        """Run the days in chunks; the days that failed on their own, or None if a run failed
        as a whole (nothing more runs then). A run whose report steps failed some days
        published the others, and later chunks still run."""
        from .runs import chunks

        start = max(first, self.settings.start_date)
        failed: set[str] = set()
        for chunk in chunks(days_between(start, last) if start <= last else []):
            keys = [d.isoformat() for d in chunk]
            span = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
            ops = self.raw_ops if job == DAILY_JOB else None
            outcome = self.runs.run(job, keys, label.format(span), ops=ops)
            self.outcomes.append(outcome)
            if outcome.success:
                continue
            if outcome.failed_days is None or stop_on_days:
                return None
            failed |= set(outcome.failed_days)
        return failed

    def _weeks(self, first: dt.date, last: dt.date, failed_days: set[str]) -> None:
        """The complete weeks of first..last, but those with a day that failed."""
        from .runs import WEEKS_PER_RUN, complete_weeks

        weeks = [
            m.isoformat()
            for m in complete_weeks(first, last)
            if m + dt.timedelta(days=6) >= self.settings.start_date
            and not any((m + dt.timedelta(days=i)).isoformat() in failed_days for i in range(7))
        ]
        for i in range(0, len(weeks), WEEKS_PER_RUN):
            keys = weeks[i : i + WEEKS_PER_RUN]
            span = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
            outcome = self.runs.run(WEEKLY_JOB, keys, f"weekly {span}")
            self.outcomes.append(outcome)
            if not outcome.success:
                return
