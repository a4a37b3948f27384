"""One behaviour for both backends: each test runs on LocalStore and on R2Store (moto)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from stream_stats_dagster import jsonbytes
from stream_stats_dagster.storage import (
    LocalStore,
    ObjectStore,
    PreconditionFailed,
    md5_hex,
    put_if_newer,
)
from stream_stats_dagster.storage.preflight import check_bucket

KEY = "stream-stats/daily/2025-03/2025-03-11-creators.json"


def test_round_trip(store: ObjectStore, bucket: str) -> None:
    assert isinstance(store, ObjectStore)
    body = jsonbytes.dumps({"date": "2025-03-11", "creator": "첫사랑"})
    assert store.get(bucket, KEY) is None
    assert store.head(bucket, KEY) is None
    result = store.put(bucket, KEY, body)
    assert result.written and result.etag == md5_hex(body)
    obj = store.get(bucket, KEY)
    assert obj is not None and obj.body == body and obj.etag == md5_hex(body)
    assert store.head(bucket, KEY) == md5_hex(body)
    store.delete(bucket, KEY)
    store.delete(bucket, KEY)  # a missing key is fine
    assert store.get(bucket, KEY) is None


def test_identical_bytes_are_skipped(store: ObjectStore, bucket: str) -> None:
    body = b'{"a":1}\n'
    assert store.put(bucket, KEY, body).written
    again = store.put(bucket, KEY, body)
    assert not again.written and again.etag == md5_hex(body)
    assert not store.put(bucket, KEY, body, if_match=md5_hex(body)).written
    assert store.put(bucket, KEY, b'{"a":2}\n').written


def test_if_match(store: ObjectStore, bucket: str) -> None:
    old = store.put(bucket, KEY, b"1").etag
    new = store.put(bucket, KEY, b"2", if_match=old)
    assert new.written
    with pytest.raises(PreconditionFailed):
        store.put(bucket, KEY, b"3", if_match=old)  # stale
    with pytest.raises(PreconditionFailed):
        store.put(bucket, KEY, b"1", if_match=old)  # stale, even with the old bytes
    with pytest.raises(PreconditionFailed):
        store.put(bucket, "absent.json", b"3", if_match=old)  # absent key
    assert store.get(bucket, KEY).body == b"2"


def test_if_none_match(store: ObjectStore, bucket: str) -> None:
    assert store.put(bucket, KEY, b"1", if_none_match=True).written
    for body in (b"2", b"1"):  # fails even with identical bytes
        with pytest.raises(PreconditionFailed):
            store.put(bucket, KEY, body, if_none_match=True)
    assert store.get(bucket, KEY).body == b"1"


def test_list_by_prefix(store: ObjectStore, bucket: str) -> None:
    keys = [
        "stream-stats/daily/2025-03/2025-03-11-creators.json",
        "stream-stats/daily/2025-03/2025-03-11-summary.json",
        "stream-stats/daily/2025-03/2025-03-12-creators.json",
        "stream-stats/daily/2025-04/2025-04-01-creators.json",
        "stream-stats/rolling/last7days-creators.json",
        "stream-stats/daily-notes.json",
    ]
    for key in reversed(keys):
        store.put(bucket, key, b"{}")
    assert store.list(bucket, "stream-stats/daily/2025-03/2025-03-11") == keys[:2]
    assert store.list(bucket, "stream-stats/daily/") == keys[:4]
    assert store.list(bucket, "stream-stats/daily") == sorted([*keys[:4], keys[5]])
    assert store.list(bucket, "") == sorted(keys)
    assert store.list(bucket, "nothing/") == []


def _pointer(end: str) -> bytes:
    return jsonbytes.dumps({"schemaVersion": 1, "endDate": end})


def _newer_than(end: str):
    def is_newer(current: bytes | None) -> bool:
        return current is None or jsonbytes.loads(current)["endDate"] <= end

    return is_newer


def test_put_if_newer_moves_forward_only(store: ObjectStore, bucket: str) -> None:
    key = "stream-stats/rolling/last7days-summary.json"
    put = lambda end: put_if_newer(store, bucket, key, _pointer(end), is_newer=_newer_than(end))  # noqa: E731
    assert put("2025-03-11")
    assert not put("2025-03-10")  # older: never replaces
    assert not put("2025-03-11")  # same end date, same bytes: nothing to write
    late = jsonbytes.dumps({"schemaVersion": 1, "endDate": "2025-03-11", "late": True})
    assert put_if_newer(store, bucket, key, late, is_newer=_newer_than("2025-03-11"))
    assert put("2025-03-12")
    assert jsonbytes.loads(store.get(bucket, key).body)["endDate"] == "2025-03-12"


def _racing(work: Callable[[Any], None], args: list) -> list[BaseException]:
    """`work(arg)` for each of `args`, each in its own thread, all released at once; what
    they raised."""
    barrier = threading.Barrier(len(args))
    errors: list[BaseException] = []

    def run(arg: Any) -> None:
        try:
            barrier.wait()
            work(arg)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def _race(store: ObjectStore, bucket: str, key: str, ends: list[str]) -> None:
    def move(end: str) -> None:
        put_if_newer(
            store, bucket, key, _pointer(end), is_newer=_newer_than(end), retries=len(ends)
        )

    assert not _racing(move, ends)


def test_put_if_newer_never_regresses_under_concurrency(store: ObjectStore, bucket: str) -> None:
    ends = [f"2025-03-{day:02d}" for day in (14, 3, 9, 17, 1, 12, 16, 5)]
    for round_ in range(3):
        key = f"stream-stats/rolling/race-{round_}.json"
        _race(store, bucket, key, ends)
        assert jsonbytes.loads(store.get(bucket, key).body)["endDate"] == max(ends)


def test_racing_conditional_puts_have_one_winner(store: ObjectStore, bucket: str) -> None:
    """A conditional PUT's check and write are one step (R2's are; moto's launcher makes
    them so): of writers racing to create a key, or to replace the same ETag, one wins."""
    for round_ in range(10):
        key = f"stream-stats/race/{round_}.json"
        first = store.put(bucket, key, b"first").etag
        for target, condition in (
            (f"{key}.new", {"if_none_match": True}),
            (key, {"if_match": first}),
        ):
            won = _conditional_race(store, bucket, target, condition, writers=16)
            assert len(won) == 1, (condition, won)
            assert store.get(bucket, target).body == won[0]


def _conditional_race(
    store: ObjectStore, bucket: str, key: str, condition: dict, *, writers: int
) -> list[bytes]:
    """The bodies whose conditional PUT of `key` succeeded, of `writers` racing threads (the
    others' PUTs failed their condition)."""
    won: list[bytes] = []

    def write(body: bytes) -> None:
        store.put(bucket, key, body, **condition)
        won.append(body)

    lost = _racing(write, [f"writer {n}".encode() for n in range(writers)])
    assert all(isinstance(err, PreconditionFailed) for err in lost), lost
    return won


def test_preflight_passes_and_leaves_nothing(store: ObjectStore, bucket: str) -> None:
    assert check_bucket(store, bucket) is None
    assert store.list(bucket, "") == []


def test_describe(store: ObjectStore, tmp_path, moto) -> None:
    if isinstance(store, LocalStore):
        assert store.describe() == f"local directory {tmp_path / 'data'}"
    else:
        assert store.describe() == f"R2 {moto.endpoint_url}"
