"""Small pieces every asset module uses: partition days, failures, inputs, metadata."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence

import dagster as dg
import pandas as pd

from ..cloudflare.errors import CloudflareError
from ..dates import BadDateError, lead_days
from ..documents import BadStoredFile, Loaded, read_documents
from ..facts import RawExtract
from ..files import ASSET_FILES
from ..progress import announce_wait, one_line
from ..reports.daily import MissingMetadataError
from ..reports.rules import MissingDaysError
from ..storage.base import StorageError
from .storage_resource import StorageResource

PREVIEW_ROWS = 10
OWNERS = ["team:stream-stats"]
RAW_KINDS = {"cloudflare", "pandas", "json"}
REPORT_KINDS = {"pandas", "json"}


def with_conventions(assets: Sequence) -> list:
    """Every asset with an owner, its kinds (pandas and json unless it says more) and a link
    to its source in the UI."""
    owned = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(
            owners=spec.owners or OWNERS, kinds=spec.kinds or REPORT_KINDS
        ),
        assets,
    )
    return dg.with_source_code_references(owned)


def step_outs(
    group: str, descriptions: Mapping[str, str], kinds: set[str] = REPORT_KINDS, **more: object
) -> dict[str, dg.AssetOut]:
    """The outputs of a multi-asset step, one per asset, each optional (a step may be subset
    to some of its files, e.g. `dg launch --assets creators`)."""
    return {
        name: dg.AssetOut(
            is_required=False,
            group_name=group,
            description=description,
            kinds=kinds,
            owners=OWNERS,
            **more,  # type: ignore[arg-type]
        )
        for name, description in descriptions.items()
    }


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The run's days (one, or a backfill range of up to 7)."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]


def selected(context: dg.AssetExecutionContext) -> set[str]:
    """The asset names this step materializes (a multi-asset may be subset)."""
    return {key.path[-1] for key in context.selected_asset_keys}


def frames(extracts: Mapping[str, RawExtract]) -> dict[dt.date, pd.DataFrame]:
    """`{day: rows}` of the raw extracts an input loaded (only the days that exist)."""
    return {dt.date.fromisoformat(k): e.rows for k, e in extracts.items()}


class RawInputs:
    """A report step's raw extracts: each raw asset's rows by day (the run's days, loaded as
    inputs, and for 7-day reports the six days before them, read from storage), and the
    stored files among them that are not valid.

    `reads` of a step says which raw days each of its days reads, so that a missing day is
    named before any work and an unreadable file fails only the days that read it.
    """

    def __init__(
        self,
        storage: StorageResource,
        loaded: Mapping[str, Loaded],
        days: Sequence[dt.date],
        start_date: dt.date,
        *,
        lead: bool = True,
    ):
        self.start_date = start_date
        self.rows: dict[str, dict[dt.date, pd.DataFrame]] = {}
        self.unreadable: dict[tuple[str, dt.date], BadStoredFile] = {}
        wanted = [d.isoformat() for d in lead_days(min(days))] if lead else []
        store, bucket = storage.get_store(), storage.private
        for asset, extracts in loaded.items():
            missing = [k for k in wanted if k not in extracts and k not in extracts.unreadable]
            stored = (
                read_documents(store, bucket, ASSET_FILES[asset], missing, tolerant=True)
                if missing
                else Loaded()
            )
            self.rows[asset] = frames({**stored, **extracts})  # type: ignore[dict-item]
            for k, bad in {**stored.unreadable, **extracts.unreadable}.items():
                self.unreadable[asset, dt.date.fromisoformat(k)] = bad

    def absent(self, reads: Mapping[str, Sequence[dt.date]]) -> list[tuple[str, dt.date]]:
        """The (asset, day) among `reads` (on/after the start date) that are not stored."""
        return sorted(
            (asset, d)
            for asset, ds in reads.items()
            for d in ds
            if d >= self.start_date
            and d not in self.rows[asset]
            and (asset, d) not in self.unreadable
        )

    def unreadable_among(self, reads: Mapping[str, Sequence[dt.date]]) -> BadStoredFile | None:
        """The first stored file among `reads` that is not valid, if any."""
        for asset, ds in reads.items():
            for d in ds:
                if (asset, d) in self.unreadable:
                    return self.unreadable[asset, d]
        return None


def require_stored(
    inputs: RawInputs, reads_of: Mapping[str, Mapping[str, Sequence[dt.date]]]
) -> None:
    """Fail before any work, in one line, when a raw day some partition reads is not stored
    (an asset backfill of report days whose raw extracts were never collected)."""
    absent = sorted({pair for reads in reads_of.values() for pair in inputs.absent(reads)})
    if not absent:
        return
    days = sorted({d for _, d in absent})
    listed = ", ".join(d.isoformat() for d in days[:5])
    more = f" and {len(days) - 5} more" if len(days) > 5 else ""
    raise dg.Failure(
        description=f"raw extracts not stored for {listed}{more}: select the raw group too, "
        f"or launch daily_stats_job (stream-stats collect --from {days[0]} --to {days[-1]})",
        metadata={MISSING_RAW_DAYS: dg.MetadataValue.json([d.isoformat() for d in days])},
        allow_retries=False,
    )


MISSING_RAW_DAYS = "missing_raw_days"


@contextlib.contextmanager
def clear_failures(
    context: dg.AssetExecutionContext | None = None, retry: dg.RetryPolicy | None = None
) -> Iterator[None]:
    """Turn the errors we understand into a one-line `Failure`.

    Non-transient errors (bad data, missing days, auth, unknown fields, storage refusals)
    are not retried by Dagster either; transient Cloudflare errors that exhausted the
    client's own retries may be retried once more by the step's RetryPolicy (`retry`), and
    that wait is said in one line first.
    """
    try:
        yield
    except CloudflareError as exc:
        if exc.transient and context is not None and retry is not None:
            say_step_retry(context, retry, str(exc))
        raise dg.Failure(description=str(exc), allow_retries=exc.transient) from None
    except (MissingDaysError, MissingMetadataError, StorageError, BadDateError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def say_step_retry(context: dg.AssetExecutionContext, retry: dg.RetryPolicy, why: str) -> None:
    """One wait line before Dagster retries the step (if it will), in the CLI and the log."""
    if context.retry_number >= retry.max_retries:
        return
    line = announce_wait(
        f"step {context.op_def.name}",
        retry.delay or 0,
        f"Dagster retries it (attempt {context.retry_number + 2} of {retry.max_retries + 1}) "
        f"after: {one_line(why)}",
    )
    context.log.warning(f"waiting: {line}")


def preview(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> dg.MetadataValue:
    """A markdown table of the first rows for the Dagster UI (a creators list is 10^4 rows)."""
    head = frame.head(PREVIEW_ROWS)
    columns = list(columns or [c for c in head.columns if not c.startswith("_")])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(str(v) for v in row) + " |"
        for row in head[columns].itertuples(index=False)
    ]
    return dg.MetadataValue.md("\n".join(lines) + "\n")


def add_day_metadata(
    context: dg.AssetExecutionContext, asset: str, per_day: Mapping[str, Mapping[str, object]]
) -> None:
    """Each partition's own numbers on its own page (not the run's last day on all of them)."""
    for partition_key, metadata in per_day.items():
        context.add_asset_metadata(dict(metadata), asset_key=asset, partition_key=partition_key)


def merged_reads(
    parts: Iterable[Mapping[str, Sequence[dt.date]]],
) -> dict[str, list[dt.date]]:
    """The union of several files' reads, per raw asset."""
    merged: dict[str, set[dt.date]] = {}
    for reads in parts:
        for asset, days in reads.items():
            merged.setdefault(asset, set()).update(days)
    return {asset: sorted(days) for asset, days in merged.items()}


def refused_days(context: dg.AssetExecutionContext) -> set[str]:
    """The days whose re-collected facts the run's raw step refused (it kept the stored
    ones, see `raw/assets.py`): the reports of those days stay as they are."""
    events = context.instance.all_logs(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    refused = set()
    for entry in events:
        evaluation = entry.dagster_event.event_specific_data  # type: ignore[union-attr]
        if evaluation.check_name == NEVER_SHRINK and not evaluation.passed:
            refused.add(evaluation.partition)
    return refused


NEVER_SHRINK = "facts_never_shrink"
"""The raw step's check that a re-collect never makes a stored day less certain."""
