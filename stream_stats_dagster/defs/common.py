"""Small pieces every asset module uses: partition days, failures, metadata previews."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence

import dagster as dg
from pydantic import BaseModel

from ..cloudflare.errors import CloudflareError
from ..dates import BadDateError
from ..reports.windows import MissingDaysError
from ..storage.base import StorageError
from .checks import document_checks, results


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The run's days (one, or a backfill range of up to 31)."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]


def by_date(docs: Mapping[str, object]) -> dict[dt.date, object]:
    return {dt.date.fromisoformat(k): v for k, v in docs.items()}


@contextlib.contextmanager
def clear_failures() -> Iterator[None]:
    """Turn the errors we understand into a one-line `Failure`.

    Non-transient errors (bad data, missing days, auth, unknown fields, storage refusals)
    are not retried by Dagster either; transient Cloudflare errors that exhausted the
    client's own retries may be retried once more by the step's RetryPolicy.
    """
    try:
        yield
    except CloudflareError as exc:
        raise dg.Failure(description=str(exc), allow_retries=exc.transient) from None
    except (MissingDaysError, StorageError, BadDateError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def build_days(
    context: dg.AssetExecutionContext, build: Callable[[dt.date], object]
) -> dict[str, object]:
    """One document per partition day of the run, failures as one line."""
    with clear_failures():
        return {day.isoformat(): build(day) for day in partition_days(context)}


def emit(
    asset: str,
    docs: Mapping[str, object],
    metadata: Mapping[str, object],
    checks: Sequence[str],
    extra_checks: Mapping[str, Mapping[str, object]] | None = None,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The asset's output (written by the IO manager), then its in-step check results."""
    yield dg.Output(docs, metadata=dict(metadata))
    per_doc = document_checks(docs, checks)
    for key, more in (extra_checks or {}).items():
        per_doc[key] = {**per_doc[key], **more}
    yield from results(asset, per_doc)


PREVIEW_ROWS = 10


def preview(entries: Sequence[BaseModel], columns: Sequence[str] | None = None) -> dg.MetadataValue:
    """A markdown table of the first rows for the Dagster UI (only those rows are dumped:
    a full creators list is 10,000+ rows). Columns default to the first row's fields."""
    rows = [e.model_dump() for e in entries[:PREVIEW_ROWS]]
    columns = list(columns or (rows[0] if rows else ["-"]))
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |\n" for row in rows)
    return dg.MetadataValue.md(head + body)


def require(docs: Mapping[str, object], partition_key: str, asset: str):
    """The input document of one partition, or a one-line failure naming what is missing."""
    try:
        return docs[partition_key]
    except KeyError:
        raise dg.Failure(
            description=f"missing upstream {asset} for {partition_key}: materialize it first "
            f"(stream-stats collect --date {partition_key})",
            allow_retries=False,
        ) from None
