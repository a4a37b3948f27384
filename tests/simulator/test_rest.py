"""Stream REST API: video details, Cloudflare's 404 for deleted videos, and the list endpoint
paged by `created`."""

from __future__ import annotations

import datetime as dt

import httpx
import numpy as np

from stream_stats_dagster.simulator import Simulator, small_config

from .conftest import client_for

ACCOUNT = "/accounts/sim-account/stream"


def test_video_details(client, shared_sim) -> None:
    live = [v for v in shared_sim.platform.videos() if not v.deleted and v.name and v.creator]
    v = next(v for v in live if v.state == "ready" and v.duration > 0)
    r = client.get(f"{ACCOUNT}/{v.uid}")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    res = body["result"]
    assert res["uid"] == v.uid and len(v.uid) == 32 and int(v.uid, 16) >= 0
    assert res["creator"] == v.creator
    assert res["meta"]["name"] == v.name and res["meta"]["name"].startswith(v.post)
    assert res["meta"]["sequence"] == str(v.sequence) and res["meta"]["isPremium"] in (
        "true",
        "false",
    )
    assert res["status"]["state"] == "ready" and res["readyToStream"] is True
    assert res["created"].endswith("Z") and res["duration"] > 0


def test_deleted_video_is_404(client, shared_sim) -> None:
    v = next(v for v in shared_sim.platform.videos() if v.deleted)
    r = client.get(f"{ACCOUNT}/{v.uid}")
    assert r.status_code == 404
    assert r.json() == {
        "success": False,
        "errors": [{"code": 10005, "message": "video not found"}],
        "messages": [],
        "result": None,
    }
    assert client.get(f"{ACCOUNT}/{'0' * 32}").status_code == 404


def test_catalogue_edge_cases_exist(client, shared_sim) -> None:
    videos = shared_sim.platform.videos()
    live = [v for v in videos if not v.deleted]
    nameless = next(v for v in live if v.name is None)
    assert "name" not in client.get(f"{ACCOUNT}/{nameless.uid}").json()["result"]["meta"]
    orphan = next(v for v in live if v.creator is None)
    assert client.get(f"{ACCOUNT}/{orphan.uid}").json()["result"]["creator"] is None
    names = {v.name for v in videos if v.name}
    assert any(n.endswith("001.mp4") and _hangul(n) for n in names)  # Korean post names
    assert any("-" in n[:-8] or "_" in n[:-8] for n in names)
    titles = {v.title for v in videos if v.title}
    assert any(_hangul(t) for t in titles)


def _hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_catalogue_size_follows_the_config() -> None:
    cfg = small_config()
    sim = Simulator(cfg)
    videos = sim.platform.videos()
    assert len(videos) == cfg.videos + cfg.unwatched_videos
    creators = {v.creator for v in videos}
    assert len(creators) >= cfg.small_creators  # plus big creators and None


def test_list_pages_by_created_return_every_live_video_once(shared_sim) -> None:
    with client_for(shared_sim) as client:
        seen: list[str] = []
        created: list[str] = []
        params: dict[str, str] = {"asc": "true", "limit": "1000"}
        while True:
            r = client.get(ACCOUNT, params=params)
            body = r.json()
            assert r.status_code == 200 and body["success"] is True
            assert isinstance(body["total"], int) and body["range"] == len(body["result"])
            page = body["result"]
            seen += [v["uid"] for v in page]
            created += [v["created"] for v in page]
            if len(page) < 1000:
                break
            params["start"] = page[-1]["created"]
    live = {v.uid for v in shared_sim.platform.videos() if not v.deleted}
    assert len(seen) == len(set(seen)) == len(live)
    assert set(seen) == live
    assert created == sorted(created)


def test_list_defaults_to_newest_first_and_filters(client, shared_sim) -> None:
    body = client.get(ACCOUNT, params={"limit": "5"}).json()
    created = [v["created"] for v in body["result"]]
    assert created == sorted(created, reverse=True) and len(created) == 5
    before = client.get(ACCOUNT, params={"before": created[-1], "limit": "1"}).json()["result"]
    assert before[0]["created"] < created[-1]
    creator = next(v.creator for v in shared_sim.platform.videos() if v.creator)
    mine = client.get(ACCOUNT, params={"creator": creator}).json()
    want = [v for v in shared_sim.platform.videos() if v.creator == creator and not v.deleted]
    assert mine["total"] == len(want) == len(mine["result"])
    assert client.get(ACCOUNT, params={"limit": "1001"}).status_code == 400


def test_rest_auth_and_account() -> None:
    sim = Simulator(small_config(require_token=True))
    uid = next(v.uid for v in sim.platform.videos() if not v.deleted)
    with client_for(sim) as client:
        r = client.get(f"{ACCOUNT}/{uid}")
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == 10000
        auth = {"Authorization": "Bearer sim-token"}
        assert client.get(f"{ACCOUNT}/{uid}", headers=auth).status_code == 200
        r = client.get(f"/accounts/other/stream/{uid}", headers=auth)
        assert r.status_code == 403 and r.json()["success"] is False


def test_unknown_route(client: httpx.Client) -> None:
    r = client.get("/zones")
    assert r.status_code == 404
    assert r.json()["errors"] == [{"code": 7000, "message": "No route for that URI"}]


def test_catalogue_has_what_cost_reports_meet(client, shared_sim) -> None:
    """Never-watched uploads, unknown durations (-1) and videos still processing, as the
    list endpoint returns them; realistic durations and sizes."""
    cfg = shared_sim.config
    videos = [v for v in shared_sim.platform.videos() if not v.deleted]
    processing = [v for v in videos if v.state != "ready"]
    assert len(processing) == cfg.processing_videos
    assert all(v.duration == -1 and v.ready_us is None and v.size == 0 for v in processing)
    ready = [v for v in videos if v.state == "ready"]
    assert any(v.duration == -1 for v in ready)  # Stream does not always know a duration
    known = np.array([v.duration for v in ready if v.duration > 0])
    assert known.min() >= 5 and known.max() <= 3 * 3600 and 200 < np.median(known) < 1000
    sizes = np.array([v.size for v in ready if v.duration > 0])
    rate = sizes * 8 / known
    assert rate.min() > 1e6 and rate.max() < 7e6  # bits per second of a real upload
    assert all(v.ready_us > v.created_us for v in ready)
    watched = set(
        shared_sim.platform.records(
            dt.datetime(2025, 2, 1, tzinfo=dt.UTC), dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
        )["uid"]
    )
    unwatched = len(videos) - len({v.uid for v in videos} & watched)
    assert unwatched >= cfg.unwatched_videos
    page = client.get(ACCOUNT, params={"asc": "false", "limit": "1000"}).json()["result"]
    states = {item["status"]["state"] for item in page}
    assert "ready" in states and states - {"ready"}  # the newest uploads include processing
    pending = next(item for item in page if item["status"]["state"] != "ready")
    assert pending["readyToStream"] is False and pending["readyToStreamAt"] is None
    assert pending["duration"] == -1
    only = client.get(ACCOUNT, params={"status": "ready"}).json()
    assert only["total"] == len(ready)
