"""Corrupt state heals or names itself: a metadata cache that does not parse is named in one
line at once and rebuilt from the list endpoint; one that parses but has lost rows is found
short against Stream's own count and rebuilt before any cost report reads it; a corrupt
`index.json` or rolling pointer is rebuilt from the history files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.keys import INDEX_KEY, METADATA_CACHE_KEY, rolling_pointer_key
from stream_stats_dagster.metadata_cache import CacheDocument
from tests.support.pipeline import pipeline_env

pytestmark = pytest.mark.e2e
STATS = "points-system-bucket"


def garbage(body: bytes) -> bytes:
    return b"\x00\x17not json at all"


def cut(body: bytes) -> bytes:
    return body[: len(body) // 2]


def uneven(body: bytes) -> bytes:
    doc = json.loads(body)
    doc["columns"]["uid"] = doc["columns"]["uid"][:-3]
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def template(tmp_path_factory, sim) -> Path:
    """A collect of 2025-03-02 (its storage and Dagster home), made once per module."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        pipeline_env(mp, root, sim[1], STREAM_STATS_AUTOMATION="stopped")
        assert cli.main(["collect", "--date", "2025-03-02"]) == 0
    return root


@pytest.fixture
def collected(monkeypatch, tmp_path, sim, template):
    """The stats bucket of a fresh copy of `template`, the project pointed at it."""
    for name in ("data", "dagster_home"):
        shutil.copytree(template / name, tmp_path / name)
    env = pipeline_env(monkeypatch, tmp_path, sim[1], STREAM_STATS_AUTOMATION="stopped")
    return Path(env["STREAM_STATS_LOCAL_DIR"]) / STATS


@pytest.mark.parametrize("spoil", [cut, lambda body: b"", garbage, uneven])
def test_a_cache_that_does_not_parse_is_named_and_rebuilt(collected, capsys, spoil):
    cache = collected / METADATA_CACHE_KEY
    videos = len(json.loads(cache.read_bytes())["columns"]["uid"])
    cache.write_bytes(spoil(cache.read_bytes()))
    capsys.readouterr()
    assert cli.main(["collect", "--date", "2025-03-03"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "warning:" in line]
    assert len(lines) == 1, out
    assert f"{STATS}/{METADATA_CACHE_KEY} is not a valid catalogue (" in lines[0]
    assert "rebuilding it from the Stream list endpoint" in lines[0]
    assert out.index("warning:") < out.index("raw+daily+rolling 2025-03-03: ok")
    healed = CacheDocument.model_validate_json(cache.read_bytes())
    assert len(healed.columns.uid) >= videos


def test_a_short_cache_is_found_and_listed_whole_before_costs(collected, capsys, sim):
    cache = collected / METADATA_CACHE_KEY
    assert cli.main(["collect", "--date", "2025-03-02", "--with-costs"]) == 0
    doc = json.loads(cache.read_bytes())
    doc["columns"] = {name: values[:100] for name, values in doc["columns"].items()}
    cache.write_bytes(json.dumps(doc).encode())  # valid, but 100 videos
    capsys.readouterr()
    assert cli.main(["collect", "--date", "2025-03-03", "--with-costs"]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "warning:" in line]
    # 100 kept, plus the top videos the day's raw step looked up one by one
    assert re.search(r"is short \(it knows 1\d\d videos, Stream holds 3,\d{3}\)", line), line
    catalog = json.loads(
        (collected / "stream-stats/costs/2025-03/2025-03-03-video-catalog.json").read_bytes()
    )
    day_end = "2025-03-03T15:00:00"  # KST midnight: the snapshot holds what existed then
    existed = [v for v in sim[0].platform.videos() if not v.deleted and v.created < day_end]
    assert catalog["videoCount"] == len(existed)


@pytest.mark.parametrize("key", [INDEX_KEY, rolling_pointer_key("creators")])
def test_a_corrupt_index_or_pointer_is_rebuilt_from_the_history(collected, key):
    (collected / key).write_bytes(b'{"schemaVersion": 1, "daily": {"date": 3')
    assert cli.main(["collect", "--date", "2025-03-01"]) == 0  # an older day
    index = json.loads((collected / INDEX_KEY).read_bytes())
    assert index["daily"]["date"] == index["rolling"]["date"] == "2025-03-02"
    for name in ("creators", "countries", "summary"):
        pointer = json.loads((collected / rolling_pointer_key(name)).read_bytes())
        assert pointer["endDate"] == "2025-03-02", name
