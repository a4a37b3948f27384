"""A live session driven into a real Redis the way the platform drives its own (the seed's
`/api/stats` description): the ground truth the sampler and the report are tested against.

Viewers join and leave along an evening curve (the audience rises to its peak at the middle
of the session and falls back). A join INCRs `total_viewers` and the stage's `viewers:{arn}`
and HSETs the viewer's heartbeat; a leave DECRs both and HDELs it. Some viewers close the tab
without leaving: they stop heartbeating, and the cleanup (every `cleanup_seconds`) removes
the viewers silent for `silent_seconds` (DECR + HDEL), as the platform's heartbeat service
does every 30 s for 60 s. A stage takes at most `stage_limit` viewers; past it the next
stage is created by auto-scaling, with its info under a one-hour TTL. The publisher goes
live at the start and offline at the end (TTL 86400 s).

Every change is one MULTI/EXEC ending in `TIME`, and is logged as a JSON line with that
instant and the counters' new values: Redis runs a transaction whole, so a sample (also a
transaction, `reader.py`) sees exactly the changes logged before its own `TIME`.

Failure modes (seed 003's list of where the counts go wrong), each switched on for a window
of the session, in seconds from its start:

- `no_leaves`: viewers who go never send the leave (closed tab, dropped network): no DECR,
  no HDEL, no more heartbeats; only the cleanup removes them, once they are silent.
- `cleanup_stopped`: the heartbeat service's cleanup does not run (its process is down):
  silent viewers stay counted and in the heartbeat hash.
- `reset_at`: an API restart resets the busiest stage's counter to 0 while its viewers stay
  (they DECR it below zero as they leave).
- `decouple_at`: from then on, the writes to one stage's counter are lost (a lost Redis
  connection on that path) while the total and the heartbeats are written: the total no
  longer adds up to the stages. The stage is the busiest one that was not reset.

`truth()` is what IVS knows: each stage's viewers still connected (those who left without a
leave are not). `populate` fills a Redis at a given scale at once (no log), for the
benchmark.
"""

from __future__ import annotations

import json
import math
import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Literal

import redis
from pydantic import BaseModel

from ..reports.live import instants
from .keys import RedisKeys

STAGE_TTL = 3600
PUBLISHER_TTL = 86400


@dataclass(frozen=True)
class SimulatorConfig:
    seconds: float = 120.0
    peak_viewers: int = 120
    stage_limit: int = 50
    heartbeat_seconds: float = 30.0
    silent_seconds: float = 60.0
    cleanup_seconds: float = 30.0
    vanish_share: float = 0.2  # of the viewers who go: those who just close the tab
    tick_seconds: float = 0.05
    seed: int = 7
    region: str = "ap-northeast-1"
    account: str = "123456789012"
    other_keys: int = 300  # unrelated keys, so that discovery takes several SCAN steps
    # failure modes (seconds from the session's start; None: off)
    no_leaves: tuple[float, float] | None = None
    cleanup_stopped: tuple[float, float] | None = None
    reset_at: float | None = None
    decouple_at: float | None = None


class LogEvent(BaseModel):
    at: str  # Redis TIME of the change's transaction
    event: Literal["publisher", "stage", "join", "leave", "timeout", "vanish", "reset", "decouple"]
    stage: str | None = None
    user: str | None = None
    total: int | None = None  # the counters after the change
    viewers: int | None = None
    heartbeats: int | None = None  # HLEN of the stage's heartbeat hash after the change
    lost: int | None = None  # reset: the counter's value before
    status: str | None = None
    info: dict | None = None


def read_log(path) -> list[LogEvent]:
    with open(path, encoding="utf-8") as f:
        return [LogEvent.model_validate_json(line) for line in f if line.strip()]


@dataclass
class Viewer:
    user: str
    stage: str
    joined_ms: int
    heartbeat_at: float  # monotonic
    vanished: bool = False


def stage_arn(rng: random.Random, config: SimulatorConfig) -> str:
    suffix = "".join(rng.choices(string.ascii_letters + string.digits, k=12))
    return f"arn:aws:ivs:{config.region}:{config.account}:stage/{suffix}"


class Simulator:
    def __init__(
        self,
        client: redis.Redis,
        keys: RedisKeys,
        config: SimulatorConfig,
        log: IO[str],
        say: Callable[[str], None] = print,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.r, self.keys, self.config, self.log = client, keys, config, log
        self.say, self.monotonic = say, monotonic
        self.rng = random.Random(config.seed)
        self.viewers: dict[str, Viewer] = {}
        self.stages: list[str] = []
        self.counts: dict[str, int] = {}
        self.next_user = 0
        self.events = 0
        self.start: float | None = None  # monotonic start of the session
        self.decoupled: str | None = None
        self.reset_stage: str | None = None

    # -- transactions -------------------------------------------------------------------------

    def _commit(self, build: Callable[[redis.client.Pipeline], None]) -> tuple[list, int]:
        """One MULTI/EXEC of `build`'s commands and TIME: (their replies, its instant)."""
        pipe = self.r.pipeline(transaction=True)
        build(pipe)
        pipe.time()
        replies = pipe.execute()
        seconds, micros = replies[-1]
        return replies[:-1], int(seconds) * instants.US + int(micros)

    def _log(self, at: int, **fields) -> None:
        self.log.write(LogEvent(at=instants.text(at), **fields).model_dump_json() + "\n")
        self.events += 1

    def publisher(self, status: str) -> None:
        _, at = self._commit(lambda p: p.set(self.keys.publisher, status, ex=PUBLISHER_TTL))
        self._log(at, event="publisher", status=status)

    def create_stage(self) -> str:
        arn = stage_arn(self.rng, self.config)
        master = self.stages[0] if self.stages else None
        now_ms = self._now_ms()
        info = {
            "name": f"auto-stage-{now_ms}" if master else "master-stage",
            "arn": arn,
            "autoScaled": master is not None,
            "createdAt": instants.text(now_ms * 1000)[:23] + "Z",
            "parentStage": master,
        }
        body = json.dumps(info, separators=(",", ":"))
        _, at = self._commit(lambda p: p.set(self.keys.stage(arn), body, ex=STAGE_TTL))
        self.stages.append(arn)
        self.counts[arn] = 0
        self._log(at, event="stage", stage=arn, info=info)
        return arn

    def join(self) -> None:
        stage = next((a for a in self.stages if self.counts[a] < self.config.stage_limit), None)
        if stage is None:
            stage = self.create_stage()
        self.next_user += 1
        user = f"user-{self.next_user:06d}"
        now_ms = self._now_ms()
        beat = json.dumps(
            {"timestamp": now_ms, "participantId": f"p-{user}", "joinedAt": now_ms},
            separators=(",", ":"),
        )

        def build(p) -> None:
            p.incr(self.keys.total)
            self._counter(p, stage, +1)
            p.hset(self.keys.heartbeat(stage), user, beat)
            p.hlen(self.keys.heartbeat(stage))

        (total, viewers, _, hlen), at = self._commit(build)
        self.viewers[user] = Viewer(user, stage, now_ms, self.monotonic())
        self.counts[stage] += 1
        self._log(
            at,
            event="join",
            stage=stage,
            user=user,
            total=total,
            viewers=int(viewers),
            heartbeats=hlen,
        )

    def _counter(self, p, stage: str, step: int) -> None:
        """INCR/DECR the stage's counter, or only read it if its writes are lost."""
        if stage == self.decoupled:
            p.get(self.keys.viewers(stage))
        elif step > 0:
            p.incr(self.keys.viewers(stage))
        else:
            p.decr(self.keys.viewers(stage))

    def leave(self, user: str, event: Literal["leave", "timeout"] = "leave") -> None:
        viewer = self.viewers.pop(user)

        def build(p) -> None:
            p.decr(self.keys.total)
            self._counter(p, viewer.stage, -1)
            p.hdel(self.keys.heartbeat(viewer.stage), user)
            p.hlen(self.keys.heartbeat(viewer.stage))

        (total, viewers, _, hlen), at = self._commit(build)
        self.counts[viewer.stage] -= 1
        self._log(
            at,
            event=event,
            stage=viewer.stage,
            user=user,
            total=total,
            viewers=int(viewers or 0),
            heartbeats=hlen,
        )

    def vanish(self, user: str) -> None:
        """The viewer goes without a leave: nothing is written; it stops heartbeating."""
        viewer = self.viewers[user]
        viewer.vanished = True
        self._log(self._now_ms() * 1000, event="vanish", stage=viewer.stage, user=user)

    def truth(self) -> dict[str, int]:
        """What IVS knows: each stage's viewers still connected."""
        out = dict.fromkeys(self.stages, 0)
        for v in self.viewers.values():
            if not v.vanished:
                out[v.stage] += 1
        return out

    def connected(self) -> dict[str, list[str]]:
        """What IVS knows, by participant: each stage's viewers still connected."""
        out: dict[str, list[str]] = {a: [] for a in list(self.stages)}
        for v in list(self.viewers.values()):
            if not v.vanished:
                out.setdefault(v.stage, []).append(f"p-{v.user}")
        return out

    def _busiest(self, but: str | None = None) -> str | None:
        present = self.truth()
        options = [a for a in self.stages if a != but and present[a] > 0]
        return max(options, key=lambda a: (present[a], a), default=None)

    def reset_counter(self) -> None:
        """An API restart: the busiest stage's counter back to 0, its viewers still there."""
        stage = self._busiest()
        if stage is None:
            return
        self.reset_stage = stage

        def build(p) -> None:
            p.getset(self.keys.viewers(stage), 0)
            p.get(self.keys.total)
            p.hlen(self.keys.heartbeat(stage))

        (old, total, hlen), at = self._commit(build)
        self._log(
            at,
            event="reset",
            stage=stage,
            total=int(total or 0),
            viewers=0,
            heartbeats=hlen,
            lost=int(old or 0),
        )

    def decouple(self) -> None:
        """From now on the writes to one stage's counter are lost."""
        stage = self._busiest(but=self.reset_stage)
        if stage is None:
            return
        self.decoupled = stage
        (viewers,), at = self._commit(lambda p: p.get(self.keys.viewers(stage)))
        self._log(at, event="decouple", stage=stage, viewers=int(viewers or 0))

    def _in(self, window: tuple[float, float] | None) -> bool:
        if window is None or self.start is None:
            return False
        elapsed = self.monotonic() - self.start
        return window[0] <= elapsed < window[1]

    def heartbeats(self) -> None:
        now = self.monotonic()
        due = [
            v
            for v in self.viewers.values()
            if not v.vanished and now - v.heartbeat_at >= self.config.heartbeat_seconds
        ]
        if not due:
            return
        now_ms = self._now_ms()
        pipe = self.r.pipeline(transaction=False)
        for v in due:
            beat = {"timestamp": now_ms, "participantId": f"p-{v.user}", "joinedAt": v.joined_ms}
            pipe.hset(self.keys.heartbeat(v.stage), v.user, json.dumps(beat, separators=(",", ":")))
            v.heartbeat_at = now
        pipe.execute()

    def cleanup(self) -> int:
        """The platform's cleanup: every viewer whose heartbeat is older than
        `silent_seconds` is removed (DECR + HDEL), each in its own transaction."""
        if self._in(self.config.cleanup_stopped):
            return 0
        cutoff = self._now_ms() - int(self.config.silent_seconds * 1000)
        removed = 0
        for stage in list(self.stages):
            for user, raw in self.r.hgetall(self.keys.heartbeat(stage)).items():
                name = user.decode()
                if json.loads(raw)["timestamp"] < cutoff and name in self.viewers:
                    self.leave(name, "timeout")
                    removed += 1
        return removed

    def _now_ms(self) -> int:
        seconds, micros = self.r.time()
        return int(seconds) * 1000 + int(micros) // 1000

    # -- the session --------------------------------------------------------------------------

    def target(self, elapsed: float) -> int:
        """The evening curve: 0 at the start and the end, `peak_viewers` in the middle."""
        x = min(max(elapsed / self.config.seconds, 0.0), 1.0)
        return round(self.config.peak_viewers * math.sin(math.pi * x) ** 2)

    def other_keys(self) -> None:
        pipe = self.r.pipeline(transaction=False)
        for i in range(self.config.other_keys):
            pipe.set(f"{self.keys.prefix}session:{i:05d}", "x", ex=3600)
        pipe.execute()

    def run(self, stop: threading.Event | None = None) -> None:
        """The whole session in real time: live, the curve, offline; then the viewers still
        there leave, and those who vanished are removed by the cleanup."""
        stop = stop or threading.Event()
        c = self.config
        self.other_keys()
        self.create_stage()
        self.publisher("live")
        start = self.start = self.monotonic()
        last_cleanup = start
        while not stop.is_set():
            elapsed = self.monotonic() - start
            if elapsed >= c.seconds:
                break
            if c.reset_at is not None and elapsed >= c.reset_at and self.reset_stage is None:
                self.reset_counter()
            if c.decouple_at is not None and elapsed >= c.decouple_at and not self.decoupled:
                self.decouple()
            self.step(self.target(elapsed))
            if self.monotonic() - last_cleanup >= c.cleanup_seconds:
                self.cleanup()
                last_cleanup = self.monotonic()
            stop.wait(c.tick_seconds)
        self.publisher("offline")
        for user in [u for u, v in self.viewers.items() if not v.vanished]:
            self.leave(user)
        while self.viewers and not stop.is_set():
            stop.wait(c.cleanup_seconds)
            self.cleanup()
        self.log.flush()
        self.say(
            f"live-simulator: {self.events} changes logged, {len(self.stages)} stages, "
            f"peak target {c.peak_viewers}"
        )

    def step(self, target: int) -> None:
        """Move the audience toward `target`: joins, or leaves (some vanish instead)."""
        present = [u for u, v in self.viewers.items() if not v.vanished]
        if len(present) < target:
            for _ in range(min(target - len(present), 1 + target // 10)):
                self.join()
        elif len(present) > target:
            for user in self.rng.sample(present, min(len(present) - target, 1 + target // 10)):
                if self._in(self.config.no_leaves):
                    self.vanish(user)
                elif self.rng.random() < self.config.vanish_share:
                    self.viewers[user].vanished = True
                else:
                    self.leave(user)
        self.heartbeats()


def populate(client: redis.Redis, keys: RedisKeys, stages: int, fields: int, seed: int = 1) -> int:
    """A platform at scale, written at once: `stages` stages with counters, infos and
    heartbeat hashes holding `fields` fields in all, the total and the publisher. Returns the
    total viewers."""
    rng = random.Random(seed)
    config = SimulatorConfig()
    arns = [stage_arn(rng, config) for _ in range(stages)]
    per = [fields // stages + (1 if i < fields % stages else 0) for i in range(stages)]
    pipe = client.pipeline(transaction=False)
    for i, (arn, n) in enumerate(zip(arns, per, strict=True)):
        info = {
            "name": f"auto-stage-{i}",
            "arn": arn,
            "autoScaled": i > 0,
            "createdAt": "2025-03-11T10:00:00.000Z",
            "parentStage": arns[0] if i else None,
        }
        pipe.set(keys.stage(arn), json.dumps(info), ex=STAGE_TTL)
        pipe.set(keys.viewers(arn), n)
        beat = json.dumps({"timestamp": 0, "participantId": "p", "joinedAt": 0})
        pipe.hset(keys.heartbeat(arn), mapping={f"user-{i}-{j}": beat for j in range(n)})
        if i % 50 == 49:
            pipe.execute()
    pipe.set(keys.total, fields)
    pipe.set(keys.publisher, "live", ex=PUBLISHER_TTL)
    pipe.execute()
    return fields
