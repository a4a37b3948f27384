"""Stream REST API: video details (`GET /accounts/{id}/stream/{uid}`) and the video list
(`GET /accounts/{id}/stream`), in Cloudflare's envelope with its 404 for deleted videos."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from .platform import STATES, Video, format_created
from .responses import Response, rest_error, rest_ok

if TYPE_CHECKING:
    from .app import Simulator

_CUSTOMER = "customer-sim0000000000000.cloudflarestream.com"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def video_json(v: Video) -> dict[str, Any]:
    """A `result` object as Stream returns it (fields the project does not read included)."""
    meta: dict[str, str] = {}
    if v.name is not None:
        meta["name"] = v.name
    if v.title is not None:
        meta["title"] = v.title
    meta["isPremium"] = "true" if v.premium else "false"
    meta["sequence"] = str(v.sequence)
    created = format_created(v.created_us)
    ready = None if v.ready_us is None else format_created(v.ready_us)
    base = f"https://{_CUSTOMER}/{v.uid}"
    return {
        "uid": v.uid,
        "creator": v.creator,
        "thumbnail": f"{base}/thumbnails/thumbnail.jpg",
        "thumbnailTimestampPct": 0,
        "readyToStream": v.state == "ready",
        "readyToStreamAt": ready,
        "status": {
            "state": v.state,
            "pctComplete": "100.000000" if v.state == "ready" else "42.000000",
            "errorReasonCode": "",
            "errorReasonText": "",
        },
        "meta": meta,
        "created": created,
        "modified": ready or created,
        "scheduledDeletion": None,
        "size": v.size,
        "preview": f"{base}/watch",
        "allowedOrigins": [],
        "requireSignedURLs": False,
        "uploaded": created,
        "uploadExpiry": None,
        "maxSizeBytes": None,
        "maxDurationSeconds": None,
        "duration": v.duration,
        "input": {"width": 1920, "height": 1080},
        "playback": {"hls": f"{base}/manifest/video.m3u8", "dash": f"{base}/manifest/video.mpd"},
        "watermark": None,
        "clippedFrom": None,
        "publicDetails": None,
    }


def _parse_time_us(text: str) -> int | None:
    """RFC 3339 (any number of fraction digits) to microseconds; None if unparsable."""
    m = re.fullmatch(r"(.+?T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})", text.strip())
    if not m:
        return None
    try:
        t = dt.datetime.fromisoformat(m.group(1) + (m.group(3).upper().replace("Z", "+00:00")))
    except ValueError:
        return None
    fraction = int((m.group(2) or "0")[:6].ljust(6, "0"))
    return (t - _EPOCH) // dt.timedelta(microseconds=1) + fraction


class RestApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def video(self, uid: str) -> Response:
        v = self.sim.platform.video(uid)
        if v is None or v.deleted:
            return rest_error(404, 10005, "video not found")
        return rest_ok(video_json(v))

    def list(self, query: dict[str, list[str]]) -> Response:
        """Up to `limit` (<= 1000) videos by `created`, newest first unless `asc=true`;
        `start`/`after` and `end`/`before` bound `created` strictly. `total` counts every
        match of the filters (cursor included), `range` the videos in this answer."""
        q = {k: v[-1] for k, v in query.items() if v}
        asc = q.get("asc", "false").lower()
        if asc not in ("true", "false"):
            return rest_error(400, 10005, "asc must be true or false")
        try:
            limit = int(q.get("limit", "1000"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 1000:
            return rest_error(400, 10005, "limit must be an integer between 1 and 1000")
        after = q.get("after") or q.get("start")
        before = q.get("before") or q.get("end")
        lo_us = _parse_time_us(after) if after else None
        hi_us = _parse_time_us(before) if before else None
        if (after and lo_us is None) or (before and hi_us is None):
            return rest_error(400, 10005, "start/end must be RFC 3339 date-times")

        cat = self.sim.platform.catalog
        order = cat.created_order
        created = cat.created_us[order]
        i0 = 0 if lo_us is None else int(np.searchsorted(created, lo_us, side="right"))
        i1 = len(order) if hi_us is None else int(np.searchsorted(created, hi_us, side="left"))
        picked = order[i0 : max(i0, i1)]
        keep = ~cat.deleted[picked]
        if "creator" in q:
            code = cat.creators.index(q["creator"]) if q["creator"] in cat.creators else -1
            keep &= cat.video_creator[picked] == code
        if "status" in q:
            code = STATES.index(q["status"]) if q["status"] in STATES else -1
            keep &= cat.state[picked] == code
        if "video_name" in q or "search" in q:
            exact, part = q.get("video_name"), (q.get("search") or "").lower()
            keep &= np.array(
                [
                    (n := cat.names[i]) is not None
                    and (exact is None or n == exact)
                    and part in n.lower()
                    for i in picked.tolist()
                ],
                bool,
            )
        picked = picked[keep]
        page = picked[:limit] if asc == "true" else picked[::-1][:limit]
        result = [video_json(cat.video(int(i))) for i in page]
        return rest_ok(result, total=len(picked), range=len(result))
