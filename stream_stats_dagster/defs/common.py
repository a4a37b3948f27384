"""Small pieces every asset module uses: partition days, failures, inputs, metadata."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

import dagster as dg
import pandas as pd

from ..cloudflare.errors import CloudflareError
from ..dates import BadDateError
from ..facts import RawExtract
from ..files import ASSET_FILES
from ..reports.daily import MissingMetadataError
from ..reports.rules import MissingDaysError
from ..storage.base import StorageError
from ..storage.io_manager import read_documents
from ..storage.resource import StorageResource

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


def with_lead_days(
    storage: StorageResource,
    asset: str,
    loaded: Mapping[str, RawExtract],
    days: Sequence[dt.date],
) -> dict[dt.date, pd.DataFrame]:
    """`{day: rows}` of a raw asset for the run's days (its input) and the six days before
    the first one, read from storage (the days that exist).

    The 7-day trends and windows read those lead days directly rather than through a 7-day
    partition mapping: with a mapping, an asset backfill of a range would also target the
    six days after it. `raw_extract` fetches any lead day that is not stored yet.
    """
    first = min(days)
    lead = [(first - dt.timedelta(days=n)).isoformat() for n in range(6, 0, -1)]
    wanted = [k for k in lead if k not in loaded]
    store, bucket = storage.get_store(), storage.stats_bucket
    stored = read_documents(store, bucket, ASSET_FILES[asset], wanted) if wanted else {}
    return frames({**stored, **loaded})  # type: ignore[dict-item]


def require(extracts: Mapping[str, RawExtract], partition_key: str, asset: str) -> pd.DataFrame:
    """The rows of one day's raw extract, or a one-line failure naming what is missing."""
    try:
        return extracts[partition_key].rows
    except KeyError:
        raise dg.Failure(
            description=f"missing upstream {asset} for {partition_key}: materialize it first "
            f"(stream-stats collect --date {partition_key})",
            allow_retries=False,
        ) from None


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
    except (MissingDaysError, MissingMetadataError, StorageError, BadDateError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


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
