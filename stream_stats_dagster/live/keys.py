"""The platform's Redis keys (docs/live.md; the seed's `/api/stats` description), under a
configurable prefix (`ivs:prod:`).

`/api/stats` looks for active stages with the pattern `viewer:count:*`, but the platform
writes its per-stage counters at `viewers:{stageArn}`: stages are discovered from those
counters and from the heartbeat hashes, never from that pattern.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "ivs:prod:"

    @property
    def total(self) -> str:
        """String integer, no TTL: INCR on a viewer's token, DECR on leave or timeout."""
        return f"{self.prefix}total_viewers"

    @property
    def publisher(self) -> str:
        """`"live"` or `"offline"`, TTL 86400 s, one for the platform."""
        return f"{self.prefix}publisher:status"

    def viewers(self, arn: str) -> str:
        """String integer, no TTL: the stage's viewers, INCR/DECR like the total."""
        return f"{self.prefix}viewers:{arn}"

    def stage(self, arn: str) -> str:
        """JSON `{name, arn, autoScaled, createdAt, parentStage}`, TTL 3600 s."""
        return f"{self.prefix}stage:{arn}"

    def heartbeat(self, arn: str) -> str:
        """Hash userId -> `{timestamp, participantId, joinedAt}`; HSET on join and heartbeat,
        HDEL on leave and by the 30-second cleanup of viewers silent for 60 s."""
        return f"{self.prefix}viewer:heartbeat:{arn}"

    @property
    def stage_patterns(self) -> dict[str, str]:
        """SCAN patterns that find the stages, by the part of the key before the ARN."""
        return {
            self.viewers(""): self.viewers("*"),
            self.heartbeat(""): self.heartbeat("*"),
        }

    def arn_of(self, key: str) -> str | None:
        """The stage ARN of a counter or heartbeat key, None for any other key."""
        for head in self.stage_patterns:
            if key.startswith(head) and len(key) > len(head):
                return key[len(head) :]
        return None
