"""`stream-stats collect` against R2's S3 API: `moto_server` as a subprocess on loopback,
the simulator over loopback HTTP as the Cloudflare source, the CLI in-process.

One full week (Monday 2025-03-10 .. Sunday 2025-03-16, also the start date) is collected
once into moto and once into a local directory from the same simulator; the tests then read
what landed where: every contract §4 key, the object headers, the operation log, and the bytes,
which must equal the local backend's. With a creator key secret, so the same collect also
shows each creator's own files (contract §11): their rows of the all-creator files and their
videos of the per-video minutes, nothing of anyone else's, and signed links that read
exactly one file until they expire."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from stream_stats_dagster import cli
from stream_stats_dagster.access import creator_file_keys, creator_links
from stream_stats_dagster.config import load_settings
from stream_stats_dagster.files import ASSET_FILES, CACHE_CONTROL, COST_FILES, CREATOR_FILES
from stream_stats_dagster.index import IndexDocument
from stream_stats_dagster.keys import (
    INDEX_KEY,
    METADATA_CACHE_KEY,
    creator_key,
    rolling_pointer_key,
)
from stream_stats_dagster.metadata_cache import CacheDocument
from stream_stats_dagster.oplog import OperationRecord, record_key
from stream_stats_dagster.reports.models import CreatorDayFile, CreatorWeekFile
from stream_stats_dagster.storage import PreconditionFailed, md5_hex
from tests.support.pipeline import pipeline_env, simulator_server
from tests.support.presign_verifier import verifying_server
from tests.support.s3server import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    S3Server,
    clear_aws_env,
    moto_server,
    r2_store_for,
)

FIRST, LAST = "2025-03-10", "2025-03-16"  # Monday..Sunday: one complete ISO week (2025-11)
DAYS = [(dt.date(2025, 3, 10) + dt.timedelta(days=i)).isoformat() for i in range(7)]
STATS, LOGS = "points-system-bucket", "logs-bucket"
SECRET = "creator-key-secret-for-tests"
NULL = "__null__"  # the creator of videos without one, as the reports name it
JSON = "application/json"


# -- helpers (also used by test_r2_faults) ---------------------------------------------------


def r2_env(
    monkeypatch: Any, tmp_path: Path, sim_url: str, endpoint_url: str, **extra: str
) -> dict[str, str]:
    """pipeline_env for R2: the endpoint and test keys set, every AWS_* variable cleared."""
    env = pipeline_env(
        monkeypatch,
        tmp_path,
        sim_url,
        R2_ENDPOINT_URL=endpoint_url,
        R2_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID,
        R2_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
        **extra,
    )
    clear_aws_env(monkeypatch)
    return env


def expected_report_keys(days: list[str], mondays: list[str] = ()) -> dict[str, type[BaseModel]]:
    """contract §4 key -> document model of everything a collect of `days` writes to STATS_BUCKET
    (the metadata cache aside)."""
    out: dict[str, type[BaseModel]] = {}
    for spec in ASSET_FILES.values():
        for pk in mondays if spec.layout == "weekly" else days:
            out[spec.key(pk)] = spec.model
        if spec.pointer_key:
            out[spec.pointer_key] = spec.model
    out[INDEX_KEY] = IndexDocument
    return out


@dataclass(frozen=True)
class Object:
    """An object as a GET returns it: its bytes and the headers readers get."""

    body: bytes
    content_type: str
    cache_control: str | None


def bucket_contents(client: Any, bucket: str) -> dict[str, Object]:
    """Every object with its headers; each one's ETag must be the MD5 of its body (complete,
    one PUT)."""
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            response = client.get_object(Bucket=bucket, Key=item["Key"])
            body = response["Body"].read()
            assert response["ETag"].strip('"') == md5_hex(body), item["Key"]
            out[item["Key"]] = Object(body, response["ContentType"], response.get("CacheControl"))
    return out


def bucket_objects(client: Any, bucket: str) -> dict[str, bytes]:
    """Every object's bytes (checked as `bucket_contents` checks them)."""
    return {key: obj.body for key, obj in bucket_contents(client, bucket).items()}


def etags(client: Any, bucket: str) -> dict[str, tuple[str, Any]]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            out[item["Key"]] = (item["ETag"], item["LastModified"])
    return out


def local_objects(root: Path, bucket: str) -> dict[str, bytes]:
    base = root / bucket
    return {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("*.json")}


def validate(key: str, body: bytes, models: dict[str, type[BaseModel]]) -> None:
    """The object parses into the model its key says it is."""
    if key == METADATA_CACHE_KEY:
        CacheDocument.model_validate_json(body)
    else:
        models[key].model_validate_json(body)


# -- fixtures --------------------------------------------------------------------------------


@dataclass
class Collected:
    moto: S3Server
    env: dict[str, str]  # the R2 run's environment
    sim_url: str
    local_root: Path
    output: str


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Iterator[Collected]:
    """The week collected into moto (R2) and into a local directory from one simulator."""
    with (
        pytest.MonkeyPatch.context() as mp,
        # a quarter of the small platform's creators: each creator's files are most of the
        # objects, and every test here reads them all from moto
        simulator_server(small_creators=150) as (_, sim_url),
        moto_server() as moto,
    ):
        clear_aws_env(mp)
        moto.create_bucket(STATS)
        moto.create_bucket(LOGS)
        start = {
            "STREAM_STATS_START_DATE": FIRST,
            "STREAM_STATS_TOP_VIDEOS": "20",
            "STREAM_STATS_CREATOR_KEY_SECRET": SECRET,
        }

        local_tmp = tmp_path_factory.mktemp("local")
        pipeline_env(mp, local_tmp, sim_url, **start)
        assert cli.main(["collect", "--from", FIRST, "--to", LAST]) == 0

        r2_tmp = tmp_path_factory.mktemp("r2")
        env = r2_env(mp, r2_tmp, sim_url, moto.endpoint_url, **start)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["collect", "--from", FIRST, "--to", LAST])
        assert code == 0, out.getvalue()
        yield Collected(moto, env, sim_url, local_tmp / "data", out.getvalue())


# -- tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contents(collected) -> dict[str, Object]:
    """Every object of the stats bucket after the week's collect, with its headers (read
    once: the tests below only read it)."""
    return bucket_contents(collected.moto.client(), STATS)


@pytest.fixture(scope="module")
def stored(contents) -> dict[str, bytes]:
    """Every object's bytes."""
    return {key: obj.body for key, obj in contents.items()}


def test_every_file_is_at_its_spec_key_with_json_headers(collected, contents, stored):
    assert f"storage: R2 {collected.moto.endpoint_url}" in collected.output
    models = expected_report_keys(DAYS, [FIRST])
    assert set(models) | {METADATA_CACHE_KEY} <= set(stored), sorted(set(models) - set(stored))
    assert all(k.startswith("stream-stats/") and k.endswith(".json") for k in stored)
    assert not [k for k in stored if "/.preflight/" in k]
    # spot checks of the contract §4 layout itself, not only of files.py
    assert "stream-stats/daily/2025-03/2025-03-16-videos-with-posts.json" in stored
    assert "stream-stats/weekly/2025-03/2025-11-summary.json" in stored
    assert "stream-stats/raw/2025-03/2025-03-10-hourly-minutes.json" in stored
    assert "stream-stats/rolling/history/2025-03/2025-03-16-last7days-countries.json" in stored
    assert "stream-stats/rolling/last7days-creators.json" in stored
    assert "stream-stats/cache/video-catalog.json" in stored

    for key, obj in contents.items():
        if key in models or key == METADATA_CACHE_KEY:
            validate(key, obj.body, models)
        assert obj.content_type == JSON, key
        assert obj.cache_control, key
    for name, spec in ASSET_FILES.items():
        pk = FIRST if spec.layout == "weekly" else LAST
        assert contents[spec.key(pk)].cache_control == spec.cache_control, name
    for name in ("creators", "countries", "summary"):
        pointer = rolling_pointer_key(name)
        assert contents[pointer].cache_control == CACHE_CONTROL["pointer"]
        # the pointer holds the newest window, byte for byte its history file
        assert stored[pointer] == stored[ASSET_FILES[f"rolling_{name}"].key(LAST)]
    summary = json.loads(stored[ASSET_FILES["summary"].key(LAST)])
    assert summary["schemaVersion"] == 1 and summary["date"] == LAST


def test_operation_log_records_are_in_the_log_bucket(collected, stored):
    records = {}
    for key, obj in bucket_contents(collected.moto.client(), LOGS).items():
        record = OperationRecord.model_validate_json(obj.body)
        assert key == record_key(record)
        assert obj.content_type == JSON
        records[(record.operation, record.date)] = record
    expected = {(op, d) for d in DAYS for op in ("collectDailyStats", "updateRollingStats")}
    expected.add(("collectWeeklyStats", FIRST))
    assert expected <= set(records)
    assert all(r.success and r.error is None for r in records.values())
    summary = json.loads(stored[ASSET_FILES["summary"].key(LAST)])
    daily = records[("collectDailyStats", LAST)]
    assert daily.details.totalMinutesViewed == summary["totalMinutesViewed"]
    # no report object ever lands in the log bucket, nor a log record in the stats bucket
    assert not [k for k in stored if "collectDailyStats" in k]


def test_bytes_are_identical_to_the_local_backend(collected, stored):
    remote = dict(stored)
    local = local_objects(collected.local_root, STATS)
    remote.pop(METADATA_CACHE_KEY)  # its history (what was fetched when) may differ
    local.pop(METADATA_CACHE_KEY)
    assert sorted(remote) == sorted(local)
    differing = [key for key in remote if remote[key] != local[key]]
    assert differing == []
    reports = set(expected_report_keys(DAYS, [FIRST]))
    others = set(remote) - reports
    assert reports <= set(remote)
    # besides them: each creator's files and their manifests, the per-video minutes and the
    # catalogue snapshots (private data, in the stats bucket when PRIVATE_BUCKET is not set)
    assert all(
        k.startswith("stream-stats/creators/")
        or k.endswith(("-uid-minutes.json", "-video-catalog.json"))
        for k in others
    ), sorted(others)[:5]


def test_conditional_put_is_refused_on_a_stale_etag(collected):
    moto = collected.moto
    moto.create_bucket("stale-etag")
    store = r2_store_for(moto.endpoint_url, max_attempts=0)
    key = rolling_pointer_key("summary")
    old = store.put("stale-etag", key, b'{"endDate":"2025-03-15"}\n')
    new = store.put("stale-etag", key, b'{"endDate":"2025-03-16"}\n')
    assert old.written and new.written and old.etag != new.etag
    with pytest.raises(PreconditionFailed) as err:
        store.put("stale-etag", key, b'{"endDate":"2025-03-14"}\n', if_match=old.etag)
    assert "stale-etag" in str(err.value) and moto.endpoint_url in str(err.value)
    with pytest.raises(PreconditionFailed):
        store.put("stale-etag", key, b'{"endDate":"2025-03-14"}\n', if_none_match=True)
    current = store.get("stale-etag", key)
    assert current is not None and current.body == b'{"endDate":"2025-03-16"}\n'
    assert current.etag == new.etag
    # with the current ETag the same conditional write goes through
    assert store.put("stale-etag", key, b'{"endDate":"2025-03-17"}\n', if_match=new.etag).written


# -- each creator's own files (contract §11), from the same collect --------------------------


def _json(stored: dict[str, bytes], key: str) -> dict:
    return json.loads(stored[key])


def _uid_rows(stored: dict[str, bytes], day: str) -> dict[str, dict[str, int]]:
    """{creator: {uid: minutes}} of the day's complete per-video minutes."""
    columns = _json(stored, COST_FILES["raw_uid_minutes"].key(day))["columns"]
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for uid, creator, minutes in zip(
        columns["uid"], columns["creator"], columns["minutesViewed"], strict=True
    ):
        out[creator or NULL][uid] = out[creator or NULL].get(uid, 0) + minutes
    return out


def _key(creator: str) -> str:
    return creator_key(creator, SECRET.encode())


@pytest.mark.parametrize("day", [DAYS[0], DAYS[3], LAST])
def test_each_day_file_holds_the_creators_rows_and_only_theirs(collected, stored, day):
    daily = {r["creator"]: r for r in _json(stored, ASSET_FILES["creators"].key(day))["creators"]}
    rolling = _json(stored, ASSET_FILES["rolling_creators"].key(day))["creators"]
    window = {r["creator"]: r for r in rolling}
    uids = _uid_rows(stored, day)
    spec = CREATOR_FILES["creator_days"]
    manifest = _json(stored, spec.manifest_key(day))
    expected = {spec.key(_key(c), day) for c in window}
    assert set(manifest["files"]) == expected  # a file for every creator of the window
    of_day = {k for k in stored if k.endswith(f"/days/{day[:7]}/{day}.json")}
    assert of_day - {spec.manifest_key(day)} == expected
    sizes = []
    for creator in window:
        key = spec.key(_key(creator), day)
        sizes.append(len(stored[key]))
        f = CreatorDayFile.model_validate_json(stored[key])
        assert f.creator == creator and f.date == day
        assert (f.day and f.day.model_dump(mode="json")) == daily.get(creator)
        assert f.last7Days.model_dump(mode="json") == window[creator]
        # their videos are exactly their rows of the per-video minutes; posts theirs alone
        assert {v.uid: v.minutesViewed for v in f.videos} == uids.get(creator, {})
        assert {v.creator for v in f.videos} | {p.creator for p in f.posts} <= {creator}
        assert sum(p.minutesViewed for p in f.posts) == sum(v.minutesViewed for v in f.videos)
        if f.day is not None:
            assert sum(v.minutesViewed for v in f.videos) == f.day.minutesViewed
    assert sum(len(v) for c, v in uids.items() if c in window) == sum(len(v) for v in uids.values())
    assert max(sizes) <= 50_000
    head = collected.moto.client().head_object(Bucket=STATS, Key=key)
    assert head["CacheControl"] == CACHE_CONTROL["creators"] == "private, max-age=600"


def test_each_week_file_is_the_creators_row_of_the_week(stored):
    weekly = _json(stored, ASSET_FILES["weekly_creators"].key(FIRST))["creators"]
    spec = CREATOR_FILES["creator_weeks"]
    assert set(_json(stored, spec.manifest_key(FIRST))["files"]) == {
        spec.key(_key(r["creator"]), FIRST) for r in weekly
    }
    for row in weekly:
        f = CreatorWeekFile.model_validate_json(stored[spec.key(_key(row["creator"]), FIRST)])
        assert (f.weekStart, f.weekEnd, f.creator) == (FIRST, LAST, row["creator"])
        assert f.week.model_dump(mode="json") == row


def test_creator_keys_are_the_secret_ones_and_the_secret_is_in_no_output(collected, stored):
    creator = _json(stored, ASSET_FILES["creators"].key(LAST))["creators"][0]["creator"]
    keyed = creator_file_keys(creator, dt.date.fromisoformat(LAST), SECRET.encode())
    plain = creator_file_keys(creator, dt.date.fromisoformat(LAST), None)
    assert all(k in stored for k in keyed.values())
    assert not any(k in stored for k in plain.values())
    assert SECRET not in collected.output


def test_a_signed_link_reads_one_creator_file_until_it_expires(collected, stored):
    creators = _json(stored, ASSET_FILES["creators"].key(LAST))["creators"]
    creator, other = creators[0]["creator"], creators[1]["creator"]
    store = r2_store_for(collected.moto.endpoint_url)
    with verifying_server(store, {TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}) as endpoint:
        settings = load_settings(collected.env).model_copy(update={"r2_endpoint_url": endpoint})
        links = {link.file: link for link in creator_links(creator, LAST, 60, settings=settings)}
        assert set(links) == {"day", "week"}
        for link in links.values():
            got = httpx.get(link.url)
            assert got.status_code == 200 and got.content == stored[link.key]
        tampered = links["day"].url.replace(_key(creator), _key(other))
        assert tampered != links["day"].url
        assert httpx.get(tampered).status_code == 403  # a link names one key
        short = creator_links(creator, LAST, 1, settings=settings)[0]
        time.sleep(2.1)
        refused = httpx.get(short.url)
        assert refused.status_code == 403 and b"expired" in refused.content


def test_recollecting_a_day_changes_no_object(collected, monkeypatch, tmp_path):
    """Runs last: it adds operation-log records (the reports themselves must not change)."""
    client = collected.moto.client()
    before = etags(client, STATS)
    for name, value in collected.env.items():
        monkeypatch.setenv(name, value)
    clear_aws_env(monkeypatch)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert cli.main(["collect", "--date", LAST]) == 0
    after = etags(client, STATS)
    assert after.keys() == before.keys()
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    # not even rewritten with the same bytes: identical PUTs are skipped
    rewritten = [k for k in after if after[k][1] != before[k][1]]
    assert rewritten == []
