"""Backfills the way an operator launches them in the UI, over Dagster's GraphQL API.

The UI (ui-core `LaunchAssetChoosePartitionsDialog.onLaunchAsBackfill`, for an asset job)
posts `launchPartitionBackfill` with the job's partition set (`<job>_partition_set`), the
job's asset keys and the chosen partition keys. `DagsterGraphQLClient` has no method for
backfills, so the mutation goes through `DagsterServices.graphql`. Used by the UI end-to-end
test and by the benchmark's `backfill-N-ui` case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.dagster_services import DagsterServices

JOB_ASSETS_QUERY = """
query JobAssets($selector: PipelineSelector!, $repositorySelector: RepositorySelector!,
                $jobName: String!) {
  assetNodes(pipeline: $selector) { assetKey { path } }
  partitionSetsOrError(repositorySelector: $repositorySelector, pipelineName: $jobName) {
    __typename
    ... on PartitionSets { results { name pipelineName } }
    ... on PythonError { message }
  }
}
"""

# As in ui-core/src/instance/backfill/BackfillUtils.tsx (LAUNCH_PARTITION_BACKFILL_MUTATION).
LAUNCH_PARTITION_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on ConflictingExecutionParamsError { message }
    ... on PresetNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
  }
}
"""

# The backfill, its runs and their times (the e2e test checks the runs, the bench the times).
BACKFILL_STATUS = """
query BackfillStatus($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      id
      status
      isAssetBackfill
      numPartitions
      partitionSetName
      timestamp
      endTimestamp
      error { message stack }
      runs(limit: 1000) {
        runId
        status
        jobName
        creationTime
        startTime
        endTime
        tags { key value }
        assetSelection { path }
      }
    }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message stack }
  }
}
"""

DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def launch_job_backfill(
    services: DagsterServices, job_name: str, partition_names: list[str]
) -> str:
    """What the UI sends from the job's page: Materialize all → partitions → Launch backfill."""
    client = services.client()
    [job] = client._get_repo_locations_and_names_with_pipeline(job_name)
    repository_selector = {
        "repositoryLocationName": job.repository_location_name,
        "repositoryName": job.repository_name,
    }
    found = services.graphql(
        JOB_ASSETS_QUERY,
        {
            "selector": {**repository_selector, "pipelineName": job_name},
            "repositorySelector": repository_selector,
            "jobName": job_name,
        },
    )
    partition_sets = found["partitionSetsOrError"]
    assert partition_sets["__typename"] == "PartitionSets", partition_sets
    partition_set_name = f"{job_name}_partition_set"
    assert partition_set_name in {p["name"] for p in partition_sets["results"]}
    asset_keys = [{"path": node["assetKey"]["path"]} for node in found["assetNodes"]]
    result = services.graphql(
        LAUNCH_PARTITION_BACKFILL,
        {
            "backfillParams": {
                "selector": {
                    "partitionSetName": partition_set_name,
                    "repositorySelector": repository_selector,
                },
                "assetSelection": asset_keys,
                "partitionNames": partition_names,
                "fromFailure": False,
                "tags": [{"key": "dagster/from_ui", "value": "true"}],
            }
        },
    )["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def wait_for_backfill(services: DagsterServices, backfill_id: str, timeout: float) -> dict:
    def finished():
        backfill = services.graphql(BACKFILL_STATUS, {"backfillId": backfill_id})
        backfill = backfill["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        return backfill if backfill["status"] in DONE else None

    return services.wait_until(f"backfill {backfill_id}", finished, timeout, interval=1.0)


def launch_asset_backfill(
    services: DagsterServices, asset_keys: list[str], partition_names: list[str]
) -> str:
    """What the UI sends from the asset graph: select assets → Materialize… → partitions →
    Launch backfill (an asset backfill: asset keys and partitions, no partition set)."""
    result = services.graphql(
        LAUNCH_PARTITION_BACKFILL,
        {
            "backfillParams": {
                "assetSelection": [{"path": [key]} for key in asset_keys],
                "partitionNames": partition_names,
                "fromFailure": False,
                "tags": [{"key": "dagster/from_ui", "value": "true"}],
            }
        },
    )["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


# What an asset's check pages read: each check's status per partition (the Partitions tab).
CHECK_STATUSES = """
query CheckStatuses($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      assetChecksOrError {
        __typename
        ... on AssetChecks {
          checks {
            name
            partitionStatuses {
              __typename
              ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
            }
          }
        }
      }
    }
  }
}
"""


def check_statuses(
    services: DagsterServices, asset: str, days: list[str]
) -> dict[str, dict[str, str]]:
    """`{check: {day: status}}` of `asset`'s checks over `days`, as the webserver reports them
    (SUCCEEDED, FAILED, ...; "MISSING" for a day outside every range)."""
    node = services.graphql(CHECK_STATUSES, {"assetKey": {"path": [asset]}})["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", node
    checks = node["assetChecksOrError"]["checks"]
    out: dict[str, dict[str, str]] = {}
    for check in checks:
        statuses = dict.fromkeys(days, "MISSING")
        for r in (check["partitionStatuses"] or {}).get("ranges", []):
            for day in days:
                if r["startKey"] <= day <= r["endKey"]:
                    statuses[day] = r["status"]
        out[check["name"]] = statuses
    return out
