"""LocalStore specifics: atomic files, cross-process conditional writes, safe keys, no boto."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stream_stats_dagster import jsonbytes
from stream_stats_dagster.storage import LocalStore, StorageError

ROOT = Path(__file__).resolve().parents[2]
KEY = "stream-stats/daily/2025-03/2025-03-11-creators.json"


def test_layout_and_permissions(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("points-system-bucket", KEY, b"{}\n")
    path = tmp_path / "points-system-bucket" / KEY
    assert path.read_bytes() == b"{}\n"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    assert store.list("other-bucket", "") == []  # a missing bucket is empty


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch) -> None:
    store = LocalStore(tmp_path)
    store.put("b", KEY, b"old")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StorageError) as info:
        store.put("b", KEY, b"new")
    assert str(info.value) == (
        f"cannot write {KEY} in bucket b in local directory {tmp_path}: No space left on device"
    )
    monkeypatch.undo()
    assert store.get("b", KEY).body == b"old"
    assert sorted(p.name for p in (tmp_path / "b" / KEY).parent.iterdir()) == [Path(KEY).name]


def test_leftover_temp_files_are_not_keys(tmp_path) -> None:
    store = LocalStore(tmp_path)
    store.put("b", KEY, b"{}")
    (tmp_path / "b" / KEY).with_name(".x.json.abc123.stream-stats-tmp").write_bytes(b"{")
    assert store.list("b", "") == [KEY]


@pytest.mark.parametrize("key", ["", "/abs.json", "a//b.json", "../up.json", "a/./b", "a/.."])
def test_unsafe_keys_are_refused(tmp_path, key) -> None:
    with pytest.raises(StorageError, match="invalid key"):
        LocalStore(tmp_path).put("b", key, b"{}")


@pytest.mark.parametrize("bucket", ["", "..", "a/b", ".locks"])
def test_unsafe_buckets_are_refused(tmp_path, bucket) -> None:
    with pytest.raises(StorageError, match="invalid bucket"):
        LocalStore(tmp_path).get(bucket, "k.json")


_RACER = textwrap.dedent(
    """
    import sys, threading
    from stream_stats_dagster import jsonbytes
    from stream_stats_dagster.storage import LocalStore, put_if_newer

    root, ends = sys.argv[1], sys.argv[2:]
    store = LocalStore(root)
    barrier = threading.Barrier(len(ends))

    def run(end):
        def is_newer(current):
            return current is None or jsonbytes.loads(current)["endDate"] <= end
        barrier.wait()
        body = jsonbytes.dumps({"endDate": end})
        put_if_newer(store, "b", "pointer.json", body, is_newer=is_newer, retries=50)

    threads = [threading.Thread(target=run, args=(e,)) for e in ends]
    [t.start() for t in threads]
    [t.join() for t in threads]
    """
)


def test_put_if_newer_across_processes(tmp_path) -> None:
    ends = [f"2025-03-{day:02d}" for day in range(1, 17)]
    groups = [ends[i::4] for i in range(4)]  # 4 processes x 4 threads, newest in the middle
    procs = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(tmp_path), *group], cwd=ROOT)
        for group in groups
    ]
    assert [p.wait(timeout=30) for p in procs] == [0, 0, 0, 0]
    body = LocalStore(tmp_path).get("b", "pointer.json").body
    assert jsonbytes.loads(body) == {"endDate": max(ends)}


def test_local_paths_import_no_boto(tmp_path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from stream_stats_dagster.config import load_settings
        from stream_stats_dagster.storage import make_store
        from stream_stats_dagster.storage.preflight import check_bucket
        store = make_store(load_settings({"STREAM_STATS_LOCAL_DIR": sys.argv[1]}))
        assert check_bucket(store, "points-system-bucket") is None
        assert not (Path(sys.argv[1]) / "points-system-bucket" / "stream-stats").exists()
        heavy = [m for m in ("boto3", "botocore", "dagster_aws", "dagster") if m in sys.modules]
        assert not heavy, heavy
        import stream_stats_dagster.storage.r2
        assert "botocore" in sys.modules and "dagster_aws" not in sys.modules
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_a_put_removes_stale_temp_files_of_killed_writes(tmp_path) -> None:
    """A kill between mkstemp and os.replace leaves a `.stream-stats-tmp` file in the bucket's
    staging directory; the store's first PUT to the bucket removes the ones older than an
    hour and keeps fresh ones (a write in progress), everything else and other buckets'."""
    staging = tmp_path / ".tmp" / "b"
    staging.mkdir(parents=True)
    stale, stale_other = staging / "k1ll3d.stream-stats-tmp", staging / "zz9.stream-stats-tmp"
    fresh, not_ours = staging / "inprog.stream-stats-tmp", staging / "notes.tmp"
    elsewhere = tmp_path / ".tmp" / "other" / "a.stream-stats-tmp"
    elsewhere.parent.mkdir(parents=True)
    two_hours_ago = time.time() - 2 * 3600
    for path in (stale, stale_other, fresh, not_ours, elsewhere):
        path.write_bytes(b'{"half')
        if path is not fresh:
            os.utime(path, (two_hours_ago, two_hours_ago))

    LocalStore(tmp_path).put("b", KEY, b"{}")

    assert sorted(p.name for p in staging.iterdir()) == sorted([fresh.name, not_ours.name])
    assert elsewhere.exists()  # another bucket's: swept by the first write to that one
    assert sorted(p.name for p in (tmp_path / "b" / KEY).parent.iterdir()) == [Path(KEY).name]


def test_an_unchanged_put_also_sweeps(tmp_path) -> None:
    store = LocalStore(tmp_path)
    store.put("b", KEY, b"{}")
    stale = tmp_path / ".tmp" / "b" / "old.stream-stats-tmp"
    stale.write_bytes(b"{")
    old = time.time() - 3601 - 60
    os.utime(stale, (old, old))
    again = LocalStore(tmp_path)  # a later run's store
    assert again.put("b", KEY, b"{}").written is False
    assert not stale.exists()
    assert again.list("b", "") == [KEY]  # the staging directory holds no keys
