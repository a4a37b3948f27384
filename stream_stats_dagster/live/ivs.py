"""Reconciliation with IVS: each stage's Redis counter against the participants IVS says are
connected (seed 003's fix that was never built), through boto3's `ivs-realtime` client.

For a stage: `ListStageSessions` (its sessions, the newest first; the current one has no
`endTime`), then `ListParticipants(sessionId, filterByState=CONNECTED)`, paged with
`nextToken` at most 100 at a time (the API has no paginator). A stage without a current
session has no one connected. The API is slower than Redis (hundreds of milliseconds a call)
and is billed per call, so each pass makes at most `calls_per_pass` calls and the passes
rotate through the stages, resuming after the last stage reconciled: at 1,000 stages and 20
calls a pass every minute, every stage is seen about every hour. A stage that does not fit
in what is left of a pass waits for the next one, which starts with it; a stage with more
pages than a whole pass holds is recorded as incomplete (its count so far). In the sampler
process the passes run in a thread of their own (`BackgroundReconciler`), so the API never
delays a sample.

The counter compared is the one read in the same tick's sample; IVS answers a few calls
later, so a stage whose viewers are coming and going can differ by those in between. Viewers
are IVS participants, and so is the publisher on its stage: the master stage's IVS count is
one above its viewers while the publisher is live.

Credentials: boto3's own chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a web identity
on Kubernetes, an instance role), and a region (`LIVE_IVS_REGION`, else `AWS_REGION`); the
sampler's IAM policy needs `ivs:ListStageSessions` and `ivs:ListParticipants` only
(docs/live.md). Nothing secret is ever printed: errors are said by their code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore import exceptions as boto_errors

from ..reports.live import instants
from ..reports.live.samples import IvsLine

PAGE = 100  # ListParticipants' and ListStageSessions' largest page
# what the API or the way to it can answer; anything else is a bug and is raised
API_ERRORS = (
    boto_errors.ClientError,
    boto_errors.ConnectionError,
    boto_errors.HTTPClientError,
    boto_errors.NoCredentialsError,
)


@dataclass
class Rotation:
    """Which stages were reconciled when (by Redis TIME), and where the next pass starts."""

    after: str | None = None  # the last stage reconciled
    passes: int = 0
    calls: list[int] = field(default_factory=list)  # calls made by each pass
    seen: dict[str, int] = field(default_factory=dict)  # stage -> last reconciled at


class IvsReconciler:
    def __init__(
        self,
        client: Any,  # boto3's ivs-realtime client
        calls_per_pass: int = 20,
        say: Callable[[str], None] = print,
    ):
        if calls_per_pass < 2:
            raise ValueError("a pass needs at least 2 calls (the session, one page)")
        self.client, self.budget, self.say = client, calls_per_pass, say
        self.rotation = Rotation()
        self.failing = False

    def reconcile(self, at_us: int, counters: dict[str, int | None]) -> list[IvsLine]:
        """One pass over the next stages (sorted by ARN, after the last one done), within
        the call budget. An API error ends the pass (said once, until a pass succeeds)."""
        arns = sorted(counters)
        if not arns:
            return []
        start = self._start(arns)
        order = arns[start:] + arns[:start]
        left, out = self.budget, []
        for arn in order:
            if left < 2:
                break
            try:
                result = self._stage(arn, left, whole=left == self.budget)
            except API_ERRORS as exc:  # said by their code, never with secrets
                self._failed(exc)
                break
            if result is None:  # does not fit in what is left: first in the next pass
                break
            session, connected, calls, complete = result
            left -= calls
            out.append(
                IvsLine(
                    at=instants.text(at_us),
                    stageArn=arn,
                    sessionId=session,
                    connected=connected,
                    counter=counters[arn],
                    calls=calls,
                    complete=complete,
                )
            )
            self.rotation.after = arn
            self.rotation.seen[arn] = at_us
        if out and self.failing:
            self.say("ivs: answers again, reconciliation resumed")
            self.failing = False
        self.rotation.passes += 1
        self.rotation.calls.append(self.budget - left)
        return out

    def _start(self, arns: Sequence[str]) -> int:
        after = self.rotation.after
        if after is None:
            return 0
        return next((i for i, a in enumerate(arns) if a > after), 0)

    def _stage(self, arn: str, left: int, whole: bool) -> tuple[str | None, int, int, bool] | None:
        """(current session, connected participants, calls, complete) or None when the stage
        needs more calls than are left (unless this is a whole pass: then it is cut)."""
        sessions = self.client.list_stage_sessions(stageArn=arn, maxResults=PAGE)
        calls = 1
        current = next(
            (s["sessionId"] for s in sessions.get("stageSessions", []) if not s.get("endTime")),
            None,
        )
        if current is None:
            return None, 0, calls, True
        connected, token = 0, None
        while True:
            if calls >= left:
                if not whole:
                    return None
                return current, connected, calls, False
            kwargs = {"nextToken": token} if token else {}
            page = self.client.list_participants(
                stageArn=arn,
                sessionId=current,
                filterByState="CONNECTED",
                maxResults=PAGE,
                **kwargs,
            )
            calls += 1
            connected += len(page.get("participants", []))
            token = page.get("nextToken")
            if not token:
                return current, connected, calls, True

    def _failed(self, exc: Exception) -> None:
        if not self.failing:
            response = getattr(exc, "response", None)
            code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
            self.say(
                f"ivs: reconciliation failed ({code or type(exc).__name__}); the counters are "
                "sampled as before, and the next pass tries again (said once)"
            )
            self.failing = True


class BackgroundReconciler(threading.Thread):
    """The passes beside the sampling, like the uploads: a slow or hanging IVS API never
    delays a sample. A pass that comes due while the last one still runs is skipped (and
    counted); its lines are written through `write(at_us, lines)` (the sampler's spool)."""

    def __init__(self, reconciler: IvsReconciler, write: Callable[[int, list[IvsLine]], None]):
        super().__init__(name="live-ivs", daemon=True)
        self.inner, self.write = reconciler, write
        self.cond = threading.Condition()
        self.job: tuple[int, dict[str, int | None]] | None = None
        self.busy = self.stopping = False
        self.skipped = 0

    def reconcile(self, at_us: int, counters: dict[str, int | None]) -> list[IvsLine]:
        with self.cond:
            if self.job is not None or self.busy:
                self.skipped += 1
            else:
                self.job = (at_us, dict(counters))
                self.cond.notify()
        return []  # written by the thread once the pass is done

    def run(self) -> None:
        while True:
            with self.cond:
                while self.job is None and not self.stopping:
                    self.cond.wait()
                if self.job is None:
                    return
                job, self.job, self.busy = self.job, None, True
            try:
                lines = self.inner.reconcile(*job)
                if lines:
                    self.write(job[0], lines)
            finally:
                with self.cond:
                    self.busy = False

    def stop(self) -> None:
        """After the pass in progress (its calls time out in seconds)."""
        with self.cond:
            self.stopping = True
            self.cond.notify()


def make_client(region: str, endpoint_url: str | None = None, **credentials: str) -> Any:
    """boto3's ivs-realtime client: one attempt per call (the next pass is the retry),
    short timeouts so a hanging API costs a pass, not the sampling."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ivs-realtime",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10
        ),
        **credentials,
    )
