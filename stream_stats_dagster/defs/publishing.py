"""Check, then publish: the one way a report step's files reach readers.

A report step (daily, rolling, weekly, costs) builds every day of its run and evaluates each
day's checks before it writes anything. Then, for the days whose every blocking check passed,
and only for them:

1. their files are written (each object is its complete old or new version);
2. what names them moves forward: `index.json`, the rolling pointers (`publish`);
3. one materialization per (asset, day) written, with that day's own metadata (its key,
   bytes, whether the file changed, its numbers), and one check evaluation per (asset,
   check, day) pointing at it, so that the UI's check pages show each day's truth;
4. one operation-log record per day (contract §6).

A check of severity WARN (`CheckResult.severity`, live_drift's drift limits by default) is
recorded as a WARN evaluation and does not stop its day: the report is the finding.

A day that fails writes nothing: the files of its last good run stay, and its failed checks
point at that run's materialization (red on that day). The other days of the run still
publish; the step then fails in one line naming the failed days (`Failure.metadata` carries
them for the CLI and the failure hook, see `FAILED_PARTITIONS`).

Why not `Output`s and blocking `AssetCheckResult`s: Dagster gates per step, not per day. A
failed blocking check skips every downstream step for the whole range, and one `Output` of a
range step records a materialization for every day of the range, written or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from .. import oplog
from ..file_sets import write_file_set
from ..files import AssetFile, CreatorFiles
from ..reports.checks import CheckResult
from ..runs import FAILED_PARTITIONS
from ..storage.base import ObjectStore, StorageError
from .check_targets import latest_materializations
from .oplog_hooks import run_duration
from .storage_resource import StorageResource


@dataclass
class DayReport:
    """One partition of a report step: its documents by asset and each one's check
    results, or the one-line reason it could not be built (a missing or unreadable input)."""

    docs: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, CheckResult]] = field(default_factory=dict)
    error: str | None = None

    @property
    def failures(self) -> list[str]:
        if self.error:
            return [self.error]
        return [
            f"{asset} {name}: {result.description}"
            for asset, results in self.checks.items()
            for name, result in results.items()
            if not result.passed and result.severity == "ERROR"
        ]


@dataclass(frozen=True)
class Publication:
    """How a step's documents become files and what its pages and records show."""

    files: Mapping[str, AssetFile | CreatorFiles]  # asset -> its file (or set of files)
    page: Callable[[str, Any], Mapping[str, object]]  # (asset, doc) -> that day's page metadata
    source: str  # the run's Cloudflare source, for the operation log
    operation: oplog.Operation | None = None
    details: Callable[[DayReport], Mapping[str, int]] | None = None  # operation-log details
    # (store, bucket, newest published partition) -> counters: moves index/pointers forward
    publish: Callable[[ObjectStore, str, str], Mapping[str, object]] | None = None


def check_then_publish(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    reports: Mapping[str, DayReport],
    how: Publication,
) -> Iterator[dg.AssetMaterialization]:
    """Write, publish and record the days of `reports` that passed; record the failures of
    the others; fail the step in one line if any day failed. A generator: each
    materialization is stored before the check evaluations that point at it are built."""
    store = storage.get_store()
    passed = sorted(k for k, r in reports.items() if not r.failures)
    failed = sorted(k for k in reports if k not in passed)

    pages: dict[tuple[str, str], dict[str, object]] = {}
    for k in passed:
        for asset, doc in reports[k].docs.items():
            spec = how.files[asset]
            bucket = storage.bucket_of(spec)
            if isinstance(spec, CreatorFiles):  # many files: written as a set
                started = time.perf_counter()
                written_set = write_file_set(
                    store, bucket, spec.manifest_key(k), doc.files, cache_control=spec.cache_control
                )
                pages[asset, k] = {
                    "manifest": spec.manifest_key(k),
                    **written_set.as_metadata(),
                    "write seconds": round(time.perf_counter() - started, 3),
                    **how.page(asset, doc),
                }
                continue
            body = spec.encode(doc)
            written = store.put(bucket, spec.key(k), body, cache_control=spec.cache_control)
            pages[asset, k] = {
                "key": spec.key(k),
                "bytes": len(body),
                "files_written": int(written.written),
                "files_unchanged": int(not written.written),
                **how.page(asset, doc),
            }
    if passed and how.publish is not None:
        newest = passed[-1]
        moved = how.publish(store, storage.stats_bucket, newest)  # what readers follow
        last_asset = list(reports[newest].docs)[-1]
        pages[last_asset, newest].update(moved)

    for (asset, k), metadata in pages.items():
        yield dg.AssetMaterialization(asset, partition=k, metadata=metadata)

    _record_checks(context, reports)
    if how.operation is not None:
        try:
            _record_operations(context, storage, reports, passed, how)
        except StorageError as exc:  # the files are published; the run did not fully succeed
            raise dg.Failure(
                description=f"operation log not written: {exc}", allow_retries=False
            ) from None
    if failed:
        first = reports[failed[0]].failures
        more = f" (+{len(first) - 1} more)" if len(first) > 1 else ""
        others = f"; {len(failed) - 1} more day(s) failed" if len(failed) > 1 else ""
        published = f"; {len(passed)} day(s) published" if passed else ""
        raise dg.Failure(
            description=f"{failed[0]} not published: {first[0]}{more}{others}{published}",
            metadata={FAILED_PARTITIONS: dg.MetadataValue.json(failed)},
            allow_retries=False,
        )


def _record_checks(context: dg.AssetExecutionContext, reports: Mapping[str, DayReport]) -> None:
    """One evaluation per (asset, check, day) that was evaluated, pointing at that day's
    latest materialization: the one just recorded, or, for a day that failed, the one whose
    files stayed."""
    by_asset: dict[str, list[str]] = {}
    for k, report in reports.items():
        for asset in report.checks:
            by_asset.setdefault(asset, []).append(k)
    for asset, keys in by_asset.items():
        targets = latest_materializations(context.instance, asset, keys)
        for k in sorted(keys):
            for name, result in reports[k].checks[asset].items():
                context.log_event(
                    dg.AssetCheckEvaluation(
                        asset_key=dg.AssetKey(asset),
                        check_name=name,
                        passed=result.passed,
                        partition=k,
                        target_materialization_data=targets.get(k),
                        description=result.description,
                        metadata={n: _metadata(v) for n, v in result.metadata.items()},
                        severity=dg.AssetCheckSeverity(result.severity),
                        blocking=result.severity == "ERROR",
                    )
                )


def _metadata(value: object) -> object:
    return dg.MetadataValue.json(value) if isinstance(value, list | dict) else value


def _record_operations(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    reports: Mapping[str, DayReport],
    passed: list[str],
    how: Publication,
) -> None:
    store, bucket = storage.get_store(), storage.log_bucket
    duration = run_duration(context.instance, context.run.run_id)
    for k, report in sorted(reports.items()):
        ok = k in passed
        failures = report.failures
        error = None
        if not ok:
            more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
            error = f"not published: {failures[0]}{more}"
        details = how.details(report) if ok and how.details else {}
        oplog.write_record(
            store,
            bucket,
            oplog.OperationRecord(
                timestamp=oplog.utc_timestamp(),
                operation=how.operation,  # type: ignore[arg-type]
                date=k,
                success=ok,
                duration=duration,
                details=oplog.OperationDetails(**details),
                error=error,
                runId=context.run.run_id,
                source=how.source,
            ),
        )
