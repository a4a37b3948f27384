"""Injected faults and Cloudflare's rate limits, driven by a manual clock."""

from __future__ import annotations

import json

import pytest

from stream_stats_dagster.simulator import Fault, ManualClock, Simulator, small_config

from .conftest import client_for, node

DAY = {"datetime_geq": "2025-03-10T15:00:00Z", "datetime_lt": "2025-03-11T15:00:00Z"}
BUDGET = "rate limiter budget depleted, try again after 5 minutes"


def _video(sim: Simulator) -> str:
    return next(v.uid for v in sim.platform.videos() if not v.deleted)


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("rate_limited", 429, BUDGET),
        ("unavailable", 503, "unable to execute query, please try again later"),
        ("budget_depleted", 200, BUDGET),
        ("server_error", 500, "Internal server error"),
    ],
)
def test_graphql_faults(sim: Simulator, kind: str, status: int, message: str) -> None:
    sim.inject(Fault(kind=kind, endpoint="graphql", times=2, retry_after=7))  # type: ignore[arg-type]
    with client_for(sim) as client:
        for _ in range(2):
            r = node(client, "uid", DAY, limit=1)
            assert r.status_code == status
            body = r.json()
            assert body["data"] is None and body["errors"][0]["message"] == message
            if kind == "rate_limited":
                assert r.headers["retry-after"] == "7"
            if kind == "budget_depleted":
                assert body["errors"][0]["extensions"]["code"] == "budget"
        assert node(client, "uid", DAY, limit=1).json()["errors"] is None
    assert sim.stats.faults == 2 and sim.stats.graphql_requests == 3 and sim.stats.nodes == 1


def test_truncated_body(sim: Simulator) -> None:
    sim.inject(Fault(kind="truncated", endpoint="any", times=2))
    with client_for(sim) as client:
        r = node(client, "uid", DAY, limit=10)
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()
        r = client.get(f"/accounts/sim-account/stream/{_video(sim)}")
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()
        assert node(client, "uid", DAY, limit=10).json()["errors"] is None


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("rate_limited", 429, 971), ("unavailable", 503, 10001), ("server_error", 500, 10002),
     ("budget_depleted", 200, 971)],
)  # fmt: skip
def test_rest_faults(sim: Simulator, kind: str, status: int, code: int) -> None:
    sim.inject(Fault(kind=kind, endpoint="rest"))  # type: ignore[arg-type]
    with client_for(sim) as client:
        assert node(client, "uid", DAY, limit=1).status_code == 200  # graphql unaffected
        r = client.get(f"/accounts/sim-account/stream/{_video(sim)}")
        assert r.status_code == status
        assert r.json()["success"] is False and r.json()["errors"][0]["code"] == code
        if kind == "rate_limited":
            assert r.headers["retry-after"] == "5"
        assert client.get(f"/accounts/sim-account/stream/{_video(sim)}").status_code == 200
    assert sim.faults.pending() == []


def test_fault_kind_is_checked() -> None:
    with pytest.raises(ValueError):
        Fault(kind="teapot")  # type: ignore[arg-type]
    assert Fault(kind="503").kind == "unavailable"  # type: ignore[arg-type]


def test_node_budget_sliding_window() -> None:
    clock = ManualClock()
    sim = Simulator(small_config(node_budget=True), clock=clock)
    q = """query($f: AccountStreamMinutesViewedAdaptiveGroupsFilter_InputObject!) {
      viewer { budget accounts(filter: {accountTag: "sim-account"}) {
      a: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 1) { count }
      b: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 1) { count }
      c: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 1) { count } } } }"""
    with client_for(sim) as client:
        for i in range(100):  # 100 requests x 3 nodes = the whole budget
            r = client.post("/graphql", json={"query": q, "variables": {"f": DAY}})
            assert r.json()["errors"] is None, i
            clock.advance(1)
        assert r.json()["data"]["viewer"]["budget"] == 0
        r = client.post("/graphql", json={"query": q, "variables": {"f": DAY}})
        assert r.status_code == 200
        (err,) = r.json()["errors"]
        assert err["message"] == BUDGET and err["extensions"]["code"] == "budget"
        assert r.json()["data"] is None
        clock.advance(300 - 100 + 1)  # the first requests leave the 5-minute window
        r = client.post("/graphql", json={"query": q, "variables": {"f": DAY}})
        assert r.json()["errors"] is None
    assert sim.stats.nodes == 303 and sim.stats.graphql_requests == 102


def test_rest_budget_blocks_for_five_minutes() -> None:
    clock = ManualClock()
    sim = Simulator(small_config(rest_budget=True), clock=clock)
    uid = _video(sim)
    with client_for(sim) as client:
        for _ in range(1200):
            assert client.get(f"/accounts/sim-account/stream/{uid}").status_code == 200
        r = client.get(f"/accounts/sim-account/stream/{uid}")
        assert r.status_code == 429 and r.headers["retry-after"] == "300"
        assert r.json() == {
            "success": False,
            "errors": [
                {"code": 971, "message": "Please wait and consider throttling your request speed"}
            ],
        }
        clock.advance(299.5)
        r = client.get(f"/accounts/sim-account/stream/{uid}")
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        clock.advance(1)
        assert client.get(f"/accounts/sim-account/stream/{uid}").status_code == 200
    assert sim.stats.rest_calls == 1203
