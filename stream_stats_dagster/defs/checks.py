"""Asset checks (seed 001): parts add up to totals, no duplicate keys, no negative values,
complete series, lists in order. Run in-step on the documents just built, one Dagster check
per (asset, rule), evaluated per partition: a step of seven days records seven evaluations
of each check, so each day's page shows its own results. A failing check fails the step
after its files are written (blocking: nothing downstream is built from it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import dagster as dg

from ..reports import checks as c
from ..reports.tables import Document

DocumentCheck = Callable[[Document], c.CheckResult]

SINGLE_DOCUMENT_CHECKS: dict[str, DocumentCheck] = {
    "no_negative_values": c.no_negative_values,
    "no_duplicate_keys": c.no_duplicate_keys,
    "series_complete": c.series_complete,
    "lists_in_order": c.lists_in_order,
    "parts_add_up": c.parts_add_up,
}
ADDS_UP = "creators_and_countries_add_up_to_total"
DAY_CHECKS = ["no_negative_values", "no_duplicate_keys", "series_complete", "lists_in_order"]
CHECKS: dict[str, list[str]] = {
    "creators": DAY_CHECKS,
    "countries": ["no_negative_values", "no_duplicate_keys", "lists_in_order"],
    "videos_with_posts": [
        "no_negative_values",
        "no_duplicate_keys",
        "lists_in_order",
        "parts_add_up",
    ],
    "summary": [*DAY_CHECKS, "parts_add_up", ADDS_UP],
}
WINDOW_CHECKS = [*DAY_CHECKS, "parts_add_up"]
for _asset in ("rolling_creators", "rolling_countries", "weekly_creators"):
    CHECKS[_asset] = WINDOW_CHECKS
for _asset in ("rolling_summary", "weekly_summary"):
    CHECKS[_asset] = [*WINDOW_CHECKS, ADDS_UP]


def check_specs(
    assets: Sequence[str], partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name,
            asset=asset,
            blocking=True,
            description=_describe(name),
            partitions_def=partitions_def,
        )
        for asset in assets
        for name in CHECKS[asset]
    ]


def _describe(name: str) -> str:
    check = SINGLE_DOCUMENT_CHECKS.get(name)
    if check is None:
        return "Creators and countries add up to the summary's totals (__null__ included)."
    return (check.__doc__ or name).strip().splitlines()[0]


def record_checks(
    context: dg.AssetExecutionContext,
    asset: str,
    docs: Mapping[str, Document],
    cross: Mapping[str, c.CheckResult] | None = None,
) -> list[str]:
    """Evaluate every check of `asset` on each partition's document and record one
    evaluation per (check, partition); return the failures as `check (day): problem`.

    `cross` holds each partition's result of the check across documents (`ADDS_UP`). An
    `AssetCheckResult` would record one evaluation for the whole run, without a partition
    (a 7-day step would show one row, on no day): hence `AssetCheckEvaluation` events.
    """
    failures = []
    for partition_key, doc in sorted(docs.items()):
        for name in CHECKS[asset]:
            if name == ADDS_UP and cross:
                result = cross[partition_key]
            else:
                result = SINGLE_DOCUMENT_CHECKS[name](doc)
            context.log_event(
                dg.AssetCheckEvaluation(
                    asset_key=dg.AssetKey(asset),
                    check_name=name,
                    passed=result.passed,
                    partition=partition_key,
                    description=result.description,
                    metadata={k: _metadata_value(v) for k, v in result.metadata.items()},
                    severity=dg.AssetCheckSeverity.ERROR,
                    blocking=True,
                )
            )
            if not result.passed:
                failures.append(f"{asset} {name} ({partition_key}): {result.description}")
    return failures


def _metadata_value(value: object) -> object:
    return dg.MetadataValue.json(value) if isinstance(value, list | dict) else value


def fail_on_checks(failures: Sequence[str]) -> None:
    """Fail the step in one line if any check failed (after its files were written)."""
    if failures:
        more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
        raise dg.Failure(description=f"check failed: {failures[0]}{more}", allow_retries=False)
