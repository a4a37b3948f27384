"""Private data in a private bucket, on R2's S3 API (`moto_server`): with `PRIVATE_BUCKET`
set, a collect with costs leaves nothing but reports for readers in the stats bucket; and an
install that kept everything in the stats bucket moves its private files with
`migrate-private` (copy, verify, delete), finishing the move when run again after being
killed halfway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.files import ASSET_FILES, COST_FILES
from stream_stats_dagster.keys import INDEX_KEY
from stream_stats_dagster.migration import PRIVATE_PREFIXES
from tests.e2e.test_r2_collect import bucket_objects, r2_env
from tests.support.s3server import moto_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STATS, LOGS, PRIVATE = "points-system-bucket", "logs-bucket", "stream-stats-private"
DAY = "2025-03-02"


def private(key: str) -> bool:
    return key.startswith(tuple(PRIVATE_PREFIXES))


@pytest.fixture
def moto():
    with moto_server() as server:
        for bucket in (STATS, LOGS, PRIVATE):
            server.create_bucket(bucket)
        yield server


def test_a_collect_with_private_bucket_keeps_the_stats_bucket_for_readers(
    moto, monkeypatch, tmp_path, sim
):
    r2_env(
        monkeypatch,
        tmp_path,
        sim[1],
        moto.endpoint_url,
        PRIVATE_BUCKET=PRIVATE,
        STREAM_STATS_SOURCE="cloudflare",
    )
    assert cli.main(["collect", "--date", DAY, "--with-costs"]) == 0
    client = moto.client()
    stats, kept = bucket_objects(client, STATS), bucket_objects(client, PRIVATE)
    assert [k for k in stats if private(k)] == []
    assert ASSET_FILES["summary"].key(DAY) in stats and INDEX_KEY in stats
    assert ASSET_FILES["raw_creator_minutes"].key(DAY) in kept
    assert COST_FILES["cold_videos"].key(DAY) in kept
    assert all(private(k) for k in kept)
    heads = [client.head_object(Bucket=PRIVATE, Key=k)["CacheControl"] for k in kept]
    assert not any("public" in h for h in heads), set(heads)


def test_migrate_private_moves_everything_and_survives_a_kill(moto, monkeypatch, tmp_path, sim):
    env = r2_env(monkeypatch, tmp_path, sim[1], moto.endpoint_url, STREAM_STATS_SOURCE="cloudflare")
    assert cli.main(["collect", "--date", DAY, "--with-costs"]) == 0  # all in the stats bucket
    client = moto.client()
    before = bucket_objects(client, STATS)
    to_move = sorted(k for k in before if private(k))
    assert len(to_move) > 10

    # killed halfway: paused at the copy of one file in the middle, then SIGKILL
    middle = to_move[len(to_move) // 2]
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.faulty_cli", "migrate-private"],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "PRIVATE_BUCKET": PRIVATE,
            "STREAM_STATS_TEST_PAUSE_AT": middle,
            "STREAM_STATS_TEST_PAUSE_FILE": str(marker),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    half_stats, half_private = bucket_objects(client, STATS), bucket_objects(client, PRIVATE)
    assert 0 < len(half_private) < len(to_move)
    for key in to_move:  # every file whole in at least one bucket
        assert before[key] in (half_stats.get(key), half_private.get(key)), key

    monkeypatch.setenv("PRIVATE_BUCKET", PRIVATE)
    assert cli.main(["migrate-private"]) == 0
    after_stats, after_private = bucket_objects(client, STATS), bucket_objects(client, PRIVATE)
    assert after_private == {k: before[k] for k in to_move}
    assert after_stats == {k: v for k, v in before.items() if not private(k)}
    assert cli.main(["migrate-private"]) == 0  # nothing left: a no-op
    # and the pipeline reads its facts from there: a rebuild needs no API
    assert cli.main(["rebuild", "--date", DAY]) == 0
