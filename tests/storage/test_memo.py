"""Parsed files are kept for the process and read again as soon as the stored bytes change."""

from __future__ import annotations

import pandas as pd
import pytest

from stream_stats_dagster import documents
from stream_stats_dagster.documents import BadStoredFile, read_documents
from stream_stats_dagster.facts import RawExtract
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.storage.local import LocalStore
from stream_stats_dagster.storage.memo import ParsedFiles

BUCKET = "stats"


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path, fsync=False)


def test_parses_once_until_the_object_changes(store):
    parsed: list[bytes] = []

    def parse(body: bytes) -> str:
        parsed.append(body)
        return body.decode().upper()

    memo = ParsedFiles(capacity=4)
    assert memo.read(store, BUCKET, "a.json", parse) is None
    store.put(BUCKET, "a.json", b"one")
    first = memo.read(store, BUCKET, "a.json", parse)
    assert first is not None and first[1] == "ONE"
    assert memo.read(store, BUCKET, "a.json", parse) == first
    assert parsed == [b"one"]
    store.put(BUCKET, "a.json", b"two")  # another writer
    assert memo.read(store, BUCKET, "a.json", parse)[1] == "TWO"
    assert parsed == [b"one", b"two"]


def test_keeps_only_the_last_files(store):
    memo = ParsedFiles(capacity=2)
    for name in ("a", "b", "c"):
        store.put(BUCKET, name, name.encode())
        memo.read(store, BUCKET, name, bytes.decode)
    assert memo.recall(store, BUCKET, "a", store.head(BUCKET, "a")) is None
    assert memo.recall(store, BUCKET, "c", store.head(BUCKET, "c")) == "c"


def test_raw_inputs_are_decoded_once_per_process(store, monkeypatch):
    spec = ASSET_FILES["raw_creator_minutes"]
    rows = pd.DataFrame({"minutesViewed": [5], "viewCount": [2], "creator": ["c1"]})
    store.put(BUCKET, spec.key("2025-03-02"), spec.encode(RawExtract("2025-03-02", rows)))
    decoded: list[str] = []
    real = type(spec).decode
    monkeypatch.setattr(
        type(spec), "decode", lambda self, body: decoded.append(1) or real(self, body)
    )
    monkeypatch.setattr(documents, "RAW_FILES", ParsedFiles(capacity=8))
    first = read_documents(store, BUCKET, spec, ["2025-03-02", "2025-03-03"])
    again = read_documents(store, BUCKET, spec, ["2025-03-02"])
    assert list(first) == ["2025-03-02"] and again["2025-03-02"] is first["2025-03-02"]
    assert len(decoded) == 1
    store.put(BUCKET, spec.key("2025-03-02"), b'{"schemaVersion":1}')  # replaced by a bad file
    with pytest.raises(BadStoredFile, match="is not a valid creator-minutes file"):
        read_documents(store, BUCKET, spec, ["2025-03-02"])
    loaded = read_documents(store, BUCKET, spec, ["2025-03-02", "2025-03-03"], tolerant=True)
    assert dict(loaded) == {} and list(loaded.unreadable) == ["2025-03-02"]
    assert loaded.unreadable["2025-03-02"].asset == "raw_creator_minutes"


def test_a_file_never_read_costs_one_get_and_a_known_one_a_head(store):
    calls: list[str] = []

    class Counting(LocalStore):
        def get(self, bucket, key):
            calls.append("GET")
            return super().get(bucket, key)

        def head(self, bucket, key):
            calls.append("HEAD")
            obj = LocalStore.get(self, bucket, key)  # not counted as a GET
            return None if obj is None else obj.etag

    counting = Counting(store.root, fsync=False)
    store.put(BUCKET, "a.json", b"one")
    memo = ParsedFiles(capacity=4)
    memo.read(counting, BUCKET, "a.json", bytes.decode)
    assert calls == ["GET"]
    memo.read(counting, BUCKET, "a.json", bytes.decode)
    assert calls == ["GET", "HEAD"]
