"""Document models and files: schemaVersion first, the field order of docs/contract.md §5,
the bytes of a `Document` equal those of its pydantic model, and raw files round-trip as
frames while a bad raw file is refused."""

from __future__ import annotations

import datetime as dt
import functools
import json

import pandas as pd
import pytest
from pydantic import ValidationError

from stream_stats_dagster.facts import FACT_COLUMNS, METADATA_COLUMNS, RawExtract
from stream_stats_dagster.files import ASSET_FILES, RAW_ASSETS
from stream_stats_dagster.reports import models as m
from stream_stats_dagster.reports.daily import (
    daily_countries,
    daily_creators,
    daily_summary,
    videos_with_posts,
)
from stream_stats_dagster.reports.windows import (
    rolling_countries,
    rolling_creators,
    rolling_summary,
    weekly_creators,
    weekly_summary,
)
from tests.reports.inputs import (
    D,
    countries,
    creators,
    days,
    hours,
    meta,
    metadata,
    videos,
)

DOC_FIELDS = {
    m.CreatorsDoc: ["date", "creators"],
    m.CountriesDoc: ["date", "countries"],
    m.VideosWithPostsDoc: ["date", "videos", "posts"],
    m.SummaryDoc: [
        "date",
        "totalMinutesViewed",
        "totalViewCount",
        "uniqueViewers",
        "topCreators",
        "topCountries",
        "topVideos",
        "dailyTrend",
        "hourlyTrend",
    ],
    m.WeeklyCreatorsDoc: ["weekStart", "weekEnd", "creators"],
    m.WeeklySummaryDoc: [
        "weekStart",
        "weekEnd",
        "totalMinutesViewed",
        "totalViewCount",
        "dailyStats",
        "topCreators",
        "topCountries",
        "topVideos",
    ],
    m.RollingCreatorsDoc: ["startDate", "endDate", "creators"],
    m.RollingCountriesDoc: ["startDate", "endDate", "countries"],
    m.RollingSummaryDoc: [
        "startDate",
        "endDate",
        "totalMinutesViewed",
        "totalViewCount",
        "dailyStats",
        "topCreators",
        "topCountries",
        "topVideos",
    ],
    m.RawCreatorMinutes: ["date", "rows"],
    m.RawCountryMinutes: ["date", "rows"],
    m.RawVideoMinutes: ["date", "limit", "rows"],
    m.RawHourlyMinutes: ["date", "timezone", "rows"],
    m.RawVideoMetadata: ["date", "videos"],
}

ENTRY_FIELDS = {
    m.DayStat: ["date", "minutesViewed", "viewCount"],
    m.HourStat: ["hour", "minutesViewed", "viewCount"],
    m.CreatorDay: ["creator", "minutesViewed", "viewCount", "trend"],
    m.CountryDay: ["clientCountryName", "minutesViewed", "viewCount"],
    m.VideoEntry: [
        "uid",
        "creator",
        "fileName",
        "postName",
        "realTitle",
        "minutesViewed",
        "viewCount",
    ],
    m.PostEntry: [
        "creator",
        "postName",
        "realTitle",
        "videoCount",
        "minutesViewed",
        "viewCount",
        "topVideos",
    ],
    m.PostVideo: ["uid", "fileName", "minutesViewed", "viewCount"],
    m.TopCreator: ["creator", "minutesViewed", "viewCount"],
    m.TopCountry: ["clientCountryName", "minutesViewed", "viewCount"],
    m.TopVideo: ["uid", "minutesViewed", "viewCount"],
    m.CreatorWindow: ["creator", "dailyStats", "totalMinutesViewed", "totalViewCount"],
    m.CountryWindow: ["clientCountryName", "dailyStats", "totalMinutesViewed", "totalViewCount"],
}

RAW_ROW_FIELDS = {
    m.CreatorRow: FACT_COLUMNS["creators"],
    m.CountryRow: FACT_COLUMNS["countries"],
    m.VideoRow: FACT_COLUMNS["videos"],
    m.HourRow: FACT_COLUMNS["hours"],
    m.MetadataEntry: METADATA_COLUMNS,
}


@pytest.mark.parametrize("model", list(DOC_FIELDS), ids=lambda c: c.__name__)
def test_documents_start_with_schema_version_then_spec_order(model):
    assert list(model.model_fields) == ["schemaVersion", *DOC_FIELDS[model]]
    assert model.model_fields["schemaVersion"].default == 1


@pytest.mark.parametrize("model", list(ENTRY_FIELDS), ids=lambda c: c.__name__)
def test_entry_field_order(model):
    assert list(model.model_fields) == ENTRY_FIELDS[model]


@pytest.mark.parametrize("row", list(RAW_ROW_FIELDS), ids=lambda c: c.__name__)
def test_raw_rows_are_the_fact_columns_in_file_order(row):
    assert list(row.__annotations__) == RAW_ROW_FIELDS[row]


# --- the documents the reports build, as files -----------------------------------------

DAY = D(2025, 3, 16)  # a Sunday: the rolling window is also the ISO week 03-10..03-16
WEEK = days(D(2025, 3, 10))
START = D(2025, 3, 10)


@functools.cache
def built_documents() -> dict:
    """One small document of every kind, from hand-made frames."""
    c = {d: creators(("RYAN", 5, 2), ("", 1, 1)) for d in WEEK}
    k = {d: countries(("KR", 4, 2), (None, 2, 1)) for d in WEEK}
    v = {d: videos(("u1", "RYAN", 3, 1), ("gone", "", 1, 1)) for d in WEEK}
    h = {d: hours(d, h01=(6, 3)) for d in WEEK}
    meta_rows = metadata(meta("u1", "인기포스트23.mp4", "첫사랑"), meta("gone", found=False))
    rc = rolling_creators(DAY, c, start_date=START)
    rk = rolling_countries(DAY, k, start_date=START)
    wc = weekly_creators(WEEK[0], c, start_date=START)
    return {
        "creators": daily_creators(DAY, c, start_date=START),
        "countries": daily_countries(DAY, k[DAY]),
        "videos_with_posts": videos_with_posts(DAY, v[DAY], meta_rows),
        "summary": daily_summary(
            DAY, h, creators=c[DAY], countries=k[DAY], videos=v[DAY], start_date=START
        ),
        "rolling_creators": rc,
        "rolling_countries": rk,
        "rolling_summary": rolling_summary(DAY, h, v, creators=rc, countries=rk, start_date=START),
        "weekly_creators": wc,
        "weekly_summary": weekly_summary(WEEK[0], h, v, k, creators=wc, start_date=START),
    }


def _field_orders(data, model_name, out):
    """Every dict's keys in `data`, with the path they were found at."""
    if isinstance(data, dict):
        out.append((model_name, list(data)))
        for key, value in data.items():
            _field_orders(value, f"{model_name}.{key}", out)
    elif isinstance(data, list):
        for item in data:
            _field_orders(item, model_name, out)
    return out


def test_document_files_have_the_models_bytes():
    """A Document serialises to exactly the bytes of its pydantic model: schemaVersion
    first, every entry's fields in the contract's order, UTF-8, compact, one trailing newline."""
    docs = built_documents()
    assert set(docs) == {n for n, f in ASSET_FILES.items() if f.layout != "raw"}
    for name, doc in docs.items():
        spec = ASSET_FILES[name]
        body = spec.encode(doc)
        model = spec.model.model_validate(doc.to_json())
        assert body == spec.encode(model), name
        assert spec.decode(body) == model, name
        assert body.endswith(b"}\n") and b"\n" not in body[:-1]
        assert body.startswith(b'{"schemaVersion":1,'), name
        data = json.loads(body)
        assert list(data) == list(type(model).model_fields), name
        assert data == model.model_dump(mode="json"), name
    body = ASSET_FILES["videos_with_posts"].encode(docs["videos_with_posts"])
    assert "첫사랑".encode() in body  # not \\u-escaped


def test_nested_entries_in_spec_order():
    data = built_documents()["weekly_summary"].to_json()
    orders = dict(_field_orders(data, "weekly_summary", []))
    assert orders["weekly_summary.dailyStats"] == ENTRY_FIELDS[m.DayStat]
    assert orders["weekly_summary.topCountries"] == ENTRY_FIELDS[m.TopCountry]
    data = built_documents()["rolling_creators"].to_json()
    assert list(data["creators"][0]) == ENTRY_FIELDS[m.CreatorWindow]
    data = built_documents()["videos_with_posts"].to_json()
    assert list(data["videos"][0]) == ENTRY_FIELDS[m.VideoEntry]
    assert list(data["posts"][0]) == ENTRY_FIELDS[m.PostEntry]
    assert list(data["posts"][0]["topVideos"][0]) == ENTRY_FIELDS[m.PostVideo]


# --- summary and other document rules --------------------------------------------------


def summary_dict(**over):
    d = {
        "date": "2025-03-11",
        "totalMinutesViewed": 1250,
        "totalViewCount": 450,
        "topCreators": [{"creator": "RYAN", "minutesViewed": 120, "viewCount": 45}],
        "topCountries": [{"clientCountryName": "KR", "minutesViewed": 350, "viewCount": 120}],
        "topVideos": [{"uid": "0a5a", "minutesViewed": 85, "viewCount": 35}],
        "dailyTrend": [{"date": "2025-03-11", "minutesViewed": 1250, "viewCount": 450}],
        "hourlyTrend": [{"hour": "2025-03-11T00:00:00+09:00", "minutesViewed": 1, "viewCount": 1}],
    }
    d.update(over)
    return d


def test_summary_unique_viewers_is_always_null():
    doc = m.SummaryDoc.model_validate(summary_dict())
    dumped = doc.model_dump(mode="json")
    assert dumped["schemaVersion"] == 1
    assert dumped["uniqueViewers"] is None
    with pytest.raises(ValidationError):
        m.SummaryDoc.model_validate(summary_dict(uniqueViewers=320))
    assert "unique viewers" in (m.SummaryDoc.model_fields["uniqueViewers"].description or "")
    assert built_documents()["summary"].to_json()["uniqueViewers"] is None


def test_documents_reject_other_schema_versions_bad_dates_and_unknown_fields():
    with pytest.raises(ValidationError):
        m.CountriesDoc.model_validate({"schemaVersion": 2, "date": "2025-03-11", "countries": []})
    with pytest.raises(ValidationError):
        m.CountriesDoc.model_validate({"date": "2025/03/11", "countries": []})
    with pytest.raises(ValidationError):
        m.CountriesDoc.model_validate({"date": "2025-03-11", "countries": [], "x": 1})


def test_videos_file_name_may_be_null():
    entry = m.VideoEntry(
        uid="u",
        creator="c",
        fileName=None,
        postName="__null__",
        realTitle="__null__",
        minutesViewed=1,
        viewCount=1,
    )
    assert entry.model_dump(mode="json")["fileName"] is None


def test_document_dates_accept_date_objects():
    doc = m.CountriesDoc(date=dt.date(2025, 3, 11), countries=[])
    assert doc.date == "2025-03-11"
    doc = m.WeeklyCreatorsDoc(weekStart=dt.date(2025, 3, 10), weekEnd="2025-03-16", creators=[])
    assert doc.model_dump(mode="json")["weekStart"] == "2025-03-10"
    with pytest.raises(ValidationError):
        m.CountriesDoc(date="11.03.2025", countries=[])


# --- raw extract files -----------------------------------------------------------------


def raw_extracts() -> dict[str, RawExtract]:
    day = "2025-03-11"
    return {
        "raw_creator_minutes": RawExtract(day, creators(("", 1, 1), ("RYAN", 5, 2))),
        "raw_country_minutes": RawExtract(day, countries(("KR", 1, 1))),
        "raw_video_minutes": RawExtract(
            day, videos(("u", "c", 1, 1), ("v", "", 0, 1)), {"limit": 1000}
        ),
        "raw_hourly_minutes": RawExtract(
            day, hours(D(2025, 3, 11), h03=(4, 2)), {"timezone": "Asia/Seoul"}
        ),
        "raw_video_metadata": RawExtract(
            day, metadata(meta("u", "lady001.mp4", "첫사랑"), meta("g", found=False, creator=None))
        ),
    }


@pytest.mark.parametrize("asset", RAW_ASSETS)
def test_raw_files_round_trip(asset):
    spec = ASSET_FILES[asset]
    extract = raw_extracts()[asset]
    body = spec.encode(extract)
    data = json.loads(body)
    assert list(data) == list(spec.model.model_fields)  # schemaVersion, date, header, rows
    again = spec.decode(body)
    assert isinstance(again, RawExtract)
    assert (again.date, again.header) == (extract.date, extract.header)
    pd.testing.assert_frame_equal(
        again.rows, extract.rows, check_dtype=asset != "raw_video_metadata"
    )
    assert spec.encode(again) == body


def test_raw_files_keep_values_as_sent():
    spec = ASSET_FILES["raw_creator_minutes"]
    rows = json.loads(spec.encode(raw_extracts()["raw_creator_minutes"]))["rows"]
    assert rows[0] == {"minutesViewed": 1, "viewCount": 1, "creator": ""}  # not __null__
    spec = ASSET_FILES["raw_video_metadata"]
    again = spec.decode(spec.encode(raw_extracts()["raw_video_metadata"]))
    gone = again.rows.iloc[1].to_dict()
    assert gone == {
        "uid": "g",
        "found": False,
        "creator": None,
        "name": None,
        "title": None,
        "created": None,
    }


def _good(asset: str) -> bytes:
    return ASSET_FILES[asset].encode(raw_extracts()[asset])


@pytest.mark.parametrize("asset", RAW_ASSETS)
def test_a_truncated_raw_file_is_refused(asset):
    body = _good(asset)
    for cut in (body[: len(body) // 2], body[:-3], b"", b"not json"):
        with pytest.raises((ValidationError, ValueError)):
            ASSET_FILES[asset].decode(cut)


@pytest.mark.parametrize(
    ("asset", "row"),
    [
        ("raw_creator_minutes", {"minutesViewed": -1, "viewCount": 1, "creator": "a"}),
        ("raw_country_minutes", {"minutesViewed": 1, "viewCount": -2, "clientCountryName": "K"}),
        ("raw_video_minutes", {"minutesViewed": -5, "viewCount": 0, "uid": "u", "creator": "c"}),
        ("raw_hourly_minutes", {"minutesViewed": 0, "viewCount": -1, "hour": "x"}),
    ],
)
def test_negative_counts_are_refused(asset, row):
    data = json.loads(_good(asset))
    data["rows"].append(row)
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        ASSET_FILES[asset].decode(json.dumps(data).encode())


@pytest.mark.parametrize(
    ("asset", "change"),
    [
        ("raw_creator_minutes", lambda d: d["rows"][0].pop("creator")),  # a missing field
        ("raw_creator_minutes", lambda d: d["rows"][0].update(extra=1)),  # an unknown field
        ("raw_creator_minutes", lambda d: d["rows"][0].update(minutesViewed="many")),
        ("raw_country_minutes", lambda d: d.update(schemaVersion=2)),
        ("raw_country_minutes", lambda d: d.update(date="2025/03/11")),
        ("raw_video_minutes", lambda d: d.pop("limit")),
        ("raw_video_minutes", lambda d: d["rows"][0].update(creator=None)),
        ("raw_hourly_minutes", lambda d: d.pop("timezone")),
        ("raw_video_metadata", lambda d: d["videos"][0].pop("found")),
        ("raw_video_metadata", lambda d: d.update(rows=d.pop("videos"))),
    ],
)
def test_an_invalid_raw_file_is_refused(asset, change):
    data = json.loads(_good(asset))
    change(data)
    with pytest.raises(ValidationError):
        ASSET_FILES[asset].decode(json.dumps(data).encode())
