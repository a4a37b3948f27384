"""Fixtures: a small simulator (fast) and an httpx client on its in-process transport."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stream_stats_dagster.simulator import Simulator, small_config

BASE = "http://sim.invalid/client/v4"


@pytest.fixture(scope="session")
def shared_sim() -> Simulator:
    """One small platform for read-only tests (its catalogue and hours are built once)."""
    return Simulator(small_config())


@pytest.fixture
def sim() -> Simulator:
    return Simulator(small_config())


def client_for(sim: Simulator) -> httpx.Client:
    return httpx.Client(transport=sim.transport(), base_url=BASE)


@pytest.fixture
def client(shared_sim: Simulator) -> Iterator[httpx.Client]:
    with client_for(shared_sim) as c:
        yield c


def gql(client: httpx.Client, query: str, **variables: Any) -> httpx.Response:
    return client.post("/graphql", json={"query": query, "variables": variables})


NODE_QUERY = """
query Node($acc: string!, $filter: AccountStreamMinutesViewedAdaptiveGroupsFilter_InputObject!,
           $limit: uint64!, $order: [AccountStreamMinutesViewedAdaptiveGroupsOrderBy!]) {
  viewer { accounts(filter: {accountTag: $acc}) {
    rows: streamMinutesViewedAdaptiveGroups(filter: $filter, limit: $limit, orderBy: $order) {
      count sum { minutesViewed } dimensions { %s }
    }
  } }
}
"""


def node(
    client: httpx.Client,
    dims: str,
    flt: dict[str, Any],
    limit: int = 10000,
    order: list[str] | None = None,
    account: str = "sim-account",
) -> httpx.Response:
    """Run one node with the given dimensions (space-separated) and filter."""
    return gql(client, NODE_QUERY % dims, acc=account, filter=flt, limit=limit, order=order or [])


def rows(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] is None, body
    return body["data"]["viewer"]["accounts"][0]["rows"]


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """{count, minutesViewed, **dimensions} of one response row."""
    return {
        "count": row["count"],
        "minutesViewed": row["sum"]["minutesViewed"],
        **row["dimensions"],
    }
