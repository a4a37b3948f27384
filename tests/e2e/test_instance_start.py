"""The instance starts safely: two `collect`s started at the same moment on a new
DAGSTER_HOME, held at a barrier right before the instance is created so that they really
race, both succeed and leave a home that opens again, on sqlite and on PostgreSQL. A home
that is broken all the same is named in one line with the way out."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream_stats_dagster import cli
from tests.support.pipeline import pipeline_env
from tests.support.postgres import (
    PostgresUnavailable,
    postgres_cluster,
    write_postgres_dagster_home,
)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def racing_collects(tmp_path: Path, days: list[str]) -> list[subprocess.CompletedProcess]:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "STREAM_STATS_TEST_BARRIER": f"{barrier}:{len(days)}"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.faulty_cli", "collect", "--date", day],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day in days
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert len(list(barrier.iterdir())) == len(days)  # both reached the barrier
    return done


def assert_both_work_and_the_home_opens_again(done: list[subprocess.CompletedProcess]) -> None:
    for proc in done:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
    assert cli.main(["collect", "--date", "2025-03-03"]) == 0


def test_two_first_starts_on_sqlite(monkeypatch, tmp_path, sim):
    pipeline_env(monkeypatch, tmp_path, sim[1], STREAM_STATS_AUTOMATION="stopped")
    assert_both_work_and_the_home_opens_again(
        racing_collects(tmp_path, ["2025-03-01", "2025-03-02"])
    )


def test_two_first_starts_on_postgres(monkeypatch, tmp_path, sim):
    try:
        with postgres_cluster() as cluster:
            env = pipeline_env(monkeypatch, tmp_path, sim[1], STREAM_STATS_AUTOMATION="stopped")
            for name, value in cluster.env().items():
                monkeypatch.setenv(name, value)
            write_postgres_dagster_home(Path(env["DAGSTER_HOME"]))
            assert_both_work_and_the_home_opens_again(
                racing_collects(tmp_path, ["2025-03-01", "2025-03-02"])
            )
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def test_a_broken_home_is_named_in_one_line(monkeypatch, tmp_path, sim, capsys):
    env = pipeline_env(monkeypatch, tmp_path, sim[1], STREAM_STATS_AUTOMATION="stopped")
    assert cli.main(["collect", "--date", "2025-03-01"]) == 0
    home = Path(env["DAGSTER_HOME"])
    with sqlite3.connect(home / "history" / "runs.db") as db:  # what a lost race left
        db.execute("INSERT INTO alembic_version VALUES ('0000000000ab')")
    capsys.readouterr()
    assert cli.main(["collect", "--date", "2025-03-02"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"the Dagster instance in {home} cannot be opened" in line, line
    assert f"move {home}/history" in line and "run history starts fresh" in line, line


def test_postgres_going_down_mid_run_is_one_line(monkeypatch, tmp_path):
    """The instance's database stops while a run executes: the process ends with one line
    naming the database, not a traceback."""
    from tests.support.pipeline import simulator_server

    try:
        with postgres_cluster() as cluster, simulator_server(latency_seconds=1.0) as (sim, url):
            env = pipeline_env(monkeypatch, tmp_path, url, STREAM_STATS_AUTOMATION="stopped")
            for name, value in cluster.env().items():
                monkeypatch.setenv(name, value)
            write_postgres_dagster_home(Path(env["DAGSTER_HOME"]))
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "stream_stats_dagster.cli",
                    "collect",
                    "--date",
                    "2025-03-02",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 120
            while sim.stats.graphql_requests == 0 and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            cluster.stop()
            out, err = proc.communicate(timeout=300)
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, out + err
    assert "Traceback" not in out + err
    assert "the Dagster instance's database" in lines[0], lines
