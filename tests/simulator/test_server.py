"""The HTTP server answers exactly like the in-process transport."""

from __future__ import annotations

import httpx

from stream_stats_dagster.simulator import Simulator, small_config

from .conftest import client_for

QUERY = """query($acc: string!) { viewer { accounts(filter: {accountTag: $acc}) {
  streamMinutesViewedAdaptiveGroups(filter: {date: "2025-03-10"}, limit: 50,
    orderBy: [sum_minutesViewed_DESC, count_DESC, uid_ASC]) {
    count sum { minutesViewed } dimensions { uid creator clientCountryName } } } } }"""


def test_http_server_matches_in_process() -> None:
    sim = Simulator(small_config())
    uid = sim.platform.uids[3]
    deleted = next(v.uid for v in sim.platform.videos() if v.deleted)
    calls = [
        ("POST", "/graphql", {"json": {"query": QUERY, "variables": {"acc": "sim-account"}}}),
        ("GET", f"/accounts/sim-account/stream/{uid}", {}),
        ("GET", f"/accounts/sim-account/stream/{deleted}", {}),
        ("GET", "/accounts/sim-account/stream", {"params": {"asc": "true", "limit": "20"}}),
    ]
    with sim.serve(host="127.0.0.1", port=0) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/client/v4"
        assert server.port > 0
        with httpx.Client(base_url=server.base_url, timeout=10) as http, client_for(sim) as local:
            for method, path, kwargs in calls:
                a = http.request(method, path, **kwargs)
                b = local.request(method, path, **kwargs)
                assert a.status_code == b.status_code
                assert a.content == b.content
                assert a.headers["content-type"] == b.headers["content-type"]
            r = http.post("/graphql", json={"query": "{ viewer { nope } }"})
            assert r.status_code == 400 and r.json()["data"] is None
    assert sim.stats.graphql_requests == 3 and sim.stats.rest_calls == 6
