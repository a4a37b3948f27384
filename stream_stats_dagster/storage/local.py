"""Local-directory backend: `<root>/<bucket>/<key>`, the default storage (contract §3).

It mirrors R2's guarantees so that local runs and tests exercise the same semantics:
- Atomic objects: a PUT writes a temporary file in the target directory, fsyncs it and
  `os.replace`s it onto the key, so a crash leaves the complete old or complete new file.
- ETag = hex MD5 of the file's bytes, as R2 gives single-part objects.
- Conditional PUTs are atomic across threads and processes: every write (and delete) of a
  bucket holds an exclusive `fcntl.flock` on `<root>/.locks/<bucket>.lock` while it checks the
  condition and replaces the file. Each call opens the lock file anew, so threads of one
  process exclude each other too. The new bytes are written and fsynced to their temporary
  file before the lock is taken, so that writers (a file set's 16 threads) wait for one
  another only for the check and the rename: with the fsync inside it, a day's 134,600
  creator files at 10x the seed were written one at a time. Reads take no lock
  (`os.replace` is atomic for them).
- A process killed between `mkstemp` and `os.replace` leaves its temporary file behind: a PUT
  removes the temporary files older than an hour (`STALE_TMP_SECONDS`) in the directory of the
  key it writes, once per directory per store. A write in progress is never that old.
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
from collections.abc import Iterator
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
            if not conditional and self.head(bucket, key) == etag:
                return PutResult(etag=etag, written=False)  # as if just before a newer write
            tmp = self._stage(path, body)
            with self._locked(bucket):
                # an unconditional put compared its bytes above: read the key again (the
                # whole file, for its MD5) only where a condition depends on it
                current = self.head(bucket, key) if conditional else None
                if if_none_match and current is not None:
                    raise PreconditionFailed(
                        f"{key} already exists in {self._where(bucket)} (if-none-match)"
                    )
                if if_match is not None and current != if_match.strip('"'):
                    raise PreconditionFailed(
                        f"{key} in {self._where(bucket)} changed since it was read (if-match)"
                    )
                if current == etag:
                    return PutResult(etag=etag, written=False)
                os.replace(tmp, path)
                tmp = None
        except OSError as err:
            raise self._error(err, "write", bucket, key) from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            self._sweep(path.parent)
        return PutResult(etag=etag, written=True)

    def _sweep(self, directory: Path) -> None:
        """Remove temporary files that killed writes left in `directory` (best effort)."""
        if directory in self._swept:
            return
        cutoff = time.time() - STALE_TMP_SECONDS
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        self._swept.add(directory)
        for entry in entries:
            if not (entry.name.startswith(".") and entry.name.endswith(_TMP_SUFFIX)):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    def _stage(self, path: Path, body: bytes) -> str:
        """`body` in a temporary file beside `path`, flushed to disk: what `os.replace` then
        puts at the key in one step."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
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
                # S3 has no directories: drop the ones this key leaves empty (under the lock,
                # so no PUT of this bucket is between its mkdir and its write).
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
