"""The default-scale platform: one KST day's full request, as the collector sends it, with the
creator list paged past 10,000. Timings are printed (run with -s), correctness is asserted."""

from __future__ import annotations

import datetime as dt
import time

from stream_stats_dagster.simulator import Simulator, SimulatorConfig

from .conftest import client_for

DAY_QUERY = """
query Day($acc: string!, $start: Time!, $end: Time!, $after: string) {
  viewer { accounts(filter: {accountTag: $acc}) {
    creators: streamMinutesViewedAdaptiveGroups(
      filter: {datetime_geq: $start, datetime_lt: $end, creator_gt: $after},
      limit: 10000, orderBy: [creator_ASC]) { count sum { minutesViewed } dimensions { creator } }
    countries: streamMinutesViewedAdaptiveGroups(
      filter: {datetime_geq: $start, datetime_lt: $end},
      limit: 10000, orderBy: [clientCountryName_ASC]) {
      count sum { minutesViewed } dimensions { clientCountryName } }
    videos: streamMinutesViewedAdaptiveGroups(
      filter: {datetime_geq: $start, datetime_lt: $end},
      limit: 1000, orderBy: [sum_minutesViewed_DESC, count_DESC, uid_ASC]) {
      count sum { minutesViewed } dimensions { uid creator } }
    hours: streamMinutesViewedAdaptiveGroups(
      filter: {datetime_geq: $start, datetime_lt: $end},
      limit: 10000, orderBy: [datetimeHour_ASC]) {
      count sum { minutesViewed } dimensions { datetimeHour } }
  } }
}"""
CREATORS_QUERY = """
query Creators($acc: string!, $start: Time!, $end: Time!, $after: string) {
  viewer { accounts(filter: {accountTag: $acc}) {
    creators: streamMinutesViewedAdaptiveGroups(
      filter: {datetime_geq: $start, datetime_lt: $end, creator_gt: $after},
      limit: 10000, orderBy: [creator_ASC]) { count sum { minutesViewed } dimensions { creator } }
  } }
}"""


def test_one_kst_day_at_default_scale() -> None:
    sim = Simulator(SimulatorConfig())
    start = dt.datetime(2025, 3, 10, 15, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    variables = {
        "acc": "sim-account",
        "start": "2025-03-10T15:00:00Z",
        "end": "2025-03-11T15:00:00Z",
    }
    with client_for(sim) as client:
        t0 = time.perf_counter()
        assert len(sim.platform.catalog.uids) == 100_000 + 5_000  # watched + never watched
        t1 = time.perf_counter()
        sim.platform.window(start.timestamp(), end.timestamp())
        t2 = time.perf_counter()
        r = client.post("/graphql", json={"query": DAY_QUERY, "variables": variables})
        t3 = time.perf_counter()
        body = r.json()
        answers = []
        for _ in range(3):
            t = time.perf_counter()
            client.post("/graphql", json={"query": DAY_QUERY, "variables": variables}).json()
            answers.append(time.perf_counter() - t)
        print(
            f"\ncatalogue {t1 - t0:.2f}s, first generation of the day {t2 - t1:.2f}s, "
            f"first answer {t3 - t2:.2f}s, warm answers {min(answers):.3f}s..{max(answers):.3f}s"
        )

        assert r.status_code == 200 and body["errors"] is None
        acc = body["data"]["viewer"]["accounts"][0]
        total_minutes, total_count = sim.platform.totals(start, end)
        assert sum(h["sum"]["minutesViewed"] for h in acc["hours"]) == total_minutes
        assert sum(h["count"] for h in acc["hours"]) == total_count
        assert len(acc["hours"]) == 24
        assert sum(c["sum"]["minutesViewed"] for c in acc["countries"]) == total_minutes
        assert len(acc["countries"]) > 190
        assert len(acc["videos"]) == 1000

        # The creator list does not fit one page: page on by keyset.
        creators = acc["creators"]
        assert len(creators) == 10000
        while True:
            after = creators[-1]["dimensions"]["creator"]
            page = client.post(
                "/graphql",
                json={"query": CREATORS_QUERY, "variables": variables | {"after": after}},
            ).json()["data"]["viewer"]["accounts"][0]["creators"]
            creators += page
            if len(page) < 10000:
                break
        names = [c["dimensions"]["creator"] for c in creators]
        assert len(names) == len(set(names)) > 10000
        assert names == sorted(names)
        assert sum(c["sum"]["minutesViewed"] for c in creators) == total_minutes
        assert sum(c["count"] for c in creators) == total_count
        print(
            f"records/day {len(sim.platform.records(start, end))}, creators/day {len(names)}, "
            f"videos {len(sim.platform.uids)}"
        )
