"""A set of small files with a manifest (`file_sets`), on both backends: only changed files
are written, removed ones are deleted, and a manifest that disagrees with the store heals."""

from __future__ import annotations

from stream_stats_dagster.file_sets import read_manifest, write_file_set
from stream_stats_dagster.storage.base import md5_hex

MANIFEST = "stream-stats/creators/manifests/days/2025-03/2025-03-11.json"


def files(n: int, tag: str = "") -> dict[str, bytes]:
    return {
        f"stream-stats/creators/k{i:03d}/d.json": f'{{"n":{i}{tag}}}\n'.encode() for i in range(n)
    }


def write(store, bucket, fs):
    return write_file_set(store, bucket, MANIFEST, fs, cache_control="private, max-age=600")


def test_first_write_then_nothing_then_only_the_changed(store, bucket):
    first = write(store, bucket, files(40))
    assert (first.files, first.written, first.unchanged, first.removed) == (40, 40, 0, 0)
    assert {k: store.get(bucket, k).body for k in files(40)} == files(40)
    again = write(store, bucket, files(40))
    assert (again.written, again.unchanged) == (0, 40)

    changed = files(40)
    changed["stream-stats/creators/k007/d.json"] = b'{"n":"seven"}\n'
    third = write(store, bucket, changed)
    assert (third.written, third.unchanged) == (1, 39)
    assert store.get(bucket, "stream-stats/creators/k007/d.json").body == b'{"n":"seven"}\n'
    assert read_manifest(store, bucket, MANIFEST) == {k: md5_hex(b) for k, b in changed.items()}


def test_a_creator_who_is_gone_loses_the_file(store, bucket):
    write(store, bucket, files(5))
    result = write(store, bucket, files(3))
    assert result.removed == 2
    assert store.get(bucket, "stream-stats/creators/k004/d.json") is None
    assert store.get(bucket, "stream-stats/creators/k002/d.json") is not None


def test_a_stale_or_corrupt_manifest_converges(store, bucket):
    write(store, bucket, files(6))
    # a run died after its PUTs, before its manifest: the store holds the new bytes
    newer = files(6, tag=',"v":2')
    for key, body in newer.items():
        store.put(bucket, key, body)
    result = write(store, bucket, newer)  # If-Match on the old ETag fails: compare, skip
    assert (result.written, result.unchanged) == (0, 6)
    # someone wrote a file the manifest did not know: If-None-Match fails, then compare
    extra = {**newer, "stream-stats/creators/k999/d.json": b"{}\n"}
    store.put(bucket, "stream-stats/creators/k999/d.json", b'{"old":1}\n')
    assert write(store, bucket, extra).written == 1
    assert store.get(bucket, "stream-stats/creators/k999/d.json").body == b"{}\n"
    # a manifest that is not one: every file compared with the store
    store.put(bucket, MANIFEST, b"not json")
    assert read_manifest(store, bucket, MANIFEST) is None
    assert write(store, bucket, extra).written == 0
    assert read_manifest(store, bucket, MANIFEST) is not None
