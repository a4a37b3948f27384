"""The Dagster instance on PostgreSQL (production's run storage): `stream-stats collect` in
process with a DAGSTER_HOME whose dagster.yaml is the repository's plus a Postgres storage
block, against a throwaway PostgreSQL 15 cluster. The runs, their events and the pool
slots live in Postgres, not in sqlite files under DAGSTER_HOME."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.defs.raw.assets import CLOUDFLARE_POOL
from stream_stats_dagster.files import ASSET_FILES
from tests.support.pipeline import pipeline_env, simulator_server
from tests.support.postgres import (
    PostgresCluster,
    PostgresUnavailable,
    postgres_cluster,
    write_postgres_dagster_home,
)

pytestmark = pytest.mark.e2e

DAY = "2025-03-03"
BUCKET = "points-system-bucket"


@pytest.fixture
def cluster():
    try:
        with postgres_cluster() as pg:
            yield pg
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)  # a failure, not a skip: CI installs PostgreSQL


@pytest.fixture
def env(monkeypatch, tmp_path, cluster: PostgresCluster):
    with simulator_server() as (_, base_url):
        values = pipeline_env(monkeypatch, tmp_path, base_url)
        for name, value in cluster.env().items():
            monkeypatch.setenv(name, value)
        write_postgres_dagster_home(Path(values["DAGSTER_HOME"]))
        yield values


def test_collect_records_its_runs_in_postgres(env, cluster, capsys):
    import dagster as dg
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    assert cli.main(["collect", "--date", DAY]) == 0
    out = capsys.readouterr().out
    match = re.search(r"done: (\d+) runs ok", out)
    assert match, out
    # 03-03 first needs the raw days 03-01..02 (its trends) and their daily files (its window):
    # today that is three runs; whatever the plan, every run the CLI made is in Postgres.
    reported = int(match.group(1))
    assert reported >= 1, out

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        runs = instance.get_runs()
        assert len(runs) == reported
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert {r.job_name for r in runs} == {"daily_stats_job"}
        main_run = next(r for r in runs if r.tags.get("dagster/partition") == DAY)
        materialized = instance.get_latest_materialization_event(dg.AssetKey("summary"))
        assert materialized is not None and materialized.run_id == main_run.run_id
        # the raw extract's pool, created in Postgres with dagster.yaml's default_limit 1
        assert instance.event_log_storage.get_concurrency_keys() >= {CLOUDFLARE_POOL}
        assert instance.event_log_storage.get_concurrency_info(CLOUDFLARE_POOL).slot_count == 1

    # the same runs, read from Postgres directly
    rows = cluster.query("SELECT run_id, status FROM runs")
    assert {(r.run_id, r.status.value) for r in runs} == set(rows)
    [(events,)] = cluster.query(
        "SELECT count(*) FROM event_logs WHERE run_id = %s", main_run.run_id
    )
    assert events > 10
    # nothing went to the sqlite fallback
    home = Path(env["DAGSTER_HOME"])
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))
    assert (
        Path(env["STREAM_STATS_LOCAL_DIR"]) / BUCKET / ASSET_FILES["summary"].key(DAY)
    ).is_file()
