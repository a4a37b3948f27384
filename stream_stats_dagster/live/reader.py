"""The only code that talks to the platform's Redis, and it only reads.

A reading is one `MULTI ... EXEC` sent in one round trip: `TIME` first, then the total, the
publisher status, every known stage's counter and info (two `MGET`s) and its heartbeat count
(`HLEN`). Redis runs a transaction without interleaving another client's commands, so the
values are one consistent state of the platform, and `TIME` is its instant: the platform's
changes that the simulator stamps with `TIME` inside their own transactions fall exactly
before or after it.

Stage discovery is a `SCAN` of the keyspace (several round trips, never `KEYS`), matching
`viewers:*` and `viewer:heartbeat:*`: the sampler caches the list and rescans every few
samples, or at once when the stage counters stop adding up to the total in a new way (a
stage was created since).

Every `LIVE_HEARTBEAT_SCAN_SECONDS` (60 s), not every sample, `scan_heartbeats` HSCANs the
heartbeat hashes and counts the fresh ones (updated within `LIVE_FRESH_SECONDS` of Redis
`TIME`), sparing production Redis a read of every field every few seconds.

Every command here is in Redis's `@read` category except `TIME`, `MULTI` and `EXEC`: the
sampler runs as a user that may do nothing else (docs/live.md shows the ACL).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis
from pydantic import ValidationError
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..reports.live.samples import StageInfo
from .heartbeats import count_fresh
from .keys import RedisKeys

SCAN_COUNT = 1000


@dataclass
class Reading:
    at_us: int
    total: int | None
    publisher: str | None
    viewers: list[int | None]
    heartbeats: list[int | None]
    info: dict[str, StageInfo | None]
    problems: list[str] = field(default_factory=list)  # values that are not what they should be
    info_absent: list[bool] | None = None  # per stage: its `stage:{arn}` key was absent


@dataclass
class HeartbeatScan:
    """One pass of HSCAN over every stage's heartbeat hash."""

    at_us: int  # Redis TIME at the start of the pass: freshness is measured from it
    fresh: list[int]
    unparsable: list[int]
    fields: list[int]
    round_trips: int


class RedisUnavailable(Exception):
    """Redis did not answer (refused, timed out, went away): the time until it does is a gap."""


class RedisRefused(Exception):
    """Redis answered no (wrong password, a command the user may not run): no retry helps."""


def connect(url: str, timeout_seconds: float) -> redis.Redis:
    """A client for `url` (`rediss://` is TLS; `?ssl_ca_certs=...` and the other redis-py
    URL options apply) that never retries by itself: the next tick is the retry, and a
    hanging server costs at most `timeout_seconds`."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


class RedisReader:
    def __init__(self, client: redis.Redis, keys: RedisKeys, secret: str | None = None):
        self.client, self.keys = client, keys
        self.secret = secret  # removed from every message, whatever the library says

    def scan_stages(self) -> list[str]:
        """Every stage ARN with a counter or a heartbeat hash, sorted."""
        arns: set[str] = set()
        with self._errors():
            for pattern in self.keys.stage_patterns.values():
                for key in self.client.scan_iter(match=pattern, count=SCAN_COUNT):
                    arn = self.keys.arn_of(key.decode("utf-8", "replace"))
                    if arn:
                        arns.add(arn)
        return sorted(arns)

    def read(self, arns: Sequence[str]) -> Reading:
        """One consistent reading of the platform, in one round trip."""
        with self._errors():
            pipe = self.client.pipeline(transaction=True)
            pipe.time()
            pipe.get(self.keys.total)
            pipe.get(self.keys.publisher)
            if arns:
                pipe.mget([self.keys.viewers(a) for a in arns])
                pipe.mget([self.keys.stage(a) for a in arns])
            for arn in arns:
                pipe.hlen(self.keys.heartbeat(arn))
            replies = pipe.execute()
        (seconds, micros), total, publisher = replies[0], replies[1], replies[2]
        counters, infos = (replies[3], replies[4]) if arns else ([], [])
        heartbeats = replies[5:] if arns else []
        problems: list[str] = []
        k = self.keys
        pairs = list(zip(arns, counters, infos, strict=True))
        reading = Reading(
            at_us=int(seconds) * 1_000_000 + int(micros),
            total=_integer(total, self.keys.total, problems),
            publisher=None if publisher is None else publisher.decode("utf-8", "replace"),
            viewers=[_integer(v, k.viewers(a), problems) for a, v, _ in pairs],
            heartbeats=[int(h) for h in heartbeats],
            info={a: _info(i, k.stage(a), problems) for a, _, i in pairs},
            problems=problems,
            info_absent=[i is None for i in infos],
        )
        return reading

    def scan_heartbeats(self, arns: Sequence[str], fresh_ms: int) -> HeartbeatScan:
        """HSCAN every stage's heartbeat hash (never HGETALL: a hash of thousands of viewers
        is read in steps of `SCAN_COUNT`), all stages' next steps pipelined in one round
        trip, and count the heartbeats updated within `fresh_ms` of Redis TIME at its start.
        Not a transaction: it takes several round trips and is not one instant."""
        fresh, unparsable, fields = [0] * len(arns), [0] * len(arns), [0] * len(arns)
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            for arn in arns:
                pipe.hscan(self.keys.heartbeat(arn), 0, count=SCAN_COUNT)
            replies = pipe.execute()
            seconds, micros = replies[0]
            at_us = int(seconds) * 1_000_000 + int(micros)
            now_ms = at_us // 1000
            pending = list(zip(range(len(arns)), replies[1:], strict=True))
            trips = 1
            while pending:
                again = []
                for i, (cursor, values) in pending:
                    f, u = count_fresh(list(values.values()), now_ms, fresh_ms)
                    fresh[i] += f
                    unparsable[i] += u
                    fields[i] += len(values)
                    if int(cursor):
                        again.append((i, int(cursor)))
                if not again:
                    break
                pipe = self.client.pipeline(transaction=False)
                for i, cursor in again:
                    pipe.hscan(self.keys.heartbeat(arns[i]), cursor, count=SCAN_COUNT)
                pending = [(i, r) for (i, _), r in zip(again, pipe.execute(), strict=True)]
                trips += 1
        return HeartbeatScan(at_us, fresh, unparsable, fields, trips)

    def _errors(self):
        return _RedisErrors(self.secret)


class _RedisErrors:
    """Redis-py's exceptions as ours, in one line without the password."""

    def __init__(self, secret: str | None):
        self.secret = secret

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None:
            return False
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self.secret:
            text = text.replace(self.secret, "***")
        errors = redis.exceptions
        if isinstance(exc, errors.AuthenticationError | errors.NoPermissionError):
            raise RedisRefused(f"redis refused the sampler: {text}") from None
        if isinstance(exc, errors.ConnectionError | errors.TimeoutError | OSError):
            raise RedisUnavailable(text) from None
        if isinstance(exc, errors.ResponseError):
            if text.startswith(("NOPERM", "NOAUTH", "WRONGPASS")):
                raise RedisRefused(f"redis refused the sampler: {text}") from None
            if text.startswith(("LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN")):
                raise RedisUnavailable(text) from None
            raise RedisRefused(f"redis answered an error: {text}") from None
        return False


def _integer(value: bytes | None, key: str, problems: list[str]) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        problems.append(f"{key} is not an integer")
        return None


def _info(value: bytes | None, key: str, problems: list[str]) -> StageInfo | None:
    if value is None:
        return None
    try:
        return StageInfo.model_validate(json.loads(value))
    except (ValueError, ValidationError, TypeError):
        problems.append(f"{key} is not the stage JSON {{name, arn, autoScaled, ...}}")
        return None
