"""The sampler against a real redis-server when things go wrong: killed and restarted, Redis
stopped and back. Redis's clock is moved to seconds before an hour ends, so that the hour
is finished, uploaded and read back within the test."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time

import pytest
import redis

from stream_stats_dagster.live.keys import RedisKeys
from stream_stats_dagster.live.reader import RedisReader, connect
from stream_stats_dagster.live.sampler import Sampler
from stream_stats_dagster.live.servers import RedisServer
from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.reports.live import instants, report
from stream_stats_dagster.reports.live.samples import HourFile, build_hour, parse_lines
from tests.live.conftest import live_env, require_redis, start_sampler

pytestmark = pytest.mark.e2e

KEYS = RedisKeys()
ARN = "arn:aws:ivs:ap-northeast-1:123456789012:stage/faultsStage1"


def _seed(server: RedisServer, viewers: int = 5) -> None:
    admin = redis.Redis.from_url(server.url(sampler=False))
    admin.set(KEYS.total, viewers)
    admin.set(KEYS.viewers(ARN), viewers)
    admin.set(KEYS.publisher, "live", ex=86400)
    admin.set(KEYS.stage(ARN), json.dumps({"name": "master-stage", "arn": ARN}), ex=3600)
    admin.hset(KEYS.heartbeat(ARN), mapping={f"u{i}": "{}" for i in range(viewers)})


def _hour_file(root, hour: str) -> HourFile:
    path = root / "data" / "private-bucket" / "stream-stats" / "raw" / "live" / hour[:7]
    (found,) = path.glob(f"{hour}*-live-samples.json")
    return HourFile.model_validate_json(found.read_bytes())


def _inner_gaps(hours: list[HourFile]) -> list[tuple[int, int]]:
    """Gaps between the hours' first sample and the end of their last one."""
    s = report.series(hours)
    start, end = int(s.at[0]), int(s.at[-1] + s.interval[-1])
    a, b = report.holds(s, start, end)
    return report.gaps_of(a, b, start, end)


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_sampler_killed_and_restarted_loses_nothing(tmp_path):
    clock = dt.datetime(2025, 3, 11, 13, 59, 51, tzinfo=dt.UTC)
    server = require_redis(RedisServer(tmp_path / "redis", clock_at=clock))
    try:
        _seed(server)
        env = live_env(tmp_path, server)
        out = tmp_path / "sampler.out"
        first = start_sampler(env, out)
        spool = Spool(tmp_path / "spool")
        _wait_for(lambda: sum(1 for _ in _samples(spool)) >= 3, 20)
        first.send_signal(signal.SIGKILL)  # no chance to flush or upload anything
        first.wait(timeout=10)
        before = [line.at for line in _samples(spool)]
        time.sleep(2)
        second = start_sampler(env, out, "--for", "10")
        assert second.wait(timeout=40) == 0
    finally:
        server.stop()
    # the restart may land after 14:00 on a loaded machine: read the uploaded hour and
    # what the spool still holds of the next one
    spool = Spool(tmp_path / "spool")
    hours = [_hour_file(tmp_path, "2025-03-11T1300Z")] + [
        build_hour(spool.lines(h), h, "Asia/Seoul", "ivs:prod:") for h in spool.hours()
    ]
    at = [t for hour in hours for t in hour.samples.at]
    assert set(before) <= set(at)  # every sample taken before the kill
    assert len(at) > len(before)  # and those after the restart
    (gap,) = _inner_gaps(hours)  # the time the sampler was down, and nothing else
    assert 1 * instants.US <= gap[1] - gap[0] <= 15 * instants.US
    assert {v for hour in hours for v in hour.samples.total} == {5}
    assert "uploaded hour 2025-03-11T13:00Z" in out.read_text()


def _samples(spool: Spool):
    for h in spool.hours():
        body = spool.path(h).read_bytes()
        yield from (line for line in parse_lines(body) if line.kind == "sample")


def test_a_redis_stop_is_one_gap_of_its_length_said_once(tmp_path):
    clock = dt.datetime(2025, 3, 11, 13, 59, 47, tzinfo=dt.UTC)
    server = require_redis(RedisServer(tmp_path / "redis", clock_at=clock))
    try:
        _seed(server, viewers=7)
        env = live_env(tmp_path, server)
        out = tmp_path / "sampler.out"
        sampler = start_sampler(env, out, "--for", "18")
        spool = Spool(tmp_path / "spool")
        _wait_for(lambda: sum(1 for _ in _samples(spool)) >= 3, 20)
        server.stop()  # Redis saves its data and exits
        stopped = time.monotonic()
        time.sleep(4)
        server.start()  # the same port, data and clock
        down = time.monotonic() - stopped
        assert sampler.wait(timeout=40) == 0
    finally:
        server.stop()
    hour = _hour_file(tmp_path, "2025-03-11T1300Z")
    (gap,) = _inner_gaps([hour])
    seconds = (gap[1] - gap[0]) / instants.US
    # the gap starts one interval after the last sample before the stop and ends at the
    # first sample after Redis answers: within two intervals of the outage's length
    assert down - 2 <= seconds <= down + 2, (seconds, down)
    assert set(hour.samples.total) == {7}  # Redis came back with its data
    text = out.read_text()
    assert text.count("redis unreachable") == 1 and text.count("redis answers again") == 1
    assert "sampler-password-for-tests" not in text


def test_discovery_finds_stages_from_counters_and_heartbeats_and_rescans_for_new_ones(
    tmp_path,
):
    with RedisServer(tmp_path / "redis") as server:
        admin = redis.Redis.from_url(server.url(sampler=False))
        a, b, c = (f"{ARN[:-1]}{n}" for n in "ABC")
        admin.set(KEYS.total, 3)
        admin.set(KEYS.viewers(a), 3)
        admin.hset(KEYS.heartbeat(b), "u1", "{}")  # a stage known by its heartbeats only
        admin.set(f"{KEYS.prefix}viewer:count:{c}", 9)  # /api/stats's pattern: not a stage
        for i in range(2500):  # enough keys for several SCAN steps
            admin.set(f"{KEYS.prefix}session:{i}", "x")
        reader = RedisReader(connect(server.url(), 5), KEYS)
        assert reader.scan_stages() == [a, b]
        sampler = Sampler(
            reader,
            Spool(tmp_path / "spool"),
            interval_seconds=1,
            rescan_samples=1000,
            timezone="Asia/Seoul",
            say=lambda line: None,
        )
        first = sampler.tick()
        assert first is not None and first.viewers == [3, None] and first.heartbeats == [0, 1]
        # a stage created by auto-scaling between two samples, with viewers: the stages no
        # longer add up to the total, so the sampler looks again before it writes
        admin.set(KEYS.viewers(c), 4)
        admin.incrby(KEYS.total, 4)
        second = sampler.tick()
        assert sampler.arns == [a, b, c]
        assert second is not None and second.viewers == [3, None, 4] and second.total == 7
        assert second.at_us > first.at_us


def test_refused_credentials_stop_the_sampler_in_one_line_without_the_password(tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        wrong = server.url().replace(server.sampler_password, "not-the-password-9f2c")
        env = live_env(tmp_path, server, REDIS_URL=wrong)
        out = tmp_path / "sampler.out"
        assert start_sampler(env, out, "--for", "5").wait(timeout=30) == 1
    text = out.read_text()
    assert "live-sampler: error: redis refused the sampler" in text
    assert "Traceback" not in text and "not-the-password-9f2c" not in text
