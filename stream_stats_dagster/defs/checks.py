"""Asset checks (seed 001): parts add up to totals, no duplicate keys, no negative values,
complete series, lists in order. Run in-step on the documents just built; a failing
check is blocking, so nothing downstream is built from a document that fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import dagster as dg
from pydantic import BaseModel

from ..reports import checks as c

DocumentCheck = Callable[[c.PreparedDoc], c.CheckResult]

SINGLE_DOCUMENT_CHECKS: dict[str, DocumentCheck] = {
    "no_negative_values": c.no_negative_values,
    "no_duplicate_keys": c.no_duplicate_keys,
    "series_complete": c.series_complete,
    "lists_in_order": c.lists_in_order,
    "parts_add_up": c.parts_add_up,
}


WINDOW_CHECKS = [
    "no_negative_values",
    "no_duplicate_keys",
    "series_complete",
    "lists_in_order",
    "parts_add_up",
]
WINDOW_ADDS_UP = "creators_and_countries_add_up_to_total"


def check_specs(asset: str, names: Sequence[str]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset, blocking=True, description=_describe(name))
        for name in names
    ]


def _describe(name: str) -> str:
    check = SINGLE_DOCUMENT_CHECKS.get(name)
    doc = (check.__doc__ or "") if check else ""
    return doc.strip().splitlines()[0] if doc.strip() else name.replace("_", " ")


def results(
    asset: str,
    per_partition: Mapping[str, Mapping[str, c.CheckResult]],
) -> Iterator[dg.AssetCheckResult]:
    """One result per check for the run (one day or a range): it passes if every
    partition passes; metadata names the failing partitions and the first problems."""
    names = next(iter(per_partition.values()), {}).keys()
    for name in names:
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


def document_checks(
    docs: Mapping[str, BaseModel], names: Sequence[str]
) -> dict[str, dict[str, c.CheckResult]]:
    """Run the named single-document checks on each partition's document, prepared once
    (read from the model's attributes, never dumped; the checks share its columns)."""
    out = {}
    for pk, doc in docs.items():
        data = c.prepare(doc)
        out[pk] = {name: SINGLE_DOCUMENT_CHECKS[name](data) for name in names}
    return out
