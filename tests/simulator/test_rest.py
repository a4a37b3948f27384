"""Stream REST API: video details, Cloudflare's 404 for deleted videos, and the list endpoint
paged by `created`."""

from __future__ import annotations

import httpx

from stream_stats_dagster.simulator import Simulator, small_config

from .conftest import client_for

ACCOUNT = "/accounts/sim-account/stream"


def test_video_details(client, shared_sim) -> None:
    v = next(v for v in shared_sim.platform.videos() if not v.deleted and v.name and v.creator)
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
    assert len(videos) == cfg.videos
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
