"""Part 2's additions to the sampler (issue 29): the heartbeat scan every
`LIVE_HEARTBEAT_SCAN_SECONDS` (HSCAN, fresh heartbeats by Redis TIME, timestamps in three
formats), absent infos per sample, and hour files of schema 2 that still read schema 1."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import redis

from stream_stats_dagster.live.heartbeats import timestamp_ms
from stream_stats_dagster.live.keys import RedisKeys
from stream_stats_dagster.live.reader import SCAN_COUNT, RedisReader, connect
from stream_stats_dagster.live.sampler import Sampler
from stream_stats_dagster.live.servers import RedisServer
from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.reports.live import instants, report
from stream_stats_dagster.reports.live.samples import HourFile, build_hour, hour_bytes
from tests.live.conftest import require_redis

KEYS = RedisKeys()
ARN = "arn:aws:ivs:ap-northeast-1:123456789012:stage/"
T = 1_741_700_000_000  # 2025-03-11T13:33:20Z in epoch ms


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (T, T),
        (T / 1000, T),
        (T // 1000, T - 0),
        (str(T), T),
        (f"{T / 1000:.3f}", T),
        ("2025-03-11T13:33:20.000Z", T),
        ("2025-03-11T22:33:20+09:00", T),
        ("2025-03-11T13:33:20", T),  # no offset: UTC
        ("yesterday", None),
        (None, None),
        (True, None),
        ([T], None),
        (-5, None),
    ],
)
def test_heartbeat_timestamps_in_ms_seconds_or_iso(timestamp, expected):
    value = json.dumps({"timestamp": timestamp, "participantId": "p", "joinedAt": 0})
    assert timestamp_ms(value) == expected


def test_values_that_are_not_heartbeats_do_not_parse():
    assert timestamp_ms(b"{}") is None
    assert timestamp_ms(b"not json") is None
    assert timestamp_ms(b"\xff\xfe") is None
    assert timestamp_ms(b"12") is None  # JSON, but not an object


@pytest.fixture
def server(tmp_path):
    s = require_redis(RedisServer(tmp_path / "redis"))
    yield s
    s.stop()


def _beat(ts) -> str:
    return json.dumps({"timestamp": ts, "participantId": "p", "joinedAt": 0})


def test_the_scan_counts_fresh_and_unparsable_heartbeats_by_redis_time(server):
    admin = redis.Redis.from_url(server.url(sampler=False))
    now_s, _ = admin.time()
    now_ms = int(now_s) * 1000
    big, small, empty = ARN + "big", ARN + "small", ARN + "empty"
    fields = 2 * SCAN_COUNT + 500  # several HSCAN steps, a hashtable encoding
    mapping = {f"u{i}": _beat(now_ms - (0 if i % 2 else 600_000)) for i in range(fields)}
    admin.hset(KEYS.heartbeat(big), mapping=mapping)
    admin.hset(
        KEYS.heartbeat(small),
        mapping={
            "ms": _beat(now_ms - 1000),
            "s": _beat((now_ms - 2000) / 1000),
            "iso": _beat(dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).isoformat()),
            "old-iso": _beat("2020-01-01T00:00:00Z"),
            "junk": "{}",
            "text": "x",
        },
    )
    reader = RedisReader(connect(server.url(), 5.0), KEYS)  # the read-only user
    scan = reader.scan_heartbeats([big, small, empty], 60_000)
    assert scan.fields == [fields, 6, 0]
    assert scan.fresh == [fields // 2, 3, 0]
    assert scan.unparsable == [0, 2, 0]
    assert scan.round_trips >= 3  # the big hash took several steps
    assert abs(scan.at_us // 1000 - now_ms) < 60_000


def test_the_sampler_scans_heartbeats_on_its_own_interval_and_records_absent_infos(
    server, tmp_path
):
    admin = redis.Redis.from_url(server.url(sampler=False))
    now_s, _ = admin.time()
    with_info, without = ARN + "withInfo", ARN + "noInfo"
    admin.set(KEYS.total, 7)
    admin.set(KEYS.viewers(with_info), 3)
    admin.set(KEYS.viewers(without), 4)
    admin.set(KEYS.stage(with_info), json.dumps({"name": "master-stage", "arn": with_info}))
    admin.hset(KEYS.heartbeat(with_info), mapping={f"u{i}": _beat(int(now_s)) for i in range(3)})
    admin.hset(KEYS.heartbeat(without), mapping={f"v{i}": "{}" for i in range(4)})
    spool = Spool(tmp_path / "spool")
    sampler = Sampler(
        RedisReader(connect(server.url(), 5.0), KEYS),
        spool,
        interval_seconds=0.2,
        rescan_samples=100,
        timezone="Asia/Seoul",
        say=lambda line: None,
        heartbeat_scan_seconds=1.0,
        fresh_seconds=3600,
    )
    sampler.run(threading.Event(), until=sampler.monotonic() + 3.1)
    hours = [build_hour(spool.lines(h), h, "Asia/Seoul", "ivs:prod:") for h in spool.hours()]
    scans = [
        (at, fresh, bad)
        for h in hours
        for at, fresh, bad in zip(
            h.samples.freshAt, h.samples.fresh, h.samples.unparsable, strict=True
        )
        if at is not None
    ]
    samples = sum(len(h.samples.at) for h in hours)
    assert samples >= 8 and 2 <= len(scans) <= samples // 3  # not every sample
    order = [s.stageArn for s in hours[0].stages]
    assert order == [without, with_info]
    assert all(fresh == [0, 3] and bad == [4, 0] for _, fresh, bad in scans)
    missing = [m for h in hours for m in h.samples.infoMissing]
    assert missing and all(m == [0] for m in missing)  # noInfo's key is absent, every sample
    for h in hours:
        assert h.problems() == []


def test_a_schema_1_hour_file_still_reads(tmp_path):
    """An hour stored by part 1's sampler: no infoMissing, fresh, reconciliations."""
    old = {
        "schemaVersion": 1,
        "hourStart": "2025-03-11T14:00:00.000000Z",
        "hourEnd": "2025-03-11T15:00:00.000000Z",
        "timezone": "Asia/Seoul",
        "keyPrefix": "ivs:prod:",
        "stages": [{"stageArn": ARN + "a", "name": "master-stage", "infoReadAt": None}],
        "samples": {
            "at": ["2025-03-11T14:00:01.000000Z", "2025-03-11T14:00:16.000000Z"],
            "intervalMs": [15000, 15000],
            "total": [5, 6],
            "publisher": ["live", "live"],
            "viewers": [[5], [6]],
            "heartbeats": [[5], [6]],
        },
    }
    doc = HourFile.model_validate_json(json.dumps(old))
    assert doc.problems() == [] and doc.samples.fresh is None
    assert list(report.series([doc]).total) == [5, 6]
    # merged with new lines (a late sample), the file becomes schema 2 and keeps the old rows
    start = instants.parse(old["hourStart"])
    merged = build_hour([], start, "Asia/Seoul", "ivs:prod:", earlier=doc)
    assert merged.schemaVersion == 2 and merged.samples.infoMissing == [None, None]
    assert merged.samples.fresh == [None, None] and merged.samples.total == [5, 6]
    assert merged.problems() == []
    assert HourFile.model_validate_json(hour_bytes(merged)).samples.viewers == [[5], [6]]
