"""Per-video minutes of a report day against the simulator's ground truth."""

from __future__ import annotations

import datetime as dt

from stream_stats_dagster.cloudflare import ClientLimits, CloudflareClient
from stream_stats_dagster.dates import ReportDay
from stream_stats_dagster.simulator import Simulator, small_config


def test_every_video_with_views_once_with_its_creator_and_minutes() -> None:
    sim = Simulator(small_config())
    day = dt.date(2025, 3, 11)
    with CloudflareClient(
        "http://sim/client/v4",
        "sim-account",
        "sim-token",
        transport=sim.transport(),
        limits=ClientLimits(page_size=500),  # forces keyset pages at this scale
    ) as client:
        got = client.fetch_uid_minutes([day])["2025-03-11"]
    r = ReportDay(day, "Asia/Seoul")
    truth = (
        sim.platform.records(r.start_utc, r.end_utc)
        .groupby(["uid", "creator"])[["minutesViewed", "count"]]
        .sum()
    )
    assert len(truth) > 1000 and sim.stats.nodes == -(-len(truth) // 500) + (len(truth) % 500 == 0)
    assert list(zip(got["uid"], got["creator"], strict=True)) == sorted(truth.index)
    assert got["minutesViewed"] == truth["minutesViewed"].tolist()
    assert got["viewCount"] == truth["count"].tolist()
