"""Cost and cold-video reports on hand-made inputs with known answers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from stream_stats_dagster.config import ConfigError, load_settings
from stream_stats_dagster.reports import costs as c

DAY = dt.date(2025, 3, 31)
DAY_END = dt.datetime(2025, 3, 31, 15, tzinfo=dt.UTC)  # KST midnight after 2025-03-31
LONG_AGO = "2024-06-01T00:00:00.000000Z"
NO_VIEWS = pd.DataFrame({"creator": [], "minutesViewed": [], "viewCount": []})


def _catalog(rows: list[dict]) -> pd.DataFrame:
    base = {
        "creator": "alice",
        "name": None,
        "title": None,
        "created": LONG_AGO,
        "duration": 60.0,
        "size": 1000,
        "state": "ready",
        "readyToStreamAt": LONG_AGO,
        "scheduledDeletion": None,
    }
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["name"] = frame["name"].fillna(frame["uid"] + ".mp4")
    return frame[c.CATALOG_COLUMNS]


def _minutes(*rows: tuple[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uid": [u for u, _ in rows],
            "minutesViewed": [m for _, m in rows],
            "viewCount": [1] * len(rows),
        }
    )


def _day(days_before: int) -> str:
    return (DAY - dt.timedelta(days=days_before)).isoformat()


def _stored_days(views: dict[str, int]) -> dict[str, pd.DataFrame]:
    """uid -> days before DAY on which it had minutes; one frame per stored day."""
    days: dict[str, list[tuple[str, int]]] = {}
    for uid, before in views.items():
        days.setdefault(_day(before), []).append((uid, 5))
    return {day: _minutes(*rows) for day, rows in days.items()}


def _cold_report(catalog: pd.DataFrame, views: dict[str, int], prices=None, **kw):
    stored = _stored_days(views)
    window = c.cost_window_days(DAY)
    in_window = {d: f for d, f in stored.items() if d >= window[0].isoformat()}
    older = sorted(((d, f) for d, f in stored.items() if d < window[0].isoformat()), reverse=True)
    cold = c.cold_candidates(catalog, c.watched_uids(in_window), DAY_END, **kw)
    last = c.last_viewed(cold["uid"], older)
    doc = c.cold_videos(
        DAY.isoformat(),
        cold,
        last,
        prices or c.Prices(),
        window=window,
        window_days_stored=len(window),
        **kw,
    )
    return doc, in_window


def _videos(doc: c.ColdVideosDoc) -> dict[str, c.ColdVideo]:
    return {v.uid: v for creator in doc.creators for v in creator.videos}


def test_watched_29_days_ago_is_not_cold_31_days_ago_is() -> None:
    catalog = _catalog([{"uid": u} for u in ("d29", "d30", "d31", "never")])
    doc, window = _cold_report(catalog, {"d29": 29, "d30": 30, "d31": 31})
    assert c.cost_window_days(DAY)[0] == dt.date(2025, 3, 2)  # 30 days: 03-02..03-31
    cold = _videos(doc)
    assert sorted(cold) == ["d30", "d31", "never"]
    assert cold["d31"].lastViewedDate == "2025-02-28"
    assert cold["d30"].lastViewedDate == "2025-03-01"
    assert cold["never"].lastViewedDate is None  # no stored day has it
    assert c.cold_have_no_minutes(doc, window) == []


def test_young_processing_and_missing_videos_are_not_cold() -> None:
    young = (DAY_END - dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    edge = (DAY_END - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    catalog = _catalog(
        [
            {"uid": "young", "readyToStreamAt": young},
            {"uid": "edge", "readyToStreamAt": edge},  # exactly 30 days before the day ended
            {"uid": "no-ready-time", "readyToStreamAt": None, "created": young},
            {"uid": "processing", "state": "inprogress", "duration": -1.0,
             "readyToStreamAt": None},
        ]
    )  # fmt: skip
    doc, _ = _cold_report(catalog, {})
    assert sorted(_videos(doc)) == ["edge"]
    doc, _ = _cold_report(catalog, {}, cold_after_days=5)
    assert sorted(_videos(doc)) == ["edge", "no-ready-time", "young"]
    assert doc.coldAfterDays == 5


def test_unknown_durations_are_counted_never_priced_as_zero() -> None:
    catalog = _catalog(
        [
            {"uid": "a", "duration": 120.0},
            {"uid": "b", "duration": -1.0},  # Stream: unknown
            {"uid": "c", "duration": None, "state": "queued", "readyToStreamAt": None},
            {"uid": "d", "duration": 30.5, "creator": None},
        ]
    )
    costs = c.stream_costs(DAY.isoformat(), catalog, NO_VIEWS, c.Prices())
    assert costs.platform.videosStored == 4 and costs.platform.videosUnpriced == 2
    assert costs.platform.minutesStored == round(150.5 / 60, 3)
    alice = next(x for x in costs.creators if x.creator == "alice")
    assert (alice.videosStored, alice.videosUnpriced) == (3, 2)
    # $5 per 1,000 minutes a month: 2 minutes -> $0.01 = 10,000 micro-dollars
    assert alice.storageCostPerMonthMicros == 10_000
    assert next(x for x in costs.creators if x.creator == "__null__").videosStored == 1

    doc, _ = _cold_report(catalog, {})
    cold = _videos(doc)
    assert sorted(cold) == ["a", "b", "d"]  # c is not ready
    assert cold["b"].duration == -1.0 and cold["b"].monthlySavingMicros is None
    assert cold["b"].minutesStored is None
    assert cold["a"].monthlySavingMicros == 10_000
    assert doc.totals.videoCount == 3 and doc.totals.videosUnpriced == 1
    assert doc.totals.monthlySavingMicros == 10_000 + 2_542  # 30.5 s = 0.50833 min
    assert c.cold_totals_add_up(doc) == []


def test_costs_per_creator_add_up_to_the_platform() -> None:
    catalog = _catalog(
        [{"uid": f"v{i}", "creator": f"c{i % 3}", "duration": 7.3 * i} for i in range(1, 10)]
    )
    delivered = pd.DataFrame(
        {"creator": ["c0", "c1", "", "gone"], "minutesViewed": [1001, 2, 7, 3], "viewCount": 1}
    )
    doc = c.stream_costs(DAY.isoformat(), catalog, delivered, c.Prices())
    assert c.costs_add_up(doc) == []
    by = {x.creator: x for x in doc.creators}
    assert by["c0"].minutesDelivered == 1001 and by["c0"].deliveryCostMicros == 1_001_000
    assert by["__null__"].minutesDelivered == 7 and by["__null__"].videosStored == 0
    assert by["gone"].videosStored == 0 and by["c2"].minutesDelivered == 0
    assert doc.platform.minutesDelivered == 1013 and doc.currency == "USD"
    broken = doc.model_copy(update={"creators": doc.creators[1:]})
    assert c.costs_add_up(broken)  # a missing creator is caught


def test_prices_come_from_configuration() -> None:
    settings = load_settings(
        {
            "STREAM_STATS_CURRENCY": "EUR",
            "STREAM_STATS_STORAGE_PRICE": "4.5",
            "STREAM_STATS_DELIVERY_PRICE": "0.000001",
        }
    )
    assert (settings.currency, settings.storage_price_micros) == ("EUR", 4_500_000)
    assert settings.delivery_price_micros == 1
    defaults = load_settings({})
    assert (defaults.storage_price_micros, defaults.delivery_price_micros) == (5_000_000, 1_000_000)
    prices = c.Prices(
        currency=settings.currency,
        storagePer1000MinutesPerMonthMicros=settings.storage_price_micros,
        deliveryPer1000MinutesMicros=settings.delivery_price_micros,
    )
    catalog = _catalog([{"uid": "a", "duration": 600.0}])  # 10 minutes
    doc = c.stream_costs(DAY.isoformat(), catalog, NO_VIEWS, prices)
    assert doc.currency == "EUR" and doc.prices == prices
    assert doc.platform.storageCostPerMonthMicros == 45_000  # 10 min x 4.5 / 1000
    delivered = pd.DataFrame({"creator": ["alice"], "minutesViewed": [1500], "viewCount": [1]})
    doc = c.stream_costs(DAY.isoformat(), catalog, delivered, prices)
    assert doc.platform.deliveryCostMicros == 2  # 1500 x 0.000001 / 1000 = 1.5 -> 2 (half up)
    for bad in ("-1", "1.0000001", "five"):
        with pytest.raises(ConfigError, match="STREAM_STATS_STORAGE_PRICE"):
            load_settings({"STREAM_STATS_STORAGE_PRICE": bad})
    with pytest.raises(ConfigError, match="STREAM_STATS_CURRENCY"):
        load_settings({"STREAM_STATS_CURRENCY": "dollars"})


def test_checks_fail_on_a_watched_or_top_video() -> None:
    catalog = _catalog([{"uid": "a"}, {"uid": "b"}])
    doc, window = _cold_report(catalog, {})
    assert c.cold_not_in_top(doc, ["x", "b"]) == ["b is cold and in the day's top videos"]
    window = {DAY.isoformat(): _minutes(("a", 3))}
    assert c.cold_have_no_minutes(doc, window) == ["a has minutes on 2025-03-31"]
    assert c.cold_not_in_top(doc, ["x"]) == []


def test_catalog_snapshot_keeps_what_stream_held_when_the_day_ended() -> None:
    later = "2025-04-01T00:00:00.000000Z"
    frame = _catalog([{"uid": "old"}, {"uid": "later", "created": later}, {"uid": "gone"}])
    frame.insert(1, "found", [True, True, False])
    snapshot = c.catalog_snapshot(frame, DAY_END)
    assert snapshot["uid"].tolist() == ["old"]
    doc = c.catalog_doc(DAY.isoformat(), snapshot)
    back = c.catalog_frame(c.VideoCatalogDoc.model_validate_json(doc.model_dump_json()))
    assert back["uid"].tolist() == ["old"] and back.loc[0, "duration"] == 60.0
    assert doc.videoCount == 1


def test_uid_minutes_round_trip_sorted_by_uid() -> None:
    doc = c.uid_minutes_doc("2025-03-31", _minutes(("b", 2), ("a", 1)))
    assert doc.columns.uid == ["a", "b"]
    back = c.uid_minutes_frame(c.UidMinutesDoc.model_validate_json(doc.model_dump_json()))
    assert back["minutesViewed"].tolist() == [1, 2]


def test_window_is_clipped_at_the_start_date() -> None:
    days = c.cost_window_days(DAY, dt.date(2025, 3, 20))
    assert (days[0], days[-1], len(days)) == (dt.date(2025, 3, 20), DAY, 12)
    assert len(c.cost_window_days(DAY)) == c.WINDOW_DAYS


def test_last_viewed_reads_each_stored_day_once_for_a_run_of_days() -> None:
    stored = {
        dt.date(2025, 3, 1): _minutes(("a", 1), ("b", 0)),  # b: a row without minutes
        dt.date(2025, 2, 20): _minutes(("b", 2), ("a", 9)),
        dt.date(2025, 1, 1): _minutes(("c", 1)),  # before the floor
    }
    reads: list[dt.date] = []

    def read(day: dt.date):
        reads.append(day)
        return stored.get(day)

    cold = {
        "2025-04-01": (dt.date(2025, 3, 3), ["a", "b", "c"]),
        "2025-04-02": (dt.date(2025, 3, 4), ["b"]),
    }
    found = c.last_viewed_by_day(cold, read, floor=dt.date(2025, 2, 1))
    assert found == {
        "2025-04-01": {"a": "2025-03-01", "b": "2025-02-20"},
        "2025-04-02": {"b": "2025-02-20"},
    }
    assert len(reads) == len(set(reads))  # one pass, newest first
    assert reads[0] == dt.date(2025, 3, 3) and min(reads) == dt.date(2025, 2, 1)
    # without a floor it looks back LAST_VIEW_LOOKBACK_DAYS before the window
    found = c.last_viewed_by_day({"d": (dt.date(2025, 3, 3), ["c"])}, stored.get)
    assert found == {"d": {"c": "2025-01-01"}}
    assert c.last_viewed_by_day({"d": (dt.date(2025, 6, 1), ["c"])}, stored.get) == {"d": {}}
