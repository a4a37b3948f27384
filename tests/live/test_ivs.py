"""Reconciliation with IVS through boto3's real `ivs-realtime` client and a fake endpoint on a
free loopback port (`live/ivs_fake.py`): paging, the CONNECTED filter, the call budget of a
pass with 1,000 stages, and the decoupled stage found against a real redis-server."""

from __future__ import annotations

import io
import threading
import time

import pytest

from stream_stats_dagster.live.ivs import IvsReconciler, make_client
from stream_stats_dagster.live.ivs_fake import FakeIvs
from stream_stats_dagster.live.keys import RedisKeys
from stream_stats_dagster.live.reader import RedisReader, connect
from stream_stats_dagster.live.sampler import Sampler
from stream_stats_dagster.live.servers import RedisServer
from stream_stats_dagster.live.simulator import Simulator, SimulatorConfig
from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.reports.live import drift, instants
from stream_stats_dagster.reports.live.samples import build_hour
from tests.live.conftest import require_redis

ARN = "arn:aws:ivs:ap-northeast-1:123456789012:stage/s{:04d}"
SECRET = "fake-secret-key-that-must-not-show"


def _client(fake: FakeIvs):
    return make_client(
        "ap-northeast-1",
        fake.url,
        aws_access_key_id="AKIAFAKEFAKEFAKE",
        aws_secret_access_key=SECRET,
    )


def _thousand() -> dict[str, list[str]]:
    """1,000 stages: most idle (no current session), every tenth with a few viewers, one
    with 250 (three pages)."""
    truth = {}
    for i in range(1000):
        n = 250 if i == 500 else (i // 10) % 7 + 1 if i % 10 == 0 else 0
        truth[ARN.format(i)] = [f"p-{i}-{j}" for j in range(n)]
    return truth


def test_a_rotation_over_1000_stages_keeps_to_its_call_budget():
    truth = _thousand()
    budget = 25
    with FakeIvs(lambda: truth) as fake:
        reconciler = IvsReconciler(_client(fake), calls_per_pass=budget, say=lambda line: None)
        counters = {arn: len(p) for arn, p in truth.items()}
        order: list[str] = []
        at = instants.parse("2025-03-11T05:00:00Z")
        while len(order) < 1000:
            before = sum(fake.calls.values())
            lines = reconciler.reconcile(at, counters)
            made = sum(fake.calls.values()) - before
            assert made == reconciler.rotation.calls[-1] <= budget
            assert made == sum(line.calls for line in lines)
            order += [line.stageArn for line in lines]
            for line in lines:
                assert line.connected == len(truth[line.stageArn]) and line.complete
                assert line.counter == line.connected
            at += 60 * instants.US
            assert reconciler.rotation.passes < 200  # it moves on
        # each stage once, in order, before any again; the last pass wraps around
        assert order[:1000] == sorted(truth) and order[1000:] == sorted(truth)[: len(order) - 1000]
        assert set(reconciler.rotation.seen) == set(truth)
        assert reconciler.rotation.passes < 1000 / (budget / 2) * 1.2  # ~2 calls a stage at most
        big = [(op, r) for op, r in fake.requests if r.get("stageArn") == ARN.format(500)]
        assert [op for op, _ in big][:4] == ["ListStageSessions"] + ["ListParticipants"] * 3
        pages = [r for op, r in fake.requests if op == "ListParticipants"]
        assert all(r["filterByState"] == "CONNECTED" and r["maxResults"] == 100 for r in pages)


def test_participants_who_left_are_not_counted_and_a_stage_too_big_is_incomplete():
    truth = {ARN.format(1): [f"p{j}" for j in range(150)]}
    with FakeIvs(lambda: truth) as fake:
        reconciler = IvsReconciler(_client(fake), calls_per_pass=2, say=lambda line: None)
        (first,) = reconciler.reconcile(0, {ARN.format(1): 150})
        assert (first.connected, first.complete, first.calls) == (100, False, 2)
        truth[ARN.format(1)] = truth[ARN.format(1)][:40]  # 110 left (DISCONNECTED now)
        (second,) = reconciler.reconcile(1, {ARN.format(1): 150})
        assert (second.connected, second.complete) == (40, True)
        everyone = fake.answer(
            "ListParticipants",
            {"stageArn": ARN.format(1), "sessionId": second.sessionId, "maxResults": 100},
        )
        assert len(everyone[1]["participants"]) == 100  # unfiltered, the gone ones show


def test_an_api_error_ends_the_pass_said_once_without_secrets():
    said: list[str] = []
    with FakeIvs(lambda: {}) as fake:  # knows no stage: 404 ResourceNotFoundException
        reconciler = IvsReconciler(_client(fake), calls_per_pass=10, say=said.append)
        assert reconciler.reconcile(0, {ARN.format(1): 3, ARN.format(2): 1}) == []
        assert reconciler.reconcile(1, {ARN.format(1): 3}) == []
    assert len(said) == 1 and "ResourceNotFoundException" in said[0]
    assert SECRET not in said[0] and "AKIA" not in said[0]


@pytest.fixture
def server(tmp_path):
    s = require_redis(RedisServer(tmp_path / "redis"))
    yield s
    s.stop()


def test_the_ivs_comparison_finds_the_decoupled_stage(server, tmp_path):
    keys = RedisKeys()
    admin = connect(server.url(sampler=False), 5.0)
    sim = Simulator(
        admin,
        keys,
        SimulatorConfig(stage_limit=5, other_keys=0),
        io.StringIO(),
        say=lambda line: None,
    )
    for _ in range(12):  # three stages: 5, 5, 2
        sim.join()
    with FakeIvs(sim.connected) as fake:
        reconciler = IvsReconciler(_client(fake), calls_per_pass=10, say=lambda line: None)
        spool = Spool(tmp_path / "spool")
        sampler = Sampler(
            RedisReader(connect(server.url(), 5.0), keys),
            spool,
            interval_seconds=0.25,
            rescan_samples=4,
            timezone="Asia/Seoul",
            say=lambda line: None,
            reconciler=reconciler,
            reconcile_seconds=1.0,
        )
        stop = threading.Event()
        thread = threading.Thread(target=sampler.run, args=(stop,))
        thread.start()
        try:
            time.sleep(1.5)
            sim.decouple()  # the busiest stage's counter writes are lost from now on
            stage = sim.decoupled
            for user in [u for u, v in sim.viewers.items() if v.stage == stage][:3]:
                sim.leave(user)
            time.sleep(3.0)
        finally:
            stop.set()
            thread.join(timeout=30)
    hours = [build_hour(spool.lines(h), h, "Asia/Seoul", "ivs:prod:") for h in spool.hours()]
    first = instants.to_datetime(instants.parse(hours[0].samples.at[0]))
    day = first.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Seoul")).date()
    doc = drift.live_drift(day, "Asia/Seoul", hours)
    by = {s.stageArn: s for s in doc.stages}
    assert doc.ivs.stagesReconciled == 3 and doc.ivs.reconciliations >= 9
    assert doc.ivs.stagesOff == 1 and list(by) == [stage]  # only it is off
    found = by[stage]
    assert found.ivsWorst == 3  # counter 5, IVS 2 connected
    assert found.ivs[-1].difference == 3 and found.ivs[0].difference == 0
    assert found.counterVsHeartbeats.worst == 3 and doc.totalVsStages.worst == -3


def test_the_sampler_process_reconciles_with_only_the_credentials_it_is_given(server, tmp_path):
    import json

    import redis

    from stream_stats_dagster.reports.live.samples import IvsLine
    from tests.live.conftest import live_env, start_sampler

    keys, arn = RedisKeys(), ARN.format(7)
    admin = redis.Redis.from_url(server.url(sampler=False))
    admin.set(keys.total, 4)
    admin.set(keys.viewers(arn), 4)
    admin.set(keys.stage(arn), json.dumps({"name": "master-stage", "arn": arn}), ex=3600)
    with FakeIvs(lambda: {arn: ["p1", "p2", "p3"]}) as fake:
        env = live_env(
            tmp_path,
            server,
            LIVE_IVS_REGION="ap-northeast-1",
            LIVE_IVS_ENDPOINT_URL=fake.url,
            LIVE_IVS_SECONDS="1",
            AWS_ACCESS_KEY_ID="AKIAFAKEFAKEFAKE",
            AWS_SECRET_ACCESS_KEY=SECRET,
        )
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
            env.pop(name, None)
        out = tmp_path / "sampler.out"
        assert start_sampler(env, out, "--for", "4").wait(timeout=60) == 0
    spool = Spool(tmp_path / "spool")
    lines = [x for h in spool.hours() for x in spool.lines(h) if isinstance(x, IvsLine)]
    assert len(lines) >= 2
    assert all((x.stageArn, x.counter, x.connected) == (arn, 4, 3) for x in lines)
    text = out.read_text()
    assert "IVS ap-northeast-1 every 1 s" in text
    assert SECRET not in text and "AKIAFAKE" not in text


def test_a_hanging_ivs_pass_never_delays_a_sample(tmp_path):
    """The process runs the passes in a thread: samples go on while a pass hangs, passes due
    meanwhile are skipped, and the pass's lines reach the spool once it ends."""
    from stream_stats_dagster.live.ivs import BackgroundReconciler
    from stream_stats_dagster.reports.live.samples import IvsLine
    from tests.live.handmade import ARN as STAGE
    from tests.live.handmade import Moment, ScriptedReader

    release, entered = threading.Event(), threading.Event()

    class Hanging:
        def reconcile(self, at_us, counters):
            entered.set()
            release.wait(30)
            return [
                IvsLine(
                    at=instants.text(at_us),
                    stageArn=a,
                    sessionId=None,
                    connected=0,
                    counter=c,
                    calls=1,
                )
                for a, c in counters.items()
            ]

    moments = [Moment(f"2025-03-11T05:00:{i:02d}Z", 3, {STAGE + "a": 3}) for i in range(8)]
    spool = Spool(tmp_path / "spool")
    sampler = Sampler(
        ScriptedReader(moments),
        spool,
        interval_seconds=1.0,
        rescan_samples=100,
        timezone="Asia/Seoul",
        say=lambda line: None,
        reconcile_seconds=1.0,
    )
    background = sampler.reconciler = BackgroundReconciler(Hanging(), sampler.write_lines)
    background.start()
    ticks = threading.Thread(target=lambda: [sampler.tick() for _ in moments])
    ticks.start()
    ticks.join(timeout=20)
    assert not ticks.is_alive() and sampler.samples == 8  # while the first pass hangs
    assert entered.is_set() and background.skipped == 7
    release.set()
    background.stop()
    background.join(timeout=20)
    lines = [x for h in spool.hours() for x in spool.lines(h) if isinstance(x, IvsLine)]
    assert [(x.at, x.counter) for x in lines] == [("2025-03-11T05:00:00.000000Z", 3)]
