"""Local-directory backend: `<root>/<bucket>/<key>`, the default storage (contract §3).

It mirrors R2's guarantees so that local runs and tests exercise the same semantics:
- Atomic objects: a PUT writes a temporary file in the bucket's staging directory
  (`<root>/.tmp/<bucket>`, on the same file system), fsyncs it and `os.replace`s it onto the
  key, so a crash leaves the complete old or complete new file.
- ETag = hex MD5 of the file's bytes, as R2 gives single-part objects.
- Conditional PUTs are atomic across threads and processes: every write (and delete) of a
  bucket holds an exclusive `fcntl.flock` on `<root>/.locks/<bucket>.lock` while it checks the
  condition and replaces the file. Each call opens the lock file anew, so threads of one
  process exclude each other too. The new bytes are written and fsynced to their temporary
  file before the lock is taken, so that writers (a file set's 16 threads) wait for one
  another only for the check and the rename. An If-None-Match PUT takes no lock at all:
  `os.link` of its temporary file creates the key only if it is absent, in one step. A new
  day's 134,600 creator files at 10x the seed are all such PUTs; through the lock they were
  written nearly one at a time. Reads take no lock (`os.replace` is atomic for them).
- A process killed between `mkstemp` and `os.replace` leaves its temporary file behind, in
  the staging directory: the first PUT of a store to a bucket removes the ones older than an
  hour (`STALE_TMP_SECONDS`). One directory to sweep: when temporary files sat beside their
  keys, sweeping each directory written to cost 16 s of a 10x day (134,600 directories).
Content-Type and Cache-Control have no place in a plain file and are accepted but not stored.
Buckets are created on demand.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .base import (
    JSON_CONTENT_TYPE,
    AccessDenied,
    PreconditionFailed,
    PutResult,
    StorageError,
    StoredObject,
    md5_hex,
)

_TMP_SUFFIX = ".stream-stats-tmp"
STALE_TMP_SECONDS = 3600.0
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def _place(move: Callable[[str, Path], None], tmp: str, path: Path) -> None:
    """`move(tmp, path)` (`os.replace` or `os.link`) into the key's directory, made first: a
    delete can remove the directory it leaves empty in between (then it is made again)."""
    for attempt in range(3):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            move(tmp, path)
            return
        except FileNotFoundError:
            if attempt == 2:
                raise


class LocalStore:
    """An `ObjectStore` on a local directory."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).absolute()
        self.fsync = fsync
        self._swept: set[Path] = set()  # directories already cleared of stale temp files

    def describe(self) -> str:
        return f"local directory {self.root}"

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- paths -------------------------------------------------------------------------

    def _where(self, bucket: str) -> str:
        return f"bucket {bucket} in local directory {self.root}"

    def _bucket_dir(self, bucket: str) -> Path:
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise StorageError(f"invalid bucket name {bucket!r} for local directory {self.root}")
        return self.root / bucket

    def _path(self, bucket: str, key: str) -> Path:
        parts = key.split("/")
        if (
            not key
            or key.startswith("/")
            or any(p in ("", ".", "..") for p in parts)
            or "\0" in key
            or parts[-1].endswith(_TMP_SUFFIX)
        ):
            raise StorageError(f"invalid key {key!r} for {self._where(bucket)}")
        return self._bucket_dir(bucket).joinpath(*parts)

    def _error(
        self, err: OSError, action: str, bucket: str, key: str | None = None
    ) -> StorageError:
        what = f"{key} in {self._where(bucket)}" if key else self._where(bucket)
        reason = err.strerror or type(err).__name__
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return AccessDenied(f"cannot {action} {what}: {reason}")
        return StorageError(f"cannot {action} {what}: {reason}")

    @contextlib.contextmanager
    def _locked(self, bucket: str) -> Iterator[None]:
        lock_dir = self.root / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_dir / f"{bucket}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # -- reads -------------------------------------------------------------------------

    def get(self, bucket: str, key: str) -> StoredObject | None:
        path = self._path(bucket, key)
        try:
            body = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as err:
            raise self._error(err, "read", bucket, key) from None
        return StoredObject(body=body, etag=md5_hex(body))

    def head(self, bucket: str, key: str) -> str | None:
        obj = self.get(bucket, key)
        return None if obj is None else obj.etag

    def list(self, bucket: str, prefix: str) -> list[str]:
        base = self._bucket_dir(bucket)
        # Walk only the deepest directory the prefix names, then filter by the string prefix.
        start = base.joinpath(*prefix.split("/")[:-1]) if "/" in prefix else base
        keys: list[str] = []
        try:
            for dirpath, dirnames, filenames in os.walk(start):
                dirnames.sort()
                rel = Path(dirpath).relative_to(base).as_posix()
                for name in filenames:
                    if name.endswith(_TMP_SUFFIX):
                        continue
                    key = name if rel == "." else f"{rel}/{name}"
                    if key.startswith(prefix):
                        keys.append(key)
        except OSError as err:
            raise self._error(err, "list", bucket) from None
        return sorted(keys)

    # -- writes ------------------------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = JSON_CONTENT_TYPE,
        cache_control: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> PutResult:
        path = self._path(bucket, key)
        etag = md5_hex(body)
        conditional = if_none_match or if_match is not None
        tmp = None
        try:
            staging = self._staging(bucket)
            if not conditional and self.head(bucket, key) == etag:
                return PutResult(etag=etag, written=False)  # as if just before a newer write
            tmp = self._stage(staging, body)
            if if_none_match and self._link(tmp, path, bucket, key):
                return PutResult(etag=etag, written=True)
            with self._locked(bucket):
                # an unconditional put compared its bytes above: read the key again (the
                # whole file, for its MD5) only where a condition depends on it
                current = self.head(bucket, key) if conditional else None
                if if_none_match and current is not None:
                    raise self._exists(bucket, key)
                if if_match is not None and current != if_match.strip('"'):
                    raise PreconditionFailed(
                        f"{key} in {self._where(bucket)} changed since it was read (if-match)"
                    )
                if current == etag:
                    return PutResult(etag=etag, written=False)
                _place(os.replace, tmp, path)
                tmp = None
        except OSError as err:
            raise self._error(err, "write", bucket, key) from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return PutResult(etag=etag, written=True)

    def _link(self, tmp: str, path: Path, bucket: str, key: str) -> bool:
        """If-None-Match without the lock: a hard link creates `path` only if it does not
        exist, in one step, as no other writer can come between. False where the file
        system has no hard links (then the locked path decides)."""
        try:
            _place(os.link, tmp, path)
        except FileExistsError:
            raise self._exists(bucket, key) from None
        except OSError as err:
            if err.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                return False
            raise
        return True

    def _exists(self, bucket: str, key: str) -> PreconditionFailed:
        return PreconditionFailed(f"{key} already exists in {self._where(bucket)} (if-none-match)")

    def _staging(self, bucket: str) -> Path:
        """The bucket's directory of temporary files, `<root>/.tmp/<bucket>`; the first time
        this store writes to the bucket, the temporary files that killed writes left there
        more than an hour ago (`STALE_TMP_SECONDS`) are removed. A write in progress is never
        that old."""
        directory = self.root / ".tmp" / bucket
        if directory in self._swept:
            return directory
        directory.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - STALE_TMP_SECONDS
        for entry in os.scandir(directory):
            if entry.name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
        self._swept.add(directory)
        return directory

    def _stage(self, staging: Path, body: bytes) -> str:
        """`body` in a temporary file of `staging`, flushed to disk: what `os.replace` (or
        `os.link`) then puts at its key in one step."""
        fd, tmp = tempfile.mkstemp(suffix=_TMP_SUFFIX, dir=staging)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; objects should be readable like any file
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return tmp

    def delete(self, bucket: str, key: str) -> None:
        path = self._path(bucket, key)
        try:
            with self._locked(bucket):
                path.unlink(missing_ok=True)
                # S3 has no directories: drop the ones this key leaves empty (a locked PUT
                # makes its directory under the lock; an If-None-Match one, which takes no
                # lock, makes it again if it went in between: `_place`).
                top = self._bucket_dir(bucket)
                for parent in path.parents:
                    if parent == top or not parent.is_relative_to(top):
                        break
                    try:
                        parent.rmdir()
                    except OSError:
                        break
        except OSError as err:
            raise self._error(err, "delete", bucket, key) from None
