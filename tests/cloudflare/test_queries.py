"""Every GraphQL document the client can send validates against the real schema dump."""

from __future__ import annotations

import datetime as dt

import pytest

from stream_stats_dagster.cloudflare import ClientLimits, CloudflareClient
from stream_stats_dagster.cloudflare import queries as q

from .fakes import FakeClock, FakeCloudflare, Record

UTC = dt.UTC


def _client(fake: FakeCloudflare, timezone: str = "Asia/Seoul", **limits) -> CloudflareClient:
    clock = FakeClock()
    return CloudflareClient(
        "https://cf.test/client/v4",
        fake.account_id,
        fake.token,
        timezone=timezone,
        transport=fake.transport(),
        limits=ClientLimits(**limits),
        clock=clock,
        sleep=clock.sleep,
    )


def test_builders_validate(assert_valid) -> None:
    start, end = "2025-03-10T15:00:00Z", "2025-03-11T15:00:00Z"
    nodes = [
        q.keyset_node("a", "creator", start, end),
        q.keyset_node("b", "creator", start, end, after='he said "hi" \\ 한'),
        q.keyset_node("c", "clientCountryName", start, end, after="KR"),
        q.top_videos_node("d", start, end, 1000),
        q.series_node("e", "datetimeHour", start, end),
        q.series_node("f", "datetimeFifteenMinutes", start, end),
    ]
    document, variables = q.build_query(nodes)
    assert_valid(document)
    # a day's end is the next day's start: equal values share one variable
    assert sorted(variables.values()) == sorted({start, end, 'he said "hi" \\ 한', "KR"})
    assert "date" not in document.replace("datetime", "")  # never the UTC `date` dimension


def test_builders_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        q.Node("bad-alias", ("creator",), "a", "b", 10, ("creator_ASC",))
    with pytest.raises(ValueError):
        q.top_videos_node("v", "a", "b", 10001)
    with pytest.raises(ValueError):
        q.build_query([q.keyset_node("x", "creator", "a", "b")] * 2)


@pytest.mark.parametrize(
    ("timezone", "days", "bucket"),
    [
        ("Asia/Seoul", [dt.date(2025, 3, 11)], "datetimeHour"),  # one day
        ("Asia/Seoul", [dt.date(2025, 3, 1) + dt.timedelta(i) for i in range(7)], "datetimeHour"),
        ("Asia/Kolkata", [dt.date(2025, 3, 11)], "datetimeFifteenMinutes"),  # +05:30
        ("America/New_York", [dt.date(2025, 3, 9)], "datetimeHour"),  # 23-hour DST day
    ],
)
def test_sent_queries_validate(assert_valid, timezone, days, bucket) -> None:
    fake = FakeCloudflare(records=[Record(dt.datetime(2025, 3, 10, 16, tzinfo=UTC), 5)])
    with _client(fake, timezone) as client:
        client.fetch_days(days, top_videos=100)
    assert fake.requests
    for payload in fake.requests:
        assert_valid(payload["query"])
        assert payload["variables"]["accountTag"] == "acc"
    assert any(bucket in p["query"] for p in fake.requests)
    assert sum(
        p["query"].count("streamMinutesViewedAdaptiveGroups") for p in fake.requests
    ) == 4 * len(days)


def test_follow_up_pages_and_late_hourly_validate(assert_valid) -> None:
    t = dt.datetime(2025, 3, 10, 16, tzinfo=UTC)
    records = [Record(t, 1, creator=f"c{i:05d}", clientCountryName="KR") for i in range(10_001)]
    fake = FakeCloudflare(records=records)
    with _client(fake) as client:
        client.fetch_days([dt.date(2025, 3, 11), dt.date(2025, 3, 12)], top_videos=10)
        client.fetch_hourly(t - dt.timedelta(hours=72), t)
    follow_ups = [p for p in fake.requests if "creator_gt" in p["query"]]
    assert len(follow_ups) == 1
    assert "c09999" in follow_ups[0]["variables"].values()
    late = fake.requests[-1]["query"]
    assert late.count("streamMinutesViewedAdaptiveGroups") == 1 and "datetimeHour" in late
    for payload in fake.requests:
        assert_valid(payload["query"])


def test_uid_minutes_pages_validate_and_cover_every_video(assert_valid) -> None:
    """Per-video minutes: keyset pages by uid, several days per request, with each video's
    creator; a uid whose rows straddle a page end (its creator changed within the day) is
    neither skipped nor read twice."""
    t = dt.datetime(2025, 3, 10, 16, tzinfo=UTC)
    records = [Record(t, i % 7 + 1, uid=f"v{i:04d}", creator=f"c{i % 3}") for i in range(250)]
    records += [Record(t, 9, uid="v0099", creator="c9")]  # the 101st row: on page 2
    records += [Record(t + dt.timedelta(days=1), 2, uid="only-next-day")]
    fake = FakeCloudflare(records=records)
    with _client(fake, page_size=100) as client:
        days = client.fetch_uid_minutes([dt.date(2025, 3, 11), dt.date(2025, 3, 12)])
    day = days["2025-03-11"]
    pairs = sorted({(f"v{i:04d}", f"c{i % 3}") for i in range(250)} | {("v0099", "c9")})
    assert list(zip(day["uid"], day["creator"], strict=True)) == pairs
    assert day["minutesViewed"][:8] == [1, 2, 3, 4, 5, 6, 7, 1]
    assert sum(day["minutesViewed"]) == sum(i % 7 + 1 for i in range(250)) + 9
    assert days["2025-03-12"] == {
        "uid": ["only-next-day"],
        "creator": ["c0"],
        "minutesViewed": [2],
        "viewCount": [1],
    }
    assert [p["query"].count("uid_geq") for p in fake.requests] == [0, 1, 1]
    for payload in fake.requests:
        assert_valid(payload["query"])
