"""Rolling and weekly windows end to end: the only-forward pointer, index.json, ISO weeks
across a year boundary, the start date's zero-filled window, a missing day's clear line."""

import datetime as dt
import json
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.documents import write_documents
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.index import publish_window
from stream_stats_dagster.keys import INDEX_KEY, rolling_pointer_key
from stream_stats_dagster.reports import models as m
from stream_stats_dagster.storage.local import LocalStore
from tests.support.pipeline import pipeline_env, simulator_server

BUCKET = "points-system-bucket"


@pytest.fixture
def sim():
    with simulator_server() as (simulator, base_url):
        yield simulator, base_url


def read(env, key: str) -> dict:
    return json.loads((Path(env["STREAM_STATS_LOCAL_DIR"]) / BUCKET / key).read_text())


def raw_bytes(env, key: str) -> bytes:
    return (Path(env["STREAM_STATS_LOCAL_DIR"]) / BUCKET / key).read_bytes()


def test_week_pointer_and_index(monkeypatch, tmp_path, sim):
    env = pipeline_env(monkeypatch, tmp_path, sim[1])
    assert cli.main(["collect", "--from", "2025-03-03", "--to", "2025-03-09"]) == 0
    weekly = read(env, "stream-stats/weekly/2025-03/2025-10-creators.json")
    assert (weekly["weekStart"], weekly["weekEnd"]) == ("2025-03-03", "2025-03-09")
    summary = read(env, "stream-stats/weekly/2025-03/2025-10-summary.json")
    days = [read(env, ASSET_FILES["summary"].key(f"2025-03-{d:02d}")) for d in range(3, 10)]
    assert summary["totalMinutesViewed"] == sum(d["totalMinutesViewed"] for d in days)
    assert [s["minutesViewed"] for s in summary["dailyStats"]] == [
        d["totalMinutesViewed"] for d in days
    ]
    creators_total = sum(c["totalMinutesViewed"] for c in weekly["creators"])
    assert creators_total == summary["totalMinutesViewed"]

    pointer = read(env, rolling_pointer_key("summary"))
    assert (pointer["startDate"], pointer["endDate"]) == ("2025-03-03", "2025-03-09")
    index = read(env, INDEX_KEY)
    assert index["daily"]["date"] == "2025-03-09"
    assert index["weekly"] == {
        "date": "2025-03-03",
        "label": "2025-10",
        "files": {
            "creators": "stream-stats/weekly/2025-03/2025-10-creators.json",
            "summary": "stream-stats/weekly/2025-03/2025-10-summary.json",
        },
    }
    assert index["rolling"]["date"] == "2025-03-09"

    # an older window (a backfill) never replaces the newest one, nor moves the index back
    before = {
        n: raw_bytes(env, rolling_pointer_key(n)) for n in ("creators", "countries", "summary")
    }
    index_before = raw_bytes(env, INDEX_KEY)
    assert cli.main(["collect", "--date", "2025-03-05"]) == 0
    assert {n: raw_bytes(env, rolling_pointer_key(n)) for n in before} == before
    assert raw_bytes(env, INDEX_KEY) == index_before
    history = read(env, ASSET_FILES["rolling_summary"].key("2025-03-05"))
    assert history["endDate"] == "2025-03-05"

    # the same end date replaces it (late data)
    sim[0].platform.add_views(
        sim[0].platform.uids[0], dt.datetime(2025, 3, 9, 12, tzinfo=ZoneInfo("Asia/Seoul")), 777, 7
    )
    assert cli.main(["collect", "--date", "2025-03-09"]) == 0
    after = read(env, rolling_pointer_key("summary"))
    assert after["endDate"] == "2025-03-09"
    assert after["totalMinutesViewed"] == pointer["totalMinutesViewed"] + 777


def test_iso_week_across_the_year_boundary_and_zero_filled_start(monkeypatch, tmp_path, sim):
    env = pipeline_env(monkeypatch, tmp_path, sim[1], STREAM_STATS_START_DATE="2024-12-30")
    assert cli.main(["collect", "--from", "2024-12-30", "--to", "2025-01-05"]) == 0
    weekly = read(env, "stream-stats/weekly/2024-12/2025-01-summary.json")
    assert (weekly["weekStart"], weekly["weekEnd"]) == ("2024-12-30", "2025-01-05")
    first = read(env, ASSET_FILES["rolling_creators"].key("2024-12-30"))
    assert (first["startDate"], first["endDate"]) == ("2024-12-24", "2024-12-30")
    for creator in first["creators"]:
        assert creator["dailyStats"][0]["date"] == "2024-12-24"
        assert all(s["minutesViewed"] == 0 for s in creator["dailyStats"][:6])
    trend = read(env, ASSET_FILES["creators"].key("2024-12-30"))["creators"][0]["trend"]
    assert [t["minutesViewed"] for t in trend[:6]] == [0] * 6 and trend[6]["minutesViewed"] > 0


def test_a_missing_day_inside_the_window_is_named(monkeypatch, tmp_path, sim, capsys):
    env = pipeline_env(monkeypatch, tmp_path, sim[1])
    assert cli.main(["collect", "--from", "2025-03-01", "--to", "2025-03-06"]) == 0
    (
        Path(env["STREAM_STATS_LOCAL_DIR"])
        / BUCKET
        / ASSET_FILES["raw_creator_minutes"].key("2025-03-04")
    ).unlink()
    capsys.readouterr()
    assert cli.main(["rebuild", "--date", "2025-03-06"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "raw extracts not stored for 2025-03-04" in err[0]
    assert "stream-stats collect --from 2025-03-04 --to 2025-03-04" in err[0]


def _window(end: dt.date) -> m.RollingCountriesDoc:
    start = end - dt.timedelta(days=6)
    return m.RollingCountriesDoc(startDate=start, endDate=end, countries=[])


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_two_writers_racing_never_regress_the_pointer(tmp_path, monkeypatch, backend):
    if backend == "local":
        store = LocalStore(tmp_path)
        run = _race
    else:
        from tests.support.s3server import clear_aws_env, moto_server, r2_store_for

        clear_aws_env(monkeypatch)
        with moto_server() as server:
            server.create_bucket(BUCKET)
            store = r2_store_for(server.endpoint_url)
            _race(store)
        return
    run(store)


def _race(store):
    """Racing runs each write a window's three files, then publish it: every pointer ends on
    the newest window (each only moves forward), and so does the index."""
    ends = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(16)]
    barrier = threading.Barrier(len(ends))

    def writer(end):
        barrier.wait()
        for name in ("rolling_creators", "rolling_countries", "rolling_summary"):
            write_documents(store, BUCKET, ASSET_FILES[name], {end.isoformat(): _window(end)})
        publish_window(store, BUCKET, end.isoformat())

    threads = [threading.Thread(target=writer, args=(e,)) for e in reversed(ends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("rolling_creators", "rolling_countries", "rolling_summary"):
        spec = ASSET_FILES[name]
        pointer = json.loads(store.get(BUCKET, spec.pointer_key).body)
        assert pointer["endDate"] == max(ends).isoformat()
        for end in ends:
            assert store.get(BUCKET, spec.key(end.isoformat())) is not None
    index = json.loads(store.get(BUCKET, INDEX_KEY).body)
    assert index["rolling"]["date"] == max(ends).isoformat()


def _window(end: dt.date) -> m.RollingCountriesDoc:
    """A minimal window document (only its dates matter to the pointers)."""
    start = end - dt.timedelta(days=6)
    return m.RollingCountriesDoc(startDate=start, endDate=end, countries=[])
