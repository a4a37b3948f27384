"""`fetch_days`: local-day bounds, complete lists, local-hour series, batching."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from stream_stats_dagster.cloudflare import (
    ClientLimits,
    CloudflareClient,
    CloudflareQueryError,
    CloudflareResponseError,
)

from .fakes import FakeClock, FakeCloudflare, Record, rows

UTC = dt.UTC
KST_DAY = dt.date(2025, 3, 11)  # = 2025-03-10T15:00:00Z .. 2025-03-11T15:00:00Z


def _client(fake: FakeCloudflare, timezone: str = "Asia/Seoul", **limits) -> CloudflareClient:
    clock = FakeClock()
    fake.clock = clock
    return CloudflareClient(
        "https://cf.test/client/v4/",
        fake.account_id,
        fake.token,
        timezone=timezone,
        transport=fake.transport(),
        limits=ClientLimits(**limits),
        clock=clock,
        sleep=clock.sleep,
    )


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_kst_midnight_splits_days_by_utc_bounds() -> None:
    fake = FakeCloudflare(
        records=[
            Record(_t("2025-03-10T14:59:59"), 1, creator="before"),  # KST 03-10 23:59:59
            Record(_t("2025-03-10T15:00:00"), 2, creator="first"),  # KST 03-11 00:00:00
            Record(_t("2025-03-11T14:59:59"), 4, creator="last"),  # KST 03-11 23:59:59
            Record(_t("2025-03-11T15:00:00"), 8, creator="after"),  # KST 03-12 00:00:00
        ]
    )
    with _client(fake) as client:
        facts = client.fetch_days(
            [KST_DAY, dt.date(2025, 3, 12), dt.date(2025, 3, 10)], top_videos=10
        )

    day = facts["2025-03-11"]
    assert [(c.creator, c.minutesViewed) for c in rows(day.creators)] == [("first", 2), ("last", 4)]
    after, before = rows(facts["2025-03-12"].creators), rows(facts["2025-03-10"].creators)
    assert [(c.creator, c.minutesViewed) for c in after] == [("after", 8)]
    assert [(c.creator, c.minutesViewed) for c in before] == [("before", 1)]
    bounds = {"2025-03-10T15:00:00Z", "2025-03-11T15:00:00Z", "2025-03-12T15:00:00Z"}
    assert bounds <= set(fake.requests[0]["variables"].values())
    assert "date:" not in fake.requests[0]["query"] and "date_" not in fake.requests[0]["query"]
    # hourly series: one row per local hour, zero-filled, labelled in local time
    assert len(rows(day.hours)) == 24
    assert rows(day.hours)[0].hour == "2025-03-11T00:00:00+09:00"
    assert (rows(day.hours)[0].minutesViewed, rows(day.hours)[23].minutesViewed) == (2, 4)
    assert sum(h.minutesViewed for h in rows(day.hours)) == 6
    assert all(h.minutesViewed == 0 for h in rows(day.hours)[1:23])
    # 3 days x 4 nodes = 12 nodes = one request at the default cap
    assert client.stats.graphql_requests == 1 and client.stats.nodes == 12


def test_creators_are_paged_past_10000_and_each_returned_once() -> None:
    t = _t("2025-03-10T16:00:00")
    names = ["", *(f"creator-{i:05d}" for i in range(10_000))]  # 10,001 = 10000 + 1
    fake = FakeCloudflare(records=[Record(t, i + 1, creator=n) for i, n in enumerate(names)])
    with _client(fake) as client:
        day = client.fetch_days([KST_DAY], top_videos=5)["2025-03-11"]
    assert [c.creator for c in rows(day.creators)] == sorted(names)
    assert rows(day.creators)[0].creator == ""  # kept as Cloudflare gave it
    assert sum(c.minutesViewed for c in rows(day.creators)) == sum(range(1, 10_002))
    assert sum(h.minutesViewed for h in rows(day.hours)) == sum(range(1, 10_002))
    pages = [p for p in fake.requests if "creator_gt" in p["query"]]
    # keyset on the last creator of the previous page ("" sorts first)
    assert len(pages) == 1 and "creator-09998" in pages[0]["variables"].values()
    assert client.stats.graphql_requests == 2  # first request + one follow-up page
    assert len(rows(day.videos)) == 5


def test_follow_ups_of_several_days_share_a_request() -> None:
    recs = []
    for day_start in ("2025-03-10T16:00:00", "2025-03-11T16:00:00"):
        recs += [Record(_t(day_start), 1, creator=f"c{i:05d}") for i in range(250)]
    fake = FakeCloudflare(records=recs)
    with _client(fake, page_size=100) as client:  # a smaller page, same logic
        facts = client.fetch_days([KST_DAY, dt.date(2025, 3, 12)], top_videos=5)
    assert [len(rows(f.creators)) for f in facts.values()] == [250, 250]
    assert client.stats.graphql_requests == 3  # first pages; 2nd pages of both; 3rd pages
    assert [p["query"].count("creator_gt") for p in fake.requests] == [0, 2, 2]
    assert "limit: 100" in fake.requests[1]["query"]


def test_top_videos_keep_cloudflare_order_and_ties() -> None:
    t = _t("2025-03-10T16:00:00")
    fake = FakeCloudflare(
        records=[
            Record(t, 5, count=1, uid="b", creator="x"),
            Record(t, 5, count=1, uid="a", creator=""),
            Record(t, 5, count=2, uid="c", creator="y"),
            Record(t, 9, count=1, uid="d", creator="y"),
            Record(t, 1, count=1, uid="e", creator="y"),
        ]
    )
    with _client(fake) as client:
        day = client.fetch_days([KST_DAY], top_videos=4)["2025-03-11"]
    assert [(v.uid, v.creator, v.minutesViewed, v.viewCount) for v in rows(day.videos)] == [
        ("d", "y", 9, 1),
        ("c", "y", 5, 2),
        ("a", "", 5, 1),
        ("b", "x", 5, 1),
    ]
    assert "orderBy: [sum_minutesViewed_DESC, count_DESC, uid_ASC]" in fake.requests[0]["query"]
    assert "limit: 4" in fake.requests[0]["query"]


def test_half_hour_zone_folds_quarter_hours_into_local_hours() -> None:
    # Asia/Kolkata (+05:30): local 2025-03-11 00:00 = 2025-03-10T18:30Z
    fake = FakeCloudflare(
        records=[
            Record(_t("2025-03-10T18:29:00"), 100),  # previous local day
            Record(_t("2025-03-10T18:30:00"), 1),  # local 00:00-01:00
            Record(_t("2025-03-10T19:29:00"), 2),  # local 00:00-01:00
            Record(_t("2025-03-10T19:30:00"), 4),  # local 01:00-02:00
        ]
    )
    with _client(fake, "Asia/Kolkata") as client:
        day = client.fetch_days([KST_DAY], top_videos=5)["2025-03-11"]
    assert "datetimeFifteenMinutes" in fake.requests[0]["query"]
    assert [(h.hour, h.minutesViewed) for h in rows(day.hours)[:2]] == [
        ("2025-03-11T00:00:00+05:30", 3),
        ("2025-03-11T01:00:00+05:30", 4),
    ]
    assert sum(h.minutesViewed for h in rows(day.hours)) == 7


def test_dst_day_has_23_local_hours() -> None:
    fake = FakeCloudflare(records=[Record(_t("2025-03-09T08:10:00"), 3)])  # 04:10 EDT
    with _client(fake, "America/New_York") as client:
        day = client.fetch_days([dt.date(2025, 3, 9)], top_videos=5)["2025-03-09"]
    assert len(rows(day.hours)) == 23
    assert rows(day.hours)[2].hour == "2025-03-09T03:00:00-04:00"
    assert [h.hour for h in rows(day.hours) if h.minutesViewed] == ["2025-03-09T04:00:00-04:00"]


def test_cap_on_nodes_per_request() -> None:
    fake = FakeCloudflare(records=[Record(_t("2025-03-10T16:00:00"), 1)])
    days = [dt.date(2025, 3, 1) + dt.timedelta(i) for i in range(10)]
    with _client(fake, max_nodes_per_request=8) as client:
        facts = client.fetch_days(days, top_videos=5)
    assert list(facts) == [d.isoformat() for d in days]
    assert [p["query"].count("streamMinutesViewedAdaptiveGroups") for p in fake.requests] == [8] * 5
    assert client.stats.nodes == 40


def test_too_many_nodes_halves_the_batch() -> None:
    def refuse_big(n: int, request: httpx.Request) -> httpx.Response | None:
        nodes = json.loads(request.content)["query"].count("streamMinutesViewedAdaptiveGroups")
        if nodes > 4:
            msg = "in combination, your request queries too many nodes, zones and accounts"
            return httpx.Response(429, json={"data": None, "errors": [{"message": msg}]})
        return None

    fake = FakeCloudflare(records=[Record(_t("2025-03-10T16:00:00"), 1)], on_request=refuse_big)
    with _client(fake) as client:
        facts = client.fetch_days(
            [KST_DAY, dt.date(2025, 3, 12), dt.date(2025, 3, 13)], top_videos=5
        )
    assert rows(facts["2025-03-11"].creators)[0].minutesViewed == 1
    assert client.stats.graphql_requests == 1 + 1 + 4  # 12 refused, 6 refused, then 4 x 3 nodes


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"data": {"viewer": {"accounts": []}}, "errors": None}, CloudflareResponseError),
        ({"data": {"viewer": {"accounts": [{}]}}, "errors": None}, CloudflareResponseError),
        ({"data": None, "errors": [{"message": "unknown field avg"}]}, CloudflareQueryError),
        ([1, 2], CloudflareResponseError),
    ],
)
def test_bad_bodies_fail_at_once(body, error) -> None:
    fake = FakeCloudflare(on_request=lambda n, r: httpx.Response(200, json=body))
    with _client(fake) as client, pytest.raises(error) as raised:
        client.fetch_days([KST_DAY], top_videos=5)
    assert not raised.value.transient
    assert client.stats.graphql_requests == 1
    assert "\n" not in str(raised.value)


def test_bad_row_shape_fails() -> None:
    fake = FakeCloudflare(records=[Record(_t("2025-03-10T16:00:00"), 1)])
    real = fake.answer

    def answer(query, variables):
        out = real(query, variables)
        out["data"]["viewer"]["accounts"][0]["d0_creators"][0]["count"] = -1
        return out

    fake.answer = answer  # type: ignore[method-assign]
    with _client(fake) as client, pytest.raises(CloudflareResponseError, match="d0_creators"):
        client.fetch_days([KST_DAY], top_videos=5)


def test_retention_error_names_the_cause() -> None:
    msg = "cannot request data older than 7776000s"
    fake = FakeCloudflare(
        on_request=lambda n, r: httpx.Response(
            200, json={"data": None, "errors": [{"message": msg}]}
        )
    )
    with _client(fake) as client, pytest.raises(CloudflareQueryError) as raised:
        client.fetch_days([dt.date(2024, 1, 1)], top_videos=5)
    assert msg in str(raised.value) and "2024-01-01" in str(raised.value)
    assert client.stats.retries == 0


def test_fetch_hourly_returns_utc_hours() -> None:
    fake = FakeCloudflare(
        records=[
            Record(_t("2025-03-10T16:05:00"), 2, count=3),
            Record(_t("2025-03-10T16:55:00"), 1),
            Record(_t("2025-03-10T18:00:00"), 7),
            Record(_t("2025-03-13T18:00:00"), 99),  # after the end
        ]
    )
    with _client(fake) as client:
        rows = client.fetch_hourly(_t("2025-03-10T15:00:00"), _t("2025-03-13T15:00:00"))
    assert rows == [(_t("2025-03-10T16:00:00"), 3, 4), (_t("2025-03-10T18:00:00"), 7, 1)]
    assert client.stats.nodes == 1
    with pytest.raises(ValueError):
        client.fetch_hourly(dt.datetime(2025, 3, 10), dt.datetime(2025, 3, 11))
