"""Asset checks (seed 001): parts add up to totals, no duplicate keys, no negative values,
complete series, lists in order. Run in-step on the documents just built, before anything
is written: one Dagster check per (asset, rule), evaluated per partition (a step of seven
days records seven evaluations of each check), and a day whose checks fail is not published
(`publishing.check_then_publish`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
ONE_KEY_PER_CREATOR = "one_key_per_creator"
# Checks across documents or beyond one document: evaluated by the step that has their inputs
CROSS_CHECKS = {
    ADDS_UP: "Creators and countries add up to the summary's totals (__null__ included).",
    ONE_KEY_PER_CREATOR: " ".join((c.one_key_per_creator.__doc__ or "").split()),
}
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
    # the day's videos of every creator, from the complete per-uid minutes, and their posts
    "creator_days": [
        "no_negative_values",
        "no_duplicate_keys",
        "lists_in_order",
        "parts_add_up",
        ONE_KEY_PER_CREATOR,
    ],
    "creator_weeks": [ONE_KEY_PER_CREATOR],
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
        return CROSS_CHECKS[name]
    # the whole docstring (its first line alone stops mid-sentence), on one line
    return " ".join((check.__doc__ or name).split())


def evaluate(
    asset: str, doc: Document, cross: c.CheckResult | None = None
) -> dict[str, c.CheckResult]:
    """Every check of `asset` on one partition's document; `cross` is that partition's result
    of the asset's check across documents (`CROSS_CHECKS`)."""
    results = {}
    for name in CHECKS[asset]:
        if name in CROSS_CHECKS:
            if cross is None:
                continue  # its other documents were not built (a subset step)
            results[name] = cross
        else:
            results[name] = SINGLE_DOCUMENT_CHECKS[name](doc)
    return results
