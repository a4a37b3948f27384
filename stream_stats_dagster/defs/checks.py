"""Asset checks (seed 001): parts add up to totals, no duplicate keys, no negative values,
complete series, lists in order. Run in-step on the documents just built, one Dagster check
per (asset, rule); a failing check is blocking, so nothing downstream is built from a
document that fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

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


def check_specs(assets: Sequence[str]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset, blocking=True, description=_describe(name))
        for asset in assets
        for name in CHECKS[asset]
    ]


def _describe(name: str) -> str:
    check = SINGLE_DOCUMENT_CHECKS.get(name)
    if check is None:
        return "Creators and countries add up to the summary's totals (__null__ included)."
    return (check.__doc__ or name).strip().splitlines()[0]


def check_results(
    asset: str,
    docs: Mapping[str, Document],
    cross: Mapping[str, c.CheckResult] | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """One result per check of `asset` for the run (one day or a range): it passes if every
    partition passes; metadata names the failing partitions and the first problems.
    `cross` holds each partition's result of the check across documents (`ADDS_UP`)."""
    per_partition = {
        pk: {
            name: cross[pk] if name == ADDS_UP and cross else SINGLE_DOCUMENT_CHECKS[name](doc)
            for name in CHECKS[asset]
        }
        for pk, doc in docs.items()
    }
    for name in CHECKS[asset]:
        failed = {pk: r[name] for pk, r in sorted(per_partition.items()) if not r[name].passed}
        first = next(iter(failed.values()), None)
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=name,
            passed=not failed,
            description=first.description if first else f"{name}: ok",
            metadata={
                "partitions checked": len(per_partition),
                "failed partitions": ", ".join(failed) or "none",
                **({"details": dg.MetadataValue.json(first.metadata)} if first else {}),
            },
        )
