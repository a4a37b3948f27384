"""Document models: schemaVersion first, SPEC field order, JSON round trips."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from stream_stats_dagster.facts import (
    CountryMinutes,
    CreatorMinutes,
    HourMinutes,
    VideoMetadata,
    VideoMinutes,
)
from stream_stats_dagster.reports import models as m

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


@pytest.mark.parametrize("model", list(DOC_FIELDS), ids=lambda c: c.__name__)
def test_documents_start_with_schema_version_then_spec_order(model):
    assert list(model.model_fields) == ["schemaVersion", *DOC_FIELDS[model]]
    assert model.model_fields["schemaVersion"].default == 1


@pytest.mark.parametrize("model", list(ENTRY_FIELDS), ids=lambda c: c.__name__)
def test_entry_field_order(model):
    assert list(model.model_fields) == ENTRY_FIELDS[model]


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
    assert list(dumped)[:5] == [
        "schemaVersion",
        "date",
        "totalMinutesViewed",
        "totalViewCount",
        "uniqueViewers",
    ]
    assert dumped["schemaVersion"] == 1
    assert dumped["uniqueViewers"] is None
    with pytest.raises(ValidationError):
        m.SummaryDoc.model_validate(summary_dict(uniqueViewers=320))
    assert "unique viewers" in (m.SummaryDoc.model_fields["uniqueViewers"].description or "")


def test_documents_reject_other_schema_versions_bad_dates_and_unknown_fields():
    with pytest.raises(ValidationError):
        m.CountriesDoc.model_validate({"schemaVersion": 2, "date": "2025-03-11", "countries": []})
    with pytest.raises(ValidationError):
        m.CountriesDoc.model_validate({"date": "2025/03/11", "countries": []})
    with pytest.raises(ValidationError):
        m.CountriesDoc.model_validate({"date": "2025-03-11", "countries": [], "x": 1})


def test_json_round_trip_keeps_bytes():
    doc = m.SummaryDoc.model_validate(summary_dict())
    text = json.dumps(doc.model_dump(mode="json"), ensure_ascii=False)
    again = m.SummaryDoc.model_validate_json(text)
    assert again == doc
    assert json.dumps(again.model_dump(mode="json"), ensure_ascii=False) == text


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


def test_raw_documents():
    raw = [
        m.RawCreatorMinutes(
            date="2025-03-11", rows=[CreatorMinutes(creator="", minutesViewed=1, viewCount=1)]
        ),
        m.RawCountryMinutes(
            date="2025-03-11",
            rows=[CountryMinutes(clientCountryName="KR", minutesViewed=1, viewCount=1)],
        ),
        m.RawVideoMinutes(
            date="2025-03-11",
            limit=1000,
            rows=[VideoMinutes(uid="u", creator="c", minutesViewed=1, viewCount=1)],
        ),
        m.RawHourlyMinutes(
            date="2025-03-11",
            timezone="Asia/Seoul",
            rows=[HourMinutes(hour="2025-03-11T00:00:00+09:00", minutesViewed=0, viewCount=0)],
        ),
        m.RawVideoMetadata(
            date="2025-03-11",
            videos=[
                VideoMetadata(uid="u", found=True, name="lady001.mp4", title="첫사랑"),
                VideoMetadata(uid="g", found=False),
            ],
        ),
    ]
    for doc in raw:
        dumped = doc.model_dump(mode="json")
        assert next(iter(dumped)) == "schemaVersion"
        assert dumped["schemaVersion"] == 1
        assert type(doc).model_validate_json(json.dumps(dumped)) == doc
    assert raw[0].model_dump(mode="json")["rows"][0]["creator"] == ""  # raw keeps "" as sent


def test_document_dates_accept_date_objects():
    import datetime as dt

    doc = m.CountriesDoc(date=dt.date(2025, 3, 11), countries=[])
    assert doc.date == "2025-03-11"
    doc = m.WeeklyCreatorsDoc(weekStart=dt.date(2025, 3, 10), weekEnd="2025-03-16", creators=[])
    assert doc.model_dump(mode="json")["weekStart"] == "2025-03-10"
    with pytest.raises(ValidationError):
        m.CountriesDoc(date="11.03.2025", countries=[])
