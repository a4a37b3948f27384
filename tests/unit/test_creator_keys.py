"""The creator key (docs/contract.md, "The creator key"): the committed vectors, hostile ids,
and the keys of each creator's files."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

from stream_stats_dagster.access import creator_file_keys
from stream_stats_dagster.keys import creator_key

VECTORS = json.loads(
    (Path(__file__).parents[2] / "docs" / "creator_key_vectors.json").read_text("utf-8")
)
SECRET = VECTORS["secret"].encode()
HOSTILE = ["../x", "a/b", "🎬🔥 live", "가" * 300, "__null__", "a b", "?x=1#y", "%2e%2e/"]
SAFE = re.compile(r"^[a-z2-7]{52}$")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["creator"][:12] or "''")
def test_committed_vectors(vector):
    assert creator_key(vector["creator"]) == vector["sha256"]
    assert creator_key(vector["creator"], SECRET) == vector["hmacSha256"]


def test_the_vectors_are_the_documented_function():
    """Computed here from the standard library alone, as any language would."""
    for v in VECTORS["vectors"]:
        data = v["creator"].encode("utf-8")
        plain = base64.b32encode(hashlib.sha256(data).digest()).decode().rstrip("=").lower()
        keyed = hmac.new(SECRET, data, hashlib.sha256).digest()
        assert v["sha256"] == plain
        assert v["hmacSha256"] == base64.b32encode(keyed).decode().rstrip("=").lower()


@pytest.mark.parametrize("secret", [None, SECRET])
def test_hostile_ids_give_safe_distinct_keys(secret):
    keys = [creator_key(c, secret) for c in HOSTILE]
    assert all(SAFE.match(k) for k in keys)
    assert len(set(keys)) == len(HOSTILE)
    for c in HOSTILE:
        for key in creator_file_keys(c, dt.date(2025, 3, 11), secret).values():
            assert key.startswith("stream-stats/creators/")
            assert ".." not in key and "//" not in key and c not in key


def test_the_secret_changes_every_key():
    assert all(creator_key(c) != creator_key(c, SECRET) for c in HOSTILE)
    assert creator_key("alice", b"one") != creator_key("alice", b"two")


@pytest.mark.parametrize(
    ("day", "week"),
    [
        ("2025-03-16", "2025-03-10"),  # a Sunday: its own week is complete
        ("2025-03-15", "2025-03-03"),  # a Saturday: the week before
        ("2025-03-10", "2025-03-03"),  # a Monday: the week before
    ],
)
def test_a_day_links_the_newest_complete_week(day, week):
    keys = creator_file_keys("alice", dt.date.fromisoformat(day), None)
    k = creator_key("alice")
    assert keys["day"] == f"stream-stats/creators/{k}/days/{day[:7]}/{day}.json"
    monday = dt.date.fromisoformat(week)
    label = f"{monday.isocalendar()[0]}-{monday.isocalendar()[1]:02d}"
    assert keys["week"] == f"stream-stats/creators/{k}/weeks/{week[:7]}/{label}.json"
