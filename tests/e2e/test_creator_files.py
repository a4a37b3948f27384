"""Each creator's own files (contract §11) through the whole path: the simulator over HTTP,
`stream-stats collect` of one ISO week into moto standing in for R2, with a creator key
secret. Every creator's files hold their rows of the all-creator files and their videos of
the per-video minutes, and nothing of anyone else's; signed links read exactly one file
until they expire; a re-collect rewrites none of them."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.access import creator_file_keys, creator_links
from stream_stats_dagster.config import load_settings
from stream_stats_dagster.files import ASSET_FILES, CACHE_CONTROL, COST_FILES, CREATOR_FILES
from stream_stats_dagster.keys import creator_key
from stream_stats_dagster.reports.models import CreatorDayFile, CreatorWeekFile
from tests.e2e.test_r2_collect import bucket_objects, etags, r2_env
from tests.support.pipeline import simulator_server
from tests.support.presign_verifier import verifying_server
from tests.support.s3server import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    clear_aws_env,
    moto_server,
    r2_store_for,
)

pytestmark = pytest.mark.e2e

FIRST, LAST = "2025-03-10", "2025-03-16"  # Monday..Sunday (ISO 2025-11)
DAYS = [(dt.date(2025, 3, 10) + dt.timedelta(days=i)).isoformat() for i in range(7)]
STATS = "points-system-bucket"
SECRET = "creator-key-secret-for-tests"
NULL = "__null__"  # the creator of videos without one, as the reports name it


@dataclass
class Week:
    moto: object
    env: dict[str, str]
    output: str
    objects: dict[str, bytes]


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Iterator[Week]:
    with (
        pytest.MonkeyPatch.context() as mp,
        simulator_server() as (_, sim_url),
        moto_server() as moto,
    ):
        clear_aws_env(mp)
        moto.create_bucket(STATS)
        moto.create_bucket("logs-bucket")
        env = r2_env(
            mp,
            tmp_path_factory.mktemp("r2"),
            sim_url,
            moto.endpoint_url,
            STREAM_STATS_START_DATE=FIRST,
            STREAM_STATS_TOP_VIDEOS="20",
            STREAM_STATS_CREATOR_KEY_SECRET=SECRET,
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(["collect", "--from", FIRST, "--to", LAST])
        assert code == 0, out.getvalue()
        yield Week(moto, env, out.getvalue(), bucket_objects(moto.client(), STATS))


def _json(week: Week, key: str) -> dict:
    return json.loads(week.objects[key])


def _uid_rows(week: Week, day: str) -> dict[str, dict[str, int]]:
    """{creator: {uid: minutes}} of the day's complete per-video minutes."""
    columns = _json(week, COST_FILES["raw_uid_minutes"].key(day))["columns"]
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for uid, creator, minutes in zip(
        columns["uid"], columns["creator"], columns["minutesViewed"], strict=True
    ):
        out[creator or NULL][uid] = out[creator or NULL].get(uid, 0) + minutes
    return out


def _key(creator: str) -> str:
    return creator_key(creator, SECRET.encode())


@pytest.mark.parametrize("day", [DAYS[0], DAYS[3], LAST])
def test_each_day_file_holds_the_creators_rows_and_only_theirs(week, day):
    daily = {r["creator"]: r for r in _json(week, ASSET_FILES["creators"].key(day))["creators"]}
    rolling = _json(week, ASSET_FILES["rolling_creators"].key(day))["creators"]
    window = {r["creator"]: r for r in rolling}
    uids = _uid_rows(week, day)
    spec = CREATOR_FILES["creator_days"]
    manifest = _json(week, spec.manifest_key(day))
    expected = {spec.key(_key(c), day) for c in window}
    assert set(manifest["files"]) == expected  # a file for every creator of the window
    stored = {k for k in week.objects if k.endswith(f"/days/{day[:7]}/{day}.json")}
    assert stored - {spec.manifest_key(day)} == expected
    sizes = []
    for creator in window:
        key = spec.key(_key(creator), day)
        body = week.objects[key]
        sizes.append(len(body))
        f = CreatorDayFile.model_validate_json(body)
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
    head = week.moto.client().head_object(Bucket=STATS, Key=key)
    assert head["CacheControl"] == CACHE_CONTROL["creators"] == "private, max-age=600"


def test_each_week_file_is_the_creators_row_of_the_week(week):
    weekly = _json(week, ASSET_FILES["weekly_creators"].key(FIRST))["creators"]
    spec = CREATOR_FILES["creator_weeks"]
    assert set(_json(week, spec.manifest_key(FIRST))["files"]) == {
        spec.key(_key(r["creator"]), FIRST) for r in weekly
    }
    for row in weekly:
        f = CreatorWeekFile.model_validate_json(week.objects[spec.key(_key(row["creator"]), FIRST)])
        assert (f.weekStart, f.weekEnd, f.creator) == (FIRST, LAST, row["creator"])
        assert f.week.model_dump(mode="json") == row


def test_keys_are_the_secret_ones_and_the_secret_is_in_no_output(week):
    creator = _json(week, ASSET_FILES["creators"].key(LAST))["creators"][0]["creator"]
    keyed = creator_file_keys(creator, dt.date.fromisoformat(LAST), SECRET.encode())
    plain = creator_file_keys(creator, dt.date.fromisoformat(LAST), None)
    assert all(k in week.objects for k in keyed.values())
    assert not any(k in week.objects for k in plain.values())
    assert SECRET not in week.output


def test_a_signed_link_reads_one_file_until_it_expires(week):
    creator = _json(week, ASSET_FILES["creators"].key(LAST))["creators"][0]["creator"]
    store = r2_store_for(week.moto.endpoint_url)
    keys = {TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}
    with verifying_server(store, keys) as endpoint:
        settings = load_settings(week.env).model_copy(update={"r2_endpoint_url": endpoint})
        links = {link.file: link for link in creator_links(creator, LAST, 60, settings=settings)}
        assert set(links) == {"day", "week"}
        for link in links.values():
            got = httpx.get(link.url)
            assert got.status_code == 200 and got.content == week.objects[link.key]
        other = _json(week, ASSET_FILES["creators"].key(LAST))["creators"][1]["creator"]
        tampered = links["day"].url.replace(_key(creator), _key(other))
        assert tampered != links["day"].url
        assert httpx.get(tampered).status_code == 403  # a link names one key
        short = creator_links(creator, LAST, 1, settings=settings)[0]
        time.sleep(2.1)
        refused = httpx.get(short.url)
        assert refused.status_code == 403 and b"expired" in refused.content


def test_a_recollect_rewrites_no_creator_file(week, monkeypatch):
    for name, value in week.env.items():
        monkeypatch.setenv(name, value)
    before = etags(week.moto.client(), STATS)
    assert cli.main(["collect", "--date", LAST]) == 0
    after = etags(week.moto.client(), STATS)
    creator_keys = [k for k in before if k.startswith("stream-stats/creators/")]
    assert creator_keys and all(after[k] == before[k] for k in creator_keys)
