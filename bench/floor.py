"""The floor: a plain collector of the same contract, written without the project.

    python -m bench.floor collect --date 2025-06-30
    python -m bench.floor collect --from 2025-04-02 --to 2025-06-30

It imports nothing from `stream_stats_dagster` (nor Dagster, pydantic or pandas): the
standard library, httpx, and boto3 when R2 is configured. It reads the same environment
(contract §3), sends the same requests as `stream-stats collect` and writes the same files, so
the bench can put the product next to a floor that does the same work in plain Python
(issue 11, item 6). The bench compares its stats bucket with the product's object by object.

What it does, as the product does it:
- Plan: the days of the range in runs of at most 7 (raw + daily + rolling), each run's raw
  fetch taking the six days before its first day whose raw extracts are missing (5 HEADs a
  day) with its own; then the complete weeks of the range, 4 a run.
- GraphQL (`POST {base}/graphql`): per run, four aliased nodes per day (creators and
  countries paged by keyset at 10,000 rows, the top-N videos, the hourly series on the day's
  UTC bounds), at most 12 nodes a request, the follow-up pages queued behind; the same
  documents and variables, byte for byte.
- REST: the metadata cache at `stream-stats/cache/video-catalog.json` (columns; the older
  per-video `video-metadata.json` is read once and migrated, as the product does); more than
  200 unknown uids list the catalogue (`GET .../stream`, 1,000 a page, by creation time),
  the rest one `GET .../stream/{uid}` each, 8 at a time; a 404 is a deleted video.
- Per-video minutes (the product's `raw_uid_minutes`, after the raw step): one node a day
  (`u{i}_p1`) of every video with views, grouped by uid and creator, ordered `uid_ASC,
  creator_ASC`, 10,000 rows a page; a full page is followed by one starting AT its last uid
  (`uid_geq`), whose rows already read are dropped; ≤12 nodes a request, in requests of
  their own.
- The catalogue (the product's `video_catalog`, after that): incremental from the cache's
  cursor after one `GET .../stream?limit=1` for the account's total (a cache that would
  still know fewer found videos is listed whole); from the start when `fullListingAt` is
  unset or 7 days old, then the known videos the listing lacks one by one (≤300); the
  cache is saved if anything changed, `fullListingAt` stamped by a whole listing.
- Files: 5 raw extracts, 4 daily files and 3 rolling windows (+ the forward-only
  `last7days-*` pointers) a day, 2 weekly files a week, `stream-stats/index.json` last in a
  run, and an operation-log record per day and operation in LOG_BUCKET. And per day of a
  report run: `raw/...-uid-minutes.json` (columns, by uid then creator),
  `costs/...-video-catalog.json` (the found videos created before the day's end), and each
  creator's file of the day (every creator of the 7-day window: their row of the day's
  creators file or null, of the window, their videos of the day from the per-video minutes
  with the snapshot's names, built like videos-with-posts, and their posts); per week each
  creator's week file (their row of the weekly creators file). Creator files live under
  `creators/<key>/` (key: base32 of SHA-256, or HMAC-SHA256 with
  STREAM_STATS_CREATOR_KEY_SECRET, of the creator id) and are written as sets: one GET of
  the set's manifest (`creators/manifests/{days,weeks}/...`, `{key: md5}`), a PUT of each
  file it does not list with that MD5 (16 in flight), a DELETE of each it lists that the
  set no longer has, then the manifest.

Where it is leaner than the product, on purpose (a plain script would be): one process
holds the cache for all its runs and the last six days' facts from one run to the next
(other days are read back from the raw extracts), the index is moved once per run, a
pointer once per run and file (only a run's newest window can move it), and S3 PUTs are
sent without a HEAD first (unconditional ones; local files are compared before writing).
There is no client-side pacing (the bench switches the product's off too) and only a
simple retry of 429/5xx with `retry-after`. It does not refuse a re-collect whose
per-video minutes shrank nor keep revisions of them (the product's `--accept-shrink`
guard), does not run the creator files' checks (it writes them; the product writes them
only when the day's checks pass, as they do on the simulator), and keeps everything in
STATS_BUCKET (PRIVATE_BUCKET unset, as in the bench).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import httpx

PREFIX = "stream-stats"
CACHE_KEY = f"{PREFIX}/cache/video-catalog.json"
LEGACY_CACHE_KEY = f"{PREFIX}/cache/video-metadata.json"
INDEX_KEY = f"{PREFIX}/index.json"
NULL = "__null__"
MAX_DAYS_PER_RUN, WEEKS_PER_RUN = 7, 4
MAX_NODES, PAGE, SERIES_LIMIT = 12, 10000, 1000
WARM_THRESHOLD, REST_CONCURRENCY = 200, 8
FULL_LISTING_EVERY, RECHECK_LIMIT = dt.timedelta(days=7), 300  # the catalogue's refresh
SET_CONCURRENCY = 16  # PUTs of a set of creator files in flight
DAY, WEEK = dt.timedelta(days=1), dt.timedelta(days=6)
CACHE_CONTROL = {
    "raw": "private, max-age=3600",
    "daily": "public, max-age=600",
    "weekly": "public, max-age=600",
    "rolling": "public, max-age=600",
    "pointer": "public, max-age=60",
    "index": "public, max-age=60",
    "private": "private, max-age=0",
    "raw_costs": "private, max-age=3600",
    "costs": "private, max-age=600",
    "creators": "private, max-age=600",
}
RAW_NAMES = ("creator-minutes", "country-minutes", "video-minutes", "hourly-minutes",
             "video-metadata")  # fmt: skip
META_FIELDS = ("found", "creator", "name", "title", "created")  # the snapshot, after uid
DETAIL_FIELDS = ("duration", "size", "state", "readyToStreamAt", "scheduledDeletion")
CACHE_COLUMNS = ("uid", *META_FIELDS, *DETAIL_FIELDS)
CATALOG_COLUMNS = tuple(c for c in CACHE_COLUMNS if c != "found")  # the day's snapshot
REPEATED_NAMES = ("creator", "title", "state", "scheduledDeletion")

# What the store did, for the bench (plain ints: cheap enough to keep always).
STATS: dict[str, int] = {}
_stats_lock = threading.Lock()


def count(name: str, n: int = 1) -> None:
    with _stats_lock:
        STATS[name] = STATS.get(name, 0) + n


def dumps(data: object) -> bytes:
    """The project's canonical JSON: compact, UTF-8 as is, one trailing newline."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode() + b"\n"


# ----------------------------------------------------------------------------- configuration


class Config:
    def __init__(self, env: dict[str, str]) -> None:
        def get(name: str, default: str | None = None) -> str | None:
            value = (env.get(name) or "").strip()
            return value or default

        self.base = get("CLOUDFLARE_API_BASE_URL", "https://api.cloudflare.com/client/v4")
        self.base = self.base.rstrip("/")
        self.account, self.token = get("CLOUDFLARE_ACCOUNT_ID"), get("CLOUDFLARE_API_TOKEN")
        if not (self.account and self.token):
            raise SystemExit("floor: CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are needed")
        self.source = get("STREAM_STATS_SOURCE", "cloudflare")
        r2_account = get("R2_ACCOUNT_ID")
        self.r2_endpoint = get("R2_ENDPOINT_URL") or (
            f"https://{r2_account}.r2.cloudflarestorage.com" if r2_account else None
        )
        self.r2_key, self.r2_secret = get("R2_ACCESS_KEY_ID"), get("R2_SECRET_ACCESS_KEY")
        if self.r2_endpoint and not (self.r2_key and self.r2_secret):
            raise SystemExit("floor: R2 needs R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY")
        self.local_dir = get("STREAM_STATS_LOCAL_DIR", "./.stream-stats-data")
        self.stats_bucket = get("STATS_BUCKET", "points-system-bucket")
        self.log_bucket = get("LOG_BUCKET", "logs-bucket")
        self.timezone = get("STREAM_STATS_TIMEZONE", "Asia/Seoul")
        self.tz = ZoneInfo(self.timezone)
        self.start = dt.date.fromisoformat(get("STREAM_STATS_START_DATE", "2025-01-01"))
        secret = get("STREAM_STATS_CREATOR_KEY_SECRET")
        self.creator_secret = secret.encode() if secret else None
        self.top = int(get("STREAM_STATS_TOP_VIDEOS", "1000"))
        if not 1 <= self.top <= PAGE:
            raise SystemExit("floor: STREAM_STATS_TOP_VIDEOS must be in 1..10000")


# ----------------------------------------------------------------------------- storage


class LocalStore:
    """`<root>/<bucket>/<key>`: atomic replace with fsync, identical bytes not rewritten,
    conditional updates under the same per-bucket lock file as the project's LocalStore."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def _path(self, bucket: str, key: str) -> str:
        return os.path.join(self.root, bucket, *key.split("/"))

    def get(self, bucket: str, key: str) -> bytes | None:
        count("store_get")
        try:
            with open(self._path(bucket, key), "rb") as f:
                body = f.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        count("bytes_read", len(body))
        return body

    def exists(self, bucket: str, key: str) -> bool:
        count("store_head")
        return os.path.isfile(self._path(bucket, key))

    def put(self, bucket: str, key: str, body: bytes, cache_control: str) -> bool:
        count("store_put")
        path = self._path(bucket, key)
        try:
            if os.path.getsize(path) == len(body):
                with open(path, "rb") as f:
                    if f.read() == body:
                        return False
        except OSError:
            pass
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".stream-stats-tmp", dir=directory
        )
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        count("bytes_written", len(body))
        count("files_written")
        return True

    def delete(self, bucket: str, key: str) -> None:
        count("store_delete")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(bucket, key))

    @staticmethod
    def tag_of(body: bytes) -> str:
        return hashlib.md5(body, usedforsecurity=False).hexdigest()

    def get_tagged(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        body = self.get(bucket, key)
        return None if body is None else (body, self.tag_of(body))

    def put_if(self, bucket: str, key: str, body: bytes, cc: str, tag: str | None) -> bool:
        """Write only if the object is still the one with `tag` (None: still absent)."""
        locks = os.path.join(self.root, ".locks")
        os.makedirs(locks, exist_ok=True)
        fd = os.open(os.path.join(locks, f"{bucket}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = self.get_tagged(bucket, key)
            if (current[1] if current else None) != tag:
                raise Conflict(key)
            return self.put(bucket, key, body, cc)
        finally:
            os.close(fd)

    def update(
        self, bucket: str, key: str, change: Callable[[bytes | None], bytes | None], cc: str
    ) -> bool:
        return update(self, bucket, key, change, cc)


class S3Store:
    """R2 over the S3 API (boto3, region auto). Conditional updates use If-Match /
    If-None-Match and start again on 412 (or 404/409, as S3 and moto answer)."""

    def __init__(self, cfg: Config) -> None:
        import boto3
        import botocore.session
        from botocore.config import Config as BotoConfig

        session = boto3.session.Session(
            botocore_session=botocore.session.Session(
                session_vars={"profile": (None, None, None, None)}
            )
        )
        self.client = session.client(
            "s3",
            region_name="auto",
            endpoint_url=cfg.r2_endpoint,
            aws_access_key_id=cfg.r2_key,
            aws_secret_access_key=cfg.r2_secret,
            config=BotoConfig(
                retries={"max_attempts": 5, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self.errors = self.client.exceptions.ClientError

    @staticmethod
    def tag_of(body: bytes) -> str:
        """The ETag of a single-part PUT of `body` (its MD5, quoted)."""
        return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'

    def get_tagged(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        count("store_get")
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except self.errors as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        body = response["Body"].read()
        count("bytes_read", len(body))
        return body, response["ETag"]

    def get(self, bucket: str, key: str) -> bytes | None:
        got = self.get_tagged(bucket, key)
        return None if got is None else got[0]

    def exists(self, bucket: str, key: str) -> bool:
        count("store_head")
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except self.errors as err:
            if err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def put(self, bucket: str, key: str, body: bytes, cache_control: str, **cond: str) -> bool:
        count("store_put")
        self.client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            CacheControl=cache_control,
            ContentMD5=_b64md5(body),
            **cond,
        )
        count("bytes_written", len(body))
        count("files_written")
        return True

    def delete(self, bucket: str, key: str) -> None:
        count("store_delete")
        self.client.delete_object(Bucket=bucket, Key=key)

    def put_if(self, bucket: str, key: str, body: bytes, cc: str, tag: str | None) -> bool:
        cond = {"IfNoneMatch": "*"} if tag is None else {"IfMatch": tag}
        try:
            return self.put(bucket, key, body, cc, **cond)
        except self.errors as err:
            if err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (404, 409, 412):
                raise Conflict(key) from None
            raise

    def update(
        self, bucket: str, key: str, change: Callable[[bytes | None], bytes | None], cc: str
    ) -> bool:
        return update(self, bucket, key, change, cc)


class Conflict(Exception):
    """A conditional write found another version than the one it was based on."""


def update(store, bucket: str, key: str, change: Callable[[bytes | None], bytes | None], cc: str):
    """Read-modify-write that never loses a concurrent update; `change` returns None to keep
    the object as it is."""
    for attempt in range(6):
        got = store.get_tagged(bucket, key)
        body = change(None if got is None else got[0])
        if body is None or (got is not None and got[0] == body):
            return False
        try:
            return store.put_if(bucket, key, body, cc, None if got is None else got[1])
        except Conflict:
            if attempt == 5:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    return False


def _b64md5(body: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


# ----------------------------------------------------------------------------- Cloudflare


class Node:
    """One aliased `streamMinutesViewedAdaptiveGroups` field of a document."""

    __slots__ = ("after", "alias", "day", "dims", "end", "geq", "kind", "limit", "order", "page",
                 "start")  # fmt: skip

    def __init__(self, alias, kind, day, dims, start, end, limit, order, after=None, page=1,
                 geq=False):  # fmt: skip
        self.alias, self.kind, self.day, self.dims = alias, kind, day, dims
        self.start, self.end, self.limit, self.order = start, end, limit, order
        self.after, self.page, self.geq = after, page, geq  # geq: `<dim>_geq`, else `_gt`


def document(nodes: list[Node]) -> tuple[str, dict[str, str]]:
    """The query text and its variables, exactly as the product builds them."""
    declarations, variables, names = ["$accountTag: string!"], {}, {}

    def var(scalar: str, value: str) -> str:
        if (scalar, value) not in names:
            name = f"{'t' if scalar == 'Time' else 'k'}{len(names)}"
            names[scalar, value] = name
            declarations.append(f"${name}: {scalar}!")
            variables[name] = value
        return "$" + names[scalar, value]

    fields = []
    for n in nodes:
        filters = [f"datetime_geq: {var('Time', n.start)}", f"datetime_lt: {var('Time', n.end)}"]
        if n.after is not None:
            op = "geq" if n.geq else "gt"
            filters.append(f"{n.after[0]}_{op}: {var('string', n.after[1])}")
        fields.append(
            f"      {n.alias}: streamMinutesViewedAdaptiveGroups(\n"
            f"        filter: {{{', '.join(filters)}}}\n"
            f"        orderBy: [{', '.join(n.order)}]\n"
            f"        limit: {n.limit}\n"
            f"      ) {{\n"
            f"        count\n"
            f"        sum {{ minutesViewed }}\n"
            f"        dimensions {{ {' '.join(n.dims)} }}\n"
            f"      }}"
        )
    text = (
        f"query StreamMinutes({', '.join(declarations)}) {{\n"
        f"  viewer {{\n"
        f"    accounts(filter: {{accountTag: $accountTag}}) {{\n"
        + "\n".join(fields)
        + "\n    }\n  }\n}\n"
    )
    return text, variables


def utc_z(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Facts:
    """One report day's facts, as plain values. Creators and countries: {name: (minutes,
    views)} with the names as Cloudflare sent them; videos: [(uid, creator, minutes, views)]
    in Cloudflare's order; hours: [(label, minutes, views)] per local hour."""

    __slots__ = ("_keyed", "countries", "creators", "day", "hours", "videos")

    def __init__(self, day, creators, countries, videos, hours):
        self.day, self.creators, self.countries = day, creators, countries
        self.videos, self.hours = videos, hours
        self._keyed: dict[str, dict[str, list[int]]] = {}

    def total(self) -> tuple[int, int]:
        return sum(h[1] for h in self.hours), sum(h[2] for h in self.hours)

    def keyed(self, what: str) -> dict[str, tuple[int, int]]:
        """Creators or countries with "" merged under `__null__` (names are unique, so only
        those two can meet)."""
        if what not in self._keyed:
            out = getattr(self, what)
            if "" in out:
                out = dict(out)
                m, v = out.pop("")
                m2, v2 = out.get(NULL, (0, 0))
                out[NULL] = (m + m2, v + v2)
            self._keyed[what] = out
        return self._keyed[what]


class Cloudflare:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.http = httpx.Client(
            timeout=30.0,
            headers={"Authorization": f"Bearer {cfg.token}", "User-Agent": "stream-stats-floor"},
        )
        self.stream_url = f"{cfg.base}/accounts/{cfg.account}/stream"

    def close(self) -> None:
        self.http.close()

    def _call(self, send: Callable[[], httpx.Response], what: str, not_found_ok=False):
        """The response body; retries 429/5xx/rate-limit texts (honouring retry-after)."""
        for attempt in range(1, 6):
            response = send()
            status = response.status_code
            if status == 404 and not_found_ok:
                return None
            body = None
            with contextlib.suppress(ValueError):
                body = response.json()
            errors = body.get("errors") if isinstance(body, dict) else None
            text = json.dumps(errors).lower() if errors else ""
            transient = status == 429 or status >= 500 or "budget" in text or "rate limit" in text
            if not transient and status == 200 and body is not None and not errors:
                return body
            if not transient or attempt == 5:
                raise RuntimeError(f"{what}: HTTP {status}: {errors or response.text[:200]}")
            wait = min(60.0, 2 ** (attempt - 1))
            with contextlib.suppress(TypeError, ValueError):
                wait = max(wait, float(response.headers.get("retry-after")))
            time.sleep(wait)
        raise AssertionError("unreachable")

    # -- GraphQL --------------------------------------------------------------------------
    def fetch_days(self, days: list[dt.date]) -> dict[dt.date, Facts]:
        tz, top = self.cfg.tz, self.cfg.top
        state: dict[dt.date, dict] = {}
        queue: deque[Node] = deque()
        for i, day in enumerate(days):
            start = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
            end = dt.datetime.combine(day + DAY, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
            hours, t = [], start
            while t < end:
                hours.append(t.astimezone(tz))
                t += dt.timedelta(hours=1)
            whole = all(h.utcoffset().total_seconds() % 3600 == 0 for h in hours)
            bucket = "datetimeHour" if whole else "datetimeFifteenMinutes"
            state[day] = {
                "start": start,
                "labels": [h.isoformat(timespec="seconds") for h in hours],
                "hours": [[0, 0] for _ in hours],
                "creators": {},
                "countries": {},
                "videos": [],
            }
            s, e, d = utc_z(start), utc_z(end), f"d{i}"
            queue.extend(
                [
                    Node(f"{d}_creators", "creators", day, ("creator",), s, e, PAGE,
                         ("creator_ASC",)),
                    Node(f"{d}_countries", "countries", day, ("clientCountryName",), s, e, PAGE,
                         ("clientCountryName_ASC",)),
                    Node(f"{d}_videos", "videos", day, ("uid", "creator"), s, e, top,
                         ("sum_minutesViewed_DESC", "count_DESC", "uid_ASC")),
                    Node(f"{d}_hours", "series", day, (bucket,), s, e, SERIES_LIMIT,
                         (f"{bucket}_ASC",)),
                ]
            )  # fmt: skip
        self._drain(queue, lambda node, rows: self._absorb(node, rows, state[node.day]))
        return {
            day: Facts(
                day,
                {k: s["creators"][k] for k in sorted(s["creators"])},
                {k: s["countries"][k] for k in sorted(s["countries"])},
                s["videos"],
                [(label, m, v) for label, (m, v) in zip(s["labels"], s["hours"], strict=True)],
            )
            for day, s in state.items()
        }

    def _drain(self, queue: deque[Node], absorb: Callable[[Node, list], Node | None]) -> None:
        """Send the queued nodes, at most 12 a request, one request at a time; `absorb` takes
        a node's rows and may queue its next page behind the others."""
        url = f"{self.cfg.base}/graphql"
        while queue:
            batch = [queue.popleft() for _ in range(min(MAX_NODES, len(queue)))]
            text, variables = document(batch)
            payload = {"query": text, "variables": {"accountTag": self.cfg.account, **variables}}
            body = self._call(lambda p=payload: self.http.post(url, json=p), "GraphQL")
            scope = body["data"]["viewer"]["accounts"][0]
            for node in batch:
                follow = absorb(node, scope[node.alias])
                if follow is not None:
                    queue.append(follow)

    def fetch_uid_minutes(self, days: list[dt.date]) -> dict[dt.date, list[tuple]]:
        """Every video with views on each day, with its creator: [(uid, creator, minutes,
        views)] ascending by uid, then creator. One node a day (`u{i}_p1`), grouped by uid
        and creator, ordered `uid_ASC, creator_ASC`; a full page is followed by one that
        starts AT its last uid (`uid_geq`), whose rows already read are dropped."""
        tz = self.cfg.tz
        out: dict[dt.date, list[tuple]] = {}
        seen: dict[dt.date, set] = {}  # the last uid's creators already read
        queue: deque[Node] = deque()
        for i, day in enumerate(dict.fromkeys(days)):
            start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
            end = dt.datetime.combine(day + DAY, dt.time(0), tzinfo=tz)
            out[day], seen[day] = [], set()
            queue.append(Node(f"u{i}_p1", "uids", day, ("uid", "creator"), utc_z(start),
                              utc_z(end), PAGE, ("uid_ASC", "creator_ASC")))  # fmt: skip

        def absorb(node: Node, rows: list) -> Node | None:
            got, done = out[node.day], seen[node.day]
            added = 0
            for r in rows:
                uid, creator = r["dimensions"]["uid"], r["dimensions"]["creator"]
                last = got[-1][0] if got else None
                if uid == last and creator in done:
                    continue  # read on the page before
                if uid != last:
                    done.clear()
                done.add(creator)
                got.append((uid, creator, int(r["sum"]["minutesViewed"]), int(r["count"])))
                added += 1
            if len(rows) < node.limit:
                return None
            if not added:
                raise RuntimeError(f"{node.alias}: a full page of rows already read")
            alias = f"{node.alias.split('_')[0]}_p{node.page + 1}"
            return Node(alias, "uids", node.day, node.dims, node.start, node.end, node.limit,
                        node.order, ("uid", got[-1][0]), node.page + 1, geq=True)  # fmt: skip

        self._drain(queue, absorb)
        return out

    @staticmethod
    def _absorb(node: Node, rows: list, s: dict) -> Node | None:
        if node.kind in ("creators", "countries"):
            dim, target = node.dims[0], s[node.kind]
            for r in rows:
                target[r["dimensions"][dim]] = (int(r["sum"]["minutesViewed"]), int(r["count"]))
            if len(rows) < node.limit:
                return None
            last = rows[-1]["dimensions"][dim]
            alias = f"{node.alias.split('_')[0]}_{node.kind}_p{node.page + 1}"
            return Node(alias, node.kind, node.day, node.dims, node.start, node.end, node.limit,
                        node.order, (dim, last), node.page + 1)  # fmt: skip
        if node.kind == "videos":
            s["videos"] = [
                (r["dimensions"]["uid"], r["dimensions"]["creator"],
                 int(r["sum"]["minutesViewed"]), int(r["count"]))
                for r in rows
            ]  # fmt: skip
            return None
        start, hours, dim = s["start"], s["hours"], node.dims[0]
        for r in rows:
            t = dt.datetime.fromisoformat(r["dimensions"][dim])
            i = int((t - start).total_seconds() // 3600)
            hours[i][0] += int(r["sum"]["minutesViewed"])
            hours[i][1] += int(r["count"])
        return None

    # -- REST -----------------------------------------------------------------------------
    def get_videos(self, uids: list[str]) -> dict[str, list]:
        def one(uid: str) -> tuple[str, list]:
            body = self._call(
                lambda: self.http.get(f"{self.stream_url}/{uid}"), f"video {uid}", True
            )
            return uid, ([False] + [None] * 9) if body is None else video_row(body["result"])

        with ThreadPoolExecutor(max_workers=max(1, min(REST_CONCURRENCY, len(uids)))) as pool:
            return dict(pool.map(one, uids))

    def count_videos(self) -> int | None:
        """How many videos the account holds (the list endpoint's `total`, one call)."""
        body = self._call(lambda: self.http.get(self.stream_url, params={"limit": "1"}), "count")
        total = body.get("total")
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    def list_videos(self, created_after: str | None) -> Iterator[tuple[str, list, str | None]]:
        """(uid, cache row, created) of the catalogue in creation order, paged as the
        product pages it (next page from the last `created` minus one second)."""
        start, seen = created_after, set()
        while True:
            params = {"asc": "true", "limit": "1000"}
            if start:
                params["start"] = start
            body = self._call(
                lambda params=params: self.http.get(self.stream_url, params=params), "list"
            )
            items = body["result"]
            for item in items:
                if item["uid"] not in seen:
                    seen.add(item["uid"])
                    yield item["uid"], video_row(item), item.get("created")
            if len(items) < 1000:
                return
            last = dt.datetime.fromisoformat(items[-1]["created"])
            start = utc_z(last - dt.timedelta(seconds=1))


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def video_row(item: dict) -> list:
    """A cache row (after the uid): found, creator, name, title, created, then the details."""
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    duration = item.get("duration")
    size = item.get("size")
    return [
        True,
        _str(item.get("creator")),
        _str(meta.get("name")),
        _str(meta.get("title")),
        _str(item.get("created")),
        None if duration is None or isinstance(duration, bool) else float(duration),
        None if size is None or isinstance(size, bool) else int(size),
        _str(status.get("state")),
        _str(item.get("readyToStreamAt")),
        _str(item.get("scheduledDeletion")),
    ]


# ----------------------------------------------------------------------------- metadata cache


def _time(text: str | None) -> dt.datetime | None:
    """A Stream time (`...Z`) as an aware datetime; None if absent or not a time."""
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def parse_cache(text: str) -> tuple[dict, dict[str, list]]:
    """The cache document's scalars and its columns, one column at a time, each column's
    repeated strings (creator, title, state, ...) made one object as soon as it is read:
    100,000 rows parse to ~55 MB of lists instead of ~75 MB, and never all of both at once."""
    decoder = json.JSONDecoder()
    try:
        at = text.index('"columns":{')
        head = json.loads(text[:at].rstrip(",") + "}")
        i, columns = at + len('"columns":{'), {}
        while text[i] != "}":
            name, i = decoder.raw_decode(text, i)
            if text[i] != ":":
                raise ValueError(name)
            values, i = decoder.raw_decode(text, i + 1)
            if name in REPEATED_NAMES:
                seen: dict = {}
                values = [seen.setdefault(x, x) for x in values]
            columns[name] = values
            if text[i] == ",":
                i += 1
        return head, columns
    except (ValueError, IndexError):  # not the compact layout: parse it whole
        doc = json.loads(text)
        return doc, doc.pop("columns")


class MetadataCache:
    """The catalogue as columns (`video-catalog.json`), loaded once per process."""

    def __init__(self, store, bucket: str) -> None:
        self.store, self.bucket = store, bucket
        self.loaded = False

    def load(self) -> None:
        if not self.loaded:
            self._load()

    def _load(self) -> None:
        got = self.store.get_tagged(self.bucket, CACHE_KEY)
        self.migrated, self.tag = False, None
        if got is not None:
            self.tag = got[1]
            text = got[0].decode()
            del got  # ~17 MB: the bytes, the text and the columns are not all needed at once
            head, columns = parse_cache(text)
            del text
            self.cursor, self.full_at = head.get("catalogueCursor"), head.get("fullListingAt")
            self.columns = [columns.pop(c) for c in CACHE_COLUMNS]
        else:
            self.cursor, self.full_at = None, None
            self.columns = [[] for _ in CACHE_COLUMNS]
            legacy = self.store.get(self.bucket, LEGACY_CACHE_KEY)
            if legacy is not None:  # migrate once; the listing starts again from the start
                self.migrated = True
                for uid, entry in json.loads(legacy).get("videos", {}).items():
                    self.columns[0].append(uid)
                    for i, name in enumerate(META_FIELDS, 1):
                        self.columns[i].append(entry.get(name))
                    for i in range(len(META_FIELDS) + 1, len(CACHE_COLUMNS)):
                        self.columns[i].append(None)
        self.row_of = {uid: i for i, uid in enumerate(self.columns[0])}
        self._created: list[dt.datetime | None] | None = None
        self.loaded = True

    def snapshot(self, uid: str) -> dict:
        i = self.row_of[uid]
        c = self.columns
        return {"uid": uid, "found": c[1][i], "creator": c[2][i], "name": c[3][i],
                "title": c[4][i], "created": c[5][i]}  # fmt: skip

    def resolve(self, client: Cloudflare, uids: Iterable[str]) -> None:
        """Make every uid known: list the catalogue past the cursor when many are unknown,
        fetch the rest one by one, and save (conditionally) if anything changed."""
        if not self.loaded:
            self._load()
        unknown = [u for u in dict.fromkeys(uids) if u not in self.row_of]
        new: dict[str, list] = {}
        cursor = self.cursor
        if len(unknown) > WARM_THRESHOLD:
            for uid, row, created in client.list_videos(cursor):
                new[uid] = row
                if created and (cursor is None or created > cursor):
                    cursor = created
            unknown = [u for u in unknown if u not in new]
        if unknown:
            new.update(client.get_videos(unknown))
        if new or cursor != self.cursor or self.migrated:
            self._save(new, cursor)

    def refresh(self, client: Cloudflare, now: dt.datetime) -> None:
        """The catalogue brought up to date, as the product's `video_catalog` step does it:
        from the cursor (after one call for the account's total: a cache that would still
        know fewer found videos is listed whole), or from the start when it was never
        listed whole or that is 7 days old; a whole listing asks for the known videos it no
        longer shows one by one (at most 300). Saved if anything changed."""
        if not self.loaded:
            self._load()
        last_full = dt.datetime.fromisoformat(self.full_at) if self.full_at else None
        full = last_full is None or now - last_full >= FULL_LISTING_EVERY
        total = None if full else client.count_videos()
        listed, cursor = self._list(client, None if full else self.cursor)
        uids, found = self.columns[0], self.columns[1]
        if total is not None:
            known = {u for u, f in zip(uids, found, strict=True) if f} | listed.keys()
            if len(known) < total:
                full = True
                listed, cursor = self._list(client, None)
        new = listed
        if full:
            absent = sorted(u for u, f in zip(uids, found, strict=True) if f and u not in listed)
            if absent:
                new = {**listed, **client.get_videos(absent[:RECHECK_LIMIT])}
        columns, row_of = self.columns, self.row_of
        new = {
            u: r
            for u, r in new.items()
            if u not in row_of or [c[row_of[u]] for c in columns[1:]] != r
        }
        stamp = now.astimezone(dt.UTC).isoformat() if full else None
        if new or full or cursor != self.cursor or self.migrated:
            self._save(new, cursor, stamp)

    @staticmethod
    def _list(client: Cloudflare, start: str | None) -> tuple[dict[str, list], str | None]:
        listed, cursor = {}, start
        for uid, row, created in client.list_videos(start):
            listed[uid] = row
            if created and (cursor is None or created > cursor):
                cursor = created
        return listed, cursor

    def catalog_doc(self, day: dt.date, end_utc: dt.datetime) -> tuple[bytes, dict]:
        """The day's catalogue snapshot (`costs/...-video-catalog.json`): found videos
        created before the day's end (or without a creation time), by uid; and
        `{uid: (name, title)}` of those videos."""
        c = self.columns
        if self._created is None:  # parsed once per saved catalogue
            self._created = [_time(t) for t in c[5]]
        rows = [
            i
            for i, (f, t) in enumerate(zip(c[1], self._created, strict=True))
            if f and (t is None or t < end_utc)
        ]
        columns = {}
        for name in CATALOG_COLUMNS:
            col = c[CACHE_COLUMNS.index(name)]
            values = [col[i] for i in rows]
            if name == "duration":
                values = [None if v is None else float(v) for v in values]
            elif name == "size":
                values = [None if v is None else int(v) for v in values]
            columns[name] = values
        doc = {"schemaVersion": 1, "date": day.isoformat(), "videoCount": len(rows),
               "columns": columns}  # fmt: skip
        names = {c[0][i]: (c[3][i], c[4][i]) for i in rows}
        return dumps(doc), names

    def _merge(self, new: dict[str, list]) -> None:
        old = self.columns
        keep = [i for i, uid in enumerate(old[0]) if uid not in new]
        rows = [(old[0][i], i, None) for i in keep] + [(u, -1, r) for u, r in new.items()]
        rows.sort(key=lambda r: r[0])
        columns: list[list] = [[u for u, _, _ in rows]]
        for c in range(1, len(CACHE_COLUMNS)):
            col = old[c]
            columns.append([col[i] if r is None else r[c - 1] for _, i, r in rows])
        self.columns = columns
        self.row_of = {uid: i for i, uid in enumerate(columns[0])}
        self._created = None

    def _save(self, new: dict[str, list], cursor: str | None, full_at: str | None = None) -> None:
        for attempt in range(6):
            self._merge(new)
            self.cursor = max(filter(None, [self.cursor, cursor]), default=None)
            self.full_at = max(filter(None, [self.full_at, full_at]), default=None)
            body = dumps(
                {
                    "schemaVersion": 1,
                    "catalogueCursor": self.cursor,
                    "fullListingAt": self.full_at,
                    "columns": dict(zip(CACHE_COLUMNS, self.columns, strict=True)),
                }
            )
            try:
                self.store.put_if(self.bucket, CACHE_KEY, body, CACHE_CONTROL["private"], self.tag)
            except Conflict:  # another run saved first: merge onto its version
                if attempt == 5:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
                self._load()
                continue
            self.tag = self.store.tag_of(body)
            self.migrated = False
            return


# ----------------------------------------------------------------------------- reports


def ranked(totals: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
    """Minutes desc, views desc, key asc."""
    return sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))


def top10(totals: dict[str, list[int]], field: str) -> list[dict]:
    return [{field: k, "minutesViewed": m, "viewCount": v} for k, (m, v) in ranked(totals)[:10]]


def uid_totals(rows: Iterable[tuple]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for uid, _creator, m, v in rows:
        t = out.get(uid)
        if t is None:
            out[uid] = [m, v]
        else:
            t[0] += m
            t[1] += v
    return out


def post_name(name: str) -> str:
    dot = name.rfind(".")
    stem = name[:dot] if dot > 0 else name
    return stem.rstrip("0123456789").rstrip("-_ ") or stem


def series(labels: list[str], values: list[tuple[int, int]]) -> list[dict]:
    return [
        {"date": d, "minutesViewed": m, "viewCount": v}
        for d, (m, v) in zip(labels, values, strict=True)
    ]


# The long lists (creators with 7-day series, raw creator rows) are written as JSON text
# directly: the same bytes as json.dumps of the dicts, without building ~100k dicts.
ZERO = (0, 0)


def js(text: str) -> str:
    """A JSON string literal, as json.dumps(ensure_ascii=False) writes it."""
    return json.dumps(text, ensure_ascii=False)


def document_text(head: dict, field: str, items: Iterable[str]) -> bytes:
    """`{**head, field: [items...]}` as canonical JSON bytes, items given as JSON text."""
    return dumps(head)[:-2] + f',"{field}":['.encode() + ",".join(items).encode() + b"]}\n"


def series_prefixes(days: list[dt.date]) -> list[str]:
    return [f'{{"date":"{d.isoformat()}","minutesViewed":' for d in days]


def series_text(prefixes: list[str], per_day: list[dict], key: str) -> str:
    return ",".join(
        [
            f'{p}{t[0]},"viewCount":{t[1]}}}'
            for p, t in zip(prefixes, [d.get(key, ZERO) for d in per_day], strict=True)
        ]
    )


def daily_creators(day: dt.date, window: list[Facts | None]) -> tuple[bytes, dict[str, str]]:
    """The day's creators file, and each creator's entry of it as JSON text (in order)."""
    prefixes = series_prefixes([day - dt.timedelta(days=6 - i) for i in range(7)])
    per_day = [f.keyed("creators") if f else {} for f in window]
    entries = {
        k: f'{{"creator":{js(k)},"minutesViewed":{m},"viewCount":{v},'
        f'"trend":[{series_text(prefixes, per_day, k)}]}}'
        for k, (m, v) in ranked(per_day[-1])
    }
    head = {"schemaVersion": 1, "date": day.isoformat()}
    return document_text(head, "creators", entries.values()), entries


def daily_countries(f: Facts) -> dict:
    countries = [
        {"clientCountryName": k, "minutesViewed": m, "viewCount": v}
        for k, (m, v) in ranked(f.keyed("countries"))
    ]
    return {"schemaVersion": 1, "date": f.day.isoformat(), "countries": countries}


def videos_with_posts(f: Facts, meta: dict[str, dict]) -> dict:
    order = sorted(f.videos, key=lambda r: (-r[2], -r[3], r[0]))  # stable, as the product
    merged: dict[str, list] = {}
    for uid, creator, m, v in order:
        t = merged.get(uid)
        if t is None:
            merged[uid] = [m, v, creator]
        else:
            t[0] += m
            t[1] += v
    videos, posts = [], {}
    by_rank = sorted(merged.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    for uid, (m, v, creator) in by_rank:
        e = meta[uid]
        named = bool(e["found"]) and bool(e["name"])
        file_name = e["name"] if named else None
        post = post_name(file_name) if named else NULL
        title = e["title"] if named and e["title"] else post
        creator = creator or NULL
        videos.append({"uid": uid, "creator": creator, "fileName": file_name, "postName": post,
                       "realTitle": title, "minutesViewed": m, "viewCount": v})  # fmt: skip
        p = posts.get((creator, post))
        if p is None:
            posts[creator, post] = p = [title, 0, 0, 0, []]
        p[1] += 1
        p[2] += m
        p[3] += v
        if len(p[4]) < 5:
            p[4].append({"uid": uid, "fileName": file_name, "minutesViewed": m, "viewCount": v})
    post_list = [
        {"creator": c, "postName": n, "realTitle": p[0], "videoCount": p[1],
         "minutesViewed": p[2], "viewCount": p[3], "topVideos": p[4]}
        for (c, n), p in sorted(posts.items(), key=lambda kv: (-kv[1][2], -kv[1][3], kv[0]))
    ]  # fmt: skip
    return {"schemaVersion": 1, "date": f.day.isoformat(), "videos": videos, "posts": post_list}


def daily_summary(day: dt.date, window: list[Facts | None]) -> dict:
    f = window[-1]
    labels = [(day - dt.timedelta(days=6 - i)).isoformat() for i in range(7)]
    totals = [w.total() if w else (0, 0) for w in window]
    return {
        "schemaVersion": 1,
        "date": day.isoformat(),
        "totalMinutesViewed": totals[-1][0],
        "totalViewCount": totals[-1][1],
        "uniqueViewers": None,
        "topCreators": top10(f.keyed("creators"), "creator"),
        "topCountries": top10(f.keyed("countries"), "clientCountryName"),
        "topVideos": top10(uid_totals(f.videos), "uid"),
        "dailyTrend": series(labels, totals),
        "hourlyTrend": [{"hour": h, "minutesViewed": m, "viewCount": v} for h, m, v in f.hours],
    }


def key_window(window: list[Facts | None], what: str) -> tuple[list, list[dict]]:
    """Every key seen on any day of the window with its totals, in report order, and the
    days' keyed totals."""
    per_day = [f.keyed(what) if f else {} for f in window]
    totals: dict[str, list[int]] = {}
    for d in per_day:
        for k, (m, v) in d.items():
            t = totals.get(k)
            if t is None:
                totals[k] = [m, v]
            else:
                t[0] += m
                t[1] += v
    return ranked(totals), per_day


def window_entries(days: list[dt.date], key: str, entries) -> dict[str, str]:
    """Each entry of a rolling or weekly creators/countries file (from `key_window`'s
    result) as JSON text, in the file's order."""
    order, per_day = entries
    prefixes = series_prefixes(days)
    return {
        k: f'{{"{key}":{js(k)},"dailyStats":[{series_text(prefixes, per_day, k)}],'
        f'"totalMinutesViewed":{m},"totalViewCount":{v}}}'
        for k, (m, v) in order
    }


def window_file(head: dict, field: str, entries: dict[str, str]) -> bytes:
    return document_text(head, field, entries.values())


# ----------------------------------------------------------------------------- creator files


def creator_key(creator: str, secret: bytes | None) -> str:
    """The creator's folder: base32 (RFC 4648, lower case, no padding) of SHA-256 of the id's
    UTF-8 bytes, or of HMAC-SHA256 with STREAM_STATS_CREATOR_KEY_SECRET when it is set."""
    data = creator.encode()
    digest = hmac.new(secret, data, hashlib.sha256) if secret else hashlib.sha256(data)
    return base64.b32encode(digest.digest()).decode().rstrip("=").lower()


def text_of(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def by_creator(items: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        out.setdefault(item["creator"], []).append(text_of(item))
    return out


def creator_day_files(
    day: dt.date, start: dt.date, day_rows: dict[str, str], last7: dict[str, str], videos: dict
) -> dict[str, bytes]:
    """`{creator: file}` for every creator of the window ending `day` (`last7`, the rolling
    creators entries): their entry of the day's creators file (or null), of the window, and
    their videos and posts of `videos` (the day's complete per-uid minutes, built like
    videos-with-posts)."""
    video_rows, post_rows = by_creator(videos["videos"]), by_creator(videos["posts"])
    head = f'{{"schemaVersion":1,"date":"{day.isoformat()}","creator":'
    bounds = f',"startDate":"{start.isoformat()}","endDate":"{day.isoformat()}"'
    return {
        creator: (
            f"{head}{js(creator)}{bounds},"
            f'"day":{day_rows.get(creator, "null")},"last7Days":{entry},'
            f'"videos":[{",".join(video_rows.get(creator, ()))}],'
            f'"posts":[{",".join(post_rows.get(creator, ()))}]}}\n'
        ).encode()
        for creator, entry in last7.items()
    }


def creator_week_files(monday: dt.date, sunday: dt.date, week: dict[str, str]) -> dict:
    """`{creator: file}` for every creator of the week: their entry of the weekly file."""
    head = (
        f'{{"schemaVersion":1,"weekStart":"{monday.isoformat()}",'
        f'"weekEnd":"{sunday.isoformat()}","creator":'
    )
    return {c: f'{head}{js(c)},"week":{entry}}}\n'.encode() for c, entry in week.items()}


def window_summary(days, window, creators, countries, bounds) -> dict:
    labels = [d.isoformat() for d in days]
    totals = [f.total() if f else (0, 0) for f in window]
    videos = uid_totals(r for f in window if f for r in f.videos)

    def top(entries, field):
        return [{field: k, "minutesViewed": m, "viewCount": v} for k, (m, v) in entries[0][:10]]

    return {
        "schemaVersion": 1,
        **bounds,
        "totalMinutesViewed": sum(t[0] for t in totals),
        "totalViewCount": sum(t[1] for t in totals),
        "dailyStats": series(labels, totals),
        "topCreators": top(creators, "creator"),
        "topCountries": top(countries, "clientCountryName"),
        "topVideos": top10(videos, "uid"),
    }


# ----------------------------------------------------------------------------- keys


def raw_key(day: dt.date, name: str) -> str:
    return f"{PREFIX}/raw/{day:%Y-%m}/{day.isoformat()}-{name}.json"


def daily_key(day: dt.date, name: str) -> str:
    return f"{PREFIX}/daily/{day:%Y-%m}/{day.isoformat()}-{name}.json"


def week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year:04d}-{week:02d}"


def weekly_key(monday: dt.date, name: str) -> str:
    return f"{PREFIX}/weekly/{monday:%Y-%m}/{week_label(monday)}-{name}.json"


def pointer_key(name: str) -> str:
    return f"{PREFIX}/rolling/last7days-{name}.json"


def history_key(end: dt.date, name: str) -> str:
    return f"{PREFIX}/rolling/history/{end:%Y-%m}/{end.isoformat()}-last7days-{name}.json"


def creator_day_key(key: str, day: dt.date) -> str:
    return f"{PREFIX}/creators/{key}/days/{day:%Y-%m}/{day.isoformat()}.json"


def creator_week_key(key: str, monday: dt.date) -> str:
    return f"{PREFIX}/creators/{key}/weeks/{monday:%Y-%m}/{week_label(monday)}.json"


def creator_manifest_key(kind: str, day: dt.date) -> str:
    return f"{PREFIX}/creators/manifests/{kind}/{day:%Y-%m}/{day.isoformat()}.json"


def costs_key(day: dt.date, name: str) -> str:
    return f"{PREFIX}/costs/{day:%Y-%m}/{day.isoformat()}-{name}.json"


def index_entry(kind: str, day: dt.date) -> dict:
    if kind == "daily":
        names = ("creators", "countries", "videos-with-posts", "summary")
        return {"date": day.isoformat(), "label": None,
                "files": {n: daily_key(day, n) for n in names}}  # fmt: skip
    if kind == "weekly":
        return {"date": day.isoformat(), "label": week_label(day),
                "files": {n: weekly_key(day, n) for n in ("creators", "summary")}}  # fmt: skip
    # the window's history files, which never change once complete (not the pointers)
    names = ("creators", "countries", "summary")
    files = {n: history_key(day, n) for n in names}
    return {"date": day.isoformat(), "label": None, "files": files}


# ----------------------------------------------------------------------------- the collector


class Floor:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = S3Store(cfg) if cfg.r2_endpoint else LocalStore(cfg.local_dir)
        self.bucket = cfg.stats_bucket
        self.cache = MetadataCache(self.store, self.bucket)
        self.facts: dict[dt.date, Facts] = {}  # the current run's days and the six before
        self.written_raw: set[dt.date] = set()
        self.runs: list[dict] = []

    # -- plan -------------------------------------------------------------------------------
    def days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        first = max(first, self.cfg.start)
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    @staticmethod
    def chunks(days: list[dt.date], size: int = MAX_DAYS_PER_RUN) -> list[list[dt.date]]:
        out: list[list[dt.date]] = []
        for day in days:
            if out and len(out[-1]) < size and out[-1][-1] + DAY == day:
                out[-1].append(day)
            else:
                out.append([day])
        return out

    def missing_raw(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Days of first..last (from the start date on) without all five raw extracts; the
        days this process wrote itself are known to be there."""
        return [
            d
            for d in self.days(first, last)
            if d not in self.written_raw
            and not all(self.store.exists(self.bucket, raw_key(d, n)) for n in RAW_NAMES)
        ]

    def collect(self, first: dt.date, last: dt.date) -> None:
        # the first run's raw fetch takes the missing lead days with its own (`run`)
        for chunk in self.chunks(self.days(first, last)):
            self.run(chunk)
        self.facts.clear()
        monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
        weeks = []
        while monday + WEEK <= last:
            if monday + WEEK >= self.cfg.start:
                weeks.append(monday)
            monday += dt.timedelta(days=7)
        for i in range(0, len(weeks), WEEKS_PER_RUN):
            self.weekly_run(weeks[i : i + WEEKS_PER_RUN])

    # -- facts ------------------------------------------------------------------------------
    def read_day(self, day: dt.date) -> Facts | None:
        """A day's facts from its raw extracts (None if any is missing)."""
        bodies = [self.store.get(self.bucket, raw_key(day, n)) for n in RAW_NAMES[:4]]
        if any(b is None for b in bodies):
            return None
        creators, countries, videos, hourly = (json.loads(b)["rows"] for b in bodies)
        return Facts(
            day,
            {r["creator"]: (r["minutesViewed"], r["viewCount"]) for r in creators},
            {r["clientCountryName"]: (r["minutesViewed"], r["viewCount"]) for r in countries},
            [(r["uid"], r["creator"], r["minutesViewed"], r["viewCount"]) for r in videos],
            [(r["hour"], r["minutesViewed"], r["viewCount"]) for r in hourly],
        )

    def preload(self, days: list[dt.date]) -> None:
        """Read the stored days the run's windows need (those before the run's first day)."""
        for d in self.days(days[0] - 6 * DAY, days[0] - DAY):
            if d not in self.facts:
                self.facts[d] = self.read_day(d)

    def window(self, days: list[dt.date]) -> list[Facts | None]:
        """The facts of each day; a day before the start date is None (zero-filled), a
        missing day on or after it stops the run."""
        out, missing = [], []
        for d in days:
            f = self.facts.get(d)
            if f is None and d >= self.cfg.start:
                f = self.facts[d] = self.read_day(d)
                if f is None:
                    missing.append(d.isoformat())
            out.append(f)
        if missing:
            raise SystemExit(f"floor: missing data for {', '.join(missing)}")
        return out

    # -- writes -----------------------------------------------------------------------------
    def put(self, key: str, doc: dict | bytes, layout: str) -> bytes:
        body = doc if isinstance(doc, bytes) else dumps(doc)
        self.store.put(self.bucket, key, body, CACHE_CONTROL[layout])
        return body

    def move_pointer(self, name: str, end: dt.date, body: bytes) -> None:
        def change(current: bytes | None) -> bytes | None:
            if current is not None and json.loads(current).get("endDate", "") > end.isoformat():
                return None
            return body

        self.store.update(self.bucket, pointer_key(name), change, CACHE_CONTROL["pointer"])

    def advance_index(self, moves: dict[str, dt.date]) -> None:
        def change(current: bytes | None) -> bytes | None:
            doc = json.loads(current) if current is not None else {}
            entries = {k: doc.get(k) for k in ("daily", "weekly", "rolling")}
            moved = False
            for kind, day in moves.items():
                old = entries[kind]
                if old is None or old["date"] < day.isoformat():
                    entries[kind], moved = index_entry(kind, day), True
            return dumps({"schemaVersion": 1, **entries}) if moved else None

        self.store.update(self.bucket, INDEX_KEY, change, CACHE_CONTROL["index"])

    def oplog(self, run_id: str, started: float, operation: str, details: dict) -> None:
        now = dt.datetime.now(dt.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        duration = round(time.time() - started, 3)
        for day, d in details.items():
            record = {
                "timestamp": stamp,
                "operation": operation,
                "date": day.isoformat(),
                "success": True,
                "duration": duration,
                "details": {
                    "creatorsCount": d.get("creatorsCount"),
                    "countriesCount": d.get("countriesCount"),
                    "videosCount": d.get("videosCount"),
                    "totalMinutesViewed": d.get("totalMinutesViewed"),
                },
                "error": None,
                "runId": run_id,
                "source": self.cfg.source,
            }
            key = f"{PREFIX}/{day:%Y-%m}/{day.isoformat()}/{operation}-{run_id}.json"
            self.store.put(self.cfg.log_bucket, key, dumps(record), CACHE_CONTROL["private"])

    # -- the daily run ------------------------------------------------------------------------
    def run(self, days: list[dt.date]) -> None:
        t0, started, run_id = time.perf_counter(), time.time(), str(uuid.uuid4())
        # As the product's raw step: the missing raw days of the six before the run's first
        # day are fetched with the run's days, in the same requests.
        lead = self.missing_raw(days[0] - 6 * DAY, days[0] - DAY)
        client = Cloudflare(self.cfg)
        # While the GraphQL requests wait on the network, load the metadata cache and the
        # earlier days of the windows (the product's IO manager reads inputs concurrently too).
        with ThreadPoolExecutor(max_workers=2) as pool:
            loads = [pool.submit(self.cache.load), pool.submit(self.preload, days)]
            try:
                fetched = client.fetch_days(sorted([*lead, *days]))
            finally:
                for done in loads:
                    done.result()
        try:
            self.cache.resolve(client, (r[0] for f in fetched.values() for r in f.videos))
            # the daily job's raw_uid_minutes and video_catalog steps, in that order
            uids = client.fetch_uid_minutes(days)
            self.cache.refresh(client, dt.datetime.now(dt.UTC))
        finally:
            client.close()
        names: dict[dt.date, dict[str, tuple]] = {}
        for day, rows in uids.items():
            k = day.isoformat()
            rows.sort(key=lambda r: (r[0], r[1] is not None, r[1] or ""))  # uid, then creator
            columns = {
                "uid": [r[0] for r in rows],
                "creator": [r[1] for r in rows],
                "minutesViewed": [r[2] for r in rows],
                "viewCount": [r[3] for r in rows],
            }
            self.put(raw_key(day, "uid-minutes"),
                     {"schemaVersion": 1, "date": k, "columns": columns}, "raw_costs")  # fmt: skip
            end = dt.datetime.combine(day + DAY, dt.time(0), tzinfo=self.cfg.tz)
            catalog, names[day] = self.cache.catalog_doc(day, end.astimezone(dt.UTC))
            self.put(costs_key(day, "video-catalog"), catalog, "costs")
        metas: dict[dt.date, dict[str, dict]] = {}
        for day, f in fetched.items():
            meta = [self.cache.snapshot(r[0]) for r in f.videos]
            metas[day] = {m["uid"]: m for m in reversed(meta)}  # first entry of a uid wins
            k = day.isoformat()
            head = {"schemaVersion": 1, "date": k}
            self.put(raw_key(day, "creator-minutes"), document_text(head, "rows", (
                f'{{"minutesViewed":{m},"viewCount":{v},"creator":{js(c)}}}'
                for c, (m, v) in f.creators.items())), "raw")  # fmt: skip
            self.put(raw_key(day, "country-minutes"), {**head, "rows": [
                {"minutesViewed": m, "viewCount": v, "clientCountryName": c}
                for c, (m, v) in f.countries.items()]}, "raw")  # fmt: skip
            self.put(raw_key(day, "video-minutes"), {**head, "limit": self.cfg.top, "rows": [
                {"minutesViewed": m, "viewCount": v, "uid": u, "creator": c}
                for u, c, m, v in f.videos]}, "raw")  # fmt: skip
            self.put(raw_key(day, "hourly-minutes"), {**head, "timezone": self.cfg.timezone,
                "rows": [{"minutesViewed": m, "viewCount": v, "hour": h}
                         for h, m, v in f.hours]}, "raw")  # fmt: skip
            self.put(raw_key(day, "video-metadata"), {**head, "videos": meta}, "raw")
            self.written_raw.add(day)
        self.facts.update(fetched)
        self.reports(days, metas, run_id, started, uids, names)
        # keep only what the next run's windows can use: the last six days
        self.facts = {d: f for d, f in self.facts.items() if d > days[-1] - 6 * DAY}
        self.runs.append({"keys": len(days), "seconds": round(time.perf_counter() - t0, 3)})

    def put_set(self, manifest_key: str, files: dict[str, bytes]) -> None:
        """Make the set of files at `manifest_key` exactly `files`, as the product's file
        sets do: one GET of the manifest (`{key: md5}` of the set's last write), a PUT of
        each file whose MD5 it does not hold (16 in flight), a DELETE of each file it holds
        that the set no longer has, then the new manifest."""
        old = None
        body = self.store.get(self.bucket, manifest_key)
        if body is not None:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                old = json.loads(body)["files"]
        tags = {k: hashlib.md5(b, usedforsecurity=False).hexdigest() for k, b in files.items()}
        todo = sorted(k for k in files if old is None or old.get(k) != tags[k])
        gone = sorted(set(old or ()) - set(files))
        cc = CACHE_CONTROL["creators"]
        with ThreadPoolExecutor(max_workers=SET_CONCURRENCY) as pool:
            list(pool.map(lambda k: self.store.put(self.bucket, k, files[k], cc), todo))
            list(pool.map(lambda k: self.store.delete(self.bucket, k), gone))
        self.put(manifest_key, {"schemaVersion": 1, "files": dict(sorted(tags.items()))},
                 "private")  # fmt: skip

    def reports(self, days, metas, run_id: str, started: float, uids, names) -> None:
        daily_details, rolling_details = {}, {}
        for day in days:
            window_days = [day - dt.timedelta(days=6 - i) for i in range(7)]
            window = self.window(window_days)
            f = window[-1]
            creators, day_rows = daily_creators(day, window)
            creators_count = len(day_rows)
            countries = daily_countries(f)
            videos = videos_with_posts(f, metas[day])
            summary = daily_summary(day, window)
            self.put(daily_key(day, "creators"), creators, "daily")
            self.put(daily_key(day, "countries"), countries, "daily")
            self.put(daily_key(day, "videos-with-posts"), videos, "daily")
            self.put(daily_key(day, "summary"), summary, "daily")
            daily_details[day] = {
                "creatorsCount": creators_count,
                "countriesCount": len(countries["countries"]),
                "videosCount": len(videos["videos"]),
                "totalMinutesViewed": summary["totalMinutesViewed"],
            }
            del creators, countries, videos
            bounds = {"startDate": window_days[0].isoformat(), "endDate": day.isoformat()}
            rc = key_window(window, "creators")
            rk = key_window(window, "countries")
            rs = window_summary(window_days, window, rc, rk, bounds)
            head = {"schemaVersion": 1, **bounds}
            last7 = window_entries(window_days, "creator", rc)
            bodies = {
                "creators": self.put(history_key(day, "creators"), window_file(
                    head, "creators", last7), "rolling"),
                "countries": self.put(history_key(day, "countries"), window_file(
                    head, "countries", window_entries(window_days, "clientCountryName", rk)),
                    "rolling"),
                "summary": self.put(history_key(day, "summary"), rs, "rolling"),
            }  # fmt: skip
            # each creator's file of the day: every video of theirs with views, with its post
            day_names = names[day]
            meta = {
                u: {"found": u in day_names, "name": day_names.get(u, (None, None))[0],
                    "title": day_names.get(u, (None, None))[1]}
                for u in dict.fromkeys(r[0] for r in uids[day])
            }  # fmt: skip
            theirs = videos_with_posts(Facts(day, {}, {}, uids[day], []), meta)
            files = creator_day_files(day, window_days[0], day_rows, last7, theirs)
            secret = self.cfg.creator_secret
            keyed = {creator_day_key(creator_key(c, secret), day): b for c, b in files.items()}
            self.put_set(creator_manifest_key("days", day), keyed)
            del files, keyed, theirs, meta, last7, day_rows
            if day == days[-1]:  # only a run's newest window can move the pointers
                for name, body in bodies.items():
                    self.move_pointer(name, day, body)
            rolling_details[day] = {
                "creatorsCount": len(rc[0]),
                "countriesCount": len(rk[0]),
                "totalMinutesViewed": rs["totalMinutesViewed"],
            }
        self.oplog(run_id, started, "collectDailyStats", daily_details)
        self.oplog(run_id, started, "updateRollingStats", rolling_details)
        self.advance_index({"daily": days[-1], "rolling": days[-1]})

    # -- the weekly run ------------------------------------------------------------------------
    def weekly_run(self, mondays: list[dt.date]) -> None:
        t0, started, run_id = time.perf_counter(), time.time(), str(uuid.uuid4())
        details = {}
        for monday in mondays:
            days = [monday + dt.timedelta(days=i) for i in range(7)]
            self.facts = {d: f for d, f in self.facts.items() if d in days}
            window = self.window(days)
            bounds = {"weekStart": days[0].isoformat(), "weekEnd": days[-1].isoformat()}
            wc = key_window(window, "creators")
            wk = key_window(window, "countries")
            ws = window_summary(days, window, wc, wk, bounds)
            head = {"schemaVersion": 1, **bounds}
            week = window_entries(days, "creator", wc)
            self.put(weekly_key(monday, "creators"), window_file(head, "creators", week), "weekly")
            secret = self.cfg.creator_secret
            self.put_set(creator_manifest_key("weeks", monday), {
                creator_week_key(creator_key(c, secret), monday): b
                for c, b in creator_week_files(days[0], days[-1], week).items()})  # fmt: skip
            self.put(weekly_key(monday, "summary"), ws, "weekly")
            details[monday] = {"creatorsCount": len(wc[0]),
                               "totalMinutesViewed": ws["totalMinutesViewed"]}  # fmt: skip
        self.facts.clear()
        self.oplog(run_id, started, "collectWeeklyStats", details)
        self.advance_index({"weekly": mondays[-1]})
        self.runs.append({"keys": len(mondays), "seconds": round(time.perf_counter() - t0, 3)})


# ----------------------------------------------------------------------------- entry points


def parse_range(argv: list[str]) -> tuple[dt.date, dt.date]:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("command", choices=["collect"])
    parser.add_argument("--date")
    parser.add_argument("--from", dest="first")
    parser.add_argument("--to", dest="last")
    args = parser.parse_args(argv)
    if args.date:
        day = dt.date.fromisoformat(args.date)
        return day, day
    if not (args.first and args.last):
        parser.error("give --date D or --from A --to B")
    return dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last)


def collect(argv: list[str], env: dict[str, str] | None = None) -> Floor:
    first, last = parse_range(argv)
    floor = Floor(Config(dict(os.environ) if env is None else env))
    floor.collect(first, last)
    return floor


def main(argv: list[str]) -> int:
    t0 = time.perf_counter()
    floor = collect(argv)
    print(f"floor: {len(floor.runs)} run(s) in {time.perf_counter() - t0:.1f} s")
    return 0


def bench_case(spec: dict) -> None:
    """`python -m bench.floor '<spec json>'`: a case process of `bench.run`."""
    from bench.common import run_case

    def prepare(spec: dict):
        if os.environ.get("R2_ENDPOINT_URL"):
            import boto3  # noqa: F401  (the product imports it before its timer too)
        return spec["argv"]

    def work(argv: list[str]) -> dict:
        floor = collect(argv)
        # the store's own counts (bytes_written, store_get/head/put) in the bench's columns
        return {"rc": 0, "runs": floor.runs, "counters": dict(STATS)}

    run_case(spec, prepare, work)


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1].startswith("{"):
        bench_case(json.loads(sys.argv[1]))
    else:
        sys.exit(main(sys.argv[1:]))
