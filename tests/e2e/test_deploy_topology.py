"""The production topology of deploy/ as processes: a throwaway PostgreSQL, `dagster code-server
start` on a loopback port, `dagster-webserver` and `dagster-daemon` on deploy/dagster.yaml with
only the run launcher swapped for the default one, the simulator over HTTP as Cloudflare and
moto as R2 (the stats bucket, the operation log and Dagster's compute logs).

One 10-day backfill of `daily_stats_job` (two runs: 7 + 3 days, one at a time) is launched
through GraphQL as the UI does. While its first run executes and its second waits in the
queue, the daemon is killed with SIGKILL, then the code server; the daemon comes back first,
finds the queued run's code server gone and keeps the run queued (deploy/dagster.yaml's
user-code retries); then the code server comes back. The backfill must complete with every
day materialized exactly once, one operation-log record per operation, date and run, and the
same files as `stream-stats collect` of the same days.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream_stats_dagster.defs.jobs import DAILY_JOB
from tests.support.backfills import launch_job_backfill, wait_for_backfill
from tests.support.deploy_files import R2_CHECKSUM_ENV
from tests.support.pipeline import pipeline_env, simulator_server
from tests.support.postgres import PostgresUnavailable, postgres_cluster
from tests.support.s3server import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    aws_free_env,
    clear_aws_env,
    moto_server,
)
from tests.support.topology import RssSampler, deploy_topology

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(600),  # a hang guard: ~2.5 min alone on 2 CPUs, ~5 min under load
    pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning"),
]

FIRST = dt.date(2025, 3, 1)  # also STREAM_STATS_START_DATE: no lead days before the range
DAYS = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(10)]
STATS, LOGS = "points-system-bucket", "logs-bucket"
COMPARED = ("stream-stats/daily/", "stream-stats/rolling/", "stream-stats/raw/")
DAILY_OPERATIONS = ("collectDailyStats", "updateRollingStats")
REQUEUED = "Run dequeue failed to reach the user code server, re-submitting the run"
BIN = Path(sys.executable).parent


def instance():
    import dagster as dg

    return dg.DagsterInstance.get()


def backfill_runs(backfill_id: str) -> list:
    import dagster as dg

    with instance() as inst:
        runs = inst.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    return sorted(runs, key=lambda r: r.tags.get("dagster/asset_partition_range_start", ""))


def engine_messages(run_id: str) -> list[str]:
    with instance() as inst:
        return [e.message or "" for e in inst.all_logs(run_id)]


def bucket_bytes(s3, bucket: str, prefixes: tuple[str, ...]) -> dict[str, bytes]:
    client = s3.client()
    out = {}
    for key in s3.objects(bucket):
        if key.startswith(prefixes):
            out[key] = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return out


def local_bytes(root: Path, bucket: str, prefixes: tuple[str, ...]) -> dict[str, bytes]:
    base = root / bucket
    out = {}
    for path in sorted(base.rglob("*.json")):
        key = path.relative_to(base).as_posix()
        if key.startswith(prefixes):
            out[key] = path.read_bytes()
    return out


class Collect:
    """`stream-stats collect` of the same days in a fresh process, its peak RSS sampled."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd = env, cwd
        self.sampler = RssSampler()
        self.process: subprocess.Popen[str] | None = None
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(BIN / "stream-stats"), "collect", "--from", DAYS[0], "--to", DAYS[-1]],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.sampler.watch(self.process.pid, "collect")
        self.sampler.start()

    def finish(self) -> tuple[float, int, str]:
        """(wall s, peak RSS MB, output) once it exited 0."""
        assert self.process is not None
        out, _ = self.process.communicate(timeout=240)
        seconds = time.monotonic() - self.started
        self.sampler.stop()
        assert self.process.returncode == 0, out
        peak = max((mb for v in self.sampler.by_role().values() for mb in v), default=0)
        return seconds, peak, out


@pytest.fixture
def cluster():
    try:
        with postgres_cluster() as pg:
            yield pg
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)  # CI installs PostgreSQL (make postgres)


def test_backfill_survives_daemon_and_code_server_kills(monkeypatch, tmp_path, cluster):
    report: dict[str, object] = {}
    with moto_server() as s3, simulator_server() as (_, base_url):
        for bucket in (STATS, LOGS):
            s3.create_bucket(bucket)
        env = pipeline_env(
            monkeypatch,
            tmp_path,
            base_url,
            R2_ENDPOINT_URL=s3.endpoint_url,
            R2_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID,
            R2_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
            STATS_BUCKET=STATS,
            LOG_BUCKET=LOGS,
            STREAM_STATS_START_DATE=DAYS[0],
            STREAM_STATS_AUTOMATION="stopped",  # only the backfill runs
        )
        # compute logs: dagster-aws's S3ComputeLogManager signs with boto3's AWS_* variables
        clear_aws_env(
            monkeypatch,
            AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
            **R2_CHECKSUM_ENV,
        )
        for name, value in cluster.env().items():
            monkeypatch.setenv(name, value)
        # the same days by `stream-stats collect`: local storage, an instance of its own
        collect_root = tmp_path / "collect-data"
        collect_env = {
            **aws_free_env(os.environ),
            "STREAM_STATS_LOCAL_DIR": str(collect_root),
            "DAGSTER_HOME": str(tmp_path / "collect-home"),
        }
        for name in list(collect_env):
            if name.startswith(("R2_", "DAGSTER_PG_")):
                collect_env.pop(name)
        collect = Collect(collect_env, tmp_path)
        with deploy_topology(dict(os.environ), Path(env["DAGSTER_HOME"])) as topology:
            # collect starts once the backfill's runs are done, while the daemon's backfill
            # loop has yet to mark the backfill complete (an idle wait of up to 30 s)
            run_ids = backfill_with_kills(topology, report, when_runs_done=collect.start)
        report["peak RSS MB by process"] = topology.rss.by_role()
        report["processes left after stopping"] = topology.timings.get("leftover_processes", 0)

        # -- one operation-log record per operation, date and successful run -------------------
        records: dict[tuple[str, str], list[dict]] = {}
        compute_logs = []
        client = s3.client()
        for key in s3.objects(LOGS):
            if key.startswith("dagster-compute-logs/"):
                compute_logs.append(key)
                continue
            body = json.loads(client.get_object(Bucket=LOGS, Key=key)["Body"].read())
            records.setdefault((body["operation"], body["date"]), []).append(body)
        assert set(records) == {(op, day) for op in DAILY_OPERATIONS for day in DAYS}, sorted(
            records
        )
        for (operation, day), found in records.items():
            assert len(found) == 1, (operation, day, found)
            assert found[0]["success"] is True and found[0]["runId"] in run_ids, found
        # the runs' step logs went to the logs bucket (S3ComputeLogManager against "R2")
        assert any(run_id in key for key in compute_logs for run_id in run_ids), compute_logs

        # -- the same files as `stream-stats collect` of the same days -------------------------
        topology_files = bucket_bytes(s3, STATS, COMPARED)
        seconds, peak_mb, out = collect.finish()
    report["collect (one process, from the runs' end) s"] = round(seconds, 1)
    report["collect peak RSS MB"] = peak_mb
    print("\nTOPOLOGY REPORT " + json.dumps(report, indent=1))

    collected = local_bytes(collect_root, STATS, COMPARED)
    assert sorted(topology_files) == sorted(collected), (
        sorted(set(topology_files) ^ set(collected)),
        out,
    )
    differing = [k for k in collected if collected[k] != topology_files[k]]
    assert not differing, differing


def backfill_with_kills(topology, report: dict[str, object], when_runs_done) -> set[str]:
    """Launch the backfill, kill the daemon and the code server mid-way, bring them back;
    calls `when_runs_done()` once both runs ended; returns the ids of the backfill's runs
    once it completed."""
    import dagster as dg

    report["services ready s"] = {k: round(v, 1) for k, v in topology.timings.items()}
    launched = time.monotonic()
    backfill_id = launch_job_backfill(topology, DAILY_JOB, DAYS)

    # -- the first run executes, the second waits in the queue: kill the daemon --------------
    def first_running_second_queued():
        statuses = [r.status.value for r in backfill_runs(backfill_id)]
        assert "SUCCESS" not in statuses, f"a run ended before the kill: {statuses}"
        return statuses == ["STARTED", "QUEUED"]

    topology.wait_until("run 1 STARTED and run 2 QUEUED", first_running_second_queued, 120, 0.2)
    first, second = backfill_runs(backfill_id)
    topology.kill_daemon()
    assert backfill_runs(backfill_id)[1].status.value == "QUEUED"  # nobody dequeues now

    # -- then the code server (its own processes, not the run it started) --------------------
    report["code server processes killed"] = len(topology.kill_code_server())

    # -- the daemon comes back first: run 2 waits for its code server -------------------------
    topology.start_daemon()
    topology.wait_until(
        "run 2 to be re-queued for want of its code server",
        lambda: any(REQUEUED in m for m in engine_messages(second.run_id)),
        180,
        1.0,
    )
    status = {r.run_id: r.status.value for r in backfill_runs(backfill_id)}
    assert status[second.run_id] == "QUEUED", status
    assert status[first.run_id] == "SUCCESS", status  # it outlived its code server

    # -- the code server comes back: the queued run runs ---------------------------------------
    topology.start_code_server()
    topology.wait_until("the code location to load again", topology.location_loaded, 120)

    def runs_ended():
        statuses = [r.status.value for r in backfill_runs(backfill_id)]
        assert "FAILURE" not in statuses and "CANCELED" not in statuses, statuses
        return statuses == ["SUCCESS", "SUCCESS"]

    topology.wait_until("both runs to end", runs_ended, 240, 0.5)
    when_runs_done()
    backfill = wait_for_backfill(topology, backfill_id, 240)
    report["backfill: launch to COMPLETED_SUCCESS s"] = round(time.monotonic() - launched, 1)
    assert backfill["status"] == "COMPLETED_SUCCESS", f"{backfill}\n{topology.logs()}"
    assert topology.daemons_healthy()

    runs = backfill_runs(backfill_id)
    records = _records(runs)
    report["backfill runs, start to end s"] = [round(r.end_time - r.start_time, 1) for r in records]
    report["backfill: first run start to last run end s"] = round(
        max(r.end_time for r in records) - min(r.start_time for r in records), 1
    )

    # -- two runs, both successful, and every day of every asset materialized once by them ---
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
    run_ids = {r.run_id for r in runs}
    with instance() as inst:
        job_assets = sorted(runs[0].asset_selection or [], key=lambda k: k.to_user_string())
        assert len(job_assets) == 15  # raw + daily + rolling
        for key in job_assets:
            result = inst.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), 1000)
            by_day: dict[str, list[str]] = {}
            for record in result.records:
                by_day.setdefault(record.partition_key, []).append(record.run_id)
            assert sorted(by_day) == DAYS, (key, sorted(by_day))
            assert all(len(v) == 1 and v[0] in run_ids for v in by_day.values()), (key, by_day)
    return run_ids


def _records(runs):
    """Run records (start and end times) of the runs."""
    with instance() as inst:
        return [inst.get_run_record_by_id(r.run_id) for r in runs]
