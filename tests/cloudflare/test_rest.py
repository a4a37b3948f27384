"""Stream REST: video details (404 = deleted) and the catalogue list paged by creation time."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareClient,
    CloudflareQueryError,
    CloudflareResponseError,
    CloudflareUnavailableError,
)
from stream_stats_dagster.facts import VideoMetadata

from .fakes import FakeClock, FakeCloudflare

UTC = dt.UTC


def _client(rest, **limits) -> tuple[CloudflareClient, FakeClock]:
    clock = FakeClock()
    client = CloudflareClient(
        "https://cf.test/client/v4",
        "acc",
        "tok",
        transport=FakeCloudflare(rest=rest).transport(),
        limits=ClientLimits(**limits),
        clock=clock,
        sleep=clock.sleep,
    )
    return client, clock


def _ok(result) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "errors": [], "messages": [], "result": result}
    )


NOT_FOUND = httpx.Response(
    404,
    json={"success": False, "errors": [{"code": 10005, "message": "Not Found"}], "result": None},
)


def test_get_videos_maps_fields_and_404() -> None:
    seen = []

    def rest(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        assert request.headers["authorization"] == "Bearer tok"
        uid = request.url.path.rsplit("/", 1)[-1]
        if uid == "gone":
            return NOT_FOUND
        return _ok(
            {
                "uid": uid,
                "creator": None if uid == "anon" else "creator-1",
                "meta": {"name": f"{uid}001.mp4", "title": "진짜 제목"} if uid != "bare" else {},
                "created": "2025-01-02T03:04:05.123456Z",
            }
        )

    client, _ = _client(rest)
    with client:
        videos = client.get_videos(["lady", "gone", "anon", "bare", "lady"])
    assert list(videos) == ["lady", "gone", "anon", "bare"]
    assert videos["lady"] == VideoMetadata(
        uid="lady",
        found=True,
        creator="creator-1",
        name="lady001.mp4",
        title="진짜 제목",
        created="2025-01-02T03:04:05.123456Z",
    )
    assert videos["gone"] == VideoMetadata(uid="gone", found=False)
    assert videos["anon"].creator is None and videos["anon"].found
    assert videos["bare"].name is None and videos["bare"].title is None
    assert sorted(seen) == sorted(
        f"/client/v4/accounts/acc/stream/{u}" for u in ["lady", "gone", "anon", "bare"]
    )
    assert client.stats.rest_calls == 4


def test_get_videos_retries_5xx_and_fails_on_persisting_errors() -> None:
    attempts: dict[str, int] = {}

    def rest(request: httpx.Request) -> httpx.Response:
        uid = request.url.path.rsplit("/", 1)[-1]
        attempts[uid] = attempts.get(uid, 0) + 1
        if uid == "flaky" and attempts[uid] < 3:
            return httpx.Response(502, text="bad gateway")
        if uid == "broken":
            return httpx.Response(
                500, json={"success": False, "errors": [{"code": 1, "message": "boom"}]}
            )
        return _ok({"uid": uid, "meta": {"name": "x.mp4"}})

    client, _ = _client(rest, max_attempts=3)
    with client:
        assert client.get_videos(["flaky"])["flaky"].name == "x.mp4"
        with pytest.raises(CloudflareUnavailableError, match=r"video broken.*3 attempts.*boom"):
            client.get_videos(["a", "broken", "b"], concurrency=2)


def test_404_that_is_not_cloudflare_is_not_a_deleted_video() -> None:
    client, _ = _client(lambda r: httpx.Response(404, text="<html>nginx</html>"))
    with client, pytest.raises(CloudflareQueryError, match="api_base_url"):
        client.get_videos(["x"])
    route = httpx.Response(
        404,
        json={
            "success": False,
            "errors": [{"code": 7003, "message": "Could not route to /accounts/x"}],
        },
    )
    client, _ = _client(lambda r: route)
    with client, pytest.raises(CloudflareQueryError, match="Could not route"):
        client.get_videos(["x"])


def _catalogue(n: int, *, ties: int = 1) -> list[dict]:
    base = dt.datetime(2025, 1, 1, tzinfo=UTC)
    return [
        {
            "uid": f"v{i:05d}",
            "creator": "c",
            "meta": {"name": f"v{i}.mp4"},
            "created": (base + dt.timedelta(seconds=i // ties)).strftime(
                "%Y-%m-%dT%H:%M:%S.000000Z"
            ),
        }
        for i in range(n)
    ]


def _list_endpoint(items: list[dict], requests: list[dict], *, total_as_str: bool = True):
    """Cloudflare-like list: asc by created, `start` inclusive, up to `limit`."""

    def rest(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        requests.append(params)
        assert request.url.path == "/client/v4/accounts/acc/stream" and params["asc"] == "true"
        start = params.get("start")
        chosen = [v for v in items if start is None or v["created"][:19] >= start[:19]]
        page = chosen[: int(params["limit"])]
        total = str(len(items)) if total_as_str else len(items)
        rng = str(len(chosen) - len(page)) if total_as_str else len(chosen) - len(page)
        return httpx.Response(
            200,
            json={"success": True, "errors": [], "result": page, "total": total, "range": rng},
        )

    return rest


@pytest.mark.parametrize(
    ("n", "ties", "total_as_str"), [(2500, 1, True), (2000, 3, False), (999, 1, True)]
)
def test_list_videos_pages_by_created_time(n: int, ties: int, total_as_str: bool) -> None:
    items, requests = _catalogue(n, ties=ties), []
    client, _ = _client(_list_endpoint(items, requests, total_as_str=total_as_str))
    with client:
        pages = list(client.list_videos())
    uids = [v.uid for page in pages for v in page]
    assert uids == [v["uid"] for v in items]  # all, once, in creation order
    assert all(v.found and v.name for page in pages for v in page)
    assert "start" not in requests[0] and all(r["limit"] == "1000" for r in requests)
    assert len(requests) <= n // 1000 + 2


def test_list_videos_starts_after_created_after() -> None:
    items, requests = _catalogue(30), []
    client, _ = _client(_list_endpoint(items, requests))
    with client:
        pages = list(client.list_videos(created_after="2025-01-01T00:00:20Z", limit=1000))
    assert [v.uid for v in pages[0]] == [f"v{i:05d}" for i in range(20, 30)]
    assert requests[0]["start"] == "2025-01-01T00:00:20Z"


def test_list_videos_detects_a_stuck_page() -> None:
    items, requests = _catalogue(20, ties=100), []  # 20 videos created in the same second
    client, _ = _client(_list_endpoint(items, requests))
    with client, pytest.raises(CloudflareResponseError, match="share one created second"):
        list(client.list_videos(limit=10))


def test_a_listing_may_take_the_pages_its_total_needs() -> None:
    """The page bound grows with the account's `total` (10x the seed's platform is ~1,040
    pages of 1,000), so a large catalogue lists whole while a list without end still fails."""
    items, requests = _catalogue(2500), []
    client, _ = _client(_list_endpoint(items, requests), max_list_pages=5)
    with client:
        uids = [v.uid for page in client.list_videos(limit=100) for v in page]
    assert uids == [v["uid"] for v in items] and len(requests) == 26


@pytest.mark.parametrize(("total", "pages"), [(None, 5), ("300", 16)])
def test_a_list_without_end_fails_at_its_bound(total, pages) -> None:
    requests = []
    base = dt.datetime(2025, 1, 1, tzinfo=UTC)

    def rest(request: httpx.Request) -> httpx.Response:
        n = len(requests)
        requests.append(request)
        page = [
            {
                "uid": f"u{n}-{i}",
                "meta": {},
                "created": f"{base + dt.timedelta(days=n):%Y-%m-%dT%H:%M:%SZ}",
            }
            for i in range(100)
        ]
        body = {"success": True, "errors": [], "result": page}
        if total is not None:
            body["total"] = total
        return httpx.Response(200, json=body)

    client, _ = _client(rest, max_list_pages=5)
    with client, pytest.raises(CloudflareResponseError, match="the list does not end"):
        for _ in client.list_videos(limit=100):
            pass
    assert len(requests) == pages
