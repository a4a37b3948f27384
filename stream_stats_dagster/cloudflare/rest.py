"""Stream's REST API: video metadata, one video at a time or the whole catalogue.

Cloudflare's list endpoint has no cursor and its items are loosely typed (numbers as
strings, fields missing), so this module pages by creation time, drops what it has seen,
and reads each item into a `VideoMetadata` field by field. Per-uid lookups run in a thread
pool that stops every worker at the first failure. Sending and retrying are `transport`'s.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote

import httpx

from ..dates import to_utc_z
from ..facts import VideoMetadata
from .errors import CloudflareResponseError
from .transport import Transport, parse_time


class _Cancelled(Exception):
    """Internal: another worker of the same call failed first."""


class Videos:
    """Stream videos of one account (REST, `Stream: Read`)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.limits = transport.limits
        self.log = transport.log
        self._url = f"{transport.base_url}/accounts/{quote(transport.account_id, safe='')}/stream"

    def get_videos(self, uids: Sequence[str], *, concurrency: int = 8) -> dict[str, VideoMetadata]:
        """Metadata of each video, one REST call per uid, `concurrency` at a time. A 404 is a
        deleted video (`found=False`); any other failure (after retries) fails the whole call."""
        unique = list(dict.fromkeys(uids))
        if not unique:
            return {}
        deadline = self.transport.deadline()
        stop = threading.Event()  # set on the first failure: the other workers give up too
        results: dict[str, VideoMetadata] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(unique)))) as pool:
            futures = {pool.submit(self._get_video, uid, deadline, stop): uid for uid in unique}
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            errors = [f.exception() for f in done if f.exception() is not None]
            if errors:
                stop.set()
                for future in pending:
                    future.cancel()
                raise next((e for e in errors if not isinstance(e, _Cancelled)), errors[0])
            results = {futures[f]: f.result() for f in done}
        missing = sum(not v.found for v in results.values())
        self.log.info(f"Cloudflare: metadata of {len(unique)} video(s), {missing} not found (404)")
        return {uid: results[uid] for uid in unique}

    def _get_video(self, uid: str, deadline: float, stop: threading.Event) -> VideoMetadata:
        url = f"{self._url}/{quote(uid, safe='')}"
        what = f"Cloudflare Stream video {uid}"

        def interpret(response: httpx.Response) -> VideoMetadata:
            body = self.transport.check(response, what, graphql=False, not_found_ok=True)
            if body is None:
                return VideoMetadata(uid=uid, found=False)
            result = body.get("result")
            if not isinstance(result, dict):
                raise CloudflareResponseError(f"{what}: no result object in the response")
            return _video(result, what, uid=uid)

        def pace() -> float:
            if stop.is_set():
                raise _Cancelled(what)
            return self.transport.pacer.rest(deadline=deadline)

        return self.transport.attempts(
            what, lambda: self._rest_send(url, None), interpret, pace, deadline
        )

    def count_videos(self) -> int | None:
        """How many videos the account holds now (the list endpoint's `total`, one call), or
        None if the answer does not say."""
        deadline = self.transport.deadline()
        what = "Cloudflare Stream video count"

        def interpret(response: httpx.Response) -> Any:
            return self.transport.check(response, what, graphql=False).get("total")

        total = self.transport.attempts(
            what,
            lambda: self._rest_send(self._url, {"limit": "1"}),
            interpret,
            lambda: self.transport.pacer.rest(deadline=deadline),
            deadline,
        )
        return _int_or_none(total)

    def list_videos(
        self, *, created_after: str | None = None, limit: int = 1000
    ) -> Iterator[list[VideoMetadata]]:
        """The catalogue in creation order, one page (up to `limit`, max 1000) at a time.

        Cloudflare has no cursor: the next page starts at the last item's `created`, one
        second early so that videos created in the same instant are not skipped whether
        `start` is inclusive or not; already seen uids are dropped. A short page ends it."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be in 1..1000")
        deadline = self.transport.deadline()
        start, seen, page = created_after, set[str](), 0
        cap = self.limits.max_list_pages
        while True:
            page += 1
            params = {"asc": "true", "limit": str(limit)}
            if start:
                params["start"] = start
            what = f"Cloudflare Stream video list page {page}" + (
                f" (start {start})" if start else ""
            )

            def interpret(
                response: httpx.Response, what: str = what
            ) -> tuple[list[VideoMetadata], Any]:
                body = self.transport.check(response, what, graphql=False)
                result = body.get("result")
                if not isinstance(result, list):
                    raise CloudflareResponseError(f"{what}: result is not a list")
                return [_video(item, what) for item in result], body.get("total")

            items, total = self.transport.attempts(
                what,
                lambda params=params: self._rest_send(self._url, params),
                interpret,
                lambda: self.transport.pacer.rest(deadline=deadline),
                deadline,
            )
            if page == 1 and (count := _int_or_none(total)):
                needed = -(-count // limit)
                cap = max(cap, min(2 * needed + 10, self.limits.max_list_pages_for_total))
            new = [v for v in items if v.uid not in seen]
            seen.update(v.uid for v in new)
            self.log.debug(
                f"{what}: {len(items)} videos, {len(new)} new, total {_int_or_none(total)}"
            )
            if new:
                yield new
            if len(items) < limit:
                return
            if page >= cap:
                raise CloudflareResponseError(
                    f"{what}: still full after {page} pages ({len(seen):,} videos): the list "
                    f"does not end (ClientLimits.max_list_pages is {self.limits.max_list_pages}, "
                    f"{cap} for the account's total of {_int_or_none(total)})"
                )
            if not new:
                raise CloudflareResponseError(
                    f"{what}: a full page without new videos; "
                    f"more than {limit} videos share one created second"
                )
            last = items[-1].created
            try:
                start = to_utc_z(parse_time(last, what) - dt.timedelta(seconds=1))
            except (CloudflareResponseError, TypeError):
                raise CloudflareResponseError(
                    f"{what}: last item has no usable created time ({last!r})"
                ) from None

    def _rest_send(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        self.transport.stats.add(rest_calls=1)
        return self.transport.send("GET", url, params=params)


def _video(item: Any, what: str, *, uid: str | None = None) -> VideoMetadata:
    if not isinstance(item, dict) or not isinstance(uid or item.get("uid"), str):
        raise CloudflareResponseError(f"{what}: a video without a uid")
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    return VideoMetadata(
        uid=uid or item["uid"],
        found=True,
        creator=_str_or_none(item.get("creator")),
        name=_str_or_none(meta.get("name")),
        title=_str_or_none(meta.get("title")),
        created=_str_or_none(item.get("created")),
        duration=_number_or_none(item.get("duration")),
        size=_int_or_none(item.get("size")),
        state=_str_or_none(status.get("state")),
        readyToStreamAt=_str_or_none(item.get("readyToStreamAt")),
        scheduledDeletion=_str_or_none(item.get("scheduledDeletion")),
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _number_or_none(value: Any) -> float | None:
    """`duration` in seconds (an int, a float or a numeric string); -1 means unknown."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int_or_none(value: Any) -> int | None:
    """`total` / `range` arrive as ints or as strings ("35586")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
